package net

import (
	"fmt"
	stdnet "net"
	"sync"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/task"
)

// Option configures Listen and Dial.
type Option func(*config)

type streamConfig struct {
	writeHigh int
	halfClose bool
}

type config struct {
	streamConfig
	handler Handler
	backlog int
}

// DefaultBacklog is how many accepted streams may wait for Accept.
const DefaultBacklog = 4096

// writeHigh is how many outbound bytes a stream queues on its loop before
// Write and WriteAll wait. It must equal the reactor's high watermark: only a
// buffer that reaches it makes the reactor call OnWritable when it drains,
// which is what wakes the waiting writes. The runtime does not let the
// watermarks be changed, so the default is the one in force.
const writeHigh = reactor.DefaultHighWatermark

// defaultConfig is shared by every Dial and Listen without options, so a
// dialed stream does not carry a config of its own.
var defaultConfig = &config{streamConfig: streamConfig{writeHigh: writeHigh}, backlog: DefaultBacklog}

func newConfig(opts []Option) *config {
	if len(opts) == 0 {
		return defaultConfig
	}
	c := &config{streamConfig: streamConfig{writeHigh: writeHigh}, backlog: DefaultBacklog}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c
}

// WithHandler serves the listener's streams with the event face: h gets every
// connection's callbacks on its loop, and Accept is not used.
func WithHandler(h Handler) Option { return func(c *config) { c.handler = h } }

// HalfClose keeps streams writable after the peer half-closes: Read then
// returns io.EOF while Write goes on until Close or CloseWrite, as with a
// *net.TCPConn. Without it a peer's EOF closes the stream once queued output
// is flushed, and later writes fail (EPIPE), which lets a pool notice a
// dead connection without reading. Event-face handlers opt in per handler by
// implementing ReadEOFHandler instead.
func HalfClose(on bool) Option { return func(c *config) { c.halfClose = on } }

// Backlog bounds the streams accepted by the loops but not yet taken by
// Accept; connections beyond it are reset. n <= 0 keeps the default.
func Backlog(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.backlog = n
		}
	}
}

// Listener accepts TCP connections on the runtime's reactor.
type Listener struct {
	rt  *weft.Runtime
	rl  *reactor.Listener
	cfg *config

	unhook func()

	mu      sync.Mutex
	backlog []*Stream
	waiters []*task.Future[*Stream]
	closed  bool
}

func checkNetwork(network string) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return nil
	}
	return fmt.Errorf("%w: %q", ErrBadNetwork, network)
}

// Listen listens on addr ("127.0.0.1:0", ":8080") with the runtime's reactor.
// The reactor accepts and spreads connections over its loops; Accept hands
// them out, or a Handler given WithHandler serves them on their loops.
func Listen(rt *weft.Runtime, network, addr string, opts ...Option) (*Listener, error) {
	if rt == nil {
		return nil, ErrNilRuntime
	}
	if err := checkNetwork(network); err != nil {
		return nil, err
	}
	g := rt.Reactor()
	if g == nil {
		return nil, ErrUnsupported
	}
	ls := &Listener{rt: rt, cfg: newConfig(opts)}
	var h reactor.Handler
	if ls.cfg.handler != nil {
		h = &eventTrampoline{ls: ls, h: ls.cfg.handler}
	} else {
		h = &streamTrampoline{rt: rt, cfg: &ls.cfg.streamConfig, open: ls.deliver}
	}
	rl, err := g.Listen(network, addr, h)
	if err != nil {
		return nil, err
	}
	ls.rl = rl
	// The Group closes its listeners itself, but only this Listener can fail
	// the Accepts waiting on it; a task stuck in one would hold up the
	// scheduler's Close.
	ls.unhook = rt.OnClose(func() { ls.Close() })
	return ls, nil
}

// Addr returns the address the listener is bound to.
func (l *Listener) Addr() stdnet.Addr { return l.rl.Addr() }

// Accept returns a future for the next connection. Concurrent Accepts are
// served in order. After Close it fails with ErrClosed.
func (l *Listener) Accept() *task.Future[*Stream] {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.cfg.handler != nil:
		return task.Ready[*Stream](nil, ErrEventStream)
	case len(l.backlog) > 0:
		s := l.backlog[0]
		l.backlog[0] = nil
		l.backlog = l.backlog[1:]
		return task.Ready(s, nil)
	case l.closed:
		return task.Ready[*Stream](nil, ErrClosed)
	}
	f := task.NewFuture[*Stream](l.rt)
	l.waiters = append(l.waiters, f)
	return f
}

// deliver runs on a loop for each accepted connection.
func (l *Listener) deliver(s *Stream) {
	l.mu.Lock()
	switch {
	case l.closed:
	case len(l.waiters) > 0:
		f := l.waiters[0]
		l.waiters[0] = nil
		l.waiters = l.waiters[1:]
		l.mu.Unlock()
		f.Complete(s, nil)
		return
	case len(l.backlog) < l.cfg.backlog:
		l.backlog = append(l.backlog, s)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	s.conn.Abort()
}

// Close stops accepting. Waiting Accepts fail with ErrClosed and accepted
// streams nobody took are closed; streams already handed out live on.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	waiters, backlog := l.waiters, l.backlog
	l.waiters, l.backlog = nil, nil
	l.mu.Unlock()
	if l.unhook != nil {
		l.unhook()
	}
	err := l.rl.Close()
	for _, f := range waiters {
		f.Complete(nil, ErrClosed)
	}
	for _, s := range backlog {
		s.Close()
	}
	return err
}

// streamTrampoline forwards reactor callbacks to futures-face streams.
type streamTrampoline struct {
	rt   *weft.Runtime
	cfg  *streamConfig
	open func(*Stream)
}

func (t *streamTrampoline) OnOpen(c *reactor.Conn) {
	s := newStream(t.rt, c, nil, t.cfg)
	c.SetContext(s)
	t.open(s)
}

func (t *streamTrampoline) OnData(c *reactor.Conn, in []byte) int {
	return c.Context().(*Stream).onData(in)
}

func (t *streamTrampoline) OnClose(c *reactor.Conn, err error) {
	if s, ok := c.Context().(*Stream); ok {
		s.onClose(err)
	}
}

func (t *streamTrampoline) OnReadEOF(c *reactor.Conn) bool {
	s, ok := c.Context().(*Stream)
	if !ok || !t.cfg.halfClose {
		return false
	}
	s.onReadEOF()
	return true
}

func (t *streamTrampoline) OnWritable(c *reactor.Conn) {
	if s, ok := c.Context().(*Stream); ok {
		s.service()
	}
}
