"""The blog's chat server ("WebSockets in FastAPI: From Basics to Scaling"),
in-memory ConnectionManager version: the first text frame is the user name,
every later text frame is broadcast as raw text to every connection, sender
included. Used by chatbench's loadgen tests as a foreign server.

Run: /usr/bin/python3 blog_server.py --fd N   (a listening socket passed in)
  or /usr/bin/python3 blog_server.py --port P
"""
import sys
from typing import List

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()


class ConnectionManager:
    def __init__(self):
        self.active_connections: List[WebSocket] = []

    async def connect(self, websocket: WebSocket):
        await websocket.accept()
        self.active_connections.append(websocket)

    def disconnect(self, websocket: WebSocket):
        if websocket in self.active_connections:
            self.active_connections.remove(websocket)

    async def broadcast(self, message: str):
        for connection in list(self.active_connections):
            try:
                await connection.send_text(message)
            except Exception:
                self.disconnect(connection)


manager = ConnectionManager()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await manager.connect(websocket)
    try:
        username = await websocket.receive_text()
        while True:
            data = await websocket.receive_text()
            await manager.broadcast(f"{username}: {data}")
    except WebSocketDisconnect:
        manager.disconnect(websocket)


if __name__ == "__main__":
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    if "--fd" in args:
        uvicorn.run(app, fd=int(args["--fd"]), log_level="info")
    else:
        uvicorn.run(app, host="127.0.0.1", port=int(args.get("--port", "8000")), log_level="info")
