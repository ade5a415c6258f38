//go:build !race

package scheduler

import (
	"sync/atomic"
	"unsafe"
)

// storeSlot fills a deque slot with a plain store, as the Go runtime fills its
// own run queues: the owner's atomic store of bottom that follows publishes
// it, so a thief that sees the new bottom sees the slot. A slow thief may
// still read a slot the owner is refilling after the deque wrapped, but its
// CAS on top then fails and the word it read is discarded. On amd64 this
// saves the second locked instruction per push (atomic stores are XCHG);
// under -race the store stays atomic (deque_race.go), because the detector
// cannot see that argument.
func storeSlot(p *atomic.Pointer[Task], t *Task) {
	*(*unsafe.Pointer)(unsafe.Pointer(p)) = unsafe.Pointer(t)
}
