package http

import (
	"bytes"
	"fmt"
	"testing"
)

// TestFoldEq checks the word-at-a-time compare against the byte loop for
// every string it is used with, every length around it and every byte a
// name or value may hold at every position.
func TestFoldEq(t *testing.T) {
	for _, s := range []string{"host", "expect", "connection", "content-length",
		"transfer-encoding", "close", "keep-alive", "chunked", "100-continue"} {
		for c := 0; c < 256; c++ {
			if !tchar[c] && !valueChar[c] {
				continue
			}
			for i := 0; i < len(s); i++ {
				b := []byte(s)
				b[i] = byte(c)
				if got, want := foldEq(b, s), eqFold(b, s); got != want {
					t.Fatalf("%q vs %q: foldEq %v, eqFold %v", b, s, got, want)
				}
			}
		}
		for _, b := range []string{s[:len(s)-1], s + "x", ""} {
			if foldEq([]byte(b), s) {
				t.Fatalf("%q matched %q", b, s)
			}
		}
		up := []byte(s)
		for i, c := range up {
			if 'a' <= c && c <= 'z' && i%2 == 0 {
				up[i] = c - 'a' + 'A'
			}
		}
		if !foldEq(up, s) {
			t.Fatalf("%q did not match %q", up, s)
		}
	}
}

// TestSkipValueCharsExhaustive puts every byte at every offset of a value
// with no sentinel after it, so both the word loop and the byte loop meet
// each byte and the end of the buffer.
func TestSkipValueCharsExhaustive(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				buf := make([]byte, n)
				for i := range buf {
					buf[i] = 'v'
				}
				buf[at] = byte(c)
				want := n
				if !valueChar[c] {
					want = at
				}
				if got := skipValueChars(buf, 0); got != want {
					t.Fatalf("%q: got %d want %d", buf, got, want)
				}
			}
		}
	}
}

// TestFastSlowAgree changes every byte of two requests to every value and
// checks that the one-pass path (whole request in one call) and the
// resumable path (the first byte alone, then the rest) agree on the verdict
// and on what was parsed.
func TestFastSlowAgree(t *testing.T) {
	for _, raw := range []string{plaintextRequest,
		"GET /a%20b?c=d&e HTTP/1.0\r\nHost: [::1]:80\r\nContent-Length: 2\r\nX:\t v \r\n\r\nhi"} {
		for at := 0; at < len(raw); at++ {
			for c := 0; c < 256; c++ {
				buf := []byte(raw)
				buf[at] = byte(c)
				var r1, r2 Request
				p1, p2 := NewParser(Limits{}), NewParser(Limits{})
				n1, err1 := p1.Parse(bytes.Clone(buf), &r1)
				if _, err := p2.Parse(bytes.Clone(buf[:1]), &r2); err != ErrNeedMore {
					if err != err1 {
						t.Fatalf("%q: first byte alone %v, whole %v", buf, err, err1)
					}
					continue
				}
				n2, err2 := p2.Parse(bytes.Clone(buf), &r2)
				if n1 != n2 || err1 != err2 {
					t.Fatalf("%q: whole %d %v, split %d %v", buf, n1, err1, n2, err2)
				}
				if s1, s2 := fullSnapshot(&r1), fullSnapshot(&r2); err1 == nil && s1 != s2 {
					t.Fatalf("%q: whole %s, split %s", buf, s1, s2)
				}
			}
		}
	}
}

func fullSnapshot(r *Request) string {
	return fmt.Sprintf("%q %q %q %q %q %d %d %v %v %v %q %q", r.Method, r.Target, r.Path, r.Query,
		r.Host, r.ProtoMinor, r.ContentLength, r.Chunked, r.Close, r.Expect100, r.Body, r.Headers())
}
