package http

import "encoding/binary"

// Byte classes as 256-entry tables: one load per byte keeps the strict
// checks cheap enough to run on every byte of every request.
var (
	tchar       [256]bool // RFC 9110 token
	valueChar   [256]bool // field-vchar, SP, HTAB (RFC 9110 5.5)
	targetChar  [256]bool // visible ASCII but "#": see init
	targetPlain [256]bool // targetChar but "%?", which the one-pass scan stops at
	hostChar    [256]bool // RFC 3986 authority (no userinfo)
	regName     [256]bool // hostChar but ":[]": a reg-name or IPv4 address
	regPlain    [256]bool // regName but "%", which starts an escape
	ipLiteral   [256]bool // hostChar but "[]": inside an IP-literal's brackets
	qdtext      [256]bool // RFC 9110 5.6.4
	hexVal      [256]int8
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
		targetPlain[c] = targetChar[c] && b != '%' && b != '?'
		hostChar[c] = unreserved || subDelims || containsByte(":%[]", b)
		regName[c] = hostChar[c] && !containsByte(":[]", b)
		regPlain[c] = regName[c] && b != '%'
		ipLiteral[c] = hostChar[c] && !containsByte("[]", b)
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

// foldEq is eqFold for bytes already checked to be tchar or field-value
// bytes, eight at a time. Setting bit 0x20 lower-cases a letter; among the
// bytes such a b can hold, only the other-case letter also meets a letter
// of s that way, and only CR and 0x10-0x19 (all refused earlier) meet its
// '-' or digits. s must be lower-case letters, digits and '-'.
func foldEq(b []byte, s string) bool {
	n := len(b)
	if n != len(s) {
		return false
	}
	const m8, m4 = 0x2020202020202020, 0x20202020
	switch {
	case n >= 8:
		for i := 0; i+8 <= n; i += 8 {
			if binary.LittleEndian.Uint64(b[i:])|m8 != le64(s[i:]) {
				return false
			}
		}
		// The last word overlaps the one before it when n is not a
		// multiple of eight.
		return binary.LittleEndian.Uint64(b[n-8:])|m8 == le64(s[n-8:])
	case n >= 4:
		return binary.LittleEndian.Uint32(b)|m4 == le32(s) &&
			binary.LittleEndian.Uint32(b[n-4:])|m4 == le32(s[n-4:])
	}
	return eqFold(b, s)
}

// le64 and le32 load the start of s as a little-endian word; with s a
// constant the compiler folds them.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
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
