package task

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weftrt/weft/internal/spinwait"
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

// Future.state only decides which Complete wins; whether a future is done is
// read from its waiter list (doneMark), so completing costs one fence less.
const (
	pending uint32 = iota
	completing
)

// Future is a one-shot completion cell. The first Complete wins; every
// reader sees the same value and error.
//
// Waiting never pins a worker: Join on a worker first runs the awaited task
// inline if nobody has started it, spins briefly if another worker is running
// it, and otherwise suspends, its worker going on with other tasks meanwhile
// (see package scheduler). The zero Future is usable (continuations then run
// on whichever scheduler completes it); NewFuture ties it to an executor.
type Future[T any] struct {
	state   atomic.Uint32
	aux     uint32                 // JoinHandle flags, in what would be padding; atomic after publication
	waiters atomic.Pointer[waiter] // LIFO list; doneMark once completed
	sched   *scheduler.Scheduler   // where Then continuations run
	val     T
	// res is the error in one word, nil or an *error (see boxErr). A
	// JoinHandle keeps its task's function here until the task completes
	// the future (flagOwned), so that a handle for a word-sized result is
	// 48 bytes, a size class below 64.
	res unsafe.Pointer
}

// errs that futures commonly end with, kept boxed once so that completing
// with them allocates nothing.
var commonErrs = [...]error{
	context.Canceled, context.DeadlineExceeded, io.EOF, scheduler.ErrClosed,
	ErrDetached, ErrGoexit, ErrChanClosed, ErrLockClosed, ErrNoFutures,
}

// boxErr returns err's one-word form for Future.res. Only errors other than
// the common ones cost an allocation.
func boxErr(err error) unsafe.Pointer {
	if err == nil {
		return nil
	}
	for i := range commonErrs {
		// Safe: an == between interfaces panics only when both hold the
		// same non-comparable type, and every common error is comparable.
		if commonErrs[i] == err {
			return unsafe.Pointer(&commonErrs[i])
		}
	}
	p := new(error)
	*p = err
	return unsafe.Pointer(p)
}

// err is f's error; valid once f is done.
func (f *Future[T]) err() error {
	if f.res == nil {
		return nil
	}
	return *(*error)(f.res)
}

// waiter is a node of a future's waiter list. The list is a Treiber stack
// that only grows until Complete swaps it out whole, so nodes are immutable
// once pushed and the list can be scanned without locks.
type waiter struct {
	next *waiter
	w    waker
}

type waker interface{ fire() }

// chanWaiter wakes a goroutine blocked in Join outside the pool.
type chanWaiter struct {
	waiter
	ch chan struct{}
}

func (w *chanWaiter) fire() { w.ch <- struct{}{} }

// suspendWaiter resumes a worker goroutine suspended in Join or Await.
type suspendWaiter struct {
	waiter
	sp scheduler.Suspension
}

func (w *suspendWaiter) fire() { w.sp.Resume() }

func newSuspendWaiter() *suspendWaiter {
	sw := &suspendWaiter{}
	sw.sp.Prepare()
	sw.w = sw
	return sw
}

// doneWaiter closes the Done channel.
type doneWaiter struct {
	waiter
	ch chan struct{}
}

func (w *doneWaiter) fire() { close(w.ch) }

// funcWaiter runs short, non-blocking bookkeeping on the completing goroutine.
type funcWaiter struct {
	waiter
	fn func()
}

func (w *funcWaiter) fire() { w.fn() }

var doneMark = &waiter{}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

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
	f := &Future[T]{val: v, res: boxErr(err)}
	f.state.Store(completing)
	f.waiters.Store(doneMark)
	return f
}

// Complete resolves f. Only the first call has an effect and reports true.
// It never blocks and may be called from any goroutine, an event loop included:
// blocked joiners are woken and continuations are queued, none run here.
// A JoinHandle's future is resolved by its task alone: Complete on it reports
// false.
func (f *Future[T]) Complete(v T, err error) bool {
	if f.loadAux()&flagOwned != 0 {
		return false
	}
	return f.complete(v, boxErr(err))
}

// complete is Complete with the error already boxed, and for owned futures.
func (f *Future[T]) complete(v T, res unsafe.Pointer) bool {
	if !f.state.CompareAndSwap(pending, completing) {
		return false
	}
	f.val, f.res = v, res
	list := f.waiters.Swap(doneMark) // publishes val and err: done is waiters == doneMark
	if list == nil {
		return true
	}
	if list.next == nil {
		list.w.fire()
		return true
	}
	// Fire in registration order. Nodes are never modified once pushed (a
	// Done or context lookup may still be walking this list), so reverse
	// into a side buffer rather than in place.
	var small [8]*waiter
	ws := small[:0]
	for w := list; w != nil; w = w.next {
		ws = append(ws, w)
	}
	for i := len(ws) - 1; i >= 0; i-- {
		ws[i].w.fire()
	}
	return true
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
	w := &funcWaiter{fn: fn}
	w.w = w
	if !f.addWaiter(&w.waiter) {
		fn()
	}
}

// taskOf returns the task that will complete f when f belongs to a
// JoinHandle, which keeps its Task right before the future: a pointer field
// would cost every handle 8 bytes (and a size class).
func (f *Future[T]) taskOf() *scheduler.Task {
	if f.loadAux()&flagHasTask == 0 {
		return nil
	}
	var h JoinHandle[T]
	return (*scheduler.Task)(unsafe.Add(unsafe.Pointer(f), -int(unsafe.Offsetof(h.f))))
}

func (f *Future[T]) loadAux() uint32 { return atomic.LoadUint32(&f.aux) }

// setAux sets bits in aux and reports whether this call set them.
func (f *Future[T]) setAux(bits uint32) bool {
	for {
		a := f.loadAux()
		if a&bits == bits {
			return false
		}
		if atomic.CompareAndSwapUint32(&f.aux, a, a|bits) {
			return true
		}
	}
}

// IsDone reports whether f is resolved.
func (f *Future[T]) IsDone() bool { return f.waiters.Load() == doneMark }

// Result returns the value and error once f is done; ok is false before.
func (f *Future[T]) Result() (v T, err error, ok bool) {
	if f.waiters.Load() != doneMark {
		return v, nil, false
	}
	return f.val, f.err(), true
}

var spinJoin = runtime.GOMAXPROCS(0) > 1

// Join waits for f and returns its value and error. On a worker it does not
// pin the worker: it runs the awaited task inline when nobody has started it,
// else hands the worker to a spare goroutine while it waits.
func (f *Future[T]) Join() (T, error) {
	if f.waiters.Load() == doneMark {
		return f.val, f.err()
	}
	if t := f.taskOf(); t != nil {
		if f.sched.RunInline(t) && f.waiters.Load() == doneMark {
			return f.val, f.err()
		}
		// Someone else runs it. Short tasks finish in less time than a
		// suspension costs, so look a few times before going to sleep,
		// unless this worker has work of its own to get on with.
		if spinJoin && t.Claimed() && !f.sched.WorkWaiting() {
			for i := 0; i < 64; i++ {
				if f.waiters.Load() == doneMark {
					return f.val, f.err()
				}
				spinwait.Pause()
			}
		}
	}
	if scheduler.Current() != nil {
		sw := newSuspendWaiter()
		if f.addWaiter(&sw.waiter) {
			sw.sp.Wait()
		}
		return f.val, f.err()
	}
	w := &chanWaiter{ch: make(chan struct{}, 1)}
	w.w = w
	if f.addWaiter(&w.waiter) {
		<-w.ch
	}
	return f.val, f.err()
}

// Await is Join bounded by ctx: it returns ctx's error if ctx ends first (the
// future itself is not affected). Unlike Join it never runs the awaited task
// inline, so that it can return as soon as ctx is done.
func (f *Future[T]) Await(ctx context.Context) (T, error) {
	if f.waiters.Load() == doneMark {
		return f.val, f.err()
	}
	if ctx.Done() == nil {
		return f.Join()
	}
	if err := ctx.Err(); err != nil {
		var zero T
		return zero, err
	}
	// A fresh waiter: if ctx wins, this one stays on the list until f
	// completes, and firing it then is harmless (Resume counts once).
	sw := newSuspendWaiter()
	if f.addWaiter(&sw.waiter) {
		stop := context.AfterFunc(ctx, sw.sp.Resume)
		sw.sp.Wait()
		stop()
	}
	if f.waiters.Load() == doneMark {
		return f.val, f.err()
	}
	var zero T
	return zero, ctx.Err()
}

// Done returns a channel closed when f completes, for select.
func (f *Future[T]) Done() <-chan struct{} {
	var w *doneWaiter
	for {
		h := f.waiters.Load()
		if h == doneMark {
			return closedCh
		}
		for x := h; x != nil; x = x.next {
			if d, ok := x.w.(*doneWaiter); ok {
				return d.ch
			}
		}
		if w == nil {
			w = &doneWaiter{ch: make(chan struct{})}
			w.w = w
		}
		w.next = h
		if f.waiters.CompareAndSwap(h, &w.waiter) {
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

func (tt *thenTask[T]) fire() { wake(tt.f.sched, &tt.t) }

type thenRunner[T any] thenTask[T]

func (r *thenRunner[T]) RunTask() {
	tt := (*thenTask[T])(r)
	defer func() {
		if p := recover(); p != nil {
			s := tt.f.sched
			if s == nil {
				s = scheduler.Current()
			}
			if s != nil {
				s.ReportPanic(&PanicError{Value: p, Stack: stack()})
			}
		}
	}()
	tt.fn(tt.f.val, tt.f.err())
}

// Then arranges for fn to run with f's result once f completes. fn runs on
// the scheduler (in the completing worker's LIFO slot when a worker completes
// f), never on the caller and never on an event loop. A panic in fn is
// reported to the scheduler's PanicHandler.
func (f *Future[T]) Then(fn func(T, error)) {
	tt := &thenTask[T]{f: f, fn: fn}
	tt.t.Init((*thenRunner[T])(tt))
	tt.w.w = tt
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
