package task

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/weftrt/weft/scheduler"
)

func fib(ex Executor, n int) int {
	if n <= 12 {
		return fibSerial(n)
	}
	h := Spawn(ex, func(context.Context) (int, error) { return fib(ex, n-1), nil })
	b := fib(ex, n-2)
	a, _ := h.Join()
	return a + b
}

func fibSerial(n int) int {
	if n < 2 {
		return n
	}
	return fibSerial(n-1) + fibSerial(n-2)
}

func TestSpawnJoinBasic(t *testing.T) {
	s := scheduler.New(scheduler.Workers(2))
	defer s.Close()
	h := Spawn(s, func(context.Context) (int, error) { return 42, nil })
	v, err := h.Join()
	if v != 42 || err != nil {
		t.Fatalf("got %v %v", v, err)
	}
	boom := errors.New("boom")
	h2 := Spawn(s, func(context.Context) (int, error) { return 0, boom })
	if _, err := h2.Join(); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

func TestFibWorkers(t *testing.T) {
	for _, n := range []int{1, 2, 8} {
		s := scheduler.New(scheduler.Workers(n))
		root := Spawn(s, func(context.Context) (int, error) { return fib(s, 30), nil })
		v, err := root.Join()
		s.Close()
		if err != nil || v != 832040 {
			t.Fatalf("workers=%d fib(30)=%d %v", n, v, err)
		}
	}
}

func TestMillionSum(t *testing.T) {
	s := scheduler.New(scheduler.Workers(2))
	defer s.Close()
	const N = 1_000_000
	var sum atomic.Int64
	hs := make([]*JoinHandle[int], 0, N)
	for i := 0; i < N; i++ {
		i := i
		hs = append(hs, Spawn(s, func(context.Context) (int, error) { sum.Add(int64(i)); return i, nil }))
	}
	var total int64
	for _, h := range hs {
		v, err := h.Join()
		if err != nil {
			t.Fatal(err)
		}
		total += int64(v)
	}
	want := int64(N) * (N - 1) / 2
	if total != want || sum.Load() != want {
		t.Fatalf("total %d sum %d want %d", total, sum.Load(), want)
	}
}
