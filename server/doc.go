// Package server is chatbench's reference chat server: the blog's broadcast
// design ("WebSockets in FastAPI"), done the way a production server should.
//
// A connection joins one room (/ws?room=R&user=U, or the user name as the first
// text frame). Every later text frame is broadcast to every member of the room,
// the sender included, as {"user":"U","room":"R","message":"…"}.
//
// The hot path is built around three rules:
//
//   - Encode once. A message becomes one complete WebSocket frame (header and
//     JSON payload in one allocation) that every receiver shares read-only.
//   - Never wait on a socket during fan-out. Broadcasting only appends the
//     shared frame to each member's bounded queue under short locks; a
//     per-connection writer goroutine, started on demand and gone when the
//     queue is empty, drains the queue with one writev syscall per batch. A
//     member whose queue is full is a slow consumer: it is disconnected with
//     1008 or its messages are dropped (Config.SlowPolicy), and counted;
//     unless one member floods the room, which is then closed instead
//     (flood.go).
//   - Stay lean when idle. An idle connection holds one reader goroutine and
//     small read/write buffers of its own instead of net/http's 4 KiB hijack
//     buffers; it has no writer goroutine until something is queued.
//
// Every stage of a connection is bounded (pending.go, upgrade.go,
// reader.go, lifecycle.go): connections that are not WebSockets yet share a
// budget of their own, no request body is taken, a socket without a name
// gets a deadline, each connection's messages and pings are rate-limited,
// and shutdown ends within its timeout whatever clients hold.
//
// Rooms live in a hub striped over independent locks, so broadcasts to different rooms never contend.
// Messages between nodes travel through a broker.Broker (memory, redis,
// rabbitmq); the hub always fans out locally.
package server
