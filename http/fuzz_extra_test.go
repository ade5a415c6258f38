package http

import (
	"bufio"
	"bytes"
	"io"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// FuzzHeaderValues checks the helpers that judge field values, each
// against an independent reading of the same grammar, and the response
// side: whatever name and value a handler passes to AddHeader, the encoded
// response parses as one response carrying at most that one extra field.
func FuzzHeaderValues(f *testing.F) {
	for _, s := range []struct {
		v    string
		name string
	}{
		{"123", "Content-Length"},
		{"000000000000000001", "X-A"},
		{"9999999999999999999", "X"},
		{"chunked", "Transfer-Encoding"},
		{"gzip;q=\"a\\\"b\"", "X-Coding"},
		{"\"quoted \\\" string\"", "X-Q"},
		{"[::1]:8080", "Host"},
		{"example.com:", "Host"},
		{"a%41b:80", "Host"},
		{"user@host", "Host"},
		{";a=b ; c=\"d\"", "X-Ext"},
		{"  padded value\t", "X-P"},
		{"v\r\nInjected: yes", "X-Split"},
		{"v", "Bad Name"},
		{"close", "Connection"},
	} {
		f.Add([]byte(s.v), s.name)
	}
	f.Fuzz(func(t *testing.T, v []byte, name string) {
		// parseContentLength: 1 to 18 digits, nothing else, the decimal value.
		if n, ok := parseContentLength(v); ok {
			want, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || want != n || v[0] == '+' || v[0] == '-' || len(v) > 18 {
				t.Fatalf("parseContentLength(%q) = %d, strconv %d %v", v, n, want, err)
			}
		} else if len(v) > 0 && len(v) <= 18 && strings.Trim(string(v), "0123456789") == "" {
			t.Fatalf("parseContentLength(%q) refused digits", v)
		}

		// skipValue: a token, or a quoted-string ending at its closing quote.
		if end, ok := skipValue(v, 0); ok {
			if end <= 0 || end > len(v) {
				t.Fatalf("skipValue(%q) = %d", v, end)
			}
			if v[0] == '"' {
				if _, ok := unquote(v[:end]); !ok {
					t.Fatalf("skipValue(%q) accepted %q, not a quoted-string", v, v[:end])
				}
			} else if !isToken(v[:end]) || (end < len(v) && tchar[v[end]]) {
				t.Fatalf("skipValue(%q) stopped at %d, not at the token's end", v, end)
			}
		}

		// isTokenWithParams: a transfer-coding never contains a byte a
		// field value may not, and its first element is a token.
		if isTokenWithParams(v) {
			for _, c := range v {
				if !valueChar[c] {
					t.Fatalf("isTokenWithParams(%q) accepted byte %#x", v, c)
				}
			}
			if !tchar[v[0]] {
				t.Fatalf("isTokenWithParams(%q) does not start with a token", v)
			}
		}

		// validChunkExt: the same grammar of parameters, after the size.
		if len(v) > 0 && validChunkExt(v) {
			if bytes.ContainsAny(v, "\r\n\x00") {
				t.Fatalf("validChunkExt(%q) accepted a line break or NUL", v)
			}
			if t2 := bytes.TrimLeft(v, " \t"); len(t2) == 0 || t2[0] != ';' {
				t.Fatalf("validChunkExt(%q) accepted an extension not starting with ';'", v)
			}
		}

		// validHost: what it accepts, the URL parser takes as a host, and
		// there is no userinfo, path or fragment hiding in it.
		if len(v) > 0 && validHost(v) {
			if bytes.ContainsAny(v, "@/?# \t\r\n\x00") {
				t.Fatalf("validHost(%q) accepted a delimiter", v)
			}
			// net/url is stricter about percent-escapes in a host than
			// RFC 3986 (it takes only non-ASCII ones): compare without.
			if v[0] != '[' && !bytes.Contains(v, []byte("%")) {
				if _, err := url.Parse("http://" + string(v) + "/"); err != nil && !strings.Contains(err.Error(), "port") {
					t.Fatalf("validHost(%q) accepted what net/url refuses: %v", v, err)
				}
			}
		}

		// trimOWS: a subslice with no OWS at either end, idempotent.
		tr := trimOWS(v)
		if len(tr) > 0 && (isOWS(tr[0]) || isOWS(tr[len(tr)-1]) || !within(tr, v)) {
			t.Fatalf("trimOWS(%q) = %q", v, tr)
		}
		if !bytes.Equal(trimOWS(tr), tr) {
			t.Fatalf("trimOWS not idempotent on %q", v)
		}

		// AddHeader cannot split a response or smuggle a field.
		var base, w ResponseWriter
		r := &Request{ProtoMinor: 1}
		base.reset(r)
		base.finish()
		w.reset(r)
		w.AddHeader(name, string(v))
		w.WriteString("body")
		w.finish()
		resp, err := nethttp.ReadResponse(bufio.NewReader(bytes.NewReader(w.out)), nil)
		if err != nil {
			t.Fatalf("AddHeader(%q, %q): response does not parse: %v\n%q", name, v, err, w.out)
		}
		// One Read may stop at the end of the reader's buffer when a long
		// field fills most of it: read the whole body.
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "body" {
			t.Fatalf("AddHeader(%q, %q): body %q, err %v\n%q", name, v, body, err, w.out)
		}
		lines := bytes.Count(w.out, []byte("\r\n"))
		baseLines := bytes.Count(base.out, []byte("\r\n"))
		if lines > baseLines+1 {
			t.Fatalf("AddHeader(%q, %q) added %d lines\n%q", name, v, lines-baseLines, w.out)
		}
	})
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tchar[c] {
			return false
		}
	}
	return true
}

// unquote decodes a quoted-string (RFC 9110 5.6.4) that must span all of b.
func unquote(b []byte) ([]byte, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return nil, false
	}
	var out []byte
	for i := 1; i < len(b)-1; i++ {
		c := b[i]
		switch {
		case c == '\\':
			if i+1 >= len(b)-1 {
				return nil, false
			}
			i++
			if e := b[i]; e != '\t' && (e < 0x20 || e == 0x7f) {
				return nil, false
			}
			out = append(out, b[i])
		case c == '"':
			return nil, false
		case c == '\t' || c >= 0x20 && c != 0x7f:
			out = append(out, c)
		default:
			return nil, false
		}
	}
	return out, true
}

// FuzzRoundTrip: a request the parser accepts, written out again from the
// parsed fields (the body re-framed), parses to the same request and
// occupies exactly the bytes written. A parser that dropped, merged or
// misread a field would not survive its own output.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range seedRequests() {
		f.Add([]byte(s))
	}
	f.Add([]byte("POST /x?y=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: 1\r\nB: 2\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\nConnection: keep-alive\r\nX:  v  \r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := NewParser(fuzzLimits)
		var r1 Request
		n, err := p.Parse(bytes.Clone(data), &r1)
		if err != nil {
			return
		}
		wire := serialize(&r1)
		// The written form may be longer than the original (": " after
		// every name), so limits are not part of what is compared.
		relaxed := fuzzLimits
		relaxed.MaxRequestLineBytes *= 2
		relaxed.MaxHeaderBytes *= 2
		p2 := NewParser(relaxed)
		var r2 Request
		buf := bytes.Clone(wire)
		n2, err := p2.Parse(buf, &r2)
		if err != nil {
			t.Fatalf("re-serialised request refused: %v\noriginal %q\nwritten  %q", err, data[:n], wire)
		}
		if n2 != len(wire) {
			t.Fatalf("re-serialised request: parsed %d of %d bytes\n%q", n2, len(wire), wire)
		}
		if a, b := describe(&r1), describe(&r2); a != b {
			t.Fatalf("round trip changed the request:\n%s\n---\n%s\noriginal %q\nwritten  %q", a, b, data[:n], wire)
		}
	})
}

// serialize writes r back as a request: the request line, the header
// fields as parsed, and the body framed the way it came (chunked as one
// chunk with the trailers).
func serialize(r *Request) []byte {
	var b []byte
	b = append(b, r.Method...)
	b = append(b, ' ')
	b = append(b, r.Target...)
	b = append(b, " HTTP/1."...)
	b = strconv.AppendInt(b, int64(r.ProtoMinor), 10)
	b = append(b, "\r\n"...)
	for _, h := range r.Headers() {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	if !r.Chunked {
		return append(b, r.Body...)
	}
	if len(r.Body) > 0 {
		b = strconv.AppendInt(b, int64(len(r.Body)), 16)
		b = append(b, "\r\n"...)
		b = append(b, r.Body...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "0\r\n"...)
	for _, h := range r.Trailers() {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

func describe(r *Request) string {
	var sb strings.Builder
	sb.WriteString(strconv.Quote(string(r.Method)) + " " + strconv.Quote(string(r.Target)) + " path=" + strconv.Quote(string(r.Path)) +
		" query=" + strconv.Quote(string(r.Query)) + " host=" + strconv.Quote(string(r.Host)) + " minor=" + strconv.Itoa(r.ProtoMinor) +
		" cl=" + strconv.FormatInt(r.ContentLength, 10) + " chunked=" + strconv.FormatBool(r.Chunked) + " close=" + strconv.FormatBool(r.Close) +
		" expect100=" + strconv.FormatBool(r.Expect100) + " body=" + strconv.Quote(string(r.Body)) + "\n")
	for _, h := range r.Headers() {
		sb.WriteString("H " + strconv.Quote(string(h.Name)) + ": " + strconv.Quote(string(h.Value)) + "\n")
	}
	for _, h := range r.Trailers() {
		sb.WriteString("T " + strconv.Quote(string(h.Name)) + ": " + strconv.Quote(string(h.Value)) + "\n")
	}
	return sb.String()
}
