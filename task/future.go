package task

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftrt/weft/scheduler"
)

// Executor is anything that can run tasks: *weft.Runtime and
// *scheduler.Scheduler both are.
type Executor interface{ Scheduler() *scheduler.Scheduler }

// Timers is optional on an Executor: a timer source. Without it Sleep, After,
// Timeout and Ticker fall back to time.AfterFunc.
type Timers interface {
	AfterFunc(d time.Duration, fn func()) (stop func() bool)
}

const (
	pending uint32 = iota
	completing
	done
)

// Future is a one-shot completion cell. The first Complete wins; every
// reader sees the same value and error.
//
// Waiting never pins a worker: Join on a worker first runs the awaited task
// inline if nobody has started it, and otherwise hands the worker to a spare
// goroutine before blocking (see package scheduler).
type Future[T any] struct {
	state   atomic.Uint32
	waiters atomic.Pointer[waiter] // LIFO list; doneMark once completed
	task    *scheduler.Task        // the task that completes this future, for inline joins
	sched   *scheduler.Scheduler   // where Then continuations run
	val     T
	err     error
}

type waiterKind uint8

const (
	wakeKind  waiterKind = iota // send on ch (cap 1)
	closeKind                   // close ch: the Done channel
	runKind                     // hand t to the scheduler: a Then continuation
	funcKind                    // call fn on the completing goroutine: short, non-blocking bookkeeping
)

type waiter struct {
	next *waiter
	kind waiterKind
	ch   chan struct{}
	t    *scheduler.Task
	s    *scheduler.Scheduler
	fn   func()
}

var doneMark = &waiter{}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

var waiterPool = sync.Pool{New: func() any { return &waiter{kind: wakeKind, ch: make(chan struct{}, 1)} }}

// NewFuture returns an unresolved future whose Then continuations run on ex.
// Layers that complete futures from event loops (net, fs, pool) use it.
func NewFuture[T any](ex Executor) *Future[T] {
	f := &Future[T]{}
	if ex != nil {
		f.sched = ex.Scheduler()
	}
	return f
}

// Ready returns a completed future.
func Ready[T any](v T, err error) *Future[T] {
	f := &Future[T]{val: v, err: err}
	f.state.Store(done)
	f.waiters.Store(doneMark)
	return f
}

// Complete resolves f. Only the first call has an effect and reports true.
// It never blocks and may be called from any goroutine, an event loop included:
// blocked joiners are woken and continuations are queued, none run here.
func (f *Future[T]) Complete(v T, err error) bool {
	if !f.state.CompareAndSwap(pending, completing) {
		return false
	}
	f.val, f.err = v, err
	f.state.Store(done)
	list := f.waiters.Swap(doneMark)
	// Fire in registration order.
	var rev *waiter
	for list != nil {
		n := list.next
		list.next = rev
		rev = list
		list = n
	}
	for w := rev; w != nil; {
		n := w.next // read before firing: a fired waiter may be reused at once
		w.next = nil
		f.fire(w)
		w = n
	}
	return true
}

func (f *Future[T]) fire(w *waiter) {
	switch w.kind {
	case wakeKind:
		w.ch <- struct{}{}
	case closeKind:
		close(w.ch)
	case runKind:
		wake(w.s, w.t)
	case funcKind:
		w.fn()
	}
}

// wake queues a continuation on s, or on whatever scheduler the caller runs,
// or as a last resort on a goroutine of its own.
func wake(s *scheduler.Scheduler, t *scheduler.Task) {
	if s == nil {
		s = scheduler.Current()
	}
	if s != nil {
		s.Wake(t)
		return
	}
	go func() {
		if t.Claim() {
			scheduler.RunClaimed(t)
		}
	}()
}

// addWaiter registers w; false means f is already done and w was not added.
func (f *Future[T]) addWaiter(w *waiter) bool {
	for {
		h := f.waiters.Load()
		if h == doneMark {
			return false
		}
		w.next = h
		if f.waiters.CompareAndSwap(h, w) {
			return true
		}
	}
}

// onDone calls fn (short, non-blocking) on the goroutine that completes f, or
// now if f is already done. The combinators use it for bookkeeping that needs
// no scheduler hop.
func (f *Future[T]) onDone(fn func()) {
	if !f.addWaiter(&waiter{kind: funcKind, fn: fn}) {
		fn()
	}
}

// IsDone reports whether f is resolved.
func (f *Future[T]) IsDone() bool { return f.state.Load() == done }

// Result returns the value and error once f is done; ok is false before.
func (f *Future[T]) Result() (v T, err error, ok bool) {
	if f.state.Load() != done {
		return v, nil, false
	}
	return f.val, f.err, true
}

// Join waits for f and returns its value and error. On a worker it does not
// pin the worker: it runs the awaited task inline when nobody has started it,
// else hands the worker to a spare goroutine while it waits.
func (f *Future[T]) Join() (T, error) {
	if f.state.Load() == done {
		return f.val, f.err
	}
	if f.task != nil && f.sched != nil && f.sched.RunInline(f.task) && f.state.Load() == done {
		return f.val, f.err
	}
	w := waiterPool.Get().(*waiter)
	if f.addWaiter(w) {
		scheduler.Block(func() { <-w.ch })
	}
	waiterPool.Put(w)
	return f.val, f.err
}

// Await is Join bounded by ctx: it returns ctx's error if ctx ends first (the
// future itself is not affected). Unlike Join it never runs the awaited task
// inline, so that it can return as soon as ctx is done.
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	if f.state.Load() == done {
		return f.val, f.err
	}
	if ctx.Done() == nil {
		return f.Join()
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	// A fresh waiter: if ctx wins, this one stays on the list until f completes.
	w := &waiter{kind: wakeKind, ch: make(chan struct{}, 1)}
	if f.addWaiter(w) {
		scheduler.Block(func() {
			select {
			case <-w.ch:
			case <-ctx.Done():
			}
		})
	}
	if f.state.Load() == done {
		return f.val, f.err
	}
	var zero T
	return zero, ctx.Err()
}

// Done returns a channel closed when f completes, for select.
func (f *Future[T]) Done() <-chan struct{} {
	var w *waiter
	for {
		h := f.waiters.Load()
		if h == doneMark {
			return closedCh
		}
		// The list is append-only until completion, so scanning it is safe.
		for x := h; x != nil; x = x.next {
			if x.kind == closeKind {
				return x.ch
			}
		}
		if w == nil {
			w = &waiter{kind: closeKind, ch: make(chan struct{})}
		}
		w.next = h
		if f.waiters.CompareAndSwap(h, w) {
			return w.ch
		}
	}
}

type thenTask[T any] struct {
	t  scheduler.Task
	w  waiter
	f  *Future[T]
	fn func(T, error)
}

type thenRunner[T any] thenTask[T]

func (r *thenRunner[T]) RunTask() {
	tt := (*thenTask[T])(r)
	defer func() {
		if p := recover(); p != nil {
			s := tt.w.s
			if s == nil {
				s = scheduler.Current()
			}
			if s != nil {
				s.ReportPanic(&PanicError{Value: p, Stack: stack()})
			}
		}
	}()
	tt.fn(tt.f.val, tt.f.err)
}

// Then arranges for fn to run with f's result once f completes. fn runs on
// the scheduler (in the completing worker's LIFO slot when a worker completes
// f), never on the caller and never on an event loop. A panic in fn is
// reported to the scheduler's PanicHandler.
func (f *Future[T]) Then(fn func(T, error)) {
	tt := &thenTask[T]{f: f, fn: fn}
	tt.t.Init((*thenRunner[T])(tt))
	tt.w = waiter{kind: runKind, t: &tt.t, s: f.sched}
	if !f.addWaiter(&tt.w) {
		wake(f.sched, &tt.t)
	}
}

// String helps debugging.
func (f *Future[T]) String() string {
	if v, err, ok := f.Result(); ok {
		return fmt.Sprintf("Future(%v, %v)", v, err)
	}
	return "Future(pending)"
}
