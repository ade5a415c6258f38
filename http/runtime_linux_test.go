package http_test

import (
	"context"
	"io"
	nethttp "net/http"
	"testing"
	"time"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/http"
)

// The server runs on a whole weft.Runtime, blocking handlers included.
func TestServeOnWeftRuntime(t *testing.T) {
	rt, err := weft.New(weft.Loops(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	s := &http.Server{Handler: http.FromStd(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		io.WriteString(w, "std:"+r.URL.Path)
	}))}
	addr, err := s.Listen(rt, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &nethttp.Transport{}
	defer tr.CloseIdleConnections()
	cl := &nethttp.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < 3; i++ {
		resp, err := cl.Get("http://" + addr.String() + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "std:/x" {
			t.Fatalf("got %q", b)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
