package scheduler

import "sync/atomic"

// Runner is what a Task runs. Implement it on the record that embeds the Task:
// converting a pointer to an interface does not allocate, whereas a generic
// function value would (it captures its type dictionary), so a spawn costs
// exactly one allocation, the record itself.
type Runner interface{ RunTask() }

// Task is an intrusive run-queue node. Higher layers embed it in their own
// task record.
//
// A Task may be referenced from several places at once (a deque slot, the
// global queue, a joiner that wants to run it inline); Claim decides, once,
// who runs it. Queue entries whose Task was already claimed are skipped.
type Task struct {
	r     Runner
	state atomic.Uint32
}

// Init prepares a zero Task to run r. A Task runs once; it is not reusable.
func (t *Task) Init(r Runner) { t.r = r }

// Claim reports whether the caller won the right to run t. It succeeds once.
func (t *Task) Claim() bool { return t.state.CompareAndSwap(0, 1) }

// Claimed reports whether some caller already won Claim.
func (t *Task) Claimed() bool { return t.state.Load() != 0 }

func (t *Task) exec() { t.r.RunTask() }

// RunClaimed runs a task the caller has claimed, off the pool.
func RunClaimed(t *Task) { t.exec() }

// Rearm makes a task that has run claimable again, so that a long-lived
// task (a channel server) can be queued once more without a new allocation.
// Only for a task that sits in no queue: one never joined inline, queued
// only by its owner's own once-at-a-time logic.
func (t *Task) Rearm() { t.state.Store(0) }
