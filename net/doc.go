// Package net gives weft programs asynchronous TCP streams that live on the
// runtime's reactor loops.
//
// There are two faces over the same Stream type.
//
// The futures face is for code that wants to drive a connection from a task or
// any goroutine: Listen and Accept, Dial, and Read, Write and WriteAll all
// return *task.Future values. The loop owning the socket completes them;
// continuations attached with Then run on the scheduler, never on a loop, so
// a slow continuation cannot stall other connections. No goroutine is parked
// per stream: a pending Read is a small record in the stream's queue.
//
// The event face is for servers that want no copies and no hops: a Handler
// passed with WithHandler gets OnOpen, OnData and OnClose on the stream's own
// loop. OnData sees the loop's inbound buffer directly and returns how much it
// consumed. Send queues bytes from inside a callback; Post and Offload let any
// goroutine (or a scheduler task) write back safely and in order.
//
// Stream.NetConn adapts either face to a blocking net.Conn so that bufio,
// io.Copy and crypto/tls work unchanged.
//
// Deadlines use the loops' timers, armed lazily only while an operation is
// pending, so a connection that sets a deadline per request does not create a
// time.Timer per connection.
//
// The package name shadows the standard library's net on purpose, as the
// import path is github.com/weftrt/weft/net; import it under another name
// (weftnet) when both are needed.
package net
