package main

import (
	"runtime"
	"testing"

	"go.uber.org/goleak"

	"github.com/weftrt/weft/examples/internal/echocheck"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEchoDemo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reactor needs Linux")
	}
	g, ln, err := serve("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := echocheck.Run(ln.Addr().String(), 10, 1024); err != nil {
		t.Fatal(err)
	}
}

func TestServeBadAddr(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reactor needs Linux")
	}
	if _, _, err := serve("127.0.0.1:notaport", 1); err == nil {
		t.Fatal("serve accepted a bad address")
	}
}
