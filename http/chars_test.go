package http

import (
	"bytes"
	"encoding/binary"
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
		"GET /a%20b?c=d&e HTTP/1.0\r\nHost: [::1]:80\r\nContent-Length: 2\r\nX:\t v \r\n\r\nhi",
		// Framing fields the one-pass path recognises by their words, a
		// long name and value crossing the sixteen-byte windows, digits
		// and '_' in names, a tab inside a value.
		"POST /p?q HTTP/1.1\r\nhOST: a%41.b:1\r\nConnection: Keep-Alive\r\nexpect: 100-continue\r\n" +
			"Transfer-Encoding: chunked\r\nX-Very-Long-Header-Name_2: 0123456789abcdef\tghijklmnopqrstuvwxyz \r\n\r\n0\r\n\r\n",
		"PUT http://h:8/x HTTP/1.1\r\nHost: h\r\nCONNECTION: close, x\r\nContent-Length: 3\r\nContent-Length: 3\r\nA1: \r\n\r\nabc",
	} {
		// The unmutated request must take the one-pass path, or the
		// comparison below would test the slow path against itself.
		var r Request
		if !NewParser(Limits{}).fastHead([]byte(raw), &r) {
			t.Fatalf("%q: not taken by the one-pass path", raw)
		}
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

// TestWordStops puts every byte at every position of words of ordinary
// bytes: each word test must flag exactly the bytes its definition names.
func TestWordStops(t *testing.T) {
	isLetter := func(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
	tests := []struct {
		name  string
		f     func(uint64) uint64
		stop  func(byte) bool
		fills []byte
	}{
		{"nameStops", nameStops, func(b byte) bool { return !(isLetter(b) || b == '-') }, []byte("aZ-")},
		{"valueStops", valueStops, func(b byte) bool { return b < 0x20 || b == 0x7f }, []byte("a \x80\xff~")},
	}
	for _, tc := range tests {
		for at := 0; at < 8; at++ {
			for c := 0; c < 256; c++ {
				for _, fill := range tc.fills {
					w := bytes.Repeat([]byte{fill}, 8)
					w[at] = byte(c)
					if at > 0 {
						w[at-1] = byte(255 - c)
					}
					m := tc.f(binary.LittleEndian.Uint64(w))
					for i, b := range w {
						if got, want := m>>(8*i+7)&1 == 1, tc.stop(b); got != want {
							t.Fatalf("%s(%q) byte %d: stop %v, want %v", tc.name, w, i, got, want)
						}
					}
					if m&^0x8080808080808080 != 0 {
						t.Fatalf("%s(%q): flags outside the high bits: %#x", tc.name, w, m)
					}
				}
			}
		}
	}
}

// TestValueStopAgree checks valueStop (SSE2 on amd64 unless purego) against
// the byte definition and valueStopGo: every byte at every offset, lengths
// across the 16- and 32-byte windows, and stops past len (within cap) that
// must not count.
func TestValueStopAgree(t *testing.T) {
	lens := []int{47, 63, 64, 65, 72}
	for n := 0; n <= 40; n++ {
		lens = append(lens, n)
	}
	for _, n := range lens {
		for _, extra := range []int{0, 1, 5, 15, 16, 17} {
			for at := 0; at <= n; at++ {
				for c := 0; c < 256; c++ {
					buf := bytes.Repeat([]byte{'v'}, n+extra)
					for i := n; i < len(buf); i++ {
						buf[i] = 0 // a stop, outside b
					}
					if at < n {
						buf[at] = byte(c)
					}
					b := buf[: n : n+extra]
					want := n
					for i, x := range b {
						if x < 0x20 || x == 0x7f {
							want = i
							break
						}
					}
					if got := valueStop(b); got != want {
						t.Fatalf("valueStop(%q) cap %d = %d, want %d", b, cap(b), got, want)
					}
					if got := valueStopGo(b); got != want {
						t.Fatalf("valueStopGo(%q) = %d, want %d", b, got, want)
					}
				}
			}
		}
	}
}

// validHostRef is the plain reading of uri-host [":" port] that validHost
// must agree with: the last ':' outside brackets starts the port.
func validHostRef(h []byte) bool {
	if len(h) == 0 {
		return true
	}
	var port []byte
	if h[0] == '[' {
		e := bytes.IndexByte(h, ']')
		if e < 2 {
			return false
		}
		for _, c := range h[1:e] {
			if !ipLiteral[c] {
				return false
			}
		}
		if rest := h[e+1:]; len(rest) > 0 {
			if rest[0] != ':' {
				return false
			}
			port = rest[1:]
		}
	} else {
		name := h
		if c := bytes.LastIndexByte(h, ':'); c >= 0 {
			name, port = h[:c], h[c+1:]
		}
		if len(name) == 0 {
			return false
		}
		for i := 0; i < len(name); i++ {
			if !regName[name[i]] {
				return false
			}
			if name[i] == '%' && (i+2 >= len(name) || hexVal[name[i+1]] < 0 || hexVal[name[i+2]] < 0) {
				return false
			}
		}
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func TestValidHostAgree(t *testing.T) {
	alphabet := []byte("a0.-:%F[]@/ \x00\x80")
	buf := make([]byte, 12)
	for seed := uint64(1); seed < 300000; seed++ {
		x := seed * 0x9E3779B97F4A7C15
		n := int(x % 13)
		for i := 0; i < n; i++ {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			buf[i] = alphabet[x%uint64(len(alphabet))]
		}
		h := buf[:n]
		if got, want := validHost(h), validHostRef(h); got != want {
			t.Fatalf("validHost(%q) = %v, want %v", h, got, want)
		}
		if got, want := hostNamePort(h), validHostRef(h); got != want {
			t.Fatalf("hostNamePort(%q) = %v, want %v", h, got, want)
		}
	}
	for _, h := range []string{"127.0.0.1:8080", "a%41:1", "a%4:1", "a%4", ":80", "a:", "a:b:1", "[::1]:80", "[::1]x", "[]:1", "ex-ample.com"} {
		if got, want := validHost([]byte(h)), validHostRef([]byte(h)); got != want {
			t.Fatalf("validHost(%q) = %v, want %v", h, got, want)
		}
	}
}

// TestValueStopNear checks the word-wide value scan against the byte
// definition from every start, with every byte at every offset.
func TestValueStopNear(t *testing.T) {
	for n := 0; n <= 24; n++ {
		for at := 0; at < n; at++ {
			for c := 0; c < 256; c++ {
				b := bytes.Repeat([]byte{'v'}, n)
				b[at] = byte(c)
				if at > 0 && c == '\t' {
					b[at-1] = '\t'
				}
				for pos := 0; pos <= n; pos++ {
					want := pos
					for want < n && b[want] >= 0x20 && b[want] != 0x7f {
						want++
					}
					if got := valueStopNear(b, pos); got != want {
						t.Fatalf("valueStopNear(%q, %d) = %d, want %d", b, pos, got, want)
					}
				}
			}
		}
	}
}
