package main

import (
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/examples/internal/echocheck"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// TestEcho runs the demo's checking client against the server: 10
// connections, each sending HELLO WORLD[i] for i = 1..1024, every echo byte-exact.
func TestEcho(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ln, err := serve(rt, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := echocheck.Run(ln.Addr().String(), 10, 1024); err != nil {
		t.Fatal(err)
	}
}

func TestServeBadAddr(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reactor needs Linux")
	}
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if _, err := serve(rt, "127.0.0.1:notaport"); err == nil {
		t.Fatal("serve accepted a bad address")
	}
}
