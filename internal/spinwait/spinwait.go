// Package spinwait has the pause that weft's spin-waits put between two looks at
// shared memory.
package spinwait

import "sync/atomic"

var sink atomic.Uint64

// Pause burns about 30-50 ns without touching shared memory, so that a
// waiter's looks at a contended cache line do not come back to back. (Go has
// no PAUSE instruction for user code; the runtime's procyield is internal.)
//
//go:noinline
func Pause() {
	x := uint64(1)
	for range 32 {
		x = x*6364136223846793005 + 1
	}
	if x == 0 {
		sink.Store(x)
	}
}
