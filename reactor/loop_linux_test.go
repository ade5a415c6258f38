package reactor

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSubmitOrderAndWakeups(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	l := g.Loops()[0]
	const producers, each = 8, 2000
	var mu sync.Mutex
	last := make([]int, producers)
	var ran atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= each; i++ {
				err := l.Submit(func() {
					if !l.InLoop() {
						t.Error("Submit closure off the loop")
					}
					mu.Lock()
					if last[p] != i-1 {
						t.Errorf("producer %d: ran %d after %d", p, i, last[p])
					}
					last[p] = i
					mu.Unlock()
					if ran.Add(1) == producers*each {
						close(done)
					}
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("ran %d of %d closures", ran.Load(), producers*each)
	}
	// An awake loop is not woken again: far fewer eventfd writes than submissions.
	if w := l.Stats().Wakeups; w >= producers*each {
		t.Errorf("%d wakeups for %d submissions", w, producers*each)
	}
	t.Logf("%d submissions, %d wakeups", producers*each, l.Stats().Wakeups)
}

func TestTimers(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	l := g.Loops()[0]
	order := make(chan int, 8)
	start := time.Now()
	// Off the loop, out of order: they must fire by deadline.
	for _, d := range []int{30, 10, 20} {
		l.AfterFunc(time.Duration(d)*time.Millisecond, func() {
			if !l.InLoop() {
				t.Error("timer off the loop")
			}
			order <- d
		})
	}
	for _, want := range []int{10, 20, 30} {
		select {
		case got := <-order:
			if got != want {
				t.Fatalf("timer %d fired, want %d", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("timer never fired")
		}
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("30ms timer fired after %v", el)
	}

	// Stop before the deadline, from another goroutine: never fires.
	stopped := l.AfterFunc(20*time.Millisecond, func() { t.Error("stopped timer fired") })
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	if stopped.Stop() {
		t.Fatal("second Stop returned true")
	}
	// Stop after firing returns false.
	fired := make(chan *Timer, 1)
	var self *Timer
	ready := make(chan struct{})
	self = l.AfterFunc(0, func() { <-ready; fired <- self })
	close(ready)
	if tm := <-fired; tm.Stop() {
		t.Fatal("Stop after firing returned true")
	}
	// A later timer proves the stopped one's deadline passed without it running.
	after := make(chan struct{})
	l.AfterFunc(40*time.Millisecond, func() { close(after) })
	<-after
	var nilTimer *Timer
	if nilTimer.Stop() {
		t.Fatal("nil Timer Stop returned true")
	}
}

func TestTimerStopCompaction(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	l := g.Loops()[0]
	done := make(chan int)
	l.Submit(func() {
		// Deadlines reset on every request: many stopped timers must not pile up.
		for i := 0; i < 10000; i++ {
			l.AfterFunc(time.Hour, func() {}).Stop()
		}
		l.runTimers()
		done <- len(l.timers)
	})
	if n := <-done; n > 200 {
		t.Fatalf("%d stopped timers still in the heap", n)
	}
}

// A steady stream of Submits keeps the loop awake; it must still serve its sockets.
func TestSubmitStreamDoesNotStarveIO(t *testing.T) {
	g := newTestGroup(t, Loops(1))
	l := g.Loops()[0]
	ln := listenEcho(t, g, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l.Submit(func() {})
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 5; i++ {
		if err := echoOnce(ln.Addr().String(), "under load"); err != nil {
			t.Fatal(err)
		}
	}
}
