"""The blog's in-memory chat server ("WebSockets in FastAPI: From Basics to
Scaling", Step 4): a ConnectionManager holding a plain list of accepted
sockets; a broadcast awaits send_text to each socket in turn, in one loop, so
one slow socket delays every socket after it in the list.

Protocol (default, --protocol json): the first text frame is the user name
(the page's `ws.send(username)` on open); every later frame is broadcast as
JSON {"user": name, "message": text}, encoded once per message. With
--protocol raw it is the blog's first endpoint exactly: no name frame, every
frame broadcast as received (the blog's page sends "name: text").

Run: /usr/bin/python3 scripts/blog/memory.py --port 0
"""
import json

import blogcommon
from blogcommon import say
from connection_manager import ConnectionManager
from fastapi import FastAPI, WebSocket

app = FastAPI()
manager = ConnectionManager()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await manager.connect(websocket)
    try:
        username = None if blogcommon.args.protocol == "raw" else await websocket.receive_text()
        while True:
            data = await websocket.receive_text()
            say(f"INFO: Received: {data}")
            if username is None:
                await manager.broadcast(data)  # the blog's first version: raw text
            else:
                await manager.broadcast(json.dumps({"user": username, "message": data}))
    except Exception as e:  # as published: a disconnect arrives here too
        say(f"ERROR: {e}")
    finally:
        manager.disconnect(websocket)


def flags(p):
    p.add_argument("--protocol", choices=["json", "raw"], default="json",
                   help="json (default): user name first, then {\"user\",\"message\"} broadcasts (the blog's "
                        "page and Redis/RabbitMQ endpoints); raw: the blog's first endpoint, every frame "
                        "broadcast as received")


if __name__ == "__main__":
    blogcommon.main(app, __doc__, flags, lambda a: f"protocol {a.protocol}, one list, serial awaited sends")
