// Package http is weft's HTTP/1.1 server: a strict, incremental, zero-copy
// RFC 9112 request parser, a reusable response encoder and, on top of them, a
// server that runs on weft's reactors.
//
// The parser works directly on a connection's inbound buffer. Every field of a
// parsed Request is a subslice of that buffer and is valid only until the
// reactor's OnData call that produced it returns; a handler that keeps
// anything must copy it. When the buffer holds only part of a request the
// parser answers ErrNeedMore and remembers how far it got, so the next call,
// which sees the same bytes again followed by whatever arrived, does not
// rescan from the start.
//
// Strictness is deliberate: anything RFC 9112 lets a server reject and that
// has been used for request smuggling is rejected (obs-fold, whitespace
// before the colon, bare CR or LF, NUL in values, conflicting
// Content-Length, Transfer-Encoding together with Content-Length, any
// transfer coding other than chunked). Each rejection is a *ProtocolError
// that carries the status code to answer with; the connection is then closed.
//
// Request bodies are buffered whole (up to Limits.MaxBodyBytes) before the
// handler runs; a chunked body is decoded in place in the inbound buffer, so
// Request.Body is a subslice as well.
//
// # Server
//
// A Server listens on a reactor group (Runtime: *weft.Runtime, or On(group,
// scheduler)). There is no goroutine per connection: the loop that owns a
// connection parses every request in the bytes it read, runs the handler and
// queues the responses in order, which the loop then sends with one writev.
// Where a handler runs is its Mode: inline on the loop (handlers declared
// NonBlocking; no copy, no allocation), as a scheduler task, or on the
// blocking pool. Off the loop, the request is copied out of the inbound
// buffer, later pipelined requests wait in the reactor's buffer with reading
// paused, and the response comes back to the loop through Loop.Submit, so
// responses stay in request order. FromStd serves net/http handlers that way.
//
// Under ModeAuto a handler can choose per request: if it has a method
// InlineFor(r *Request) bool, the server calls it on the loop once the
// request is parsed, and runs the handler inline when it answers true and on
// the blocking pool when it answers false. A server whose cheap routes
// (a fixed page, a counter) and slow ones (files, a database) share one
// handler then keeps the cheap ones allocation-free on the loop. InlineFor
// must be quick and must not keep r; NonBlocking and Blocking declarations
// take precedence over it.
//
// Deadlines (read-header, idle, write) are checked by one timer per loop that
// sweeps its connections a few times per the shortest timeout: no timer per
// connection or per request, and no clock read on the request path.
package http
