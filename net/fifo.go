package net

// fifo is a queue over a reused slice: a stream that keeps one read or write
// pending at a time pushes and pops without allocating.
type fifo[T any] struct {
	buf  []T
	head int
}

func (q *fifo[T]) len() int { return len(q.buf) - q.head }

func (q *fifo[T]) push(v T) {
	if q.head > 0 && (q.head == len(q.buf) || q.head >= 32 && q.head*2 >= len(q.buf)) {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, v)
}

func (q *fifo[T]) front() *T { return &q.buf[q.head] }

func (q *fifo[T]) pop() {
	var zero T
	q.buf[q.head] = zero
	q.head++
	if q.head == len(q.buf) {
		q.buf, q.head = q.buf[:0], 0
	}
}

func (q *fifo[T]) items() []T { return q.buf[q.head:] }

// reset empties the queue; a queue that grew large gives its array back.
func (q *fifo[T]) reset() {
	clear(q.buf)
	q.buf, q.head = q.buf[:0], 0
	if cap(q.buf) > 64 {
		q.buf = nil
	}
}

// keep retains the items for which f is true, in order.
func (q *fifo[T]) keep(f func(*T) bool) {
	items := q.items()
	n := 0
	for i := range items {
		if f(&items[i]) {
			items[n] = items[i]
			n++
		}
	}
	clear(items[n:])
	q.buf = q.buf[:q.head+n]
	if q.len() == 0 {
		q.buf, q.head = q.buf[:0], 0
	}
}
