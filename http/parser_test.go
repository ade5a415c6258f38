package http

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// parseAll parses raw in one call.
func parseAll(t *testing.T, raw string, l Limits) (*Request, int, error) {
	t.Helper()
	p := NewParser(l)
	r := new(Request)
	buf := []byte(raw)
	n, err := p.Parse(buf, r)
	return r, n, err
}

// parseDrip feeds raw one byte at a time the way a reactor does: the
// unconsumed bytes are offered again, in a freshly allocated buffer each time
// so that any pointer kept across calls would show up as corruption.
func parseDrip(raw string, l Limits) (*Request, int, error) {
	p := NewParser(l)
	r := new(Request)
	var pending []byte
	for i := 0; i < len(raw); i++ {
		buf := make([]byte, len(pending)+1)
		copy(buf, pending)
		buf[len(pending)] = raw[i]
		n, err := p.Parse(buf, r)
		if err == ErrNeedMore {
			pending = buf
			continue
		}
		return r, n, err
	}
	return r, 0, ErrNeedMore
}

func TestParseValid(t *testing.T) {
	cases := []struct {
		name, raw           string
		method, path, query string
		host                string
		minor               int
		close, chunked, exp bool
		body                string
		cl                  int64
		headers             int
	}{
		{name: "simple", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", path: "/", host: "a", minor: 1, headers: 1},
		{name: "query", raw: "GET /p/q?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", method: "GET", path: "/p/q", query: "x=1&y=%20", host: "example.com:8080", minor: 1, headers: 1},
		{name: "http10 no host", raw: "GET /a HTTP/1.0\r\n\r\n", method: "GET", path: "/a", minor: 0, close: true},
		{name: "http10 keep-alive", raw: "GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", method: "GET", path: "/a", minor: 0, headers: 1},
		{name: "http11 close", raw: "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", method: "GET", path: "/", host: "a", minor: 1, close: true, headers: 2},
		{name: "leading crlf", raw: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", method: "GET", path: "/", host: "a", minor: 1, headers: 1},
		{name: "ows trimmed", raw: "GET / HTTP/1.1\r\nHost:a\r\nX-A: \t v v \t\r\n\r\n", method: "GET", path: "/", host: "a", minor: 1, headers: 2},
		{name: "empty value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n", method: "GET", path: "/", host: "a", minor: 1, headers: 2},
		{name: "empty host", raw: "OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n", method: "OPTIONS", path: "*", minor: 1, headers: 1},
		{name: "obs-text value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", method: "GET", path: "/", host: "a", minor: 1, headers: 2},
		{name: "absolute form", raw: "GET http://Example.com:80/x?y HTTP/1.1\r\nHost: other\r\n\r\n", method: "GET", path: "/x", query: "y", host: "Example.com:80", minor: 1, headers: 1},
		{name: "absolute no path", raw: "GET https://h?q HTTP/1.1\r\nHost: h\r\n\r\n", method: "GET", path: "/", query: "q", host: "h", minor: 1, headers: 1},
		{name: "ipv6 host", raw: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", method: "GET", path: "/", host: "[::1]:8080", minor: 1, headers: 1},
		{name: "connect", raw: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", method: "CONNECT", path: "example.com:443", host: "example.com:443", minor: 1, headers: 1},
		{name: "custom method", raw: "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n", method: "PURGE", path: "/x", host: "a", minor: 1, headers: 1},
		{name: "content-length", raw: "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", method: "POST", path: "/u", host: "a", minor: 1, body: "hello", cl: 5, headers: 2},
		{name: "content-length zero", raw: "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", method: "POST", path: "/u", host: "a", minor: 1, headers: 2},
		{name: "identical duplicate cl", raw: "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", method: "POST", path: "/u", host: "a", minor: 1, body: "abc", cl: 3, headers: 3},
		{name: "chunked", raw: "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1;q=\"a\\\"b\" ; x\r\n world\r\n0\r\n\r\n", method: "POST", path: "/c", host: "a", minor: 1, chunked: true, body: "hello world", cl: -1, headers: 2},
		{name: "chunked upper hex trailers", raw: "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n000\r\nX-Sum: 1\r\nX-T: 2\r\n\r\n", method: "POST", path: "/c", host: "a", minor: 1, chunked: true, body: "0123456789", cl: -1, headers: 2},
		{name: "expect", raw: "PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nok", method: "PUT", path: "/e", host: "a", minor: 1, exp: true, body: "ok", cl: 2, headers: 3},
		{name: "head", raw: "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", method: "HEAD", path: "/", host: "a", minor: 1, headers: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for mode, parse := range map[string]func() (*Request, int, error){
				"whole": func() (*Request, int, error) { return parseAll(t, tc.raw, Limits{}) },
				"drip":  func() (*Request, int, error) { return parseDrip(tc.raw, Limits{}) },
			} {
				r, n, err := parse()
				if err != nil {
					t.Fatalf("%s: err %v", mode, err)
				}
				if n != len(tc.raw) {
					t.Errorf("%s: consumed %d, want %d", mode, n, len(tc.raw))
				}
				check := func(what, got, want string) {
					if got != want {
						t.Errorf("%s: %s = %q, want %q", mode, what, got, want)
					}
				}
				check("method", string(r.Method), tc.method)
				check("path", string(r.Path), tc.path)
				check("query", string(r.Query), tc.query)
				check("host", string(r.Host), tc.host)
				check("body", string(r.Body), tc.body)
				if r.ProtoMinor != tc.minor || r.Close != tc.close || r.Chunked != tc.chunked || r.Expect100 != tc.exp || r.ContentLength != tc.cl {
					t.Errorf("%s: minor %d close %v chunked %v expect %v cl %d", mode, r.ProtoMinor, r.Close, r.Chunked, r.Expect100, r.ContentLength)
				}
				if len(r.Headers()) != tc.headers {
					t.Errorf("%s: %d headers, want %d", mode, len(r.Headers()), tc.headers)
				}
			}
		})
	}
}

func TestParseHeaderValues(t *testing.T) {
	r, _, err := parseAll(t, "GET / HTTP/1.1\r\nHost: a\r\nX-A: \t v v \t\r\nx-b:1\r\n\r\n", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(r.Header("x-a")); got != "v v" {
		t.Errorf("X-A = %q", got)
	}
	if got := string(r.Header("X-B")); got != "1" {
		t.Errorf("X-B = %q", got)
	}
	if r.Header("missing") != nil {
		t.Error("missing header found")
	}
}

func TestParseTrailers(t *testing.T) {
	raw := "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-T:  2 \r\n\r\n"
	for _, f := range []func() (*Request, int, error){
		func() (*Request, int, error) { return parseAll(t, raw, Limits{}) },
		func() (*Request, int, error) { return parseDrip(raw, Limits{}) },
	} {
		r, _, err := f()
		if err != nil {
			t.Fatal(err)
		}
		tr := r.Trailers()
		if len(tr) != 2 || string(tr[0].Name) != "X-Sum" || string(tr[1].Value) != "2" {
			t.Fatalf("trailers %q", tr)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	long := strings.Repeat("a", 9000)
	cases := []struct {
		name, raw string
		want      error
		status    int
	}{
		{"lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", ErrBadVersion, 400},
		{"version junk", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", ErrBadVersion, 400},
		{"version 2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", ErrVersionNotSupp, 505},
		{"version 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", ErrVersionNotSupp, 505},
		{"version 0.9", "GET / HTTP/0.9\r\n\r\n", ErrVersionNotSupp, 505},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ErrVersionNotSupp, 505},
		{"no version", "GET /\r\n\r\n", ErrBadRequestLine, 400},
		{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", ErrBadVersion, 400},
		{"tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadMethod, 400},
		{"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadMethod, 400},
		{"method with slash", "GE/T / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadMethod, 400},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadVersion, 400},
		{"fragment", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"ctl in target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"non-ascii target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"bad pct", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"short pct", "GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"asterisk not options", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"ftp scheme", "GET ftp://h/x HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"userinfo", "GET http://u@h/x HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"connect origin form", "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"connect no port", "CONNECT h HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"bare lf request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", ErrBareLF, 400},
		{"bare lf header", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", ErrBareLF, 400},
		{"bare lf end", "GET / HTTP/1.1\r\nHost: a\r\nX: b\n\r\n\r\n", ErrBareLF, 400},
		{"bare cr header", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", ErrBadHeaderValue, 400},
		{"bare cr request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget, 400},
		{"nul in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", ErrBadHeaderValue, 400},
		{"del in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", ErrBadHeaderValue, 400},
		{"ctl in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x0bb\r\n\r\n", ErrBadHeaderValue, 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrSpaceBeforeColon, 400},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ErrSpaceBeforeColon, 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n  c\r\n\r\n", ErrObsFold, 400},
		{"obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", ErrObsFold, 400},
		{"leading ws first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", ErrObsFold, 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", ErrBadHeaderName, 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", ErrBadHeaderName, 400},
		{"bad name char", "GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n", ErrBadHeaderName, 400},
		{"utf8 name", "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: v\r\n\r\n", ErrBadHeaderName, 400},
		{"missing host", "GET / HTTP/1.1\r\n\r\n", ErrMissingHost, 400},
		{"duplicate host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ErrDuplicateHost, 400},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ErrBadHost, 400},
		{"host userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", ErrBadHost, 400},
		{"host bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", ErrBadHost, 400},
		{"host path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ErrBadHost, 400},
		{"cl negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", ErrBadContentLength, 400},
		{"cl plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", ErrBadContentLength, 400},
		{"cl hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\n", ErrBadContentLength, 400},
		{"cl empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", ErrBadContentLength, 400},
		{"cl inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", ErrBadContentLength, 400},
		{"cl list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\nx", ErrBadContentLength, 400},
		{"cl overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", ErrBadContentLength, 400},
		{"cl conflict", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", ErrConflictingLength, 400},
		{"te and cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrTEAndCL, 400},
		{"cl and te", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", ErrTEAndCL, 400},
		{"te gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", ErrUnknownTE, 501},
		{"te gzip chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrUnknownTE, 501},
		{"te chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrBadTE, 400},
		{"te chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBadTE, 400},
		{"te empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", ErrBadTE, 400},
		{"te garbage", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", ErrBadTE, 400},
		{"te chunked params", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;a=b\r\n\r\n", ErrUnknownTE, 501},
		{"te http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrTEInHTTP10, 400},
		{"chunk size bad", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ErrBadChunk, 400},
		{"chunk size empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", ErrBadChunk, 400},
		{"chunk size space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", ErrBadChunk, 400},
		{"chunk size negative", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", ErrBadChunk, 400},
		{"chunk size 0x", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", ErrBadChunk, 400},
		{"chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n", ErrBodyTooLarge, 413},
		{"chunk size bare lf", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", ErrBareLF, 400},
		{"chunk data too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", ErrBadChunk, 400},
		{"chunk data bare lf", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", ErrBadChunk, 400},
		{"chunk ext bad", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n", ErrBadChunk, 400},
		{"chunk ext bad quote", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"x\r\nhello\r\n0\r\n\r\n", ErrBadChunk, 400},
		{"chunk ext ctl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n", ErrBadChunk, 400},
		{"trailer obs-fold", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n", ErrObsFold, 400},
		{"trailer bad", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX : a\r\n\r\n", ErrSpaceBeforeColon, 400},
		{"request line too long", "GET /" + long + " HTTP/1.1\r\nHost: a\r\n\r\n", ErrURITooLong, 414},
		{"request line too long unfinished", "GET /" + long, ErrURITooLong, 414},
		{"header too large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + long + long + "\r\n\r\n", ErrHeaderTooLarge, 431},
		{"header too large unfinished", "GET / HTTP/1.1\r\nHost: a\r\nX: " + long + long, ErrHeaderTooLarge, 431},
		{"too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 100) + "\r\n", ErrTooManyHeaders, 431},
		{"body too large cl", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4194305\r\n\r\n", ErrBodyTooLarge, 413},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ErrBadMethod, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := parseAll(t, tc.raw, Limits{})
			if !errors.Is(err, tc.want) {
				t.Errorf("whole: err %v, want %v", err, tc.want)
			}
			if StatusOf(err) != tc.status {
				t.Errorf("status %d, want %d", StatusOf(err), tc.status)
			}
			// Fed a byte at a time the verdict must be the same, and must
			// come no later than the bytes that decide it.
			if _, _, err := parseDrip(tc.raw, Limits{}); !errors.Is(err, tc.want) {
				t.Errorf("drip: err %v, want %v", err, tc.want)
			}
		})
	}
}

// A bad request line is refused as soon as it is complete, before the headers.
func TestParseEarlyReject(t *testing.T) {
	for _, raw := range []string{"GET / HTTP/2.0\r\n", "\x16\x03\x01", "GET /a#b HTTP/1.1\r\n"} {
		if _, _, err := parseAll(t, raw, Limits{}); err == nil || err == ErrNeedMore {
			t.Errorf("%q: err %v, want early rejection", raw, err)
		}
	}
}

func TestParseLimitsConfigurable(t *testing.T) {
	l := Limits{MaxRequestLineBytes: 20, MaxHeaderBytes: 40, MaxHeaders: 2, MaxBodyBytes: 4}
	for _, tc := range []struct {
		raw  string
		want error
	}{
		{"GET /0123456789012345 HTTP/1.1\r\nHost: a\r\n\r\n", ErrURITooLong},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 01234567890123456789012345678901\r\n\r\n", ErrHeaderTooLarge},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n", ErrTooManyHeaders},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", ErrBodyTooLarge},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", ErrBodyTooLarge},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", ErrTooManyHeaders},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 01234567890123456789012345678901234567890123\r\n\r\n", ErrHeaderTooLarge},
	} {
		if _, _, err := parseAll(t, tc.raw, l); !errors.Is(err, tc.want) {
			t.Errorf("%q: err %v, want %v", tc.raw, err, tc.want)
		}
	}
	// Exactly at the limits is fine.
	raw := "GET /01234 HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n"
	if _, _, err := parseAll(t, raw, Limits{MaxRequestLineBytes: len("GET /01234 HTTP/1.1"), MaxHeaderBytes: len("Host: a\r\nX: 1\r\n"), MaxHeaders: 2}); err != nil {
		t.Errorf("at limits: %v", err)
	}
}

func TestParseNeedMore(t *testing.T) {
	raw := "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
	for i := 0; i < len(raw); i++ {
		p := NewParser(Limits{})
		var r Request
		if n, err := p.Parse([]byte(raw[:i]), &r); err != ErrNeedMore || n != 0 {
			t.Fatalf("prefix %d: n %d err %v", i, n, err)
		}
	}
}

func TestParseHeaderDoneExpect(t *testing.T) {
	p := NewParser(Limits{})
	var r Request
	buf := []byte("PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	if _, err := p.Parse(buf, &r); err != ErrNeedMore {
		t.Fatal(err)
	}
	if !p.HeaderDone() || !r.Expect100 || string(r.Path) != "/e" {
		t.Fatalf("header done %v expect %v path %q", p.HeaderDone(), r.Expect100, r.Path)
	}
	buf = append(buf, "ok"...)
	n, err := p.Parse(buf, &r)
	if err != nil || n != len(buf) || string(r.Body) != "ok" {
		t.Fatalf("n %d err %v body %q", n, err, r.Body)
	}
	if p.HeaderDone() || p.Pending() {
		t.Fatal("parser not reset")
	}
}

// Expect: 100-continue means nothing in HTTP/1.0 (RFC 9110 10.1.1).
func TestParseExpectHTTP10(t *testing.T) {
	r, _, err := parseAll(t, "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", Limits{})
	if err != nil || r.Expect100 {
		t.Fatalf("err %v expect %v", err, r.Expect100)
	}
}

func TestParsePipelined(t *testing.T) {
	one := "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
	post := "POST /y HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
	buf := []byte(strings.Repeat(one, 7) + post + strings.Repeat(one, 8))
	p := NewParser(Limits{})
	var r Request
	var paths []string
	for off := 0; off < len(buf); {
		n, err := p.Parse(buf[off:], &r)
		if err != nil {
			t.Fatalf("at %d: %v", off, err)
		}
		paths = append(paths, string(r.Path))
		if string(r.Path) == "/y" && string(r.Body) != "ab" {
			t.Fatalf("body %q", r.Body)
		}
		off += n
	}
	if len(paths) != 16 || paths[7] != "/y" {
		t.Fatalf("paths %v", paths)
	}
}

func TestChunkedInPlace(t *testing.T) {
	body := []byte("4\r\nWiki\r\n5;x=y\r\npedia\r\ne\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nNEXT")
	var d ChunkedDecoder
	d.MaxBodyBytes, d.MaxTrailerBytes, d.MaxTrailers = 1<<20, 1024, 10
	var tr []Header
	done, err := d.Decode(body, &tr)
	if err != nil || !done {
		t.Fatalf("done %v err %v", done, err)
	}
	if got := string(body[:d.Len()]); got != "Wikipedia in\r\n\r\nchunks." {
		t.Fatalf("decoded %q", got)
	}
	if !bytes.Equal(body[d.Consumed():], []byte("NEXT")) {
		t.Fatalf("consumed %d", d.Consumed())
	}
}

// skipValueChars (eight bytes at a time) must agree with the byte table.
func TestSkipValueChars(t *testing.T) {
	interesting := []byte{0, 8, '\t', '\n', 0x0b, '\r', 0x1f, ' ', 'a', '~', 0x7f, 0x80, 0xff}
	buf := make([]byte, 40)
	for seed := 0; seed < 20000; seed++ {
		x := uint64(seed)*0x9E3779B97F4A7C15 + 1
		for i := range buf {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			if x%4 == 0 {
				buf[i] = interesting[x/4%uint64(len(interesting))]
			} else {
				buf[i] = 'a' + byte(x%26)
			}
		}
		buf[len(buf)-2], buf[len(buf)-1] = '\r', '\n'
		for start := 0; start < 10; start++ {
			want := start
			for valueChar[buf[want]] {
				want++
			}
			if got := skipValueChars(buf, start); got != want {
				t.Fatalf("%q from %d: got %d want %d", buf, start, got, want)
			}
		}
	}
}

// Visible characters RFC 3986 wants escaped but browsers send raw are accepted.
func TestParseLenientTargetChars(t *testing.T) {
	r, _, err := parseAll(t, "GET /a{b}|c^d`e?q=\"x\"<y>\\z HTTP/1.1\r\nHost: a\r\n\r\n", Limits{})
	if err != nil || string(r.Path) != "/a{b}|c^d`e" || string(r.Query) != "q=\"x\"<y>\\z" {
		t.Fatalf("err %v path %q query %q", err, r.Path, r.Query)
	}
}
