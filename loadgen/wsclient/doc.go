// Package wsclient is the WebSocket client of chatbench swarm: the
// smallest RFC 6455 client that holds tens of thousands of sockets cheaply.
//
// Why not coder/websocket on the client side: its Conn keeps a 4 KiB
// bufio.Reader and a 4 KiB bufio.Writer per connection (not configurable),
// which with the reader goroutine comes to ~15 KB per idle socket; a Conn
// here keeps one small read buffer and borrows a pooled one only while a
// large or fragmented message is being read. The server side (and the
// tests' servers) use coder/websocket.
//
// A Conn has one reader goroutine (ReadLoop, which answers pings and
// closes and reassembles fragmented messages) and any number of writers
// that write whole frames from their own buffers (WriteText). Errors carry
// their kind (Kind): refused, timeout, http_<status>, close_<code>, tls,
// protocol, frame_too_big, ...: the names swarm counts them under.
package wsclient
