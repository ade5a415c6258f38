package task

import (
	"sync/atomic"

	"github.com/weftrt/weft/internal/spinwait"
	"github.com/weftrt/weft/scheduler"
)

// Fork-join without a handle: Fork queues fn(a) on the calling worker's deque
// and returns a Forked the caller joins once, later, in the same task. It is
// rayon's join split in two so that the caller's own share of the work runs
// in between:
//
//	f := task.Fork(ex, fib, n-1)
//	c := fib(n - 2)
//	a := f.Join()
//
// Join is work-first: when nobody has stolen the child it is still the newest
// entry of the worker's deque, so Join takes it back and calls fn directly,
// a function call. The record (run-queue node, argument and result) is then
// recycled on the worker, so steady-state recursive fork-join allocates
// nothing. A stolen child runs on the thief; Join spins briefly, then
// suspends without pinning its worker, as JoinHandle.Join does.

// Forked is a child queued by Fork. Join it exactly once; an unjoined child
// still runs, and its result is dropped.
type Forked[A, T any] struct {
	j *forkJob[A, T]
	s *scheduler.Scheduler
	l scheduler.Local // where Fork queued the child
}

// States of forkJob.state, written only when the child runs off the
// joiner's hands (stolen, or the joiner is not a worker).
const (
	forkPending uint32 = iota
	forkWaiting        // the joiner suspended; the runner must Resume it
	forkDone
)

type forkJob[A, T any] struct {
	t     scheduler.Task
	state atomic.Uint32
	fn    func(A) T
	a     A
	v     T
	pe    *PanicError
	sp    *scheduler.Suspension
}

type forkRunner[A, T any] forkJob[A, T]

// RunTask runs a child that somebody other than its joiner took from a
// queue. Setting state is its very last touch of the record: the joiner may
// reuse it from then on.
func (r *forkRunner[A, T]) RunTask() {
	j := (*forkJob[A, T])(r)
	normal := false
	defer func() {
		if normal {
			return
		}
		pe := &PanicError{Value: ErrGoexit}
		if p := recover(); p != nil {
			pe = &PanicError{Value: p, Stack: stack()}
		}
		j.pe = pe
		j.finish()
	}()
	j.v = j.fn(j.a)
	normal = true
	j.finish()
}

func (j *forkJob[A, T]) finish() {
	if j.state.Swap(forkDone) == forkWaiting {
		// The joiner set sp before its CAS to forkWaiting and cannot go on
		// before Resume, so the record is still ours to read.
		j.sp.Resume()
	}
}

// Fork queues fn(a) as a child of the calling task; see Forked. From a
// worker of ex the child goes to the worker's deque and its record comes from
// the worker's cache; from elsewhere it is queued on the global queue, and if
// the scheduler is closed to outside work it simply runs at Join.
func Fork[A, T any](ex Executor, fn func(A) T, a A) Forked[A, T] {
	s := ex.Scheduler()
	l := s.Local()
	if l.Ok() {
		j, _ := l.Get().(*forkJob[A, T])
		if j == nil {
			j = &forkJob[A, T]{}
			j.t.Init((*forkRunner[A, T])(j))
		}
		j.fn, j.a = fn, a
		l.Push(&j.t)
		return Forked[A, T]{j, s, l}
	}
	j := &forkJob[A, T]{fn: fn, a: a}
	j.t.Init((*forkRunner[A, T])(j))
	_ = s.Spawn(&j.t) // refused (closed): nobody claims it, so Join runs it
	return Forked[A, T]{j: j, s: s}
}

// Join returns the child's result. A panic in fn propagates to the caller of
// Join: as raised when Join took the child straight back from its worker's
// deque, else as a *PanicError carrying the value and the stack. Joining a
// Forked a second time panics.
func (f *Forked[A, T]) Join() T {
	j := f.j
	if j == nil {
		panic("task: Forked joined twice")
	}
	f.j = nil
	l := f.l
	if !l.Held() {
		// The caller waited since Fork and came back on another worker:
		// the child is not in that worker's deque, but Local is still
		// needed for the cache.
		l = f.s.Local()
	}
	if l.Ok() && l.PopIf(&j.t) {
		v := j.fn(j.a)
		// fn may have waited and come back on another worker.
		if l.Held() || func() bool { l = f.s.Local(); return l.Ok() }() {
			var zeroA A
			var zeroT T
			j.fn, j.a, j.v = nil, zeroA, zeroT
			l.Put(j)
		}
		return v
	}
	return j.joinSlow(f.s)
}

func (j *forkJob[A, T]) joinSlow(s *scheduler.Scheduler) T {
	// Not started, but not ours to pop (it went to another queue, or was
	// forked from outside): run it here. Its queue entry stays behind,
	// claimed and dead, so the record is not reused.
	if !s.RunInline(&j.t) && j.t.Claim() {
		scheduler.RunClaimed(&j.t)
	}
	if spinJoin {
		for i := 0; i < 64 && j.state.Load() != forkDone; i++ {
			spinwait.Pause()
		}
	}
	if j.state.Load() != forkDone {
		j.sp = scheduler.Suspend()
		if j.state.CompareAndSwap(forkPending, forkWaiting) {
			j.sp.Wait()
		}
	}
	// The runner is done with the record, but it is left to the collector:
	// only the fast path, where nobody else ever saw it, recycles.
	if j.pe != nil {
		panic(j.pe)
	}
	return j.v
}
