package http

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weftrt/weft/internal/gstack"
)

// DefaultStallThreshold is how long a handler may hold its event loop before
// a Watchdog reports it. A loop serves thousands of connections; 100 ms of
// one handler is 100 ms of latency added to every one of them.
const DefaultStallThreshold = 100 * time.Millisecond

// Watchdog finds handlers that hold an event loop too long: a file read on a
// slow disk, a lock, a time.Sleep, a blocking call that belongs on the
// blocking pool. Wrap the handler a Server runs inline (ModeInline, or
// NonBlocking under ModeAuto); handlers that run off the loop may block by
// design and should not be wrapped.
//
// A handler that runs longer than the threshold is counted, and the first
// time a route does it the Watchdog logs one warning with the route, how
// long the loop was held and the loop goroutine's stack taken while it was
// still blocked, which points at the code that blocks.
//
// The cost on the request path is a few atomic operations on a cache line
// the loop owns: no clock read, no allocation. Time is kept by the
// Watchdog's own goroutine, which samples every handler slot a few times per
// threshold; taking the stack (runtime.Stack of all goroutines) happens only
// when a stall is found.
type Watchdog struct {
	threshold time.Duration
	period    time.Duration
	log       *slog.Logger
	route     func(*Request) string

	slots     [watchSlots]watchSlot
	stalls    atomic.Int64
	unwatched atomic.Int64

	mu   sync.Mutex // rare path: reporting a stall
	seen map[string]int64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// watchSlots bounds the handler slots: one per loop is used when the
// wrapped handler runs inline, so this is the most loops one Watchdog can
// watch.
const watchSlots = 128

// maxStallRoutes bounds the routes remembered as already reported, so that
// paths chosen by clients cannot grow the map without end; past it every
// stall is logged.
const maxStallRoutes = 1024

// watchSlot follows the handler calls of one loop. The loop's Request is
// the same object from request to request, so its address names the slot.
type watchSlot struct {
	owner atomic.Uintptr // address of the Request that claimed the slot
	gid   atomic.Int64   // goroutine of the loop, to find its stack
	seq   atomic.Uint64  // odd while a handler runs
	stall atomic.Pointer[stallRecord]

	// Sampler-only state.
	lastSeq uint64
	since   time.Time
	flagged bool

	_ [64]byte // keep loops off each other's cache lines
}

// stallRecord is where the loop (which knows the route and when the handler
// returned) meets the sampler (which took the stack): whichever of the two
// finishes its part second logs it.
type stallRecord struct {
	seq   uint64
	since time.Time // first sample that saw the handler running
	slot  int

	route string    // set by the loop
	end   time.Time // set by the loop
	stack []byte    // set by the sampler
	parts atomic.Int32
}

// WatchdogOption configures NewWatchdog.
type WatchdogOption func(*Watchdog)

// StallThreshold sets how long a handler may hold the loop (default
// DefaultStallThreshold; values under 4 ms are raised to 4 ms).
func StallThreshold(d time.Duration) WatchdogOption {
	return func(w *Watchdog) { w.threshold = d }
}

// StallLogger sets where stalls are logged (default slog.Default()).
func StallLogger(l *slog.Logger) WatchdogOption {
	return func(w *Watchdog) { w.log = l }
}

// StallRoute names the route of a request in reports and decides which
// stalls count as the same one (default: method and path). It runs on the
// loop, and only for requests that stalled.
func StallRoute(fn func(*Request) string) WatchdogOption {
	return func(w *Watchdog) { w.route = fn }
}

// NewWatchdog starts a Watchdog. Close stops its goroutine.
func NewWatchdog(opts ...WatchdogOption) *Watchdog {
	w := &Watchdog{
		threshold: DefaultStallThreshold,
		seen:      make(map[string]int64),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		o(w)
	}
	if w.threshold < 4*time.Millisecond {
		w.threshold = 4 * time.Millisecond
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.route == nil {
		w.route = func(r *Request) string { return string(r.Method) + " " + string(r.Path) }
	}
	w.period = w.threshold / 4
	go w.sample()
	return w
}

// Close stops the sampler. Wrapped handlers keep working, unwatched.
func (w *Watchdog) Close() {
	w.closeOnce.Do(func() { close(w.stop) })
	<-w.done
}

// Stalls is the number of handler calls that held their loop longer than
// the threshold.
func (w *Watchdog) Stalls() int64 { return w.stalls.Load() }

// Threshold is the configured threshold.
func (w *Watchdog) Threshold() time.Duration { return w.threshold }

// Wrap returns h watched. It keeps h's NonBlocking or Blocking declaration,
// so the Server picks the same Mode for it.
func (w *Watchdog) Wrap(h Handler) Handler {
	wh := &watched{w: w, h: h}
	if nb, ok := h.(nonBlockingHandler); ok {
		wh.nb = nb.NonBlocking()
	}
	if b, ok := h.(blockingHandler); ok {
		wh.bl = b.Blocking()
	}
	return wh
}

type watched struct {
	w      *Watchdog
	h      Handler
	nb, bl bool
}

func (h *watched) NonBlocking() bool { return h.nb }
func (h *watched) Blocking() bool    { return h.bl }

func (h *watched) ServeHTTP(rw *ResponseWriter, r *Request) {
	s := h.w.slotFor(r)
	if s == nil {
		h.h.ServeHTTP(rw, r)
		return
	}
	seq := s.seq.Add(1)
	// Deferred so that a panicking handler (which the Server recovers)
	// does not leave the slot looking busy forever.
	defer h.w.leave(s, seq, r)
	h.h.ServeHTTP(rw, r)
}

// slotFor finds or claims the slot of the loop serving r.
func (w *Watchdog) slotFor(r *Request) *watchSlot {
	key := uintptr(unsafe.Pointer(r))
	i := int((uint64(key) >> 4) * 0x9E3779B97F4A7C15 >> 57) // top 7 bits: 0..127
	for n := 0; n < watchSlots; n++ {
		s := &w.slots[(i+n)%watchSlots]
		switch s.owner.Load() {
		case key:
			return s
		case 0:
			if s.owner.CompareAndSwap(0, key) {
				// First request on this loop: remember its goroutine
				// (once; it costs a microsecond). The sampler reads it
				// only after seeing seq odd, which is stored after this.
				s.gid.Store(gstack.CurrentID())
				return s
			}
			if s.owner.Load() == key {
				return s
			}
		}
	}
	w.unwatched.Add(1)
	return nil
}

// leave runs on the loop as the handler returns.
func (w *Watchdog) leave(s *watchSlot, seq uint64, r *Request) {
	s.seq.Add(1)
	rec := s.stall.Load()
	if rec == nil || rec.seq != seq || !s.stall.CompareAndSwap(rec, nil) {
		return
	}
	rec.route = w.route(r)
	rec.end = time.Now()
	if rec.parts.Add(1) == 2 {
		w.report(rec)
	}
}

func (w *Watchdog) sample() {
	defer close(w.done)
	t := time.NewTicker(w.period)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			for i := range w.slots {
				w.check(i, now)
			}
		}
	}
}

func (w *Watchdog) check(i int, now time.Time) {
	s := &w.slots[i]
	if s.owner.Load() == 0 {
		return
	}
	seq := s.seq.Load()
	if seq&1 == 0 || seq != s.lastSeq {
		s.lastSeq, s.since, s.flagged = seq, now, false
		return
	}
	if s.flagged || now.Sub(s.since) < w.threshold {
		return
	}
	s.flagged = true
	rec := &stallRecord{seq: seq, since: s.since, slot: i}
	s.stall.Store(rec)
	if s.seq.Load() != seq {
		// The handler returned as the record went up: if the loop has
		// not claimed it, nobody will. It did stall; only its route is
		// lost.
		if s.stall.CompareAndSwap(rec, nil) {
			rec.route = "(returned while sampled)"
			rec.end = time.Now()
			rec.stack = []byte("(not taken)")
			w.report(rec)
			return
		}
	}
	rec.stack = gstack.Of(s.gid.Load())
	if rec.parts.Add(1) == 2 {
		w.report(rec)
	}
}

func (w *Watchdog) report(rec *stallRecord) {
	w.stalls.Add(1)
	w.mu.Lock()
	n, known := w.seen[rec.route]
	if known || len(w.seen) < maxStallRoutes {
		w.seen[rec.route] = n + 1
	}
	w.mu.Unlock()
	if known {
		return
	}
	// The sampler first saw the handler running up to one period after
	// it started.
	held := rec.end.Sub(rec.since) + w.period/2
	w.log.Warn("http: handler held its event loop",
		"route", rec.route,
		"held", held.Round(time.Millisecond).String(),
		"threshold", w.threshold.String(),
		"stack", string(rec.stack))
}

// StallCounts returns how many stalls each reported route has had.
func (w *Watchdog) StallCounts() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[string]int64, len(w.seen))
	for k, v := range w.seen {
		m[k] = v
	}
	return m
}
