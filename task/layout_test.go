package task

import (
	"testing"
	"unsafe"
)

// The handle is the whole task record; keep it in the 64-byte size class for
// word-sized results, and keep the Task-before-Future layout taskOf relies on.
func TestHandleLayout(t *testing.T) {
	var hi JoinHandle[int]
	var hs JoinHandle[struct{}]
	var hb JoinHandle[[3]int64]
	if sz := unsafe.Sizeof(hi); sz > 64 {
		t.Fatalf("JoinHandle[int] is %d bytes", sz)
	}
	if unsafe.Offsetof(hi.t) != 0 || unsafe.Offsetof(hi.f) != unsafe.Offsetof(hs.f) || unsafe.Offsetof(hi.f) != unsafe.Offsetof(hb.f) {
		t.Fatal("layout changed")
	}
	if hi.f.taskOf() != nil {
		t.Fatal("zero future claims a task")
	}
	hi.f.aux = flagHasTask
	if hi.f.taskOf() != &hi.t {
		t.Fatal("taskOf does not find the handle's task")
	}
}
