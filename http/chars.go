package http

// Byte classes as 256-entry tables: one load per byte keeps the strict
// checks cheap enough to run on every byte of every request.
var (
	tchar      [256]bool // RFC 9110 token
	valueChar  [256]bool // field-vchar, SP, HTAB (RFC 9110 5.5)
	targetChar [256]bool // visible ASCII but "#": see init
	hostChar   [256]bool // RFC 3986 authority (no userinfo)
	qdtext     [256]bool // RFC 9110 5.6.4
	hexVal     [256]int8
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		tchar[c] = alnum || containsByte("!#$%&'*+-.^_`|~", b)
		valueChar[c] = b == '\t' || b == ' ' || (0x21 <= b && b <= 0x7e) || b >= 0x80
		unreserved := alnum || containsByte("-._~", b)
		subDelims := containsByte("!$&'()*+,;=", b)
		// The request-target is checked for what can hurt: controls,
		// spaces, non-ASCII and a fragment are refused, '%' must start a
		// valid escape. The other visible characters RFC 3986 wants
		// escaped ({ } | ^ ` \ " < >) are accepted, as nginx and net/http
		// do: browsers send several of them raw in queries, and they
		// cannot change how the request is framed.
		targetChar[c] = 0x21 <= b && b <= 0x7e && b != '#'
		hostChar[c] = unreserved || subDelims || containsByte(":%[]", b)
		qdtext[c] = b == '\t' || b == ' ' || b == 0x21 || (0x23 <= b && b <= 0x5b) || (0x5d <= b && b <= 0x7e) || b >= 0x80
		hexVal[c] = -1
		switch {
		case '0' <= b && b <= '9':
			hexVal[c] = int8(b - '0')
		case 'a' <= b && b <= 'f':
			hexVal[c] = int8(b - 'a' + 10)
		case 'A' <= b && b <= 'F':
			hexVal[c] = int8(b - 'A' + 10)
		}
	}
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// eqFold reports whether b equals the lower-case ASCII string s, ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func isOWS(b byte) bool { return b == ' ' || b == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}
