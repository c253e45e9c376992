// A plain Socket.IO 4.8 chat server, as issue 15 describes one: a client
// joins the room named in its handshake query (?room=...), and every
// "message" event is re-emitted to that room (the sender included). The
// namespace "/chat" does the same behind an auth check (auth.token must be
// "secret"), so the adapter's namespace and auth options are exercised.
//
//   node server.js [PING_INTERVAL_MS]
//
// It listens on 127.0.0.1 on a free port and prints "listening PORT".
const { createServer } = require("http");
const { Server } = require("socket.io");

const pingInterval = Number(process.argv[2] || 1000);
const http = createServer();
const io = new Server(http, { pingInterval, pingTimeout: pingInterval, serveClient: false });

function chat(nsp) {
  nsp.on("connection", (socket) => {
    const room = String(socket.handshake.query.room || "lobby");
    socket.join(room);
    socket.on("message", (data) => nsp.to(room).emit("message", data));
  });
}

chat(io.of("/"));
const secured = io.of("/chat");
secured.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") return next();
  next(new Error("not authorized"));
});
chat(secured);

http.listen(0, "127.0.0.1", () => console.log("listening " + http.address().port));
process.on("SIGTERM", () => process.exit(0));
