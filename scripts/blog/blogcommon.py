"""What the three blog stacks share and the blog itself leaves to
`uvicorn web_socket:app`: command-line flags, a loopback-only listening
socket, the one stdout line that says where the server listens, one-line
errors with exit code 2, and running uvicorn (one worker) on that socket.

None of this is the blog's design; the design is in memory.py,
redis_pubsub.py, rabbitmq_fanout.py and connection_manager.py.

Importing it checks that fastapi and uvicorn exist, so a server can import
them right after.
"""
import argparse
import asyncio
import importlib
import ipaddress
import os
import socket
import sys

EXIT_USAGE = 2  # bad input or an unreachable broker, as chatbench's own commands
PROG = "blog " + os.path.splitext(os.path.basename(sys.argv[0]))[0]  # "blog memory"

args = None  # the parsed flags, set by main(); read by the servers' handlers


def say(*line):
    """The blog's print() calls, only with --blog-prints: printing every
    message would measure the terminal (or a pipe nobody reads), not the
    design."""
    if args is not None and args.blog_prints:
        print(*line, flush=True)


def fail(message):
    """One line on stderr and exit 2: never a traceback for bad input."""
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USAGE)


def require(module, package):
    """Import module or say in one line which Debian package provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        fail(f"Python module {module} is missing ({exc}); install the Debian package {package} "
             f"and run with /usr/bin/python3")


require("fastapi", "python3-fastapi")
uvicorn = require("uvicorn", "python3-uvicorn")


class BrokerUnreachable(Exception):
    """The broker could not be reached at start: the message is the one line
    printed before exit 2."""


async def reach(what, url, how_to_start, connect, timeout=10):
    """Await connect(); any failure (refused, timeout, auth, a bad URL)
    becomes BrokerUnreachable naming the URL, the cause and how to start it."""
    try:
        return await asyncio.wait_for(connect(), timeout)
    except Exception as exc:
        raise BrokerUnreachable(f"cannot reach {what} at {url}: {exc or type(exc).__name__}; "
                                f"start it with: {how_to_start}") from None


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error on two lines; the project's rule
    is one clear line and exit 2."""

    def error(self, message):
        fail(f"{message} (see --help)")


def parser(description):
    p = OneLineParser(prog=PROG, description=description)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; only loopback (127.0.0.0/8) is accepted (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8081,
                   help="port; 0 picks a free one (default 8081, the blog's WebSocket server port)")
    p.add_argument("--no-deflate", action="store_true",
                   help="refuse permessage-deflate. Default: accept it when the client offers it "
                        "(uvicorn's default, so the blog's: browsers offer it)")
    p.add_argument("--ws", choices=["auto", "wsproto", "websockets"], default="auto",
                   help="uvicorn's WebSocket implementation (default auto: websockets if installed, "
                        "else wsproto)")
    p.add_argument("--log-level", default="warning",
                   choices=["critical", "error", "warning", "info", "debug", "trace"],
                   help="uvicorn's log level (default warning: at info uvicorn logs every accepted socket)")
    p.add_argument("--blog-prints", action="store_true",
                   help="print on stdout what the blog's code prints (per connection and per message)")
    return p


def check_args(a):
    try:
        loopback = ipaddress.ip_address(a.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        fail(f"--host {a.host!r}: want a loopback address such as 127.0.0.1 "
             f"(these servers are load targets and never listen beyond this machine)")
    if not 0 <= a.port <= 65535:
        fail(f"--port {a.port}: want 0..65535")


def listen(host, port):
    """Bind and listen before uvicorn starts, so port 0 can be reported and
    clients that connect right after the stdout line wait in the backlog."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror}")
    sock.listen(2048)  # uvicorn's default backlog
    return sock


def main(app, doc, add_flags=None, describe=lambda a: "", startup=None, shutdown=None):
    """Parse the flags (add_flags adds a server's own), start the broker side
    (startup, async, may raise BrokerUnreachable), listen, print the one
    stdout line (describe(args) ends it), serve until SIGINT/SIGTERM, await
    shutdown, exit 0."""
    global args
    p = parser(doc.split("\n\n")[0])
    if add_flags is not None:
        add_flags(p)
    args = p.parse_args()
    check_args(args)
    config = uvicorn.Config(app, ws=args.ws, ws_per_message_deflate=not args.no_deflate,
                            log_level=args.log_level, workers=1)
    try:
        config.load()
    except (ImportError, SystemExit) as exc:  # e.g. --ws websockets without the package
        fail(f"--ws {args.ws}: uvicorn cannot load it ({exc})")
    ws_impl = "wsproto" if "wsproto" in config.ws_protocol_class.__module__ else "websockets"
    if ws_impl == "wsproto":
        patch_wsproto_disconnect(config.ws_protocol_class)
    deflate = "off" if args.no_deflate else "accepted when offered"

    async def serve():
        if startup is not None:
            try:
                await startup()
            except BrokerUnreachable as exc:
                fail(str(exc))
        sock = listen(args.host, args.port)
        host, port = sock.getsockname()
        print(f"{PROG}: listening on http://{host}:{port} (ws {ws_impl}, permessage-deflate {deflate}, "
              f"{describe(args)})", flush=True)
        await uvicorn.Server(config).serve(sockets=[sock])
        if shutdown is not None:
            await shutdown()

    asyncio.run(serve())
    sys.exit(0)


def patch_wsproto_disconnect(protocol):
    """uvicorn before 0.20 with wsproto (Debian 12 ships 0.17.6 and no
    python3-websockets, so that is what runs here) never tells the app that
    a client went away without a close frame: the handler waits for ever,
    its socket stays in the ConnectionManager's list (every broadcast still
    encodes a frame for it) and SIGTERM hangs on the task. Upstream fixed it
    in 0.20.0 (encode/uvicorn#997, #996) by sending websocket.disconnect on
    every lost connection; this is that fix."""
    major, minor = (int(x) for x in uvicorn.__version__.split(".")[:2])
    if (major, minor) >= (0, 20):
        return
    lost = protocol.connection_lost

    def connection_lost(self, exc):
        if exc is None:  # the 0.17 code already sends it when exc is set
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1005})
        lost(self, exc)

    protocol.connection_lost = connection_lost
