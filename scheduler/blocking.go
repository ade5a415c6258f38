package scheduler

import (
	"sync"
	"time"

	"github.com/panjf2000/ants/v2"
)

// blockingPool runs functions that may block for long (syscalls, cgo,
// blocking libraries) on an ants pool, bounded so that a flood of them cannot
// create unbounded goroutines. Beyond the bound, work waits in a FIFO here
// rather than inside ants.Submit, so Blocking itself never blocks a worker.
type blockingPool struct {
	s       *Scheduler
	size    int
	mu      sync.Mutex
	pool    *ants.Pool // created on first use: a pool that never blocks costs no goroutines
	active  int        // drainers holding an ants goroutine
	pending []func()
	head    int
	closed  bool
}

func (b *blockingPool) init(s *Scheduler, size int) {
	b.s = s
	b.size = size
}

// Blocking runs fn on the bounded blocking pool. A panic in fn is recovered
// and passed to the PanicHandler option. Once Close has begun, calls from
// outside the pool return ErrClosed (running tasks may still submit, as they
// may still spawn); functions accepted run before Close returns.
func (s *Scheduler) Blocking(fn func()) error {
	return s.blocking.submit(fn, s.closing.Load() && !s.OnWorker())
}

func (b *blockingPool) submit(fn func(), refuse bool) error {
	b.mu.Lock()
	if refuse || (b.closed && b.s.stopped.Load()) {
		b.mu.Unlock()
		b.s.rejected.Add(1)
		return ErrClosed
	}
	if b.active >= b.size {
		b.pending = append(b.pending, fn)
		b.mu.Unlock()
		return nil
	}
	b.active++
	if b.pool == nil {
		p, err := ants.NewPool(b.size)
		if err != nil {
			b.active--
			b.mu.Unlock()
			return err
		}
		b.pool = p
	}
	p := b.pool
	b.mu.Unlock()
	if err := p.Submit(func() { b.drain(fn) }); err != nil {
		b.mu.Lock()
		b.active--
		b.mu.Unlock()
		return err
	}
	return nil
}

func (b *blockingPool) drain(fn func()) {
	for fn != nil {
		b.run(fn)
		b.mu.Lock()
		fn = nil
		if b.head < len(b.pending) {
			fn = b.pending[b.head]
			b.pending[b.head] = nil
			b.head++
			if b.head == len(b.pending) {
				b.pending, b.head = b.pending[:0], 0
			}
		} else {
			b.active--
		}
		b.mu.Unlock()
	}
	b.s.checkQuiesce()
}

func (b *blockingPool) run(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			b.s.reportPanic(r)
		}
	}()
	fn()
}

func (b *blockingPool) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

func (b *blockingPool) idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active == 0
}

func (b *blockingPool) stats() (running, queued int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active, len(b.pending) - b.head
}

// release waits for the ants goroutines to exit so a closed scheduler leaves
// none behind.
func (b *blockingPool) release() {
	b.mu.Lock()
	p := b.pool
	b.pool = nil
	b.mu.Unlock()
	if p != nil {
		_ = p.ReleaseTimeout(10 * time.Second)
	}
}
