package task

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/panjf2000/ants/v2"
	"golang.org/x/sync/errgroup"

	"github.com/weftrt/weft/scheduler"
)

// Every benchmark here reports per task (or per round trip): ns/op and
// allocs/op are directly comparable across the weft, goroutine, ants and
// errgroup variants, which run in the same process one after the other.
//
//	go test -run x -bench . -benchmem -count 3 -cpu 2 ./task/

const chunk = 1_000_000 // tasks in flight at most, per batch

func batches(b *testing.B, fn func(n int)) {
	for left := b.N; left > 0; left -= chunk {
		fn(min(left, chunk))
	}
}

func empty(context.Context) (int, error) { return 0, nil }

// cpuMeter reports the process CPU time per op ("cpu-ns/op") next to the
// wall time: on a machine shared with other work it shows what a variant
// costs, whoever else runs. Call it where the timed part starts and the
// returned func where it ends.
func cpuMeter(b *testing.B) func() {
	c0 := processCPU()
	return func() {
		if c := processCPU() - c0; c0 > 0 && c > 0 {
			b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// (a) spawn+join of empty tasks, each with its own handle, joined by the spawner.
func BenchmarkSpawnJoin(b *testing.B) {
	b.Run("weft", func(b *testing.B) {
		s := scheduler.New()
		defer s.Close()
		hs := make([]*JoinHandle[int], chunk)
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		batches(b, func(n int) {
			for i := 0; i < n; i++ {
				hs[i] = Spawn(s, empty)
			}
			for i := 0; i < n; i++ {
				hs[i].Join()
				hs[i] = nil
			}
		})
		stop()
	})
	b.Run("weft-intask", func(b *testing.B) {
		s := scheduler.New()
		defer s.Close()
		hs := make([]*JoinHandle[int], chunk)
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		Spawn(s, func(context.Context) (int, error) {
			batches(b, func(n int) {
				for i := 0; i < n; i++ {
					hs[i] = Spawn(s, empty)
				}
				for i := 0; i < n; i++ {
					hs[i].Join()
					hs[i] = nil
				}
			})
			return 0, nil
		}).Join()
		stop()
	})
	b.Run("goroutine", func(b *testing.B) {
		b.ReportAllocs()
		stop := cpuMeter(b)
		batches(b, func(n int) {
			var wg sync.WaitGroup
			wg.Add(n)
			for i := 0; i < n; i++ {
				go func() { wg.Done() }()
			}
			wg.Wait()
		})
		stop()
	})
	b.Run("ants", func(b *testing.B) {
		p, _ := ants.NewPool(1024)
		defer p.ReleaseTimeout(10 * time.Second)
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		batches(b, func(n int) {
			var wg sync.WaitGroup
			wg.Add(n)
			for i := 0; i < n; i++ {
				_ = p.Submit(func() { wg.Done() })
			}
			wg.Wait()
		})
		stop()
	})
	b.Run("errgroup", func(b *testing.B) {
		b.ReportAllocs()
		stop := cpuMeter(b)
		batches(b, func(n int) {
			var g errgroup.Group
			for i := 0; i < n; i++ {
				g.Go(func() error { return nil })
			}
			_ = g.Wait()
		})
		stop()
	})
}

var workSink atomic.Uint64

//go:noinline
func spin(iters int) uint64 {
	x := uint64(iters)
	for i := 0; i < iters; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

var (
	calOnce  sync.Once
	calIters int
	calNs    float64
)

// calibrate finds the spin count for about 1µs of work and what it really costs.
func calibrate() (int, float64) {
	calOnce.Do(func() {
		iters := 1000
		for {
			// CPU time when the OS tells us (a loaded machine stretches wall
			// time), wall time otherwise.
			const reps = 2000
			t0, c0 := time.Now(), processCPU()
			for i := 0; i < reps; i++ {
				workSink.Store(spin(iters))
			}
			el := time.Since(t0)
			if c := processCPU() - c0; c > 0 {
				el = c
			}
			ns := float64(el.Nanoseconds()) / reps
			if ns > 900 && ns < 1100 {
				calIters, calNs = iters, ns
				return
			}
			iters = int(float64(iters) * 1000 / ns)
		}
	})
	return calIters, calNs
}

// (b) the same with about 1µs of work per task. x-ideal is ns/op over
// (work per task / workers): wall time, which on a shared machine also
// counts the CPU other processes take. x-cpu is the process CPU time per
// task over the work per task: what the pool costs, whoever else runs.
func BenchmarkSpawnJoinWork(b *testing.B) {
	iters, workNs := calibrate()
	workers := runtime.GOMAXPROCS(0)
	ideal := workNs / float64(workers)
	var cpu0 time.Duration
	start := func(b *testing.B) {
		b.ResetTimer()
		cpu0 = processCPU()
	}
	report := func(b *testing.B) {
		cpu := processCPU() - cpu0
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/ideal, "x-ideal")
		if cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/workNs, "x-cpu")
		}
	}
	work := func(context.Context) (int, error) { workSink.Store(spin(iters)); return 0, nil }
	b.Run("ideal-static", func(b *testing.B) {
		// The ideal measured, not assumed: one goroutine per worker, each
		// doing its share of the work units in a loop, no tasks at all.
		b.ReportAllocs()
		start(b)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			n := b.N / workers
			if w == 0 {
				n += b.N % workers
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					workSink.Store(spin(iters))
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		report(b)
	})
	b.Run("weft", func(b *testing.B) {
		s := scheduler.New()
		defer s.Close()
		hs := make([]*JoinHandle[int], chunk)
		b.ReportAllocs()
		start(b)
		batches(b, func(n int) {
			for i := 0; i < n; i++ {
				hs[i] = Spawn(s, work)
			}
			for i := 0; i < n; i++ {
				hs[i].Join()
				hs[i] = nil
			}
		})
		b.StopTimer()
		report(b)
	})
	b.Run("weft-intask", func(b *testing.B) {
		s := scheduler.New()
		defer s.Close()
		hs := make([]*JoinHandle[int], chunk)
		b.ReportAllocs()
		start(b)
		Spawn(s, func(context.Context) (int, error) {
			batches(b, func(n int) {
				for i := 0; i < n; i++ {
					hs[i] = Spawn(s, work)
				}
				for i := 0; i < n; i++ {
					hs[i].Join()
					hs[i] = nil
				}
			})
			return 0, nil
		}).Join()
		b.StopTimer()
		report(b)
	})
	b.Run("goroutine", func(b *testing.B) {
		b.ReportAllocs()
		start(b)
		batches(b, func(n int) {
			var wg sync.WaitGroup
			wg.Add(n)
			for i := 0; i < n; i++ {
				go func() { workSink.Store(spin(iters)); wg.Done() }()
			}
			wg.Wait()
		})
		b.StopTimer()
		report(b)
	})
	b.Run("ants", func(b *testing.B) {
		p, _ := ants.NewPool(1024)
		defer p.ReleaseTimeout(10 * time.Second)
		b.ReportAllocs()
		start(b)
		batches(b, func(n int) {
			var wg sync.WaitGroup
			wg.Add(n)
			for i := 0; i < n; i++ {
				_ = p.Submit(func() { workSink.Store(spin(iters)); wg.Done() })
			}
			wg.Wait()
		})
		b.StopTimer()
		report(b)
	})
	b.Run("errgroup", func(b *testing.B) {
		b.ReportAllocs()
		start(b)
		batches(b, func(n int) {
			var g errgroup.Group
			for i := 0; i < n; i++ {
				g.Go(func() error { workSink.Store(spin(iters)); return nil })
			}
			_ = g.Wait()
		})
		b.StopTimer()
		report(b)
	})
}

const fibN, fibCut = 27, 4

// Every variant has the shape of rayon's join: each call with n > fibCut
// spawns fib(n-1), computes fib(n-2) itself, then joins: one spawn per call.

// fibTask joins inside the calling task.
func fibTask(ex Executor, n int) int {
	if n <= fibCut {
		return fibSerial(n)
	}
	h := Spawn(ex, func(context.Context) (int, error) { return fibTask(ex, n-1), nil })
	c := fibTask(ex, n-2)
	a, _ := h.Join()
	return a + c
}

type fibArg struct {
	s *scheduler.Scheduler
	n int
}

// fibFork is the same shape with Fork/Join: no handle, and a record the
// worker recycles, so no allocation per call once warm.
func fibFork(a fibArg) int {
	if a.n <= fibCut {
		return fibSerial(a.n)
	}
	f := Fork(a.s, fibFork, fibArg{a.s, a.n - 1})
	c := fibFork(fibArg{a.s, a.n - 2})
	return f.Join() + c
}

func fibWithTask(_ context.Context, a fibArg) (int, error) { return fibWith(a), nil }

// fibWith spawns with a handle per call, the argument carried by SpawnWith
// instead of a closure: one allocation per spawn.
func fibWith(a fibArg) int {
	if a.n <= fibCut {
		return fibSerial(a.n)
	}
	h := SpawnWith(a.s, fibWithTask, fibArg{a.s, a.n - 1})
	c := fibWith(fibArg{a.s, a.n - 2})
	v, _ := h.Join()
	return v + c
}

func fibGo(n int) int {
	if n <= fibCut {
		return fibSerial(n)
	}
	var a int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { a = fibGo(n - 1); wg.Done() }()
	c := fibGo(n - 2)
	wg.Wait()
	return a + c
}

func fibErrgroup(n int) int {
	if n <= fibCut {
		return fibSerial(n)
	}
	var a int
	var g errgroup.Group
	g.Go(func() error { a = fibErrgroup(n - 1); return nil })
	c := fibErrgroup(n - 2)
	_ = g.Wait()
	return a + c
}

func fibAnts(p *ants.Pool, n int) int {
	if n <= fibCut {
		return fibSerial(n)
	}
	var a int
	var wg sync.WaitGroup
	wg.Add(1)
	_ = p.Submit(func() { a = fibAnts(p, n-1); wg.Done() })
	c := fibAnts(p, n-2)
	wg.Wait()
	return a + c
}

// (c) fork-join fib(27), a spawn per call with n > 4, every join inside a task.
func BenchmarkFib27(b *testing.B) {
	want := fibSerial(fibN)
	check := func(b *testing.B, got int) {
		if got != want {
			b.Fatalf("fib = %d, want %d", got, want)
		}
	}
	for _, w := range []int{0, 1} {
		name := "weft"
		if w == 1 {
			name = "weft-1worker"
		}
		b.Run(name, func(b *testing.B) {
			s := scheduler.New(scheduler.Workers(w))
			defer s.Close()
			b.ReportAllocs()
			b.ResetTimer()
			stop := cpuMeter(b)
			for i := 0; i < b.N; i++ {
				v, _ := Spawn(s, func(context.Context) (int, error) { return fibTask(s, fibN), nil }).Join()
				check(b, v)
			}
			stop()
		})
	}
	variants := []struct {
		name string
		fn   func(s *scheduler.Scheduler) int
	}{
		{"weft-spawnwith", func(s *scheduler.Scheduler) int { return fibWith(fibArg{s, fibN}) }},
		{"weft-fork", func(s *scheduler.Scheduler) int { return fibFork(fibArg{s, fibN}) }},
	}
	for _, v := range variants {
		for _, w := range []int{0, 1} {
			name := v.name
			if w == 1 {
				name += "-1worker"
			}
			b.Run(name, func(b *testing.B) {
				s := scheduler.New(scheduler.Workers(w))
				defer s.Close()
				b.ReportAllocs()
				b.ResetTimer()
				stop := cpuMeter(b)
				for i := 0; i < b.N; i++ {
					got, _ := Spawn(s, func(context.Context) (int, error) { return v.fn(s), nil }).Join()
					check(b, got)
				}
				stop()
			})
		}
	}
	b.Run("goroutine", func(b *testing.B) {
		b.ReportAllocs()
		stop := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			check(b, fibGo(fibN))
		}
		stop()
	})
	b.Run("errgroup", func(b *testing.B) {
		b.ReportAllocs()
		stop := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			check(b, fibErrgroup(fibN))
		}
		stop()
	})
	// A bounded ants pool deadlocks here (every worker waits on children
	// that cannot start), so this one is unbounded: goroutines with extra steps.
	b.Run("ants-unbounded", func(b *testing.B) {
		p, _ := ants.NewPool(-1)
		defer p.ReleaseTimeout(10 * time.Second)
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			check(b, fibAnts(p, fibN))
		}
		stop()
	})
}

// (d) ping-pong between two tasks over the channel; one op is one round trip.
func BenchmarkPingPong(b *testing.B) {
	b.Run("weft-serve", func(b *testing.B) {
		// Each task is a long-lived server of its channel (Chan.Serve): the
		// way a tokio task loops on recv().await, without a future per message.
		s := scheduler.New()
		defer s.Close()
		ping, pong := NewChan[int](s), NewChan[int](s)
		done := make(chan struct{})
		n := b.N
		_ = ping.Serve(func(v int, err error) bool {
			if err != nil {
				return false
			}
			_ = pong.Send(v)
			return true
		})
		_ = pong.Serve(func(v int, err error) bool {
			if v == n {
				close(done)
				return false
			}
			_ = ping.Send(v + 1)
			return true
		})
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		s.Go(func() { _ = ping.Send(0) })
		<-done
		b.StopTimer()
		stop()
		ping.Close()
	})
	b.Run("weft-then", func(b *testing.B) {
		// The tasks are continuation loops: each receive registers the next
		// step with Then, as an async fn's state machine would.
		s := scheduler.New()
		defer s.Close()
		ping, pong := NewChan[int](s), NewChan[int](s)
		done := make(chan struct{})
		n := b.N
		var ponger func(int, error)
		ponger = func(v int, err error) {
			if err != nil {
				return
			}
			_ = pong.Send(v)
			ping.Recv().Then(ponger)
		}
		var pinger func(int, error)
		pinger = func(v int, err error) {
			if v == n {
				close(done)
				return
			}
			_ = ping.Send(v + 1)
			pong.Recv().Then(pinger)
		}
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		s.Go(func() { ping.Recv().Then(ponger); pinger(0, nil) })
		<-done
		b.StopTimer()
		stop()
		ping.Close()
	})
	b.Run("weft-join", func(b *testing.B) {
		// The same with blocking-style tasks: every Recv is joined.
		s := scheduler.New()
		defer s.Close()
		ping, pong := NewChan[int](s), NewChan[int](s)
		n := b.N
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		h := Spawn(s, func(context.Context) (int, error) {
			for {
				v, err := ping.Recv().Join()
				if err != nil {
					return 0, nil
				}
				_ = pong.Send(v)
			}
		})
		Spawn(s, func(context.Context) (int, error) {
			for i := 0; i < n; i++ {
				_ = ping.Send(i)
				_, _ = pong.Recv().Join()
			}
			return 0, nil
		}).Join()
		b.StopTimer()
		stop()
		ping.Close()
		h.Join()
	})
	b.Run("goroutine-chan", func(b *testing.B) {
		ping, pong := make(chan int), make(chan int)
		go func() {
			for v := range ping {
				pong <- v
			}
			close(pong)
		}()
		b.ReportAllocs()
		b.ResetTimer()
		stop := cpuMeter(b)
		for i := 0; i < b.N; i++ {
			ping <- i
			<-pong
		}
		b.StopTimer()
		stop()
		close(ping)
		<-pong
	})
}

func heapAndStacks() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

// (e) memory per queued, not yet started task, with 1,000,000 of them
// pending. Run it with -benchtime 1x; B/task is the figure.
func BenchmarkPendingMemory(b *testing.B) {
	const N = 1_000_000
	b.Run("weft", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s := scheduler.New()
			gate := make(chan struct{})
			var held sync.WaitGroup
			held.Add(s.Workers())
			for w := 0; w < s.Workers(); w++ {
				s.Go(func() { held.Done(); <-gate }) // every worker busy: nothing starts
			}
			held.Wait()
			hs := make([]*JoinHandle[int], N)
			before := heapAndStacks()
			for i := range hs {
				hs[i] = Spawn(s, empty)
			}
			after := heapAndStacks()
			b.ReportMetric(float64(after-before)/N, "B/task")
			close(gate)
			for _, h := range hs {
				h.Join()
			}
			s.Close()
		}
	})
	b.Run("goroutine", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			gate := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(N)
			before := heapAndStacks()
			for i := 0; i < N; i++ {
				go func() { <-gate; wg.Done() }()
			}
			after := heapAndStacks()
			b.ReportMetric(float64(after-before)/N, "B/task")
			close(gate)
			wg.Wait()
		}
	})
}
