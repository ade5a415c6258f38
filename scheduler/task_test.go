package scheduler

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

type probeRec struct {
	t   Task
	ran int
}

func (p *probeRec) RunTask() { p.ran++ }

type probeRunner probeRec

func (p *probeRunner) RunTask() { p.ran += 10 }

type notFirst struct {
	x int
	t Task
}

func (n *notFirst) RunTask() {}

// The Task keeps one word: the Runner is rebuilt from its itab and the
// record's own address, the claim flag rides in the itab's low bit.
func TestTaskWord(t *testing.T) {
	if sz := unsafe.Sizeof(Task{}); sz != unsafe.Sizeof(uintptr(0)) {
		t.Fatalf("Task is %d bytes", sz)
	}
	for _, named := range []bool{false, true} {
		p := &probeRec{}
		want := 1
		if named {
			p.t.Init((*probeRunner)(p))
			want = 10
		} else {
			p.t.Init(p)
		}
		if _, ok := p.t.runner().(*probeRunner); ok != named {
			t.Fatalf("runner type: named=%v", named)
		}
		if p.t.Claimed() || !p.t.Claim() || !p.t.Claimed() || p.t.Claim() {
			t.Fatal("claim once")
		}
		p.t.exec() // claimed: the flag must not leak into the itab
		if p.ran != want {
			t.Fatalf("ran %d, want %d", p.ran, want)
		}
		p.t.Rearm()
		if p.t.Claimed() || !p.t.Claim() {
			t.Fatal("rearm")
		}
		p.t.Reset(p)
		if p.t.Claimed() {
			t.Fatal("reset leaves the claim")
		}
		RunClaimed(&p.t)
		if p.ran != want+1 {
			t.Fatalf("after reset ran %d", p.ran)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Init accepted a Runner that is not the Task's record")
		}
	}()
	n := &notFirst{}
	n.t.Init(n)
}

// pushBatch publishes in order and stops at the deque's bound.
func TestDequePushBatch(t *testing.T) {
	var d deque
	ts := make([]*Task, dequeSize+10)
	for i := range ts {
		ts[i] = new(Task)
	}
	if n := d.pushBatch(ts[:3]); n != 3 {
		t.Fatalf("pushed %d of 3", n)
	}
	if x := d.steal(); x != ts[0] {
		t.Fatal("FIFO order lost")
	}
	if n := d.pushBatch(ts[3:]); n != dequeSize-2 {
		t.Fatalf("pushed %d, want %d", n, dequeSize-2)
	}
	if d.size() != dequeSize || d.pushBatch(ts[:1]) != 0 || d.push(ts[0]) {
		t.Fatal("deque over its bound")
	}
	for i := 1; i < dequeSize+1; i++ {
		if x := d.steal(); x != ts[i] {
			t.Fatalf("entry %d out of order", i)
		}
	}
	if d.steal() != nil {
		t.Fatal("deque not empty")
	}
}

// Every task pushed leaves the deque exactly once, whoever takes it: the
// owner pushing, popping and moving its older half out with takeOldest (as
// overflow does), while thieves steal one at a time. Without -race this runs
// the plain-store push (deque_norace.go).
func TestDequeTakeOldestAgainstThieves(t *testing.T) {
	const total = 200_000
	var d deque
	tasks := make([]Task, total)
	seen := make([]atomic.Int32, total)
	index := func(x *Task) int {
		return int((uintptr(unsafe.Pointer(x)) - uintptr(unsafe.Pointer(&tasks[0]))) / unsafe.Sizeof(tasks[0]))
	}
	var done atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() || d.size() > 0 {
				if x := d.steal(); x != nil {
					seen[index(x)].Add(1)
				} else {
					runtime.Gosched()
				}
			}
		}()
	}
	var batch [dequeSize / 2]*Task
	for i := range tasks {
		if !d.push(&tasks[i]) {
			for _, x := range batch[:d.takeOldest(batch[:])] {
				seen[index(x)].Add(1)
			}
			if !d.push(&tasks[i]) {
				t.Fatalf("push %d failed after takeOldest", i)
			}
		}
		if i%7 == 0 {
			if x := d.pop(); x != nil {
				seen[index(x)].Add(1)
			}
		}
	}
	done.Store(true)
	wg.Wait()
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("task %d taken %d times", i, n)
		}
	}
}
