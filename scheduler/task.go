package scheduler

import (
	"sync/atomic"
	"unsafe"
)

// Runner is what a Task runs. Implement it on the record that embeds the Task:
// converting a pointer to an interface does not allocate, whereas a generic
// function value would (it captures its type dictionary), so a spawn costs
// exactly one allocation, the record itself.
type Runner interface{ RunTask() }

// Task is an intrusive run-queue node. Higher layers embed it, as the first
// field, in their own task record.
//
// A Task may be referenced from several places at once (a deque slot, the
// global queue, a joiner that wants to run it inline); Claim decides, once,
// who runs it. Queue entries whose Task was already claimed are skipped.
//
// The node is one word: the Runner's method table (itab) with the claim flag
// in its low bit. The Runner's value is not stored, because it is the record
// the Task starts (Init checks it), and the itab needs no pointer the
// collector scans, because itabs are never freed or moved. A full interface
// plus a state word would cost every task record 16 more bytes; for a
// JoinHandle that is the step from the 48-byte size class to the 64-byte one.
type Task struct {
	word atomic.Uintptr // itab | claimed
}

const claimedBit = 1

// iface is the layout of a non-empty interface value.
type iface struct{ tab, data unsafe.Pointer }

// Init prepares a zero Task to run r. r must be a pointer to the record the
// Task is the first field of (for a record type R embedding the Task first,
// a *R or a named pointer type converted from it); Init panics otherwise. A
// Task runs once; it is not reusable.
func (t *Task) Init(r Runner) {
	i := (*iface)(unsafe.Pointer(&r))
	if i.data != unsafe.Pointer(t) {
		panic("scheduler: Task.Init: the Runner must point to the record that starts with the Task")
	}
	// A plain store: the Task is not shared yet (whoever queues it next
	// publishes it), and an atomic store here would be a full fence per spawn.
	*(*uintptr)(unsafe.Pointer(&t.word)) = uintptr(i.tab)
}

// runner rebuilds the Runner Init was given.
func (t *Task) runner() Runner {
	tab := t.word.Load() &^ claimedBit
	var r Runner
	i := (*iface)(unsafe.Pointer(&r))
	// Read the word back as a pointer rather than converting the integer:
	// the itab is not a heap object, so the collector never needed to see it.
	i.tab = *(*unsafe.Pointer)(unsafe.Pointer(&tab))
	i.data = unsafe.Pointer(t)
	return r
}

// Claim reports whether the caller won the right to run t. It succeeds once.
func (t *Task) Claim() bool {
	w := t.word.Load()
	return w&claimedBit == 0 && t.word.CompareAndSwap(w, w|claimedBit)
}

// Claimed reports whether some caller already won Claim.
func (t *Task) Claimed() bool { return t.word.Load()&claimedBit != 0 }

func (t *Task) exec() { t.runner().RunTask() }

// RunClaimed runs a task the caller has claimed, off the pool.
func RunClaimed(t *Task) { t.exec() }

// Rearm makes a task that has run claimable again, so that a long-lived
// task (a channel server) can be queued once more without a new allocation.
// Only for a task that sits in no queue: one never joined inline, queued
// only by its owner's own once-at-a-time logic.
func (t *Task) Rearm() { t.word.Store(t.word.Load() &^ claimedBit) }
