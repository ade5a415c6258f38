package reactor

import (
	"sync"
	"sync/atomic"
)

// inbox is a lock-free multi-producer single-consumer queue of closures. Producers push
// onto a Treiber stack with one CAS; the single consumer takes the whole stack with one
// Swap and reverses it to restore submission order. Taking everything at once means the
// consumer never pops a node a producer might still be looking at, so there is no ABA.
type inbox struct {
	head atomic.Pointer[inboxNode]
	// order is the consumer's reusable scratch space for reversal.
	order []*inboxNode
}

type inboxNode struct {
	fn   func()
	next *inboxNode
}

var nodePool = sync.Pool{New: func() any { return new(inboxNode) }}

func (q *inbox) push(fn func()) {
	n := nodePool.Get().(*inboxNode)
	n.fn = fn
	for {
		old := q.head.Load()
		n.next = old
		if q.head.CompareAndSwap(old, n) {
			return
		}
	}
}

func (q *inbox) empty() bool { return q.head.Load() == nil }

// drain runs every queued closure in submission order and returns how many ran.
// Consumer only.
func (q *inbox) drain() int {
	n := q.head.Swap(nil)
	if n == nil {
		return 0
	}
	order := q.order[:0]
	for ; n != nil; n = n.next {
		order = append(order, n)
	}
	for i := len(order) - 1; i >= 0; i-- {
		node := order[i]
		fn := node.fn
		node.fn, node.next = nil, nil
		order[i] = nil
		nodePool.Put(node)
		fn()
	}
	cnt := len(order)
	q.order = order[:0]
	return cnt
}
