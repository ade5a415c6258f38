package reactor

import "errors"

var (
	// ErrUnsupported is returned by every constructor on systems without epoll.
	ErrUnsupported = errors.New("reactor: unsupported on this system (Linux epoll required)")
	// ErrClosed is returned when the loop, group, listener or connection is closed.
	ErrClosed = errors.New("reactor: closed")
	// ErrNotInLoop is returned by loop-only methods called from another goroutine.
	ErrNotInLoop = errors.New("reactor: loop-only method called off the loop")
	// ErrBadOption is wrapped by NewGroup when an option value is invalid.
	ErrBadOption = errors.New("reactor: invalid option")
)
