// Package task is weft's tasks and futures: Spawn a function on the
// work-stealing scheduler and get a JoinHandle back, the way tokio users do.
//
//	h := task.Spawn(rt, func(ctx context.Context) (int, error) { return 42, nil })
//	v, err := h.Join()
//
// Waiting never pins a worker. Join inside a task runs the awaited task inline
// when nobody has started it yet, which is what makes recursive fork-join both
// fast and deadlock-free at any worker count; otherwise the worker is handed to
// a spare goroutine while the caller blocks. Then registers a continuation
// that runs on the scheduler instead of blocking anything.
//
// A spawn is one allocation: the task record holds the run-queue node, the
// result cell and the task's context (whose Done channel is made only when
// asked for).
//
// The async primitives (Chan, Ring, Mutex, Semaphore, Oneshot) hand out
// futures rather than block: each documents its close semantics and its FIFO
// fairness.
package task
