"""The blog's RabbitMQ chat server ("WebSockets in FastAPI: From Basics to
Scaling", "The Dream Scale"): a fanout exchange ("chat"); every frame
received is published to it as JSON {"user": name, "message": text}; each
server process declares one exclusive, server-named queue bound to the
exchange and consumes it with auto-ack, and its consumer forwards each
message to that process's sockets: the blog's ConnectionManager (one list,
a send awaited to each socket in turn).

The first text frame is the user name. Run several processes on the same
RabbitMQ and exchange: a message sent to one reaches the sockets of all.

Run: /usr/bin/python3 scripts/blog/rabbitmq_fanout.py --port 0 --amqp-url amqp://guest:guest@127.0.0.1:5672/
"""
import asyncio
import json

import blogcommon
from blogcommon import say
from connection_manager import ConnectionManager
from fastapi import FastAPI, WebSocket

aio_pika = blogcommon.require("aio_pika", "python3-aio-pika")


class RabbitMQManager:
    """The blog's RabbitMQManager on aio-pika instead of pika's blocking
    connection: the same calls (fanout exchange, basic publish of the JSON
    text, exclusive server-named queue, auto-ack consume), awaited."""

    async def connect(self, url, exchange):
        self.connection = await aio_pika.connect(url)
        # pika's channel publishes without confirms; aio-pika's default
        # would wait for one per message.
        self.channel = await self.connection.channel(publisher_confirms=False)
        self.exchange = await self.channel.declare_exchange(exchange, aio_pika.ExchangeType.FANOUT)

    async def publish(self, message):
        await self.exchange.publish(aio_pika.Message(body=json.dumps(message).encode()), routing_key="")

    async def declare_queue(self):
        self.queue = await self.channel.declare_queue("", exclusive=True)
        await self.queue.bind(self.exchange)

    async def consume(self, callback):
        # One message at a time, like pika's start_consuming() loop.
        async with self.queue.iterator(no_ack=True) as messages:
            async for message in messages:
                try:
                    await callback(message.body.decode())
                except Exception as e:  # a socket that went away: keep consuming
                    say(f"ERROR: {e}")


app = FastAPI()
rabbitmq_manager = RabbitMQManager()
manager = ConnectionManager()


@app.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket):
    await manager.connect(websocket)
    username = None
    try:
        # Receive the username from the frontend
        username = await websocket.receive_text()
        say(f"INFO: {username} connected")
        while True:
            data = await websocket.receive_text()
            await rabbitmq_manager.publish({"user": username, "message": data})
    except Exception as e:
        say(f"ERROR: {e}")
    finally:
        manager.disconnect(websocket)
        say(f"INFO: {username} disconnected")


consumer = None  # the task forwarding this process's queue to its sockets


async def startup():
    global consumer
    a = blogcommon.args

    async def connect():
        # The queue is bound before the server says it listens, so every
        # message published after that reaches this process.
        await rabbitmq_manager.connect(a.amqp_url, a.exchange)
        await rabbitmq_manager.declare_queue()

    await blogcommon.reach("RabbitMQ", a.amqp_url, "rabbitmq-server -detached (RABBITMQ_NODE_IP_ADDRESS=127.0.0.1), "
                           "then rabbitmqctl await_startup", connect)
    consumer = asyncio.create_task(rabbitmq_manager.consume(manager.broadcast))


async def shutdown():
    """Stop consuming (basic.cancel) while the connection is open, then close
    it: left to asyncio.run's cleanup, the consumer is cancelled mid-RPC and
    prints a traceback."""
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    await rabbitmq_manager.connection.close()


def flags(p):
    p.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/", help="RabbitMQ (default %(default)s)")
    p.add_argument("--exchange", default="chat",
                   help="fanout exchange (default chat, the blog's); processes on one exchange share messages")


if __name__ == "__main__":
    blogcommon.main(app, __doc__, flags, lambda a: f"amqp exchange {a.exchange!r} (fanout), one exclusive "
                                                   f"auto-ack queue per process", startup, shutdown)
