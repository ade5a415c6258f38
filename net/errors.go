package net

import (
	"errors"
	stdnet "net"
	"os"
)

var (
	// ErrClosed is the standard library's net.ErrClosed, so errors.Is works
	// the same way on weft streams and on the standard library's conns.
	ErrClosed = stdnet.ErrClosed
	// ErrDeadline is os.ErrDeadlineExceeded: it is a net.Error whose Timeout
	// reports true, which is what callers of net.Conn check for.
	ErrDeadline = os.ErrDeadlineExceeded
	// ErrWriteClosed is returned by writes after CloseWrite.
	ErrWriteClosed = errors.New("weft/net: write side closed")
	// ErrEventStream is returned by Read on a stream served by a Handler:
	// its inbound bytes go to OnData, not to Read.
	ErrEventStream = errors.New("weft/net: Read on a stream driven by a Handler")
	// ErrNotOnLoop is returned by loop-only methods (Send) called elsewhere.
	ErrNotOnLoop = errors.New("weft/net: called outside the stream's loop")
	// ErrUnsupported is returned on systems without the reactor.
	ErrUnsupported = errors.ErrUnsupported
	// ErrBadNetwork is returned for networks other than tcp, tcp4 and tcp6.
	ErrBadNetwork = errors.New("weft/net: unsupported network")
	// ErrNilRuntime is returned when no runtime is given.
	ErrNilRuntime = errors.New("weft/net: nil runtime")
)
