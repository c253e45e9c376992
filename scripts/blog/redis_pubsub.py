"""The blog's Redis chat server ("WebSockets in FastAPI: From Basics to
Scaling", "Scaling Up: Handling Moderate Traffic"): every WebSocket, on
connect, gets its own Redis pub/sub subscription to one channel ("chat") and
a listener that forwards every published message to that socket; every frame
received is PUBLISHed to the channel as JSON {"user": name, "message": text}.
Redis, not this process, fans a message out to the subscriptions (one per
socket, on every server process), which is what the blog means by
"Offloads message distribution from the application server".

The first text frame is the user name. Run several processes on the same
Redis and channel: a message sent to one reaches the sockets of all.

Run: /usr/bin/python3 scripts/blog/redis_pubsub.py --port 0 --redis-url redis://127.0.0.1:6379/0
"""
import asyncio
import json

import blogcommon
from blogcommon import say
from fastapi import FastAPI, WebSocket

redis_asyncio = blogcommon.require("redis.asyncio", "python3-redis")


class RedisManager:
    """The blog's RedisManager, on redis.asyncio. The blog's one shared
    pubsub object becomes one per socket: its listen loop runs once per
    socket, and listeners sharing one pubsub connection would take turns at
    reading it, each message reaching one socket. The post's revised code
    also makes one per client."""

    def __init__(self, url):
        self.redis = redis_asyncio.Redis.from_url(url)
        self.active_connections = set()

    async def subscribe(self, websocket, channel):
        self.active_connections.add(websocket)
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(channel)
        # Wait for Redis to confirm, so a socket that swarm counts as
        # connected is already a receiver (the blog never waits).
        if await pubsub.get_message(timeout=10) is None:
            raise ConnectionError(f"Redis did not confirm SUBSCRIBE {channel} in 10 s")
        return pubsub

    async def listen(self, websocket, pubsub):
        async for message in pubsub.listen():
            if message["type"] == "message":
                data = json.loads(message["data"])
                await websocket.send_text(json.dumps(data))  # Send to the client

    async def publish(self, channel, message):
        await self.redis.publish(channel, json.dumps(message))

    async def unsubscribe(self, websocket, pubsub, channel):
        self.active_connections.discard(websocket)
        await pubsub.unsubscribe(channel)
        await pubsub.close()


app = FastAPI()
redis_manager = None  # made in startup, on uvicorn's event loop


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    channel = blogcommon.args.channel  # the blog's "chat"
    pubsub = await redis_manager.subscribe(websocket, channel)  # Subscribe to the "chat" channel
    await websocket.accept()
    listener = asyncio.create_task(redis_manager.listen(websocket, pubsub))
    username = None
    try:
        # Receive the username from the frontend
        username = await websocket.receive_text()
        say(f"INFO: {username} connected")
        while True:
            data = await websocket.receive_text()
            await redis_manager.publish(channel, {"user": username, "message": data})  # Broadcast to Redis
    except Exception as e:
        say(f"ERROR: {e}")
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)  # its send error, if any, is not news
        await redis_manager.unsubscribe(websocket, pubsub, channel)
        say(f"INFO: {username} disconnected")


async def startup():
    url = blogcommon.args.redis_url

    async def connect():
        global redis_manager
        redis_manager = RedisManager(url)
        await redis_manager.redis.ping()

    await blogcommon.reach("Redis", url, "redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
                           connect, timeout=5)


def flags(p):
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis (default %(default)s)")
    p.add_argument("--channel", default="chat",
                   help="pub/sub channel (default chat, the blog's); processes on one channel share messages")


if __name__ == "__main__":
    blogcommon.main(app, __doc__, flags, lambda a: f"redis {a.redis_url} channel {a.channel!r}, "
                                                   f"one subscription per socket", startup)
