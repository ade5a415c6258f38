// Package scheduler is weft's work-stealing task scheduler.
//
// P workers each own a bounded Chase-Lev deque (256 tasks: the owner pushes at
// the bottom, consumes FIFO from the top, and thieves steal half from the top)
// and a one-task LIFO slot that continuations woken by a running task go to,
// so a message ping-pong stays on one worker, in cache. Tasks spawned from
// outside the pool go to a global injection queue (an intrusive list: pending
// tasks cost no memory beyond themselves), which workers drain in fair shares.
// An idle worker steals from random victims; at most half of the busy workers
// spin at a time, and parking and waking follow the Go runtime's protocol: a
// producer wakes one worker only when none is spinning, and a spinner that
// finds work wakes the next, so bursts ramp up without a thundering herd.
//
// Workers are decoupled from goroutines, as Ps are from Ms in the Go runtime.
// A goroutine that must block while running a task (task.Future.Join on a
// result that is not there) calls Block, which hands the worker to a spare
// goroutine first, so the pool keeps its width. Before blocking, a joiner
// runs the task it waits for inline when nobody has started it (RunInline):
// in recursive fork-join that is almost every join, so it costs a function
// call, not a context switch, and only the awaited task itself ever runs
// nested, which is what makes nested joins deadlock-free at any worker count.
//
// Which worker a goroutine runs is found from the goroutine's runtime
// descriptor address (a two-instruction assembly stub on amd64 and arm64, a
// slower portable fallback elsewhere), confirmed against the worker's owner
// record.
//
// Shutdown drains: Close rejects new spawns with ErrClosed, runs everything
// already queued or running to its end, and returns once every goroutine of
// the pool, including the blocking pool's, has exited.
package scheduler
