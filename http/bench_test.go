package http

import (
	"strings"
	"testing"
)

const typicalRequest = "GET /plaintext?page=2 HTTP/1.1\r\n" +
	"Host: server.example.com:8080\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate\r\n" +
	"Cookie: session=0123456789abcdef; theme=dark\r\n" +
	"Connection: keep-alive\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"\r\n"

// The wrk request of the TechEmpower plaintext test.
const plaintextRequest = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
	"Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n" +
	"Connection: keep-alive\r\n\r\n"

func TestParseZeroAllocs(t *testing.T) {
	p := NewParser(Limits{})
	var r Request
	for _, raw := range []string{typicalRequest, plaintextRequest,
		"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: 1\r\n\r\n"} {
		buf := []byte(raw)
		pristine := []byte(raw)
		allocs := testing.AllocsPerRun(1000, func() {
			copy(buf, pristine) // the chunked decoder rewrites the buffer
			if n, err := p.Parse(buf, &r); err != nil || n != len(buf) {
				t.Fatalf("n %d err %v", n, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%q: %v allocs per request", raw[:20], allocs)
		}
	}
}

func BenchmarkParseTypical(b *testing.B) {
	p := NewParser(Limits{})
	var r Request
	buf := []byte(typicalRequest)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePlaintext(b *testing.B) {
	p := NewParser(Limits{})
	var r Request
	buf := []byte(plaintextRequest)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Parse(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePipelined16 parses a batch of 16 pipelined requests, as wrk
// sends them with 16-deep pipelining; one op is the batch.
func BenchmarkParsePipelined16(b *testing.B) {
	p := NewParser(Limits{})
	var r Request
	buf := []byte(strings.Repeat(plaintextRequest, 16))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(buf); {
			n, err := p.Parse(buf[off:], &r)
			if err != nil {
				b.Fatal(err)
			}
			off += n
		}
	}
}

func BenchmarkParseChunked(b *testing.B) {
	raw := "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
		strings.Repeat("400\r\n"+strings.Repeat("x", 1024)+"\r\n", 16) + "0\r\n\r\n"
	p := NewParser(Limits{})
	var r Request
	buf, pristine := []byte(raw), []byte(raw)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, pristine)
		if _, err := p.Parse(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponsePlaintext(b *testing.B) {
	acquireDate()
	defer releaseDate()
	w, r := newRW(b, plaintextRequest)
	b.ReportAllocs()
	for b.Loop() {
		w.out = w.out[:0]
		w.reset(r)
		w.SetContentType("text/plain")
		w.WriteString("Hello, World!")
		w.finish()
	}
}
