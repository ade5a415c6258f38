// Package task is weft's tasks and futures: Spawn a function on the
// work-stealing scheduler and get a JoinHandle back, the way tokio users do.
//
//	h := task.Spawn(rt, func(ctx context.Context) (int, error) { return 42, nil })
//	v, err := h.Join()
//
// Waiting never pins a worker. Join inside a task runs the awaited task inline
// when nobody has started it yet, which makes recursive fork-join both fast
// and deadlock-free at any worker count; otherwise the goroutine suspends and
// its worker keeps serving other tasks (see package scheduler). Then registers
// a continuation that runs on the scheduler instead of blocking anything.
//
// A spawn is one allocation of 48 bytes (for a word-sized result): the handle
// holds the run-queue node, the result cell, the function (in the error word
// until the task ends) and the task's context, whose
// Done channel is made only when asked for. The context is cancelled by
// Cancel, by the scheduler's Close, and when the task returns. A panic in a
// task comes back from Join as a *PanicError carrying the value and the stack.
//
// SpawnWith carries the task's argument in the record instead of a closure,
// so a spawn with a top-level function is one allocation. Fork and
// Forked.Join are fork-join without a handle, as rayon's join: Join takes the
// child back from the worker's deque and calls it when nobody stole it, and
// the record is recycled on the worker, so warm recursive fork-join
// allocates nothing.
//
// A task's context implements AfterFunc, so context.AfterFunc and
// context.WithCancel on it start no goroutine.
//
// The async primitives hand out futures rather than block: Chan (unbounded;
// Serve consumes it with a long-lived task and no allocation per message),
// Ring (bounded: Send waits for room), Mutex, Semaphore and Oneshot. Each
// documents its close semantics, and each is FIFO: waiters are served in the
// order they asked and a Try call never barges past them.
package task
