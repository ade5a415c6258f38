//go:build !amd64 && !arm64

package scheduler

import "runtime"

// getg falls back to parsing the goroutine id out of a stack header on
// architectures without an assembly stub. It is slow (about a microsecond) but
// keeps the same semantics: a stable, unique token for the live goroutine.
func getg() uintptr {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	// "goroutine 123 [running]:"
	var id uintptr
	for _, c := range buf[len("goroutine "):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uintptr(c-'0')
	}
	return id
}
