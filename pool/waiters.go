package pool

import (
	"github.com/weftrt/weft/task"
)

// waiter is a queued Get. Its links and queued flag are guarded by the pool's mutex.
type waiter[T any] struct {
	f          *task.Future[*Conn[T]]
	prev, next *waiter[T]
	queued     bool
	since      int64
	stopCtx    func() bool // nil when the ctx can never end
}

// detach stops the ctx watch that could still abandon w; called once w is out of the queue.
func (w *waiter[T]) detach() {
	if w.stopCtx != nil {
		w.stopCtx()
	}
}

// waitList is a FIFO with O(1) removal from the middle, for waiters whose ctx ends.
type waitList[T any] struct {
	head, tail *waiter[T]
	n          int
}

func (l *waitList[T]) push(w *waiter[T]) {
	w.queued = true
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
	l.n++
}

func (l *waitList[T]) pop() *waiter[T] {
	w := l.head
	if w != nil {
		l.remove(w)
	}
	return w
}

func (l *waitList[T]) remove(w *waiter[T]) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	l.n--
}
