package gstack

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

//go:noinline
func parkedHere(ready chan<- int64, stop <-chan struct{}) {
	ready <- CurrentID()
	<-stop
}

func TestOfFindsAnotherGoroutine(t *testing.T) {
	ready, stop := make(chan int64), make(chan struct{})
	go parkedHere(ready, stop)
	id := <-ready
	defer close(stop)
	if id <= 0 || id == CurrentID() {
		t.Fatalf("ids: other %d, self %d", id, CurrentID())
	}
	st := Of(id)
	if !bytes.Contains(st, []byte("gstack.parkedHere")) {
		t.Fatalf("stack of %d does not show parkedHere:\n%s", id, st)
	}
	if got := Of(1 << 60); !bytes.Contains(got, []byte("not found")) {
		t.Fatalf("unknown id: %s", got)
	}
}
