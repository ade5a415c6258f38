package task

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/weftrt/weft/scheduler"
)

var (
	// ErrClosed: the scheduler was closed before the task could be queued.
	ErrClosed = scheduler.ErrClosed
	// ErrDetached is returned by Join and Await on a handle after Detach.
	ErrDetached = errors.New("task: handle detached")
	// ErrGoexit: the task called runtime.Goexit (t.FailNow, for one).
	ErrGoexit = errors.New("task: runtime.Goexit called in task")
)

// PanicError is the error Join returns for a task that panicked. The worker
// survives; the panic value and the stack at the panic are kept here.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("task panicked: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap exposes a panic value that is itself an error to errors.Is/As.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

func stack() []byte { return debug.Stack() }

// Bits of Future.aux, used by JoinHandle.
const (
	flagCancel   uint32 = 1 << iota // Cancel called, or the scheduler closed
	flagDetached                    // Detach called
	flagHasTask                     // the future is a JoinHandle's, right after its Task
	flagReported                    // a detached task's panic went to the PanicHandler
	flagOwned                       // only the task completes the future; Future.res holds its function until then
)

// JoinHandle is a spawned task's result plus control over the task. It has
// Future's Join, Await, Done and Then. Dropping every reference to a handle
// detaches the task: the task still runs and the handle is then garbage like
// any other value (no finalizer, nothing to leak).
//
// The handle is the whole task record, one allocation of 48 bytes for a
// word-sized T: run-queue node, result cell, the task's function (in the
// result's error word until the task ends) and the task's context (flags in
// the future's spare word; a Done channel only if someone asks for one).
type JoinHandle[T any] struct {
	t scheduler.Task // must stay first: Future.taskOf relies on the layout
	f Future[T]
}

type taskFunc[T any] = func(ctx context.Context) (T, error)

// fnWord is fn's one-word form for Future.res: a func value is a pointer.
func fnWord[T any](fn taskFunc[T]) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&fn)) }

// fn is the task's function; valid until the task completes its future.
func (h *JoinHandle[T]) fn() taskFunc[T] { return *(*taskFunc[T])(unsafe.Pointer(&h.f.res)) }

// taskCtx is the context.Context a task runs with: the handle itself seen
// through another method set, so it costs nothing to create. It is cancelled
// by Cancel, by the scheduler's Close, and when the task returns (as a
// context.WithCancel with a deferred cancel would be).
type taskCtx[T any] JoinHandle[T]

// ctxWaiter carries the context's Done channel. It lives on the result
// future's waiter list, made only when a task asks for Done, so a handle
// has no field for it; completing the future fires it, which closes the
// channel and unregisters from the scheduler's context.
type ctxWaiter struct {
	waiter
	done   chan struct{}
	stop   func() bool
	closed atomic.Bool
}

func (cw *ctxWaiter) close() {
	if cw.closed.CompareAndSwap(false, true) {
		close(cw.done)
	}
}

func (cw *ctxWaiter) fire() {
	cw.stop()
	cw.close()
}

func (c *taskCtx[T]) Deadline() (time.Time, bool) { return time.Time{}, false }

// Value holds nothing: the scheduler's context carries no values, and
// answering the context package's private lookups with the scheduler's
// cancelCtx would make context.Cause report the scheduler's cause (nil)
// for a cancelled task.
func (c *taskCtx[T]) Value(key any) any { return nil }

// afterWaiter is one AfterFunc registration, on the result future's waiter
// list like ctxWaiter: completing the future or Cancel fires it.
type afterWaiter struct {
	waiter
	f         func()
	ended     atomic.Bool // fired or stopped
	stopSched func() bool
}

func (a *afterWaiter) fire() {
	if a.ended.CompareAndSwap(false, true) {
		a.stopSched()
		a.f()
	}
}

func (a *afterWaiter) stop() bool {
	if a.ended.CompareAndSwap(false, true) {
		a.stopSched()
		return true
	}
	return false
}

// AfterFunc arranges for f to run once the context is done, and returns a
// stop function as context.AfterFunc does. It makes context.AfterFunc and
// context.WithCancel/WithTimeout on a task's context (and on contexts
// derived from it) goroutine-free: without it the context package would
// park a goroutine per call on Done. f runs on the goroutine that ends the
// context (the task returning, Cancel, or the scheduler's Close), so it must
// be short and must not block; context.AfterFunc gives the user's function a
// goroutine of its own anyway. If the context is already done, f starts on a
// goroutine of its own at once.
func (c *taskCtx[T]) AfterFunc(f func()) (stop func() bool) {
	a := &afterWaiter{f: f}
	a.w = a
	if c.Err() == nil {
		a.stopSched = context.AfterFunc(c.f.sched.Context(), c.cancel)
		if c.f.addWaiter(&a.waiter) && c.f.loadAux()&flagCancel == 0 {
			// Had Cancel set its flag after our push, its walk of the list
			// would find us; it had not when we looked, so we are covered.
			return a.stop
		}
	} else {
		a.stopSched = func() bool { return false }
	}
	// Done already, or cancelled while we registered. Our caller may hold a
	// lock f needs (the context package does when it links a child), so f
	// must not run on this goroutine.
	if a.ended.CompareAndSwap(false, true) {
		a.stopSched()
		go f()
	}
	return a.stop
}

func (c *taskCtx[T]) Err() error {
	if c.f.loadAux()&flagCancel != 0 || c.f.waiters.Load() == doneMark {
		return context.Canceled
	}
	if c.f.sched.Context().Err() != nil {
		// The scheduler is closing: cancel ourselves first so that Done is
		// closed whenever Err is non-nil.
		c.cancel()
		return context.Canceled
	}
	return nil
}

func (c *taskCtx[T]) find(h *waiter) *ctxWaiter {
	for x := h; x != nil; x = x.next {
		if cw, ok := x.w.(*ctxWaiter); ok {
			return cw
		}
	}
	return nil
}

func (c *taskCtx[T]) Done() <-chan struct{} {
	var cw *ctxWaiter
	for {
		h := c.f.waiters.Load()
		if h == doneMark {
			if cw != nil {
				cw.stop()
			}
			return closedCh
		}
		if x := c.find(h); x != nil {
			if cw != nil {
				cw.stop()
			}
			return x.done
		}
		if cw == nil {
			cw = &ctxWaiter{done: make(chan struct{})}
			cw.w = cw
			cw.stop = context.AfterFunc(c.f.sched.Context(), c.cancel)
		}
		cw.next = h
		if c.f.waiters.CompareAndSwap(h, &cw.waiter) {
			if c.f.loadAux()&flagCancel != 0 {
				cw.close()
			}
			return cw.done
		}
	}
}

func (c *taskCtx[T]) String() string { return "task.Context" }

func (c *taskCtx[T]) cancel() {
	c.f.setAux(flagCancel)
	if h := c.f.waiters.Load(); h != doneMark {
		for x := h; x != nil; x = x.next {
			switch w := x.w.(type) {
			case *ctxWaiter:
				w.close()
			case *afterWaiter:
				w.fire()
			}
		}
	}
}

type spawnRunner[T any] JoinHandle[T]

func (r *spawnRunner[T]) RunTask() { (*JoinHandle[T])(r).run() }

func (h *JoinHandle[T]) ctx() *taskCtx[T] { return (*taskCtx[T])(h) }

func (h *JoinHandle[T]) run() {
	if h.f.loadAux()&flagCancel != 0 {
		h.finish(*new(T), context.Canceled)
		return
	}
	var v T
	var err error
	normal := false
	defer func() {
		if normal {
			return
		}
		r := recover()
		if r == nil {
			err = ErrGoexit
		} else {
			pe := &PanicError{Value: r, Stack: stack()}
			err = pe
		}
		h.finish(*new(T), err)
		h.reportIfDetached()
	}()
	v, err = h.fn()(h.ctx())
	normal = true
	h.finish(v, err)
}

// finish completes the future, which also lets the function go: its word
// now holds the error.
func (h *JoinHandle[T]) finish(v T, err error) { h.f.complete(v, boxErr(err)) }

// Spawn runs fn as a task on ex's scheduler and returns its handle. From a
// worker the task goes to that worker's deque, from anywhere else to the
// global queue. fn's ctx is cancelled by Cancel and when the scheduler closes.
// Spawned from outside the pool once Close has begun, the handle resolves at
// once with ErrClosed (running tasks may still spawn while the pool drains).
func Spawn[T any](ex Executor, fn func(ctx context.Context) (T, error)) *JoinHandle[T] {
	s := ex.Scheduler()
	// Plain stores: nobody sees h before Spawn publishes it.
	h := &JoinHandle[T]{f: Future[T]{aux: flagHasTask | flagOwned, sched: s, res: fnWord(fn)}}
	h.t.Init((*spawnRunner[T])(h))
	if err := s.Spawn(&h.t); err != nil {
		h.finish(*new(T), err)
	}
	return h
}

// SpawnBlocking runs fn on the scheduler's bounded blocking pool, for work
// that blocks its goroutine (syscalls, cgo, blocking libraries).
func SpawnBlocking[T any](ex Executor, fn func(ctx context.Context) (T, error)) *JoinHandle[T] {
	s := ex.Scheduler()
	// No flagHasTask: a blocking task is never run inline on a worker.
	h := &JoinHandle[T]{f: Future[T]{aux: flagOwned, sched: s, res: fnWord(fn)}}
	if err := s.Blocking(h.run); err != nil {
		h.finish(*new(T), err)
	}
	return h
}

// Join waits for the task and returns its result. A panic in the task comes
// back as a *PanicError; a task cancelled before it started returns
// context.Canceled. After Detach it returns ErrDetached.
func (h *JoinHandle[T]) Join() (T, error) {
	if h.f.loadAux()&flagDetached != 0 {
		return *new(T), ErrDetached
	}
	return h.f.Join()
}

// Await is Join bounded by ctx.
func (h *JoinHandle[T]) Await(ctx context.Context) (T, error) {
	if h.f.loadAux()&flagDetached != 0 {
		return *new(T), ErrDetached
	}
	return h.f.Await(ctx)
}

// Done is closed when the task has finished.
func (h *JoinHandle[T]) Done() <-chan struct{} { return h.f.Done() }

// Then runs fn with the task's result on the scheduler.
func (h *JoinHandle[T]) Then(fn func(T, error)) { h.f.Then(fn) }

// Future returns the task's result future.
func (h *JoinHandle[T]) Future() *Future[T] { return &h.f }

// Cancel cancels the task's context. A task not yet started will not run and
// resolves with context.Canceled; a running task sees ctx.Done() closed and
// decides itself what to return.
func (h *JoinHandle[T]) Cancel() { h.ctx().cancel() }

// Detach gives up the result: the task still runs to its end, Join and Await
// return ErrDetached, and a panic is reported to the scheduler's
// PanicHandler instead of being returned.
func (h *JoinHandle[T]) Detach() {
	h.f.setAux(flagDetached)
	h.reportIfDetached() // it may have panicked already
}

// reportIfDetached hands a detached task's panic to the PanicHandler, once,
// whichever of Detach and the panic comes last.
func (h *JoinHandle[T]) reportIfDetached() {
	if h.f.loadAux()&flagDetached == 0 {
		return
	}
	_, err, ok := h.f.Result()
	pe, isPanic := err.(*PanicError)
	if ok && isPanic && h.f.setAux(flagReported) {
		h.f.sched.ReportPanic(pe)
	}
}

// IsDone reports whether the task finished.
func (h *JoinHandle[T]) IsDone() bool { return h.f.IsDone() }

// argHandle is a handle whose task calls a function with an argument carried
// in the record, so that a spawn needs no closure: one allocation per spawn
// instead of two. The JoinHandle must stay first, at the record's address.
type argHandle[A, T any] struct {
	JoinHandle[T]
	afn func(ctx context.Context, a A) (T, error)
	a   A
}

type argRunner[A, T any] argHandle[A, T]

func (r *argRunner[A, T]) RunTask() {
	ah := (*argHandle[A, T])(r)
	h := &ah.JoinHandle
	if h.f.loadAux()&flagCancel != 0 {
		ah.release()
		h.finish(*new(T), context.Canceled)
		return
	}
	var v T
	var err error
	normal := false
	defer func() {
		if normal {
			return
		}
		err = ErrGoexit
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: stack()}
		}
		ah.release()
		h.finish(*new(T), err)
		h.reportIfDetached()
	}()
	v, err = ah.afn(h.ctx(), ah.a)
	normal = true
	ah.release()
	h.finish(v, err)
}

// release lets the function and argument go even while the handle lives on.
func (ah *argHandle[A, T]) release() {
	var zero A
	ah.afn, ah.a = nil, zero
}

// SpawnWith is Spawn for a function of one argument: fn(ctx, a) runs as the
// task. The argument travels in the task record, so a top-level fn costs no
// closure: a spawn is one allocation where Spawn with a capturing closure is
// two. Everything else is as for Spawn.
func SpawnWith[A, T any](ex Executor, fn func(ctx context.Context, a A) (T, error), a A) *JoinHandle[T] {
	s := ex.Scheduler()
	ah := &argHandle[A, T]{afn: fn, a: a}
	ah.f.aux, ah.f.sched = flagHasTask|flagOwned, s
	ah.t.Init((*argRunner[A, T])(ah))
	if err := s.Spawn(&ah.t); err != nil {
		ah.release()
		ah.finish(*new(T), err)
	}
	return &ah.JoinHandle
}
