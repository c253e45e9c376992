"""The blog's ConnectionManager (its connection_manager.py, Step 4), used by
memory.py and, for each process's own sockets, by rabbitmq_fanout.py: a plain
list of accepted sockets and a broadcast that awaits send_text to each socket
in turn, in one loop, so one slow socket delays every socket after it."""
from typing import List

from fastapi import WebSocket

from blogcommon import say


class ConnectionManager:
    def __init__(self):
        self.active_connections: List[WebSocket] = []

    async def connect(self, websocket: WebSocket):
        await websocket.accept()
        self.active_connections.append(websocket)
        say(f"INFO: New connection. Total connections: {len(self.active_connections)}")

    def disconnect(self, websocket: WebSocket):
        self.active_connections.remove(websocket)
        say(f"INFO: Connection removed. Total connections: {len(self.active_connections)}")

    async def broadcast(self, message: str):
        for connection in self.active_connections:
            await connection.send_text(message)
        say(f"INFO: Broadcasted: {message}")
