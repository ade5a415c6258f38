package pool_test

import (
	"context"
	"fmt"

	"github.com/weftrt/weft/pool"
	"github.com/weftrt/weft/scheduler"
)

// A pool of any resource: here a counter standing for a database session.
func ExampleNew() {
	s := scheduler.New(scheduler.Workers(2))
	defer s.Close()

	opened := 0
	p, err := pool.New[int](pool.Funcs[int]{
		ConnectFunc: func(context.Context) (int, error) { opened++; return opened, nil },
	}, pool.Executor(s), pool.MaxSize(2))
	if err != nil {
		panic(err)
	}
	defer p.Close()

	for range 3 {
		c, err := p.Get(context.Background()).Join()
		if err != nil {
			panic(err)
		}
		fmt.Println("session", c.Value())
		c.Release() // back to the pool: the next Get reuses it without allocating
	}
	st := p.Stats()
	fmt.Println("opened", st.Connects, "checkouts", st.Gets, "idle", st.Idle)
	// Output:
	// session 1
	// session 1
	// session 1
	// opened 1 checkouts 3 idle 1
}
