package scheduler

import "sync/atomic"

const (
	dequeSize = 256
	dequeMask = dequeSize - 1
)

// deque is a bounded Chase-Lev work-stealing deque. The owning worker pushes
// and pops at the bottom; thieves (and the owner, for FIFO consumption) take
// from the top with a CAS. Stealing half is a loop of single-element steals:
// a batch CAS on top is not safe against an owner that pops several elements
// from the bottom while the thief is copying.
type deque struct {
	top    atomic.Int64
	_      [56]byte // keep thieves' CAS traffic off the owner's line
	bottom atomic.Int64
	_      [56]byte
	buf    [dequeSize]atomic.Pointer[Task]
}

// push appends t at the bottom; it reports false when the deque is full. Owner only.
func (d *deque) push(t *Task) bool {
	b := d.bottom.Load()
	if b-d.top.Load() >= dequeSize {
		return false
	}
	storeSlot(&d.buf[b&dequeMask], t)
	d.bottom.Store(b + 1)
	return true
}

// pushBatch appends as many of ts as fit at the bottom, publishing them with
// one store of bottom rather than one per task, and returns how many it
// took. Owner only.
func (d *deque) pushBatch(ts []*Task) int {
	b := d.bottom.Load()
	n := min(len(ts), dequeSize-int(b-d.top.Load()))
	if n <= 0 {
		return 0
	}
	for i, t := range ts[:n] {
		storeSlot(&d.buf[(b+int64(i))&dequeMask], t)
	}
	d.bottom.Store(b + int64(n))
	return n
}

// pop removes the most recently pushed task. Owner only.
func (d *deque) pop() *Task {
	b := d.bottom.Load() - 1
	d.bottom.Store(b)
	t := d.top.Load()
	if t > b {
		d.bottom.Store(b + 1)
		return nil
	}
	x := d.buf[b&dequeMask].Load()
	if t < b {
		return x
	}
	// Last element: race the thieves for it.
	ok := d.top.CompareAndSwap(t, t+1)
	d.bottom.Store(b + 1)
	if !ok {
		return nil
	}
	return x
}

// takeOldest removes up to len(dst) of the oldest tasks into dst with one CAS
// on top, where a thief's steal takes one task per CAS, and returns how many
// it took. Owner only: with no pop or push running, the slots between top and
// bottom cannot change under the copy, and a failed CAS means a thief took
// some first.
func (d *deque) takeOldest(dst []*Task) int {
	for {
		t := d.top.Load()
		n := min(int(d.bottom.Load()-t), len(dst))
		if n <= 0 {
			return 0
		}
		for i := range n {
			dst[i] = d.buf[(t+int64(i))&dequeMask].Load()
		}
		if d.top.CompareAndSwap(t, t+int64(n)) {
			return n
		}
	}
}

// steal removes the oldest task. Any goroutine.
func (d *deque) steal() *Task {
	for {
		t := d.top.Load()
		b := d.bottom.Load()
		if t >= b {
			return nil
		}
		x := d.buf[t&dequeMask].Load()
		if d.top.CompareAndSwap(t, t+1) {
			return x
		}
	}
}

func (d *deque) size() int {
	n := d.bottom.Load() - d.top.Load()
	if n < 0 {
		return 0
	}
	return int(n)
}

// stealHalf moves about half of d's tasks into dst (owned by the caller) and
// returns one more for the caller to run. spill receives a task dst had no
// room for, which cannot happen when dst starts empty but must never drop work.
func (d *deque) stealHalf(dst *deque, spill func(*Task)) *Task {
	n := d.size()
	if n == 0 {
		return nil
	}
	n = (n + 1) / 2
	first := d.steal()
	if first == nil {
		return nil
	}
	for i := 1; i < n; i++ {
		x := d.steal()
		if x == nil {
			break
		}
		if !dst.push(x) {
			spill(x)
		}
	}
	return first
}
