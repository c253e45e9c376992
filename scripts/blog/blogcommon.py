"""What the three blog stacks share and the blog itself leaves to
`uvicorn web_socket:app`: command-line flags, a loopback-only listening
socket, the one stdout line that says where the server listens, one-line
errors with exit code 2, and running uvicorn (one worker) on that socket.

None of this is the blog's design; the design is in memory.py,
redis_pubsub.py and rabbitmq_fanout.py.
"""
import argparse
import asyncio
import importlib
import ipaddress
import socket
import sys

EXIT_USAGE = 2  # bad input or an unreachable broker, as chatbench's own commands

prints = False  # --blog-prints


def say(*line):
    """The blog's print() calls, only with --blog-prints: printing every
    message would measure the terminal (or a pipe nobody reads), not the
    design."""
    if prints:
        print(*line, flush=True)


def fail(name, message):
    """One line on stderr and exit 2: never a traceback for bad input."""
    print(f"{name}: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USAGE)


def require(name, module, package):
    """Import module or say in one line which Debian package provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        fail(name, f"Python module {module} is missing ({exc}); install the Debian package {package} "
                   f"and run with /usr/bin/python3")


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus the error on two lines; the project's rule
    is one clear line and exit 2."""

    def error(self, message):
        fail(self.prog, f"{message} (see --help)")


def parser(name, description):
    p = OneLineParser(prog=name, description=description)
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


def check_args(name, args):
    global prints
    prints = args.blog_prints
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        fail(name, f"--host {args.host!r}: want a loopback address such as 127.0.0.1 "
                   f"(these servers are load targets and never listen beyond this machine)")
    if not 0 <= args.port <= 65535:
        fail(name, f"--port {args.port}: want 0..65535")


def listen(name, host, port):
    """Bind and listen before uvicorn starts, so port 0 can be reported and
    clients that connect right after the stdout line wait in the backlog."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(name, f"cannot listen on {host}:{port}: {exc.strerror}")
    sock.listen(2048)  # uvicorn's default backlog
    return sock


def run(name, app, args, describe, startup=None, shutdown=None):
    """Start the broker side (startup, an async callable that raises
    BrokerUnreachable), listen, print the one stdout line, serve until
    SIGINT/SIGTERM, then await shutdown. describe is the rest of the stdout
    line."""
    import uvicorn

    config = uvicorn.Config(app, ws=args.ws, ws_per_message_deflate=not args.no_deflate,
                            log_level=args.log_level, workers=1)
    try:
        config.load()
    except (ImportError, SystemExit) as exc:  # e.g. --ws websockets without the package
        fail(name, f"--ws {args.ws}: uvicorn cannot load it ({exc})")
    ws_impl = "wsproto" if "wsproto" in config.ws_protocol_class.__module__ else "websockets"
    if ws_impl == "wsproto":
        patch_wsproto_disconnect(uvicorn, config.ws_protocol_class)
    deflate = "off" if args.no_deflate else "accepted when offered"

    async def main():
        if startup is not None:
            try:
                await startup()
            except BrokerUnreachable as exc:
                fail(name, str(exc))
        sock = listen(name, args.host, args.port)
        bound = sock.getsockname()
        print(f"{name}: listening on http://{bound[0]}:{bound[1]} (ws {ws_impl}, "
              f"permessage-deflate {deflate}, {describe})", flush=True)
        await uvicorn.Server(config).serve(sockets=[sock])
        if shutdown is not None:
            await shutdown()

    asyncio.run(main())


def patch_wsproto_disconnect(uvicorn, protocol):
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


class BrokerUnreachable(Exception):
    """The broker could not be reached at start: the message is the one line
    printed before exit 2 (URL, cause, how to start it)."""
