//go:build !purego

package http

// valueStop returns the offset of the first byte of b below SP or equal to
// DEL (HTAB included: the caller lets it through), or len(b). It is
// valueStopGo in SSE2 (every amd64 has it), up to 32 bytes per step, and
// reads nothing outside b.
//
//go:noescape
func valueStop(b []byte) int
