package main

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrt/weft"
)

// ants starts its default pool's goroutines at package init.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

func TestThousandTasksOverEight(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	var r report
	err := weft.Run(func(rt *weft.Runtime) error {
		var err error
		r, err = run(rt, config{tasks: 1000, gets: 10, size: 8, timeout: 20 * time.Second})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.exchanges != 10000 || r.serverMax < 1 || r.serverMax > 8 || r.stats.Gets != 10000 {
		t.Fatalf("report: %s", r)
	}
	if !strings.Contains(r.String(), "10000 echoed") {
		t.Fatalf("report reads: %s", r)
	}
	t.Log(r)
}

func TestUnreachableServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	// Port 1 on loopback has no listener on a test machine.
	err := weft.Run(func(rt *weft.Runtime) error {
		_, err := run(rt, config{addr: "127.0.0.1:1", tasks: 4, gets: 1, size: 2, timeout: 5 * time.Second})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v, want a refused connection", err)
	}
}
