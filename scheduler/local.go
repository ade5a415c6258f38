package scheduler

// Local is the worker the calling goroutine runs, for fork-join code that
// needs the worker's own deque and frame cache without looking the worker up
// for every step. It is valid only on the goroutine that got it, and only
// until that goroutine next waits (Join, Await, Block, Yield, Suspension.Wait)
// or returns from the task: a goroutine may come back from a wait on another
// worker, so take a fresh Local after one.
type Local struct{ w *worker }

// Local returns the calling goroutine's worker of s; Ok is false when the
// caller is not one of s's workers.
func (s *Scheduler) Local() Local {
	if w := current(); w != nil && w.s == s {
		return Local{w}
	}
	return Local{}
}

// Ok reports whether l is a worker.
func (l Local) Ok() bool { return l.w != nil }

// Held reports whether l is a worker the calling goroutine still runs: after
// a wait, it is a cheaper check than a new lookup when the goroutine usually
// comes back to the same worker.
func (l Local) Held() bool { return l.w != nil && l.w.owner.Load() == getg() }

// Push queues t at the bottom of the worker's deque, as Spawn does from a
// worker.
func (l Local) Push(t *Task) {
	w := l.w
	if w.nspawn++; w.nspawn&255 == 0 {
		w.spawned.Store(w.nspawn)
	}
	w.s.pushLocal(w, t)
}

// PopIf takes t back from the worker's deque if t is its newest entry, and
// reports whether it did. Taken back, t was never seen by anyone else
// (deque entries move, they are never copied): the caller owns it outright
// and may run it without Claim. Otherwise the deque is left as it was, less
// entries that were already claimed.
func (l Local) PopIf(t *Task) bool {
	w := l.w
	x := w.dq.pop()
	for x != nil && x != t && x.Claimed() {
		x = w.dq.pop() // dead entries (run inline by a joiner) go on the way
	}
	if x == t {
		if w.nran++; w.nran&255 == 0 {
			w.ran.Store(w.nran)
		}
		return true
	}
	if x != nil {
		w.dq.push(x) // cannot fail: we just made room
	}
	return false
}

// frameCache is how many recycled records a worker keeps. Recursive
// fork-join holds about one per level of recursion.
const frameCache = 32

// Get returns a record put back by Put on this worker, or nil. The cache is
// untyped: a caller type-asserts and treats a record of another type as a
// miss (Put it back or drop it).
func (l Local) Get() any {
	w := l.w
	if w.nframes == 0 {
		return nil
	}
	w.nframes--
	x := w.frames[w.nframes]
	w.frames[w.nframes] = nil
	return x
}

// Put offers a record nobody references any more for reuse on this worker;
// a full cache drops it.
func (l Local) Put(x any) {
	w := l.w
	if w.nframes < frameCache {
		w.frames[w.nframes] = x
		w.nframes++
	}
}

// Reset makes a task that was taken back with PopIf, or whose run the caller
// has observed finishing, ready to be initialised and queued again. Only for
// a task that sits in no queue and that no one else can reach.
func (t *Task) Reset(r Runner) {
	t.Init(r) // clears the claim too; Push or Spawn publishes the task
}
