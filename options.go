package weft

import (
	"github.com/weftrt/weft/reactor"
	"github.com/weftrt/weft/scheduler"
)

// Option configures New.
type Option func(*config)

type config struct {
	sched   []scheduler.Option
	reactor []reactor.Option // Loops, Balancer, ReusePort: runtime_reactor.go
}

// Workers sets the number of scheduler workers; the default (and n < 1) is GOMAXPROCS.
func Workers(n int) Option {
	return func(c *config) { c.sched = append(c.sched, scheduler.Workers(n)) }
}

// BlockingPool bounds the goroutines running blocking work (task.SpawnBlocking,
// blocking handlers); the default is scheduler.DefaultBlockingPool.
func BlockingPool(n int) Option {
	return func(c *config) { c.sched = append(c.sched, scheduler.BlockingPool(n)) }
}

// PanicHandler receives panics that have no joiner to go to (detached tasks,
// continuations, scheduler.Go functions).
func PanicHandler(h func(v any)) Option {
	return func(c *config) { c.sched = append(c.sched, scheduler.PanicHandler(h)) }
}
