package main

import (
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftrt/weft"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

func TestClientAgainstInProcessEcho(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	err := weft.Run(func(rt *weft.Runtime) error { return run(rt, "", "hello", 5*time.Second) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestClientRefused(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	// Port 1 on loopback has no listener on a test machine.
	err := weft.Run(func(rt *weft.Runtime) error { return run(rt, "127.0.0.1:1", "hello", 5*time.Second) })
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v, want ECONNREFUSED", err)
	}
}
