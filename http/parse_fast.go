package http

import (
	"encoding/binary"
	"math/bits"
)

// Words compared whole on the one-pass path: the request line's common
// method and its version.
var (
	getSP  = binary.LittleEndian.Uint32([]byte("GET "))
	http11 = binary.LittleEndian.Uint64([]byte("HTTP/1.1"))
	http10 = binary.LittleEndian.Uint64([]byte("HTTP/1.0"))

	crlf16        = binary.LittleEndian.Uint16([]byte("\r\n"))
	hostWord      = binary.LittleEndian.Uint32([]byte("host"))
	connWord      = binary.LittleEndian.Uint64([]byte("connecti"))
	onWord        = binary.LittleEndian.Uint16([]byte("on"))
	expectWord    = binary.LittleEndian.Uint64([]byte("expect\x00\x00"))
	keepAliveWord = binary.LittleEndian.Uint64([]byte("keep-ali"))
	veWord        = binary.LittleEndian.Uint16([]byte("ve"))
)

const fold8 = 0x2020202020202020

// What the one-pass path does with a field after storing it.
const (
	fieldOther      = iota // nothing
	fieldHost              // checked and kept here
	fieldConnection        // "keep-alive" here, anything else through add
	fieldFraming           // a length add may interpret: add decides
)

// fastHead parses, in one pass, a request whose request line and header
// section are all in in and break no rule or limit, and sets the parser's
// offsets as scanHead would. For anything else (a partial request, leading
// empty lines, an error of any kind) it reports false having set no offset,
// and the caller resets r and takes the slow path: the slow path alone
// decides what to reject and how, so the two cannot disagree on it. What the
// fast path accepts is exactly what the slow one accepts, because every
// byte it takes is in the same table the slow path checks it against, or in
// a subset of it tested a word at a time (see nameStops), and the framing
// fields go through the same fieldState rules.
func (p *Parser) fastHead(in []byte, r *Request) bool {
	n := len(in)
	i := 0
	if n >= 4 && binary.LittleEndian.Uint32(in) == getSP {
		i = 3
	} else {
		for i < n && tchar[in[i]] {
			i++
		}
		if i == 0 || i >= n || in[i] != ' ' {
			return false
		}
	}
	r.Method = in[:i]
	i++
	ts, q := i, -1
	// The target is checked as it is scanned; none of its bytes can be a
	// SP, CR or LF, so the SP after it is where parseRequestLine would end
	// it too. '%' and '?' stop the plain-byte loop: an escape is checked,
	// and the first '?' splits the path from the query.
	for {
		for i < n && targetPlain[in[i]] {
			i++
		}
		if i+2 >= n {
			return false
		}
		switch in[i] {
		case '%':
			if hexVal[in[i+1]] < 0 || hexVal[in[i+2]] < 0 {
				return false
			}
			i += 3
			continue
		case '?':
			if q < 0 {
				q = i
			}
			i++
			continue
		}
		break
	}
	if i == ts || i+11 > n || in[i] != ' ' {
		return false
	}
	switch binary.LittleEndian.Uint64(in[i+1:]) {
	case http11:
		r.ProtoMinor = 1
	case http10:
		r.ProtoMinor = 0
	default:
		return false
	}
	lineEnd := i + 9
	if in[lineEnd] != '\r' || in[lineEnd+1] != '\n' || lineEnd > p.lim.MaxRequestLineBytes {
		return false
	}
	t := in[ts:i]
	r.Target = t
	if t[0] == '/' {
		if string(r.Method) == "CONNECT" {
			return false
		}
		if q >= 0 {
			r.Path, r.Query = in[ts:q], in[q+1:i]
		} else {
			r.Path = t
		}
	} else if classifyTarget(r, t) != nil {
		return false
	}

	var f fieldState
	// A local slice header keeps the appends out of memory until the end.
	h := r.headers
	hs := lineEnd + 2
	pos := hs
	for {
		if pos+8 > n {
			// Too near the end for a word: only the empty line fits.
			if pos+1 < n && in[pos] == '\r' && in[pos+1] == '\n' {
				pos += 2
				break
			}
			return false
		}
		w := binary.LittleEndian.Uint64(in[pos:])
		if uint16(w) == crlf16 {
			pos += 2
			break
		}
		if len(h) >= p.lim.MaxHeaders {
			return false
		}
		ns := pos
		// The line's end is found from its start, not from the value's:
		// a name holds no control byte, so the first byte that is not a
		// field-value byte ends the line of a valid field. Lines then
		// follow one another through this scan alone, while the name
		// and the checks below proceed beside it.
		e := pos + valueStop(in[pos:])
		if e < n && in[e] == '\t' {
			e = skipValueChars(in, e+1)
		}
		if e+1 >= n || in[e] != '\r' || in[e+1] != '\n' {
			return false
		}
		m := nameStops(w)
		for m == 0 && pos+16 <= n {
			pos += 8
			m = nameStops(binary.LittleEndian.Uint64(in[pos:]))
		}
		if m != 0 {
			pos += bits.TrailingZeros64(m) >> 3
		}
		if in[pos] != ':' {
			// A token byte outside the word-tested subset (a digit, '_',
			// '.' ...), or a name too near the end: the table decides.
			for pos < n && tchar[in[pos]] {
				pos++
			}
			if pos >= n || in[pos] != ':' {
				return false
			}
		}
		if pos == ns {
			return false
		}
		name := in[ns:pos]
		// Which framing field this is, from the name's first word: the
		// name is a token by now, so folding with 0x20 can only equate
		// letters of either case (see foldEq).
		kind := fieldOther
		switch len(name) {
		case 4:
			if uint32(w)|0x20202020 == hostWord {
				kind = fieldHost
			}
		case 10:
			if w|fold8 == connWord && binary.LittleEndian.Uint16(in[ns+8:])|0x2020 == onWord {
				kind = fieldConnection
			}
		case 6:
			if (w|fold8)&0xffffffffffff == expectWord {
				kind = fieldFraming
			}
		case 14, 17:
			kind = fieldFraming
		}
		pos++
		for pos < n && isOWS(in[pos]) {
			pos++
		}
		vs := pos
		// pos <= e: the name stopped at ':' before any control, and OWS
		// stops at the CR at e.
		pos = e
		ve := e
		for ve > vs && isOWS(in[ve-1]) {
			ve--
		}
		v := in[vs:ve:ve]
		// Growing by one and filling the fields in place stores them
		// directly; appending a composite literal builds it on the stack
		// first and copies it with wide loads that stall on the narrow
		// stores just made.
		if len(h) < cap(h) {
			h = h[:len(h)+1]
		} else {
			h = append(h, Header{})
		}
		fl := &h[len(h)-1]
		fl.Name, fl.Value = name, v
		pos += 2
		switch kind {
		case fieldHost:
			if r.hostSeen || !hostNamePort(v) {
				return false
			}
			r.hostSeen = true
			if r.Host == nil {
				r.Host = v
			}
		case fieldConnection:
			// The usual value, compared whole; any other goes through
			// the list rules. Folding is safe on value bytes too.
			if len(v) == 10 && binary.LittleEndian.Uint64(v)|fold8 == keepAliveWord &&
				binary.LittleEndian.Uint16(v[8:])|0x2020 == veWord {
				f.connKeepAlive = true
			} else if f.add(r, name, v) != nil {
				return false
			}
		case fieldFraming:
			if f.add(r, name, v) != nil {
				return false
			}
		}
	}
	r.headers = h
	if pos-hs > p.lim.MaxHeaderBytes+2 {
		return false
	}
	if p.finishHeaders(r, &f) != nil {
		return false
	}
	p.lineEnd, p.scanned, p.hdrEnd = lineEnd, lineEnd, pos
	return true
}

// hostNamePort is validHost with the usual shape, a reg-name or IPv4
// address without escapes and maybe a port, checked in one pass; any other
// value goes to validHost.
func hostNamePort(v []byte) bool {
	i := 0
	for i < len(v) && regPlain[v[i]] {
		i++
	}
	if i == len(v) {
		return true
	}
	if i == 0 || v[i] != ':' {
		return validHost(v)
	}
	// No escape or bracket came before the ':', so v is valid exactly when
	// the port is all digits.
	return allDigits(v[i+1:])
}

// valueStopNear is valueStop from pos, a word at a time, with one last
// word that overlaps the one before it and ends at the end of b.
func valueStopNear(b []byte, pos int) int {
	n := len(b)
	for ; pos+8 <= n; pos += 8 {
		if m := valueStops(binary.LittleEndian.Uint64(b[pos:])); m != 0 {
			return pos + bits.TrailingZeros64(m)>>3
		}
	}
	if pos >= n || n < 8 {
		for pos < n && b[pos] >= 0x20 && b[pos] != 0x7f {
			pos++
		}
		return pos
	}
	// The bytes of the last word before pos were seen already.
	if m := valueStops(binary.LittleEndian.Uint64(b[n-8:])) >> (8 * (8 - (n - pos))); m != 0 {
		return pos + bits.TrailingZeros64(m)>>3
	}
	return n
}

// nameStops flags (high bit of the byte) each of the eight bytes of x that
// is not an ASCII letter or '-', the bytes of almost every field name; the
// lowest flag is the first byte a name scan must look at (':' ends the
// name, any other byte goes to the tchar table). Each byte is tested
// without carries or borrows crossing into its neighbours, so every flag
// is exact, not only the lowest.
func nameStops(x uint64) uint64 {
	const lo7, hi = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	// Letters fold to 0x61-0x7a with bit 0x20 set; v < 0x80, so adding
	// cannot carry out of a byte.
	v := (x | 0x2020202020202020) & lo7
	letter := (v + 0x1f1f1f1f1f1f1f1f) &^ (v + 0x0505050505050505)
	// A zero byte of d is a '-' of x.
	d := x ^ 0x2d2d2d2d2d2d2d2d
	notDash := (d&lo7 + lo7) | d
	// Bytes with the high bit set are not ASCII, hence stops.
	return (^letter&notDash | x) & hi
}
