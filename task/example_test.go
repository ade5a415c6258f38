package task_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftrt/weft/scheduler"
	"github.com/weftrt/weft/task"
)

func ExampleSpawn() {
	s := scheduler.New(scheduler.Workers(2))
	defer s.Close()
	h := task.Spawn(s, func(ctx context.Context) (string, error) { return "hello", nil })
	v, err := h.Join()
	fmt.Println(v, err)
	// Output: hello <nil>
}

// Recursive fork-join: joins inside tasks run unstarted children inline, so
// this completes even at one worker.
func ExampleJoinHandle_Join_forkJoin() {
	s := scheduler.New(scheduler.Workers(1))
	defer s.Close()
	var fib func(n int) int
	fib = func(n int) int {
		if n < 2 {
			return n
		}
		h := task.Spawn(s, func(context.Context) (int, error) { return fib(n - 1), nil })
		b := fib(n - 2)
		a, _ := h.Join()
		return a + b
	}
	v, _ := task.Spawn(s, func(context.Context) (int, error) { return fib(20), nil }).Join()
	fmt.Println(v)
	// Output: 6765
}

func ExampleJoinSet() {
	s := scheduler.New()
	defer s.Close()
	js := task.NewJoinSet[int](s)
	for i := 1; i <= 3; i++ {
		js.Spawn(func(context.Context) (int, error) { return i * 10, nil })
	}
	vals, err := js.Wait() // in completion order
	sum := 0
	for _, v := range vals {
		sum += v
	}
	fmt.Println(len(vals), sum, err)
	// Output: 3 60 <nil>
}

func ExampleChan_Serve() {
	s := scheduler.New()
	defer s.Close()
	c := task.NewChan[string](s)
	done := make(chan struct{})
	_ = c.Serve(func(v string, err error) bool {
		if err != nil { // closed and drained
			close(done)
			return false
		}
		fmt.Println("got", v)
		return true
	})
	_ = c.Send("a")
	_ = c.Send("b")
	c.Close()
	<-done
	// Output:
	// got a
	// got b
}

func ExampleTimeout() {
	s := scheduler.New()
	defer s.Close()
	never := task.NewFuture[int](s)
	_, err := task.Timeout(s, never, 10*time.Millisecond).Join()
	fmt.Println(err)
	// Output: context deadline exceeded
}

func ExampleMutex() {
	s := scheduler.New()
	defer s.Close()
	m := task.NewMutex(s)
	counter := 0
	var hs []*task.Future[int]
	for i := 0; i < 100; i++ {
		hs = append(hs, task.Spawn(s, func(context.Context) (int, error) {
			if _, err := m.Lock().Join(); err != nil {
				return 0, err
			}
			counter++
			return 0, m.Unlock()
		}).Future())
	}
	_, err := task.All(hs...).Join()
	fmt.Println(counter, err)
	// Output: 100 <nil>
}
