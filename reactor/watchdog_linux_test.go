package reactor

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// blockLoopInTimer is the bug the watchdog exists for: a callback that
// sleeps on the loop.
func blockLoopInTimer(l *Loop, d time.Duration, done chan<- struct{}) {
	l.AfterFunc(0, func() {
		time.Sleep(d)
		close(done)
	})
}

func TestWatchdogReportsAHeldLoopOnce(t *testing.T) {
	g, err := NewGroup(Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var mu sync.Mutex
	var stalls []Stall
	stop := g.Watchdog(50*time.Millisecond, func(s Stall) {
		mu.Lock()
		stalls = append(stalls, s)
		mu.Unlock()
	})
	// Both loops idle (asleep in epoll_wait) for several thresholds: not a stall.
	idle := make(chan struct{})
	g.loops[0].AfterFunc(250*time.Millisecond, func() { close(idle) })
	<-idle
	done := make(chan struct{})
	blockLoopInTimer(g.loops[1], 300*time.Millisecond, done)
	<-done
	stop() // waits for the sampler: a report in progress is complete

	mu.Lock()
	defer mu.Unlock()
	var held []Stall
	for _, s := range stalls {
		if s.Loop == 1 && strings.Contains(string(s.Stack), "blockLoopInTimer") {
			held = append(held, s)
		}
	}
	if len(held) != 1 {
		t.Fatalf("%d reports of the 300 ms callback, want 1 (all: %d)", len(held), len(stalls))
	}
	if s := held[0]; s.Held < 50*time.Millisecond || !strings.Contains(string(s.Stack), "time.Sleep") {
		t.Fatalf("report: held %v, stack:\n%s", s.Held, s.Stack)
	}
}

func TestWatchdogStopsWithClosedGroup(t *testing.T) {
	g, err := NewGroup(Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	stop := g.Watchdog(10*time.Millisecond, func(s Stall) { t.Errorf("stall on a closed group: %+v", s) })
	g.Close()
	// A closed loop's counter never moves again; it must not look held.
	wait := time.NewTimer(60 * time.Millisecond)
	<-wait.C
	stop()
	stop() // idempotent
}
