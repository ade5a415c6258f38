package http

import "bytes"

// ChunkedDecoder decodes a chunked body (RFC 9112 7.1) in place: chunk data
// is moved down over the chunk framing, so the decoded body ends up as
// buf[:Len()] without another buffer. It is resumable: each call must get a
// buffer that starts with the same bytes as the last one (the decoder's own
// rewrites included), as a reactor's inbound buffer does.
type ChunkedDecoder struct {
	MaxBodyBytes    int64 // larger decoded bodies fail with ErrBodyTooLarge
	MaxTrailerBytes int   // larger trailer sections fail with ErrHeaderTooLarge
	MaxTrailers     int   // more trailer fields fail with ErrTooManyHeaders

	state  uint8
	pos    int   // wire bytes consumed
	out    int   // decoded bytes, at buf[:out]
	remain int64 // data bytes left in the current chunk
}

const (
	csSize = iota
	csData
	csDataEnd
	csTrailer
	csDone
)

// maxChunkLine bounds a chunk-size line with its extensions; nobody needs
// more, and it keeps a client from streaming an endless extension.
const maxChunkLine = 4096

// Len is the number of decoded bytes, at the start of the buffer.
func (d *ChunkedDecoder) Len() int { return d.out }

// Consumed is the number of wire bytes the body occupied, once Decode reports done.
func (d *ChunkedDecoder) Consumed() int { return d.pos }

// Decode continues decoding buf. It returns done once the last chunk and the
// trailer section have been read; trailer fields are appended to tr.
func (d *ChunkedDecoder) Decode(buf []byte, tr *[]Header) (done bool, err error) {
	for {
		switch d.state {
		case csSize:
			i := bytes.IndexByte(buf[d.pos:], '\n')
			if i < 0 {
				if len(buf)-d.pos > maxChunkLine {
					return false, ErrBadChunk
				}
				return false, nil
			}
			if i > maxChunkLine {
				return false, ErrBadChunk
			}
			eol := d.pos + i
			if eol == d.pos || buf[eol-1] != '\r' {
				return false, ErrBareLF
			}
			line := buf[d.pos : eol-1]
			var size int64
			k := 0
			for k < len(line) && hexVal[line[k]] >= 0 {
				if k == 16 {
					return false, ErrBodyTooLarge
				}
				size = size<<4 | int64(hexVal[line[k]])
				k++
			}
			if k == 0 || !validChunkExt(line[k:]) {
				return false, ErrBadChunk
			}
			if size < 0 || size > d.MaxBodyBytes-int64(d.out) {
				return false, ErrBodyTooLarge
			}
			d.pos = eol + 1
			if size == 0 {
				d.state = csTrailer
			} else {
				d.remain, d.state = size, csData
			}
		case csData:
			k := int64(len(buf) - d.pos)
			if k > d.remain {
				k = d.remain
			}
			copy(buf[d.out:], buf[d.pos:d.pos+int(k)])
			d.out += int(k)
			d.pos += int(k)
			d.remain -= k
			if d.remain > 0 {
				return false, nil
			}
			d.state = csDataEnd
		case csDataEnd:
			if len(buf)-d.pos < 2 {
				if len(buf) > d.pos && buf[d.pos] != '\r' {
					return false, ErrBadChunk
				}
				return false, nil
			}
			if buf[d.pos] != '\r' || buf[d.pos+1] != '\n' {
				return false, ErrBadChunk
			}
			d.pos += 2
			d.state = csSize
		case csTrailer:
			rest := buf[d.pos:]
			if len(rest) < 2 {
				if len(rest) == 1 && rest[0] == '\n' {
					return false, ErrBareLF
				}
				return false, nil
			}
			if rest[0] == '\r' && rest[1] == '\n' {
				d.pos += 2
				d.state = csDone
				return true, nil
			}
			i := bytes.Index(rest, crlfcrlf)
			if i < 0 {
				if len(rest) > d.MaxTrailerBytes+2 {
					return false, ErrHeaderTooLarge
				}
				return false, nil
			}
			if i+2 > d.MaxTrailerBytes+2 {
				return false, ErrHeaderTooLarge
			}
			if err := parseFields(rest[:i+4], tr, d.MaxTrailers); err != nil {
				return false, err
			}
			d.pos += i + 4
			d.state = csDone
			return true, nil
		default:
			return true, nil
		}
	}
}

// validChunkExt checks *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
// Extensions are checked and ignored: none is defined that a server must act on.
func validChunkExt(b []byte) bool {
	i := 0
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
		if i == s {
			return false
		}
		j := i
		for j < len(b) && isOWS(b[j]) {
			j++
		}
		if j < len(b) && b[j] == '=' {
			j++
			for j < len(b) && isOWS(b[j]) {
				j++
			}
			var ok bool
			if i, ok = skipValue(b, j); !ok {
				return false
			}
		}
	}
	return true
}
