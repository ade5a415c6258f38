package task

// fifo is a growable ring buffer; the primitives keep values and waiters in it.
type fifo[T any] struct {
	buf  []T
	head int
	n    int
}

func (q *fifo[T]) len() int { return q.n }

func (q *fifo[T]) push(v T) {
	if q.n == len(q.buf) {
		nb := make([]T, max(8, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
}

func (q *fifo[T]) pop() (T, bool) {
	var zero T
	if q.n == 0 {
		return zero, false
	}
	v := q.buf[q.head]
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return v, true
}

func (q *fifo[T]) peek() T { return q.buf[q.head] }

// drain empties q, returning its items in order.
func (q *fifo[T]) drain() []T {
	out := make([]T, 0, q.n)
	for q.n > 0 {
		v, _ := q.pop()
		out = append(out, v)
	}
	return out
}
