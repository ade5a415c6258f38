package weft

import (
	"sync"

	"github.com/weftrt/weft/scheduler"
)

// ErrClosed is returned for work handed to a closed Runtime (it is
// scheduler.ErrClosed, so either matches with errors.Is).
var ErrClosed = scheduler.ErrClosed

// Runtime owns the pieces a weft program runs on: the work-stealing
// scheduler and (with issue 5) the reactor Group. It is a task.Executor and
// a task.Timers. Fields are added per component; Close tears them down in
// reverse order of construction.
type Runtime struct {
	sched *scheduler.Scheduler
	reactorPart

	closeOnce sync.Once
	closeErr  error
}

// New starts a Runtime.
func New(opts ...Option) (*Runtime, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	rt := &Runtime{}
	rt.sched = scheduler.New(cfg.sched...)
	if err := rt.startReactor(cfg.reactor); err != nil {
		rt.sched.Close()
		return nil, err
	}
	return rt, nil
}

// Run starts a Runtime, calls main with it and closes it. It returns main's
// error, or else Close's.
func Run(main func(rt *Runtime) error) error {
	rt, err := New()
	if err != nil {
		return err
	}
	err = main(rt)
	if cerr := rt.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close shuts the Runtime down: the scheduler refuses new tasks from outside
// the pool, cancels the tasks' contexts and runs what is queued and running
// to its end (see scheduler.Close); every goroutine of the Runtime has
// exited when Close returns. Further calls return the first call's result.
func (rt *Runtime) Close() error {
	rt.closeOnce.Do(func() {
		// Reactor first: closing its connections completes the futures
		// that tasks wait on, so the scheduler can then run them out.
		rt.closeErr = rt.closeReactor()
		rt.sched.Close()
	})
	return rt.closeErr
}

// Scheduler makes *Runtime a task.Executor.
func (rt *Runtime) Scheduler() *scheduler.Scheduler { return rt.sched }
