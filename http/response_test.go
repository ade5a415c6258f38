package http

import (
	"bufio"
	"bytes"
	"io"
	nethttp "net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newRW(t testing.TB, raw string) (*ResponseWriter, *Request) {
	t.Helper()
	var r Request
	if _, err := NewParser(Limits{}).Parse([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	w := new(ResponseWriter)
	w.reset(&r)
	return w, &r
}

// readResp decodes w's output with the standard library's client-side reader,
// an independent check of the framing.
func readResp(t *testing.T, out []byte, method string) (*nethttp.Response, string) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(out))
	resp, err := nethttp.ReadResponse(br, &nethttp.Request{Method: method})
	if err != nil {
		t.Fatalf("ReadResponse: %v\n%q", err, out)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v\n%q", err, out)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("trailing bytes %q", rest)
	}
	return resp, string(b)
}

func TestResponseFixed(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	w.SetContentType("text/plain")
	w.AddHeader("X-A", "1")
	w.AddHeader("X-A", "2")
	w.WriteString("Hello, ")
	w.Write([]byte("World!"))
	w.finish()
	resp, body := readResp(t, w.out, "GET")
	if resp.StatusCode != 200 || body != "Hello, World!" || resp.ContentLength != 13 {
		t.Fatalf("status %d body %q cl %d", resp.StatusCode, body, resp.ContentLength)
	}
	if resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") != "text/plain" || len(resp.Header["X-A"]) != 2 {
		t.Fatalf("headers %v", resp.Header)
	}
	if resp.Close || w.close {
		t.Fatal("keep-alive response closes")
	}
}

func TestResponseStatusAndSet(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	w.SetHeader("X-A", "1")
	w.AddHeader("x-b", "2")
	w.SetHeader("x-a", "3")
	w.WriteHeader(404)
	w.WriteHeader(500)
	w.AddHeader("Bad Name", "x")
	w.AddHeader("X-Split", "a\r\nInjected: 1")
	w.finish()
	resp, body := readResp(t, w.out, "GET")
	if resp.StatusCode != 404 || body != "" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if resp.Header.Get("X-A") != "3" || resp.Header.Get("X-B") != "2" || resp.Header.Get("Injected") != "" || resp.Header.Get("X-Split") != "a  Injected: 1" {
		t.Fatalf("headers %v", resp.Header)
	}
}

func TestResponseChunkedStream(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	w.WriteString("part1,")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.WriteString("part2")
	w.finish()
	resp, body := readResp(t, w.out, "GET")
	if body != "part1,part2" || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("body %q te %v\n%q", body, resp.TransferEncoding, w.out)
	}
}

func TestResponseStreamDeclaredLength(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	w.SetContentLength(4)
	w.WriteString("ab")
	w.Flush()
	w.WriteString("cd")
	if _, err := w.WriteString("e"); err != ErrContentLength {
		t.Fatalf("overflow err %v", err)
	}
	w.finish()
	resp, body := readResp(t, w.out, "GET")
	if body != "abcd" || resp.ContentLength != 4 || w.close {
		t.Fatalf("body %q cl %d close %v", body, resp.ContentLength, w.close)
	}
}

func TestResponseShortDeclaredLengthCloses(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	w.SetContentLength(10)
	w.WriteString("ab")
	w.Flush()
	w.finish()
	if !w.close {
		t.Fatal("short body must close the connection")
	}
}

func TestResponseHTTP10(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	w.WriteString("x")
	w.finish()
	if !bytes.Contains(w.out, []byte("Connection: keep-alive\r\n")) {
		t.Fatalf("%q", w.out)
	}
	// A streamed body to an HTTP/1.0 client cannot be chunked: it is sent
	// unframed and the connection closes.
	w, _ = newRW(t, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	w.WriteString("ab")
	w.Flush()
	w.WriteString("cd")
	w.finish()
	if !w.close || bytes.Contains(w.out, []byte("chunked")) || !bytes.HasSuffix(w.out, []byte("\r\n\r\nabcd")) {
		t.Fatalf("close %v %q", w.close, w.out)
	}
	w, _ = newRW(t, "GET / HTTP/1.0\r\n\r\n")
	w.finish()
	if !w.close || !bytes.Contains(w.out, []byte("Connection: close\r\n")) {
		t.Fatalf("%q", w.out)
	}
}

func TestResponseHead(t *testing.T) {
	w, _ := newRW(t, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n")
	w.WriteString("Hello, World!")
	w.finish()
	if !bytes.HasSuffix(w.out, []byte("Content-Length: 13\r\n\r\n")) {
		t.Fatalf("%q", w.out)
	}
	resp, body := readResp(t, w.out, "HEAD")
	if body != "" || resp.ContentLength != 13 {
		t.Fatalf("body %q cl %d", body, resp.ContentLength)
	}
}

func TestResponseNoBodyStatus(t *testing.T) {
	for _, code := range []int{204, 304} {
		w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		w.WriteHeader(code)
		if _, err := w.WriteString("x"); err != ErrBodyNotAllowed {
			t.Fatalf("%d: err %v", code, err)
		}
		w.finish()
		if bytes.Contains(w.out, []byte("Content-Length")) || bytes.Contains(w.out, []byte("chunked")) {
			t.Fatalf("%d: %q", code, w.out)
		}
		readResp(t, w.out, "GET")
	}
}

func TestResponseConnectionClose(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	w.finish()
	resp, _ := readResp(t, w.out, "GET")
	if !resp.Close || !w.close {
		t.Fatal("Connection: close not honoured")
	}
	w, _ = newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	w.SetHeader("Connection", "close")
	w.finish()
	if resp, _ := readResp(t, w.out, "GET"); !resp.Close || !w.close {
		t.Fatal("handler's Connection: close not honoured")
	}
}

func TestResponseAutoFlush(t *testing.T) {
	w, _ := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	big := strings.Repeat("x", autoFlush+1)
	w.WriteString(big)
	w.WriteString("y")
	w.finish()
	_, body := readResp(t, w.out, "GET")
	if body != big+"y" {
		t.Fatalf("body len %d", len(body))
	}
}

func TestAppendError(t *testing.T) {
	for _, code := range []int{400, 413, 414, 431, 500, 501, 505} {
		out := AppendError(nil, code)
		resp, body := readResp(t, out, "GET")
		if resp.StatusCode != code || !resp.Close || body != nethttp.StatusText(code)+"\n" {
			t.Fatalf("%d: %q", code, out)
		}
	}
}

func TestDateCache(t *testing.T) {
	acquireDate()
	defer releaseDate()
	got := string(appendDate(nil))
	if _, err := nethttp.ParseTime(got); err != nil {
		t.Fatalf("date %q: %v", got, err)
	}
}

func TestResponseZeroAllocs(t *testing.T) {
	acquireDate()
	defer releaseDate()
	w, r := newRW(t, "GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")
	allocs := testing.AllocsPerRun(1000, func() {
		w.out = w.out[:0]
		w.reset(r)
		w.SetContentType("text/plain")
		w.WriteString("Hello, World!")
		w.finish()
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per response", allocs)
	}
}

func TestAppendContentLength(t *testing.T) {
	for _, n := range []int64{0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 123456789, 1 << 40} {
		got := string(appendContentLength([]byte("x"), n))
		want := "xContent-Length: " + strconv.FormatInt(n, 10) + "\r\n"
		if got != want {
			t.Errorf("%d: got %q, want %q", n, got, want)
		}
	}
}

// TestCachedResponseStart: the cached start of a 200 and the cached
// Content-Type line follow the server name, the Date value and the type.
func TestCachedResponseStart(t *testing.T) {
	acquireDate()
	defer releaseDate()
	w, r := newRW(t, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	for i, c := range []struct{ server, ctype string }{
		{"", "text/plain"}, {"weft", "text/plain"}, {"weft", "text/html"}, {"", "text/html"},
	} {
		w.out = w.out[:0]
		w.reset(r)
		w.serverName = c.server
		if i == 3 {
			storeDate(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
		}
		w.SetContentType(c.ctype)
		w.WriteString("hi")
		w.finish()
		resp, body := readResp(t, w.out, "GET")
		if got := resp.Header.Get("Server"); got != c.server {
			t.Errorf("%d: Server %q, want %q", i, got, c.server)
		}
		if got := resp.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("%d: Content-Type %q, want %q", i, got, c.ctype)
		}
		if body != "hi" {
			t.Errorf("%d: body %q", i, body)
		}
		// The refresh timer may replace the stored value at any moment;
		// either way the response must not carry the cached old one.
		if d := resp.Header.Get("Date"); i == 3 && d != "Sat, 03 Feb 2001 04:05:06 GMT" && d != string(currentDate()[:]) {
			t.Errorf("Date %q: the cached start kept an old Date", resp.Header.Get("Date"))
		}
	}
}
