package http

import "bytes"

// Parser parses requests from a connection's inbound buffer. One Parser
// serves one connection; its zero value is not ready, use NewParser.
//
// Parse is resumable: when it returns ErrNeedMore it keeps offsets (never
// pointers) into the buffer, because the reactor may move the unconsumed
// bytes before the next call. Those bytes are offered again as the prefix of
// the next buffer, so the offsets stay valid.
type Parser struct {
	lim Limits

	start    int   // leading empty lines skipped (RFC 9112 2.2)
	scanned  int   // bytes already searched for the end of the request line / header section
	lineEnd  int   // offset of the CR ending the request line; 0 while unknown
	methodOK bool  // the method and its SP have been seen (early garbage check done)
	hdrEnd   int   // offset just past the empty line; 0 while unknown
	clen     int64 // framing of the pending body, once hdrEnd is known
	chunked  bool
	chunk    ChunkedDecoder
}

// NewParser returns a parser with the given limits (zero fields take defaults).
func NewParser(l Limits) *Parser {
	p := &Parser{lim: l.withDefaults()}
	p.Reset()
	return p
}

// Limits returns the limits in force.
func (p *Parser) Limits() Limits { return p.lim }

// Reset forgets a partly parsed request.
func (p *Parser) Reset() {
	p.start, p.scanned, p.lineEnd, p.hdrEnd, p.methodOK = 0, 0, 0, 0, false
	p.clen, p.chunked = 0, false
	p.chunk = ChunkedDecoder{
		MaxBodyBytes:    p.lim.MaxBodyBytes,
		MaxTrailerBytes: p.lim.MaxHeaderBytes,
		MaxTrailers:     p.lim.MaxHeaders,
	}
}

// HeaderDone reports that the pending request's header section is complete
// and only its body is missing. The Parse call that completed the header
// section filled the Request (for instance to answer Expect: 100-continue);
// later calls that still need more leave it empty, and the one that
// completes the body fills it whole.
func (p *Parser) HeaderDone() bool { return p.hdrEnd > 0 }

// Pending reports that a request has begun but is not complete.
func (p *Parser) Pending() bool { return p.scanned > 0 || p.hdrEnd > 0 || p.start > 0 }

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
	slash    = []byte("/")
)

// Parse parses one request from the start of in into r. It returns the
// number of bytes the whole request (header section and body) occupies, or
// ErrNeedMore when in holds only a prefix of it, or a *ProtocolError.
// After an error other than ErrNeedMore the connection must be answered with
// StatusOf(err) and closed; the parser is reset.
func (p *Parser) Parse(in []byte, r *Request) (int, error) {
	n, err := p.parse(in, r)
	if err != nil && err != ErrNeedMore {
		p.Reset()
	}
	return n, err
}

func (p *Parser) parse(in []byte, r *Request) (int, error) {
	r.reset()
	headed := false
	if p.hdrEnd == 0 && p.scanned == 0 && p.start == 0 {
		if p.fastHead(in, r) {
			p.clen, p.chunked, headed = r.ContentLength, r.Chunked, true
		} else {
			r.reset()
		}
	}
	if p.hdrEnd == 0 {
		if err := p.scanHead(in); err != nil {
			return 0, err
		}
		if err := p.parseHead(in, r); err != nil {
			return 0, err
		}
		p.clen, p.chunked, headed = r.ContentLength, r.Chunked, true
	}
	// While a body trickles in, the header section is not parsed again on
	// every call (a slow body would make the server re-read up to
	// MaxHeaderBytes per byte received): only once the body is complete.
	body := in[p.hdrEnd:]
	n := p.hdrEnd
	switch {
	case p.chunked:
		done, err := p.chunk.Decode(body, &r.trailers)
		if err != nil {
			return 0, err
		}
		if !done {
			return 0, ErrNeedMore
		}
		n += p.chunk.pos
	case p.clen > 0:
		if int64(len(body)) < p.clen {
			return 0, ErrNeedMore
		}
		n += int(p.clen)
	}
	if !headed {
		if err := p.parseHead(in, r); err != nil {
			return 0, err
		}
	}
	if p.chunked {
		r.Body = body[:p.chunk.out:p.chunk.out]
	} else if p.clen > 0 {
		r.Body = body[:p.clen:p.clen]
	}
	p.Reset()
	return n, nil
}

// scanHead finds the end of the header section, checking the limits and
// failing early on a bad request line, without looking twice at a byte.
func (p *Parser) scanHead(in []byte) error {
	if p.lineEnd == 0 {
		// Empty lines before the request line are allowed; they count
		// against the request-line limit so they cannot pin memory.
		for p.start+1 < len(in) && in[p.start] == '\r' && in[p.start+1] == '\n' {
			p.start += 2
			if p.start > p.lim.MaxRequestLineBytes {
				return ErrURITooLong
			}
		}
		if p.scanned < p.start {
			p.scanned = p.start
		}
		i := bytes.IndexByte(in[p.scanned:], '\n')
		if i < 0 {
			// Fail fast on garbage (TLS on a plain port, binary junk):
			// the method is the first thing on the line.
			if !p.methodOK {
				ok, err := checkMethodPrefix(in[p.start:], p.scanned-p.start)
				if err != nil {
					return err
				}
				p.methodOK = ok
			}
			p.scanned = len(in)
			if p.scanned > p.start && in[len(in)-1] == '\r' {
				// Look at a trailing CR again: only the next byte tells a
				// line end from a stray CR.
				p.scanned--
			}
			if len(in)-p.start > p.lim.MaxRequestLineBytes {
				return ErrURITooLong
			}
			return ErrNeedMore
		}
		i += p.scanned
		if i == p.start || in[i-1] != '\r' {
			return ErrBareLF
		}
		if i-1-p.start > p.lim.MaxRequestLineBytes {
			return ErrURITooLong
		}
		p.lineEnd = i - 1
		p.scanned = p.lineEnd
		if hi := bytes.Index(in[p.lineEnd:], crlfcrlf); hi >= 0 {
			return p.headEnd(p.lineEnd + hi)
		}
		// The headers are still coming: validate the line now so a bad
		// line or version is answered without waiting for them (when they
		// are all here, parseHead does it once).
		var r Request
		if err := parseRequestLine(in[p.start:p.lineEnd], &r); err != nil {
			return err
		}
	}
	from := p.scanned - 3
	if from < p.lineEnd {
		from = p.lineEnd
	}
	i := bytes.Index(in[from:], crlfcrlf)
	if i < 0 {
		p.scanned = len(in)
		if len(in)-(p.lineEnd+2) > p.lim.MaxHeaderBytes+2 {
			return ErrHeaderTooLarge
		}
		return ErrNeedMore
	}
	return p.headEnd(from + i)
}

// headEnd records that the header section ends with the CRLFCRLF at i.
func (p *Parser) headEnd(i int) error {
	p.hdrEnd = i + 4
	if p.hdrEnd-(p.lineEnd+2) > p.lim.MaxHeaderBytes+2 {
		return ErrHeaderTooLarge
	}
	return nil
}

// checkMethodPrefix checks the part of a method not yet looked at, b[from:];
// ok means the method is complete.
func checkMethodPrefix(b []byte, from int) (ok bool, err error) {
	if from < 0 {
		from = 0
	}
	for i := from; i < len(b); i++ {
		if b[i] == ' ' {
			if i == 0 {
				return false, ErrBadMethod
			}
			return true, nil
		}
		if !tchar[b[i]] {
			if b[i] == '\r' && i == len(b)-1 {
				return false, nil
			}
			return false, ErrBadMethod
		}
	}
	return false, nil
}

// parseHead parses the request line and header section, both known to be
// complete, into r.
func (p *Parser) parseHead(in []byte, r *Request) error {
	if err := parseRequestLine(in[p.start:p.lineEnd], r); err != nil {
		return err
	}
	if err := parseFields(in[p.lineEnd+2:p.hdrEnd], &r.headers, p.lim.MaxHeaders); err != nil {
		return err
	}
	return p.applyHeaders(r)
}

func parseRequestLine(line []byte, r *Request) error {
	i := 0
	for i < len(line) && tchar[line[i]] {
		i++
	}
	if i == 0 || i == len(line) || line[i] != ' ' {
		return ErrBadMethod
	}
	r.Method = line[:i]
	rest := line[i+1:]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return ErrBadRequestLine
	}
	if sp == 0 {
		return ErrBadTarget
	}
	target, ver := rest[:sp], rest[sp+1:]
	if len(ver) != 8 || string(ver[:5]) != "HTTP/" || ver[6] != '.' ||
		ver[5] < '0' || ver[5] > '9' || ver[7] < '0' || ver[7] > '9' {
		return ErrBadVersion
	}
	if ver[5] != '1' || ver[7] > '1' {
		return ErrVersionNotSupp
	}
	r.ProtoMinor = int(ver[7] - '0')
	r.Target = target
	return parseTarget(r, target)
}

func parseTarget(r *Request, t []byte) error {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !targetChar[c] {
			return ErrBadTarget
		}
		if c == '%' && (i+2 >= len(t) || hexVal[t[i+1]] < 0 || hexVal[t[i+2]] < 0) {
			return ErrBadTarget
		}
	}
	return classifyTarget(r, t)
}

// classifyTarget sorts a target whose bytes are already checked into its
// form (RFC 9112 3.2) and splits it.
func classifyTarget(r *Request, t []byte) error {
	connect := string(r.Method) == "CONNECT"
	switch {
	case t[0] == '/':
		if connect {
			return ErrBadTarget
		}
		splitPathQuery(r, t)
	case len(t) == 1 && t[0] == '*':
		if string(r.Method) != "OPTIONS" {
			return ErrBadTarget
		}
		r.Path = t
	case connect:
		// authority-form: host and port, nothing else.
		if !validHost(t) || bytes.IndexByte(t, '/') >= 0 || bytes.IndexByte(t, '?') >= 0 || !hasPort(t) {
			return ErrBadTarget
		}
		r.Path = t
	default:
		return parseAbsolute(r, t)
	}
	return nil
}

func splitPathQuery(r *Request, t []byte) {
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		r.Path, r.Query = t[:q], t[q+1:]
	} else {
		r.Path = t
	}
}

// parseAbsolute accepts http and https URIs only: any other scheme names
// something this server cannot be the origin of.
func parseAbsolute(r *Request, t []byte) error {
	c := bytes.IndexByte(t, ':')
	if c < 0 || !(eqFold(t[:c], "http") || eqFold(t[:c], "https")) {
		return ErrBadTarget
	}
	rest := t[c+1:]
	if len(rest) < 2 || rest[0] != '/' || rest[1] != '/' {
		return ErrBadTarget
	}
	rest = rest[2:]
	end := len(rest)
	for i, b := range rest {
		if b == '/' || b == '?' {
			end = i
			break
		}
	}
	auth := rest[:end]
	if len(auth) == 0 || !validHost(auth) {
		return ErrBadTarget
	}
	r.Host = auth
	rest = rest[end:]
	if len(rest) == 0 || rest[0] == '?' {
		r.Path = slash
		if len(rest) > 0 {
			r.Query = rest[1:]
		}
		return nil
	}
	splitPathQuery(r, rest)
	return nil
}

// nextListElem splits the first element off a comma-separated list
// (RFC 9110 5.6.1), trimmed of OWS; empty elements come back empty.
func nextListElem(v []byte) (el, rest []byte) {
	if c := bytes.IndexByte(v, ','); c >= 0 {
		return trimOWS(v[:c]), v[c+1:]
	}
	return trimOWS(v), nil
}

// validHost checks uri-host [":" port] (RFC 3986 3.2.2-3.2.3); userinfo is
// refused because it has been used to confuse proxies about the origin.
func validHost(h []byte) bool {
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
		rest := h[e+1:]
		if len(rest) > 0 {
			if rest[0] != ':' {
				return false
			}
			port = rest[1:]
		}
		return allDigits(port)
	}
	// A reg-name or IPv4 address; it cannot hold ':', so the first ':'
	// starts the port.
	i := 0
	for {
		for i < len(h) && regPlain[h[i]] {
			i++
		}
		if i < len(h) && h[i] == '%' {
			if i+2 >= len(h) || hexVal[h[i+1]] < 0 || hexVal[h[i+2]] < 0 {
				return false
			}
			i += 3
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	if i < len(h) {
		if h[i] != ':' {
			return false
		}
		port = h[i+1:]
	}
	return allDigits(port)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func hasPort(h []byte) bool {
	c := bytes.LastIndexByte(h, ':')
	return c >= 0 && c+1 < len(h) && bytes.IndexByte(h[c:], ']') < 0
}

// parseFields parses field lines from b, which ends with the CRLF of the
// empty line that closes the section; that final CR is the sentinel every
// inner loop stops at, so they need no bounds checks of their own.
func parseFields(b []byte, hs *[]Header, max int) error {
	end := len(b) - 2
	pos := 0
	for pos < end {
		if len(*hs) >= max {
			return ErrTooManyHeaders
		}
		if isOWS(b[pos]) {
			return ErrObsFold
		}
		ns := pos
		for tchar[b[pos]] {
			pos++
		}
		if b[pos] != ':' {
			switch {
			case pos > ns && isOWS(b[pos]):
				return ErrSpaceBeforeColon
			case b[pos] == '\n':
				return ErrBareLF
			}
			return ErrBadHeaderName
		}
		if pos == ns {
			return ErrBadHeaderName
		}
		name := b[ns:pos]
		pos++
		for isOWS(b[pos]) {
			pos++
		}
		vs := pos
		pos = skipValueChars(b, pos)
		if b[pos] != '\r' || b[pos+1] != '\n' {
			if b[pos] == '\n' {
				return ErrBareLF
			}
			return ErrBadHeaderValue
		}
		ve := pos
		for ve > vs && isOWS(b[ve-1]) {
			ve--
		}
		*hs = append(*hs, Header{Name: name, Value: b[vs:ve:ve]})
		pos += 2
	}
	return nil
}

// applyHeaders interprets the fields that frame the message or the
// connection. Framing ambiguities are errors, never guesses: that is what
// keeps requests from being smuggled past a front-end that guessed otherwise.
func (p *Parser) applyHeaders(r *Request) error {
	var f fieldState
	for i := range r.headers {
		h := &r.headers[i]
		if err := f.add(r, h.Name, h.Value); err != nil {
			return err
		}
	}
	return p.finishHeaders(r, &f)
}

// fieldState gathers what the framing fields said, one field at a time, so
// that the one-pass path can apply each field as it is parsed and the
// resumable path after it has parsed them all, through the same rules.
type fieldState struct {
	teChunked, teOther, teUnknown, teSeen bool
	clSeen                                bool
	connClose, connKeepAlive              bool
}

// framingNames has bit n set when a field name of length n may be one that
// add interprets: a cheap filter before any name is compared.
const framingNames = 1<<4 | 1<<6 | 1<<10 | 1<<14 | 1<<17

// add interprets one field (name already checked to be a token, value to be
// field-value bytes, trimmed).
func (f *fieldState) add(r *Request, name, v []byte) error {
	switch len(name) {
	case 4:
		if !foldEq(name, "host") {
			return nil
		}
		if r.hostSeen {
			return ErrDuplicateHost
		}
		r.hostSeen = true
		if !validHost(v) {
			return ErrBadHost
		}
		if r.Host == nil {
			r.Host = v
		}
	case 14:
		if !foldEq(name, "content-length") {
			return nil
		}
		n, ok := parseContentLength(v)
		if !ok {
			return ErrBadContentLength
		}
		if f.clSeen && n != r.ContentLength {
			return ErrConflictingLength
		}
		f.clSeen = true
		r.ContentLength = n
	case 17:
		if !foldEq(name, "transfer-encoding") {
			return nil
		}
		f.teSeen = true
		for len(v) > 0 {
			el, rest := nextListElem(v)
			v = rest
			if len(el) == 0 {
				continue
			}
			if f.teChunked {
				// chunked must be the final coding (RFC 9112 6.1).
				return ErrBadTE
			}
			if foldEq(el, "chunked") {
				f.teChunked = true
				continue
			}
			f.teOther = true
			if !isTokenWithParams(el) {
				return ErrBadTE
			}
			f.teUnknown = true
		}
	case 10:
		if !foldEq(name, "connection") {
			return nil
		}
		// A value is trimmed, so one that is the whole token is the
		// list the loop would find: skip the search for a comma.
		switch {
		case foldEq(v, "keep-alive"):
			f.connKeepAlive, v = true, nil
		case foldEq(v, "close"):
			f.connClose, v = true, nil
		}
		for len(v) > 0 {
			el, rest := nextListElem(v)
			v = rest
			switch {
			case foldEq(el, "close"):
				f.connClose = true
			case foldEq(el, "keep-alive"):
				f.connKeepAlive = true
			}
		}
	case 6:
		if foldEq(name, "expect") && foldEq(v, "100-continue") && r.ProtoMinor == 1 {
			r.Expect100 = true
		}
	}
	return nil
}

// finishHeaders applies the rules that need the whole header section.
func (p *Parser) finishHeaders(r *Request, f *fieldState) error {
	if r.ProtoMinor == 1 && !r.hostSeen {
		return ErrMissingHost
	}
	if f.teSeen {
		switch {
		case f.clSeen:
			return ErrTEAndCL
		case r.ProtoMinor == 0:
			return ErrTEInHTTP10
		case f.teUnknown:
			return ErrUnknownTE
		case !f.teChunked || f.teOther:
			return ErrBadTE
		}
		r.Chunked = true
		r.ContentLength = -1
	}
	if r.ContentLength > p.lim.MaxBodyBytes {
		return ErrBodyTooLarge
	}
	if r.ProtoMinor == 1 {
		r.Close = f.connClose
	} else {
		r.Close = f.connClose || !f.connKeepAlive
	}
	return nil
}

// parseContentLength accepts 1*DIGIT only: no sign, no list, no spaces
// inside, and at most 18 digits so the value cannot overflow.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isTokenWithParams accepts a transfer-coding: token *( OWS ";" OWS token "=" ( token / quoted-string ) ).
// Syntax is checked so that a malformed value is a 400 rather than a 501.
func isTokenWithParams(b []byte) bool {
	i := 0
	for i < len(b) && tchar[b[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(b) {
		for i < len(b) && isOWS(b[i]) {
			i++
		}
		if i == len(b) || b[i] != ';' {
			return false
		}
		i++
		for i < len(b) && isOWS(b[i]) {
			i++
		}
		s := i
		for i < len(b) && tchar[b[i]] {
			i++
		}
		if i == s || i == len(b) || b[i] != '=' {
			return false
		}
		i++
		var ok bool
		if i, ok = skipValue(b, i); !ok {
			return false
		}
	}
	return true
}

// skipValue skips a token or quoted-string at b[i:].
func skipValue(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '"' {
		i++
		for i < len(b) {
			switch c := b[i]; {
			case c == '"':
				return i + 1, true
			case c == '\\':
				if i+1 >= len(b) || !(b[i+1] == '\t' || b[i+1] >= 0x20 && b[i+1] != 0x7f) {
					return i, false
				}
				i += 2
			case qdtext[c]:
				i++
			default:
				return i, false
			}
		}
		return i, false
	}
	s := i
	for i < len(b) && tchar[b[i]] {
		i++
	}
	return i, i > s
}

// valueStops flags (high bit of the byte) each of the eight bytes of x that
// is not a field-value byte, and HTAB, the one valid control, which the
// caller checks itself. A byte is a stop when it is ASCII and either below
// SP or DEL; each byte is tested without carries or borrows crossing into
// its neighbours, so every flag is exact.
func valueStops(x uint64) uint64 {
	const lo7, hi = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	v := x & lo7
	// v+0x01 reaches the high bit only from 0x7f, v+0x60 from 0x20 up.
	return ((v + 0x0101010101010101) | ^(v + 0x6060606060606060)) &^ x & hi
}

// skipValueChars returns the offset of the first byte at or after pos that
// is not a field-value byte, or len(b) when b ends first. Values are most of
// a request's bytes, so they are scanned for controls and DEL many bytes at
// a time (valueStop); HTAB, the one valid control, resumes the scan.
func skipValueChars(b []byte, pos int) int {
	for {
		pos += valueStop(b[pos:])
		if pos >= len(b) || b[pos] != '\t' {
			return pos
		}
		pos++
	}
}

// valueStopGo is valueStop a word at a time, for other architectures and
// the purego build tag.
func valueStopGo(b []byte) int { return valueStopNear(b, 0) }
