package reactor

// Handler receives a connection's events. All three methods run on the connection's loop,
// so they must not block: a blocking handler stalls every connection of that loop.
type Handler interface {
	OnOpen(c *Conn)
	// OnData gets the connection's inbound bytes, zero-copy: in is valid only during the
	// call. It returns how many bytes it consumed; the rest stays buffered and is offered
	// again, with whatever arrives next, on the next call.
	OnData(c *Conn, in []byte) (consumed int)
	// OnClose runs once, on the loop, after the fd is closed. err is nil for a local
	// Close, io.EOF for a peer close, ErrClosed when the group shuts down, or the socket
	// error.
	OnClose(c *Conn, err error)
}

// WritableHandler is optional: OnWritable is called on the loop when the outbound buffer
// drains below the low watermark after having reached the high one (reading resumes at
// the same time).
type WritableHandler interface{ OnWritable(c *Conn) }

// ReadEOFHandler is optional: OnReadEOF runs on the loop when the peer half-closes (read
// returns EOF). Returning true keeps the connection open for writing, as a net.Conn
// would: the handler finishes it later with Close (OnClose(c, nil)) or CloseWrite
// (OnClose(c, io.EOF) once flushed). Returning false, or not implementing the interface,
// flushes queued output and closes with OnClose(c, io.EOF).
type ReadEOFHandler interface {
	OnReadEOF(c *Conn) (keepWriting bool)
}

// Event bits for Loop.Watch. They equal the Linux epoll bits so that they pass straight
// through; they are defined here so that callers compile on every system.
const (
	EventIn    uint32 = 0x1
	EventPri   uint32 = 0x2
	EventOut   uint32 = 0x4
	EventErr   uint32 = 0x8
	EventHup   uint32 = 0x10
	EventRdHup uint32 = 0x2000
	// EventEdge asks for edge-triggered notification (EPOLLET).
	EventEdge uint32 = 1 << 31
)
