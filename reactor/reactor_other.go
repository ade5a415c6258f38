//go:build !linux

package reactor

import (
	"net"
	"time"
)

// Group is a set of event loops (Linux only).
type Group struct{}

// NewGroup returns ErrUnsupported on this system.
func NewGroup(opts ...Option) (*Group, error) { return nil, ErrUnsupported }

func (g *Group) Listen(network, addr string, h Handler) (*Listener, error) {
	return nil, ErrUnsupported
}
func (g *Group) Loops() []*Loop { return nil }
func (g *Group) Next() *Loop    { return nil }
func (g *Group) Close() error   { return ErrUnsupported }

// Listener accepts connections for a Group (Linux only).
type Listener struct{}

func (ln *Listener) Addr() net.Addr  { return nil }
func (ln *Listener) Close() error    { return ErrUnsupported }
func (ln *Listener) Backoffs() int64 { return 0 }
func (ln *Listener) Accepted() int64 { return 0 }

// Loop is one event loop (Linux only).
type Loop struct{}

func (l *Loop) ID() int                                     { return 0 }
func (l *Loop) Submit(fn func()) error                      { return ErrUnsupported }
func (l *Loop) AfterFunc(d time.Duration, fn func()) *Timer { return &Timer{} }
func (l *Loop) Attach(fd int, h Handler) (*Conn, error)     { return nil, ErrUnsupported }
func (l *Loop) Watch(fd int, events uint32, cb func(events uint32)) error {
	return ErrUnsupported
}
func (l *Loop) Unwatch(fd int) error { return ErrUnsupported }
func (l *Loop) InLoop() bool         { return false }
func (l *Loop) Stats() LoopStats     { return LoopStats{} }
func (l *Loop) load() int64          { return 0 }

// Timer is a one-shot loop callback (Linux only).
type Timer struct{}

func (t *Timer) Stop() bool { return false }

// Conn is a loop-owned connection (Linux only).
type Conn struct{}

func (c *Conn) Loop() *Loop                       { return nil }
func (c *Conn) Fd() int                           { return -1 }
func (c *Conn) LocalAddr() net.Addr               { return nil }
func (c *Conn) RemoteAddr() net.Addr              { return nil }
func (c *Conn) Context() any                      { return nil }
func (c *Conn) SetContext(v any)                  {}
func (c *Conn) Write(p []byte) (int, error)       { return 0, ErrUnsupported }
func (c *Conn) Writev(bufs [][]byte) (int, error) { return 0, ErrUnsupported }
func (c *Conn) Buffered() int                     { return 0 }
func (c *Conn) WritePaused() bool                 { return false }
func (c *Conn) Close() error                      { return ErrUnsupported }
func (c *Conn) CloseWrite() error                 { return ErrUnsupported }
func (c *Conn) Abort() error                      { return ErrUnsupported }
func (c *Conn) PauseRead()                        {}
func (c *Conn) ResumeRead()                       {}
