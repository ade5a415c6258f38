//go:build linux

package weft_test

// The README's tour, compiled and run: every ```go block of README.md is a
// fragment of one of these functions, which TestReadmeBlocksAreCompiled
// checks, so the README cannot drift from code that works.

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"time"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/http"
	weftnet "github.com/weftrt/weft/net"
	"github.com/weftrt/weft/task"
)

// Spawn a task on the work-stealing scheduler and join it.
func Example_spawnAndJoin() {
	rt, err := weft.New() // one event loop and one scheduler worker per CPU
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	answer := task.Spawn(rt, func(ctx context.Context) (int, error) { return 6 * 7, nil })
	n, err := answer.Join()

	fmt.Println(n, err)
	// Output: 42 <nil>
}

// An echo server on the event face of weft's TCP streams.
func Example_echoServer() {
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	addr := "127.0.0.1:0"

	echo := weftnet.HandlerFuncs{Data: func(s *weftnet.Stream, in []byte) int {
		s.Send(in) // on the stream's loop; in is the loop's own buffer, not a copy
		return len(in)
	}}
	ln, err := weftnet.Listen(rt, "tcp", addr, weftnet.WithHandler(echo))

	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	fmt.Println(roundTrip(ln.Addr().String(), "hello"))
	// Output: hello
}

// A native HTTP handler, run inline on the event loops.
func Example_httpHandler() {
	rt, err := weft.New()
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	addr := "127.0.0.1:0"

	hello := http.HandlerFunc(func(w *http.ResponseWriter, r *http.Request) {
		w.SetContentType("text/plain")
		w.WriteString("Hello, World!")
	})
	srv := &http.Server{Handler: http.NonBlocking(hello)} // NonBlocking: served on the loop
	bound, err := srv.Listen(rt, addr)

	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	fmt.Println(httpGet("http://" + bound.String() + "/"))
	// Output: 200 Hello, World!
}

// A standard net/http handler, served through the adapter.
func Example_stdHandler() {
	rt, err := weft.New()
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()
	addr := "127.0.0.1:0"

	std := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "net/http handler, path %s", r.URL.Path)
	})
	srv := &http.Server{Handler: http.FromStd(std)} // FromStd: served on the blocking pool
	bound, err := srv.Listen(rt, addr)

	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	fmt.Println(httpGet("http://" + bound.String() + "/std"))
	// Output: 200 net/http handler, path /std
}

// roundTrip sends msg over a plain net.Conn and returns what comes back.
func roundTrip(addr, msg string) string {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(msg))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err.Error()
	}
	return string(buf)
}

func httpGet(url string) string {
	tr := &nethttp.Transport{}
	defer tr.CloseIdleConnections()
	cl := &nethttp.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}
