//go:build race

package scheduler

import "sync/atomic"

// storeSlot fills a deque slot. Under the race detector it is atomic like
// every other access to the slots (see deque_norace.go for why it need not be).
func storeSlot(p *atomic.Pointer[Task], t *Task) { p.Store(t) }
