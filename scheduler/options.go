package scheduler

import "runtime"

// Option configures New.
type Option func(*config)

type config struct {
	workers  int
	blocking int
	onPanic  func(v any)
}

// DefaultBlockingPool is the blocking-pool bound when BlockingPool is not given.
const DefaultBlockingPool = 256

func defaultConfig() config {
	return config{workers: runtime.GOMAXPROCS(0), blocking: DefaultBlockingPool}
}

// Workers sets the number of workers; n < 1 means GOMAXPROCS.
func Workers(n int) Option {
	return func(c *config) {
		if n < 1 {
			n = runtime.GOMAXPROCS(0)
		}
		c.workers = n
	}
}

// BlockingPool bounds the goroutines that run Blocking functions; n < 1 means
// DefaultBlockingPool. Work beyond the bound waits in FIFO order.
func BlockingPool(n int) Option {
	return func(c *config) {
		if n < 1 {
			n = DefaultBlockingPool
		}
		c.blocking = n
	}
}

// PanicHandler receives panics recovered from Go and Blocking functions (and,
// through the task package, from detached tasks). It runs on the goroutine
// that recovered the panic and must not block.
func PanicHandler(h func(v any)) Option {
	return func(c *config) { c.onPanic = h }
}
