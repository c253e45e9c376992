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
import sys

import blogcommon
from blogcommon import say

NAME = "blog redis_pubsub"
fastapi = blogcommon.require(NAME, "fastapi", "python3-fastapi")
blogcommon.require(NAME, "uvicorn", "python3-uvicorn")
redis_asyncio = blogcommon.require(NAME, "redis.asyncio", "python3-redis")
FastAPI, WebSocket = fastapi.FastAPI, fastapi.WebSocket

args = None  # set in __main__; read by the handlers


class RedisManager:
    """The blog's RedisManager, on redis.asyncio. The blog's one shared
    pubsub object becomes one per socket (its listen loop runs once per
    socket, and listeners sharing one pubsub would take messages from each
    other); its later revision of the post does the same."""

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
    pubsub = await redis_manager.subscribe(websocket, args.channel)  # Subscribe to the "chat" channel
    await websocket.accept()
    listener = asyncio.create_task(redis_manager.listen(websocket, pubsub))
    username = None
    try:
        # Receive the username from the frontend
        username = await websocket.receive_text()
        say(f"INFO: {username} connected")
        while True:
            data = await websocket.receive_text()
            await redis_manager.publish(args.channel, {"user": username, "message": data})  # Broadcast to Redis
    except Exception as e:
        say(f"ERROR: {e}")
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)  # its send error, if any, is not news
        await redis_manager.unsubscribe(websocket, pubsub, args.channel)
        say(f"INFO: {username} disconnected")


async def startup():
    global redis_manager
    try:
        redis_manager = RedisManager(args.redis_url)
        await asyncio.wait_for(redis_manager.redis.ping(), 5)
    except Exception as exc:  # refused, timeout, auth, bad URL: all mean "not usable"
        raise blogcommon.BrokerUnreachable(
            f"cannot reach Redis at {args.redis_url}: {exc or type(exc).__name__}; start it with: "
            f"redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no") from None


if __name__ == "__main__":
    p = blogcommon.parser(NAME, __doc__.split("\n\n")[0])
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis (default %(default)s)")
    p.add_argument("--channel", default="chat",
                   help="pub/sub channel (default chat, the blog's); processes on one channel share messages")
    args = p.parse_args()
    blogcommon.check_args(NAME, args)
    blogcommon.run(NAME, app, args, f"redis {args.redis_url} channel {args.channel!r}, "
                                    f"one subscription per socket", startup)
    sys.exit(0)
