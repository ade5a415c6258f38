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
package http
