package http

import (
	"context"
	"errors"
	"log"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/scheduler"
)

// Handler serves one request. w and r are reused for the next request: a
// handler must not keep them, or any slice of r, after it returns.
type Handler interface {
	ServeHTTP(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeHTTP calls f(w, r).
func (f HandlerFunc) ServeHTTP(w *ResponseWriter, r *Request) { f(w, r) }

// NonBlocking declares that h never blocks (no I/O, no locks held for
// long), so ModeAuto runs it inline on the event loop: no hand-off, no copy
// of the request, no allocation.
func NonBlocking(h Handler) Handler { return nonBlocking{h} }

type nonBlocking struct{ Handler }

func (nonBlocking) NonBlocking() bool { return true }

// Mode says where handlers run.
type Mode uint8

const (
	// ModeAuto runs handlers declared NonBlocking inline and others on the
	// blocking pool: a handler that blocks must never stall a loop. A
	// handler with a method InlineFor(r *Request) bool is asked request by
	// request, on the loop: true runs it inline, false on the blocking pool.
	ModeAuto Mode = iota
	// ModeInline runs every handler on the connection's loop.
	ModeInline
	// ModeScheduler runs handlers as tasks on the work-stealing scheduler.
	ModeScheduler
	// ModeBlocking runs handlers on the scheduler's bounded blocking pool.
	ModeBlocking
)

// Runtime is what a Server runs on. *weft.Runtime satisfies it once it has
// a reactor; On builds one from the parts.
type Runtime interface {
	Reactor() *reactor.Group
	Scheduler() *scheduler.Scheduler
}

type parts struct {
	g *reactor.Group
	s *scheduler.Scheduler
}

func (p parts) Reactor() *reactor.Group         { return p.g }
func (p parts) Scheduler() *scheduler.Scheduler { return p.s }

// On makes a Runtime from a reactor group and a scheduler. The scheduler
// may be nil, in which case handlers that do not run inline get a goroutine
// each.
func On(g *reactor.Group, s *scheduler.Scheduler) Runtime { return parts{g, s} }

var (
	// ErrServerClosed is returned by ListenAndServe after Shutdown or Close.
	ErrServerClosed = errors.New("http: server closed")
	// ErrServerStarted is returned when a Server is started twice.
	ErrServerStarted = errors.New("http: server already started")
	// ErrNoHandler is returned by Listen without a Handler.
	ErrNoHandler = errors.New("http: no handler")
)

// Default timeouts. Read-header also bounds a new connection that sends
// nothing: slow-loris clients cost a descriptor for at most that long.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
)

// Server serves HTTP/1.1 on a reactor group. Set the fields, then call
// Listen or ListenAndServe once; zero fields take safe defaults.
type Server struct {
	Handler Handler
	Mode    Mode
	Limits  Limits
	// ReadHeaderTimeout bounds the time from the first byte of a request
	// (or from accept) to the end of its header section.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection, and the gaps while a body is being received.
	IdleTimeout time.Duration
	// WriteTimeout bounds how long queued output may make no progress.
	WriteTimeout time.Duration
	// ServerName, when set, is sent as the Server header.
	ServerName string
	// ErrorLog receives handler panics; nil means log.Default().
	ErrorLog *log.Logger

	mode     Mode
	perReq   inlineChooser // ModeAuto with a handler that chooses per request
	lim      Limits
	sched    *scheduler.Scheduler
	ln       *reactor.Listener
	loops    map[*reactor.Loop]*loopState
	interval time.Duration

	started  atomic.Bool
	shutting atomic.Bool
	active   atomic.Int64 // open connections
	wake     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type nonBlockingHandler interface{ NonBlocking() bool }
type blockingHandler interface{ Blocking() bool }

// inlineChooser is a handler that, under ModeAuto, decides request by
// request where it runs: InlineFor is called on the loop with the parsed
// request and answers true to run the handler there, false to run it on
// the blocking pool. It must itself be quick and must not keep r.
type inlineChooser interface{ InlineFor(r *Request) bool }

// Listen starts serving on addr ("host:port"; port 0 picks one) and returns
// at once with the bound address.
func (s *Server) Listen(rt Runtime, addr string) (net.Addr, error) {
	if s.Handler == nil {
		return nil, ErrNoHandler
	}
	if !s.started.CompareAndSwap(false, true) {
		return nil, ErrServerStarted
	}
	s.lim = s.Limits.withDefaults()
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = DefaultWriteTimeout
	}
	s.mode = s.resolveMode()
	s.sched = rt.Scheduler()
	s.wake = make(chan struct{}, 1)
	s.done = make(chan struct{})
	// Deadlines are checked by one sweep per loop, a few times per the
	// shortest timeout: one timer per loop instead of one per connection
	// keeps idle connections small and requests free of timer work.
	s.interval = min(s.ReadHeaderTimeout, s.IdleTimeout, s.WriteTimeout) / 4
	s.interval = max(10*time.Millisecond, min(s.interval, time.Second))

	g := rt.Reactor()
	s.loops = make(map[*reactor.Loop]*loopState)
	for _, l := range g.Loops() {
		ls := &loopState{srv: s, loop: l}
		ls.w.serverName = s.ServerName
		ls.w.flush = ls.flushInline
		ls.sweepFn = ls.sweep
		s.loops[l] = ls
	}
	acquireDate()
	ln, err := g.Listen("tcp", addr, (*connHandler)(s))
	if err != nil {
		releaseDate()
		return nil, err
	}
	s.ln = ln
	for _, ls := range s.loops {
		ls := ls
		_ = ls.loop.Submit(func() { ls.timer = ls.loop.AfterFunc(s.interval, ls.sweepFn) })
	}
	return ln.Addr(), nil
}

// ListenAndServe is Listen, then waits until Shutdown or Close has finished.
func (s *Server) ListenAndServe(rt Runtime, addr string) error {
	if _, err := s.Listen(rt, addr); err != nil {
		return err
	}
	<-s.done
	return ErrServerClosed
}

// Addr is the bound address, once listening.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Server) resolveMode() Mode {
	if b, ok := s.Handler.(blockingHandler); ok && b.Blocking() {
		return ModeBlocking
	}
	if s.Mode != ModeAuto {
		return s.Mode
	}
	if nb, ok := s.Handler.(nonBlockingHandler); ok && nb.NonBlocking() {
		return ModeInline
	}
	if c, ok := s.Handler.(inlineChooser); ok {
		// s.mode stays ModeAuto, which OnData reads as "ask perReq".
		s.perReq = c
		return ModeAuto
	}
	return ModeBlocking
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// Shutdown stops accepting, closes idle connections, lets requests in
// progress finish (their responses carry Connection: close), and returns
// when every connection is closed or ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.stop(ctx, false)
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	return s.stop(context.Background(), true)
}

func (s *Server) stop(ctx context.Context, hard bool) error {
	if !s.started.Load() || s.ln == nil {
		return nil
	}
	s.shutting.Store(true)
	_ = s.ln.Close()
	for _, ls := range s.loops {
		ls := ls
		if err := ls.loop.Submit(func() { ls.closeConns(hard) }); err != nil {
			// The loop is gone (group closed): its connections went with it.
			continue
		}
	}
	for s.active.Load() > 0 {
		select {
		case <-s.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.stopOnce.Do(func() {
		for _, ls := range s.loops {
			ls := ls
			_ = ls.loop.Submit(func() {
				ls.stopped = true
				if ls.timer != nil {
					ls.timer.Stop()
				}
			})
		}
		releaseDate()
		close(s.done)
	})
	return nil
}

// loopState is the part of the server each loop owns: the request and
// response being served inline (requests on one loop are served one after
// another, so one of each suffices), the loop's connections and its clock.
type loopState struct {
	srv     *Server
	loop    *reactor.Loop
	req     Request
	w       ResponseWriter
	cur     *reactor.Conn // connection whose OnData is running
	flushes int
	conns   []*conn
	timer   *reactor.Timer
	sweepFn func()
	stopped bool
}

func (ls *loopState) flushInline(w *ResponseWriter) error {
	ls.flushes++
	if ls.cur != nil && len(w.out) > 0 {
		if _, err := ls.cur.Write(w.out); err != nil {
			return err
		}
	}
	w.out = w.out[:0]
	return nil
}

// closeConns runs on the loop at shutdown.
func (ls *loopState) closeConns(hard bool) {
	for i := len(ls.conns) - 1; i >= 0; i-- {
		if i >= len(ls.conns) {
			continue
		}
		c := ls.conns[i]
		switch {
		case hard:
			_ = c.rc.Abort()
		case !c.busy && (c.phase == phaseIdle || !c.p.Pending()):
			// Idle, or connected and silent so far: nothing is in progress.
			c.closing = true
			_ = c.rc.Close()
		}
	}
}

// clockBase anchors clock: readings are monotonic, so a step of the wall
// clock cannot expire or extend a connection's timeout.
var clockBase = time.Now()

// clock is the time for connection deadlines, in ns since clockBase.
func clock() int64 { return int64(time.Since(clockBase)) }

func (ls *loopState) sweep() {
	if ls.stopped {
		return
	}
	s := ls.srv
	now := clock()
	rh, idle, wt := int64(s.ReadHeaderTimeout), int64(s.IdleTimeout), int64(s.WriteTimeout)
	// Backwards, because Abort runs OnClose at once, which swaps the last
	// connection into the removed slot: an already visited one.
	for i := len(ls.conns) - 1; i >= 0; i-- {
		if i >= len(ls.conns) {
			continue
		}
		c := ls.conns[i]
		if b := c.rc.Buffered(); b > 0 {
			if b != c.wbuf {
				c.wbuf, c.wsince = b, now
			} else if now-c.wsince > wt {
				_ = c.rc.Abort()
				continue
			}
		} else {
			c.wbuf = 0
		}
		if c.busy || c.closing {
			continue
		}
		switch c.phase {
		case phaseHeader:
			if now-c.since > rh {
				c.closing = true
				_ = c.rc.Close()
			}
		case phaseIdle, phaseBody:
			if now-c.since > idle {
				c.closing = true
				_ = c.rc.Close()
			}
		}
	}
	ls.timer = ls.loop.AfterFunc(s.interval, ls.sweepFn)
}

const (
	phaseHeader uint8 = iota // reading a request's header section (or waiting for the first)
	phaseBody                // header done, body arriving
	phaseIdle                // between requests
)

// conn is the per-connection state. It is kept small: an idle keep-alive
// connection costs this, the reactor's Conn and nothing else.
type conn struct {
	ls     *loopState
	rc     *reactor.Conn
	idx    int
	p      Parser
	since  int64 // start of the phase (header), or last progress (idle, body)
	wsince int64
	wbuf   int
	async  *asyncReq // request being served off the loop
	// flushWait is the streaming handler waiting for the queue to drain
	// below the low watermark (OnWritable) or for the connection to close.
	flushWait chan error

	phase        uint8
	busy         bool // a handler runs off the loop: later requests wait
	pausedBusy   bool // reading paused until it finishes
	closing      bool
	closed       bool
	sentContinue bool
}

// connHandler is the reactor.Handler of a Server.
type connHandler Server

func (h *connHandler) OnOpen(rc *reactor.Conn) {
	s := (*Server)(h)
	ls := s.loops[rc.Loop()]
	c := &conn{ls: ls, rc: rc, idx: len(ls.conns), since: clock(), phase: phaseHeader}
	c.p.lim = s.lim
	c.p.Reset()
	ls.conns = append(ls.conns, c)
	rc.SetContext(c)
	s.active.Add(1)
	if s.shutting.Load() {
		c.closing = true
		_ = rc.Close()
	}
}

func (h *connHandler) OnClose(rc *reactor.Conn, err error) {
	s := (*Server)(h)
	c, ok := rc.Context().(*conn)
	if !ok {
		return
	}
	c.closed = true
	ls := c.ls
	last := len(ls.conns) - 1
	ls.conns[c.idx] = ls.conns[last]
	ls.conns[c.idx].idx = c.idx
	ls.conns[last] = nil
	ls.conns = ls.conns[:last]
	if c.async != nil && c.async.cancel != nil {
		c.async.cancel() // the request's context ends with the client
	}
	if c.flushWait != nil {
		c.flushWait <- reactor.ErrClosed
		c.flushWait = nil
	}
	if s.active.Add(-1) == 0 && s.shutting.Load() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// OnWritable releases a streaming handler held back by the high watermark.
func (h *connHandler) OnWritable(rc *reactor.Conn) {
	if c, ok := rc.Context().(*conn); ok && c.flushWait != nil {
		c.flushWait <- nil
		c.flushWait = nil
	}
}

// pipelineBatch is how much inline output OnData gathers before handing it
// to the connection, where the high watermark can see it.
const pipelineBatch = 16 << 10

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

func (h *connHandler) OnData(rc *reactor.Conn, in []byte) int {
	s := (*Server)(h)
	c := rc.Context().(*conn)
	if c.closing {
		return len(in)
	}
	if c.busy {
		// Pipelined bytes wait in the reactor's buffer; paused, the
		// buffer cannot grow, and resuming offers them again.
		if !c.pausedBusy {
			c.pausedBusy = true
			rc.PauseRead()
		}
		return 0
	}
	ls := c.ls
	w := &ls.w
	ls.cur = rc
	// One clock read per batch of input: a phase's start must not be
	// earlier than the bytes that began it, or its timeout fires early.
	now := clock()
	consumed := 0
	for consumed < len(in) {
		req := &ls.req
		n, err := c.p.Parse(in[consumed:], req)
		if err == ErrNeedMore {
			if c.p.HeaderDone() {
				c.phase, c.since = phaseBody, now
				if req.Expect100 && !c.sentContinue {
					c.sentContinue = true
					w.out = append(w.out, continue100...)
				}
			} else if c.phase != phaseHeader {
				c.phase, c.since = phaseHeader, now
			}
			break
		}
		if err != nil {
			w.out = AppendError(w.out, StatusOf(err))
			c.closing = true
			consumed = len(in)
			break
		}
		start := consumed
		consumed += n
		c.sentContinue = false
		c.phase, c.since = phaseIdle, now
		req.RemoteAddr = rc.RemoteAddr()
		if s.shutting.Load() {
			req.Close = true
		}
		if s.mode == ModeInline || (s.mode == ModeAuto && s.perReq.InlineFor(req)) {
			c.serveInline(req)
			if c.closing {
				consumed = len(in)
				break
			}
			// A client that pipelines requests and reads nothing must not
			// make the loop produce every response: once the queue is at
			// the high watermark the rest of the pipeline stays in the
			// inbound buffer, offered again when the queue has drained.
			if len(w.out) >= pipelineBatch {
				_, _ = rc.Write(w.out)
				w.out = w.out[:0]
			}
			if rc.WritePaused() {
				break
			}
			continue
		}
		c.dispatch(in[start:consumed], req)
		if consumed < len(in) {
			c.pausedBusy = true
			rc.PauseRead()
		}
		break
	}
	if len(w.out) > 0 {
		_, _ = rc.Write(w.out)
		w.out = w.out[:0]
	}
	if c.closing {
		_ = rc.Close()
	}
	ls.cur = nil
	return consumed
}

func (c *conn) serveInline(req *Request) {
	ls := c.ls
	w := &ls.w
	mark, flushes := len(w.out), ls.flushes
	w.reset(req)
	if ls.srv.call(w, req) {
		if ls.flushes != flushes {
			// Part of the response is on its way: the framing is broken.
			c.closing = true
			return
		}
		w.out = appendSimple(w.out[:mark], 500, req.Close)
		c.closing = req.Close
		return
	}
	w.finish()
	if w.close {
		c.closing = true
	}
}

// call runs the handler; a panic is logged and reported, never propagated:
// one bad request must not take down a loop with all its connections.
func (s *Server) call(w *ResponseWriter, r *Request) (panicked bool) {
	defer func() {
		if v := recover(); v != nil {
			panicked = true
			s.logf("http: panic serving %v %s %s: %v\n%s", r.RemoteAddr, r.Method, r.Target, v, debug.Stack())
		}
	}()
	s.Handler.ServeHTTP(w, r)
	return false
}

// asyncReq carries a request off the loop. The request's bytes are copied
// out of the inbound buffer (which the loop reuses as soon as OnData
// returns) and the Request re-pointed at the copy.
type asyncReq struct {
	c      *conn
	loop   *reactor.Loop
	buf    []byte
	req    Request
	w      ResponseWriter
	cancel context.CancelFunc
	runFn  func()
	doneFn func()
}

var asyncPool sync.Pool

func (c *conn) dispatch(raw []byte, req *Request) {
	s := c.ls.srv
	a, _ := asyncPool.Get().(*asyncReq)
	if a == nil {
		a = new(asyncReq)
		a.runFn, a.doneFn = a.run, a.done
	}
	a.c, a.loop = c, c.ls.loop
	a.buf = append(a.buf[:0], raw...)
	hs, ts := a.req.headers[:0], a.req.trailers[:0]
	a.req = *req
	a.req.headers = append(hs, req.headers...)
	a.req.trailers = append(ts, req.trailers...)
	rebaseRequest(&a.req, raw, a.buf)
	var ctx context.Context
	ctx, a.cancel = context.WithCancel(context.Background())
	a.w.ctx = ctx
	c.busy, c.async = true, a
	var err error
	switch {
	case s.sched == nil:
		go a.runFn()
	case s.mode == ModeScheduler:
		err = s.sched.TryGo(a.runFn)
	default:
		err = s.sched.Blocking(a.runFn)
	}
	if err != nil {
		// The scheduler is closing: answer here rather than drop the request.
		a.w.out = appendSimple(a.w.out[:0], 503, true)
		a.done()
	}
}

func (a *asyncReq) run() {
	c := a.c
	s := c.ls.srv
	w := &a.w
	w.out = w.out[:0]
	w.reset(&a.req)
	w.serverName = s.ServerName
	flushed := false
	w.flush = func(w *ResponseWriter) error {
		flushed = true
		return a.flushOut(w)
	}
	if s.shutting.Load() {
		w.SetClose()
	}
	if s.call(w, &a.req) {
		if flushed {
			w.close = true
		} else {
			w.out = appendSimple(w.out[:0], 500, a.req.Close)
			w.close = a.req.Close
		}
	} else {
		if s.shutting.Load() && !w.started {
			w.SetClose()
		}
		w.finish()
	}
	if err := a.loop.Submit(a.doneFn); err != nil {
		// The loop is gone, and the connection with it.
		a.release()
	}
}

// flushOut hands the encoded output to the loop and waits until the loop has
// queued it, so the handler's buffer can be reused and a streamed response
// stays in order.
func (a *asyncReq) flushOut(w *ResponseWriter) error {
	if len(w.out) == 0 {
		return nil
	}
	errc := make(chan error, 1)
	out := w.out
	if err := a.loop.Submit(func() {
		if a.c.closed {
			errc <- reactor.ErrClosed
			return
		}
		_, err := a.c.rc.Write(out)
		if err == nil && a.c.rc.WritePaused() {
			// The client reads slower than the handler writes: hold the
			// handler until the queue drains, so one connection queues
			// no more than the watermark and one flush.
			a.c.flushWait = errc
			return
		}
		errc <- err
	}); err != nil {
		return err
	}
	err := <-errc
	w.out = w.out[:0]
	return err
}

// done runs on the loop when the handler has finished.
func (a *asyncReq) done() {
	c := a.c
	c.async = nil
	c.busy = false
	if !c.closed {
		if len(a.w.out) > 0 {
			_, _ = c.rc.Write(a.w.out)
		}
		if a.w.close || c.ls.srv.shutting.Load() {
			c.closing = true
			_ = c.rc.Close()
		} else {
			c.phase, c.since = phaseIdle, clock()
			if c.pausedBusy {
				c.pausedBusy = false
				c.rc.ResumeRead()
			}
		}
	}
	a.release()
}

func (a *asyncReq) release() {
	if a.cancel != nil {
		a.cancel()
		a.cancel = nil
	}
	a.c, a.loop, a.w.ctx, a.w.flush = nil, nil, nil, nil
	a.req.Body, a.req.RemoteAddr = nil, nil
	// Do not let one huge request pin its buffers in the pool.
	if cap(a.buf) > 64<<10 || cap(a.w.out) > 256<<10 || cap(a.w.body) > 256<<10 {
		return
	}
	asyncPool.Put(a)
}

// rebaseRequest re-points every slice of r that lies in old at the same
// offset in new (a copy of old).
func rebaseRequest(r *Request, old, new []byte) {
	rb := func(b []byte) []byte {
		if len(b) == 0 || len(old) == 0 {
			return b
		}
		off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.SliceData(old)))
		if off >= uintptr(len(old)) {
			return b // not from the buffer (the static "/")
		}
		return new[off : int(off)+len(b) : int(off)+len(b)]
	}
	r.Method, r.Target, r.Path, r.Query, r.Host, r.Body = rb(r.Method), rb(r.Target), rb(r.Path), rb(r.Query), rb(r.Host), rb(r.Body)
	for i := range r.headers {
		r.headers[i].Name, r.headers[i].Value = rb(r.headers[i].Name), rb(r.headers[i].Value)
	}
	for i := range r.trailers {
		r.trailers[i].Name, r.trailers[i].Value = rb(r.trailers[i].Name), rb(r.trailers[i].Value)
	}
}
