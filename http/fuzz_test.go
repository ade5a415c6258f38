package http

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// within reports whether sub lies inside buf (or is empty).
func within(sub, buf []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(buf) == 0 {
		return false
	}
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

type parseResult struct {
	n                    int
	err                  error
	method, target, body string
	headers              int
}

func snapshot(r *Request, n int, err error) parseResult {
	return parseResult{n, err, string(r.Method), string(r.Target), string(r.Body), len(r.Headers())}
}

var fuzzLimits = Limits{MaxRequestLineBytes: 512, MaxHeaderBytes: 1024, MaxHeaders: 16, MaxBodyBytes: 4096}

func FuzzParseRequest(f *testing.F) {
	for _, s := range seedRequests() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		buf := bytes.Clone(data)
		p := NewParser(fuzzLimits)
		var r Request
		n, err := p.Parse(buf, &r)
		if err != nil {
			var pe *ProtocolError
			if err != ErrNeedMore && !errors.As(err, &pe) {
				t.Fatalf("unexpected error type %T %v", err, err)
			}
			if n != 0 {
				t.Fatalf("n %d with err %v", n, err)
			}
		} else {
			if n <= 0 || n > len(buf) {
				t.Fatalf("n %d of %d", n, len(buf))
			}
			for _, s := range [][]byte{r.Method, r.Target, r.Path, r.Query, r.Host, r.Body} {
				if !within(s, buf[:n]) && !(len(s) == 1 && s[0] == '/') {
					t.Fatalf("field %q outside the request", s)
				}
			}
			for _, h := range append(r.Headers(), r.Trailers()...) {
				if !within(h.Name, buf[:n]) || !within(h.Value, buf[:n]) || len(h.Name) == 0 {
					t.Fatalf("header %q outside the request", h.Name)
				}
			}
			if r.Chunked && r.ContentLength != -1 || !r.Chunked && int64(len(r.Body)) != r.ContentLength {
				t.Fatalf("framing: chunked %v cl %d body %d", r.Chunked, r.ContentLength, len(r.Body))
			}
			if r.ContentLength > fuzzLimits.MaxBodyBytes || len(r.Body) > int(fuzzLimits.MaxBodyBytes) {
				t.Fatal("body limit exceeded")
			}
		}
		whole := snapshot(&r, n, err)
		// Any split of the same bytes must give the same verdict: the
		// incremental path and the one-shot path are the same parser.
		if len(data) < 2 {
			return
		}
		for _, k := range []int{1, len(data) / 2, len(data) - 1} {
			p2 := NewParser(fuzzLimits)
			var r2 Request
			first := bytes.Clone(data[:k])
			n2, err2 := p2.Parse(first, &r2)
			if err2 == nil || err2 != ErrNeedMore {
				// Decided on the prefix: it must agree with the whole
				// (a complete request, or a rejection: which rule fires
				// first may differ).
				if err2 != nil && (whole.err == nil || whole.err == ErrNeedMore) {
					t.Fatalf("split %d: prefix err %v, whole err %v", k, err2, whole.err)
				}
				if err2 == nil && (whole.err != nil || n2 != whole.n) {
					t.Fatalf("split %d: prefix n %d, whole n %d err %v", k, n2, whole.n, whole.err)
				}
				continue
			}
			// The reactor offers the kept bytes again, possibly moved.
			second := append(bytes.Clone(first), data[k:]...)
			n2, err2 = p2.Parse(second, &r2)
			got := snapshot(&r2, n2, err2)
			if err2 != nil && err2 == whole.err {
				// Same verdict. The Request's contents after an error, or
				// while the body is still awaited, are unspecified: only
				// the call that completes the header section fills it.
				continue
			}
			if got != whole {
				t.Fatalf("split %d: %+v, whole %+v", k, got, whole)
			}
		}
	})
}

func FuzzChunkedDecoder(f *testing.F) {
	for _, s := range seedChunked() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		newDec := func() *ChunkedDecoder {
			return &ChunkedDecoder{MaxBodyBytes: 1 << 16, MaxTrailerBytes: 1024, MaxTrailers: 16}
		}
		buf := bytes.Clone(data)
		d := newDec()
		var tr []Header
		done, err := d.Decode(buf, &tr)
		if err != nil {
			return
		}
		if !done {
			return
		}
		if d.Len() > d.Consumed() || d.Consumed() > len(buf) {
			t.Fatalf("len %d consumed %d buf %d", d.Len(), d.Consumed(), len(buf))
		}
		// What we accept, a lenient independent decoder must decode the same.
		want, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data[:d.Consumed()])))
		if err == nil && !bytes.Equal(want, buf[:d.Len()]) {
			t.Fatalf("decoded %q, httputil %q", buf[:d.Len()], want)
		}
		// Byte-at-a-time with the buffer moved each call gives the same.
		d2 := newDec()
		var tr2 []Header
		var pending []byte
		for i := 0; i < len(data); i++ {
			pending = append(bytes.Clone(pending), data[i])
			done2, err2 := d2.Decode(pending, &tr2)
			if err2 != nil {
				t.Fatalf("drip err %v at %d", err2, i)
			}
			if done2 {
				if d2.Consumed() != d.Consumed() || !bytes.Equal(pending[:d2.Len()], buf[:d.Len()]) || len(tr2) != len(tr) {
					t.Fatalf("drip decoded %q consumed %d, whole %q %d", pending[:d2.Len()], d2.Consumed(), buf[:d.Len()], d.Consumed())
				}
				return
			}
		}
		t.Fatal("drip never finished")
	})
}

func seedRequests() []string {
	s := []string{typicalRequest, plaintextRequest,
		"GET / HTTP/1.0\r\n\r\n",
		"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;e=\"q\"\r\nhello\r\n0\r\nT: v\r\n\r\n",
		"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://h:1/x?y HTTP/1.1\r\nHost: h\r\n\r\n",
		"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\n\r\n",
	}
	return s
}

func seedChunked() []string {
	return []string{
		"0\r\n\r\n",
		"5\r\nhello\r\n0\r\n\r\n",
		"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nA: b\r\n\r\n",
		"3;a=\"x;y\\\"z\";b\r\nabc\r\n0\r\n\r\n",
		"ffffffffffffffff\r\n",
		"5\r\nhello\n0\r\n\r\n",
	}
}

// TestWriteSeedCorpus regenerates testdata/fuzz from the seeds above when
// WEFT_WRITE_CORPUS=1; the files, and any crasher added next to them, are
// what `go test` replays on every run.
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("WEFT_WRITE_CORPUS") != "1" {
		t.Skip("set WEFT_WRITE_CORPUS=1 to regenerate")
	}
	write := func(target string, seeds []string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var reqs []string
	reqs = append(reqs, seedRequests()...)
	for _, s := range []string{
		"GET / HTTP/2.0\r\n\r\n", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", "GET / HTTP/1.1\nHost: a\n\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
	} {
		reqs = append(reqs, s)
	}
	write("FuzzParseRequest", reqs)
	write("FuzzChunkedDecoder", seedChunked())
}
