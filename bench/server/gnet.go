package main

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"
)

func init() { register("gnet", serveGnet) }

// gnetServer is the floor the issue sets: it does not parse HTTP at all. Every
// "\r\n\r\n" it sees ends a request, and each request gets the same canned
// response, rebuilt once a second for the Date header.
type gnetServer struct {
	gnet.BuiltinEventEngine
	resp atomic.Pointer[[]byte]
	bufs sync.Pool
}

var headerEnd = []byte("\r\n\r\n")

func (s *gnetServer) build(now time.Time) {
	b := make([]byte, 0, 160)
	b = append(b, "HTTP/1.1 200 OK\r\nServer: "...)
	b = append(b, serverName...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(helloBody)), 10)
	b = append(b, "\r\nDate: "...)
	b = now.UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 GMT")
	b = append(b, "\r\n\r\n"...)
	b = append(b, helloBody...)
	s.resp.Store(&b)
}

func (s *gnetServer) OnTraffic(c gnet.Conn) gnet.Action {
	in, err := c.Peek(-1)
	if err != nil {
		return gnet.Close
	}
	n, consumed := 0, 0
	for {
		i := bytes.Index(in[consumed:], headerEnd)
		if i < 0 {
			break
		}
		consumed += i + len(headerEnd)
		n++
	}
	if n == 0 {
		return gnet.None // partial request: wait for the rest
	}
	resp := *s.resp.Load()
	// One write for the whole pipelined batch, as a real server would do.
	bp := s.bufs.Get().(*[]byte)
	out := (*bp)[:0]
	for range n {
		out = append(out, resp...)
	}
	// Discard invalidates `in`; it is not used past this point.
	c.Discard(consumed)
	_, err = c.Write(out)
	*bp = out
	s.bufs.Put(bp)
	if err != nil {
		return gnet.Close
	}
	return gnet.None
}

func serveGnet(addr string) error {
	s := &gnetServer{}
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.build(time.Now())
	go func() {
		for now := range time.Tick(time.Second) {
			s.build(now)
		}
	}()
	return gnet.Run(s, "tcp://"+addr,
		gnet.WithMulticore(true),
		gnet.WithReuseAddr(true), // net/http and fasthttp set SO_REUSEADDR too
		gnet.WithNumEventLoop(runtime.GOMAXPROCS(0)),
		gnet.WithLogLevel(logging.ErrorLevel),
	)
}
