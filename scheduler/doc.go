// Package scheduler is weft's work-stealing task scheduler.
//
// # Queues
//
// P workers each own a bounded Chase-Lev deque of 256 tasks (the owner pushes
// at the bottom and consumes FIFO from the top; thieves steal half from the
// top) and a one-task LIFO slot. Continuations made runnable by a running task
// (Wake: a future resolved, a channel server woken) go to that LIFO slot, so a
// message ping-pong stays on one worker, in cache; after three LIFO runs in a
// row the slot yields to the deque when anything else is queued. Tasks
// spawned from outside the pool go to a global injection queue, which workers
// drain in fair shares (every 61st pick looks there first). A full deque
// spills half of itself to the global queue in one locked copy.
//
// The LIFO slot is not stealable (as in tokio): a task that keeps its worker
// for long, computing or blocking its goroutine without going through Join,
// Await or Block, delays whatever was woken into its slot. Long computations
// should call Yield now and then; blocking calls belong in Block or on the
// blocking pool.
//
// # Idle workers
//
// An idle worker steals from random victims; at most half of the busy workers
// spin at a time. Parking follows the Go runtime's protocol: a producer wakes
// one worker only when none is spinning, and a spinner that finds work wakes
// the next, so bursts ramp the pool up without a thundering herd; a worker
// re-checks every queue after announcing itself idle, so no wake-up is lost.
//
// # Waiting inside a task
//
// Workers are decoupled from goroutines, as Ps are from Ms in the Go runtime.
// A task that must wait does one of two things:
//
//   - RunInline: a joiner runs the very task it waits for when nobody has
//     started it yet. In recursive fork-join that is almost every join, so it
//     costs a function call, not a context switch; and since only the awaited
//     task ever runs nested, a nested run never waits on the frames below it,
//     which is what makes nested joins deadlock-free at any worker count.
//   - Suspend/Wait: otherwise the goroutine suspends. If its worker has
//     nothing else queued, the worker is parked as if idle and handed straight
//     back on Resume (one goroutine wake-up, as for a channel); if other work
//     is queued, or arrives meanwhile, a spare goroutine runs the worker. On
//     Resume the goroutine gets a worker back before it continues, through a
//     small resume task queued in the resumer's LIFO slot; a worker about to
//     suspend whose next task is such a resumption switches to it directly.
//
// Block wraps Suspend for code that must block on something the scheduler
// does not know about.
//
// Handle-free fork-join (task.Fork) goes one step further with Local: the
// joiner pops its child straight back from the bottom of its own deque
// (PopIf). Deque entries move and are never copied, so a child popped back
// was seen by nobody else: it runs with no Claim, and its record goes to a
// small per-worker cache (Local.Get/Put) for the next fork. A child that was
// stolen, spilled or left behind is joined through Claim and RunInline as
// above, and its record is never reused, because a dead queue entry may
// still point at it.
//
// # Which worker am I?
//
// Spawn, Join and Fork called from task code must find the worker the
// calling goroutine runs, and Go has no goroutine-local storage. The token
// is the address of the goroutine's runtime descriptor, read by a
// two-instruction assembly stub (getg_amd64.s, getg_arm64.s), looked up in a
// direct-mapped cache and always confirmed against the worker's owner
// record. It is the fastest sound option: about a nanosecond, against about
// a microsecond for the portable fallback, and a fork-join step looks it up
// two or three times. It is sound because the address is only compared,
// never dereferenced, and a worker's owner record is cleared before its
// goroutine gives the worker up or exits, so a recycled descriptor never
// matches a live owner. The portable fallback (getg_other.go: other
// architectures, or any with -tags purego) parses the goroutine id from
// runtime.Stack's header; ids are never reused, so it is just as sound, only
// slower. The tests run under both.
//
// # Shutdown
//
// Close drains: it rejects new work from outside the pool (Spawn, Go,
// Blocking return ErrClosed), cancels Context, runs everything already
// queued, running or suspended to its end, together with the children and
// continuations that work still spawns, and returns once every goroutine of
// the pool, the blocking pool's included, has exited.
package scheduler
