//go:build (!amd64 && !arm64) || purego

package scheduler

import (
	"bytes"
	"runtime"
)

var goroutinePrefix = []byte("goroutine ")

// getg is the portable identity token: the goroutine id, parsed from the
// header line runtime.Stack prints ("goroutine 123 [running]:"). Ids are
// never reused while the process lives, so the token is sound; it costs
// about a microsecond, against a nanosecond for the assembly stub. Build with
// -tags purego to use it on amd64 and arm64 too (the tests are run so).
func getg() uintptr {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	b := buf[:n]
	if !bytes.HasPrefix(b, goroutinePrefix) {
		panic("scheduler: unexpected runtime.Stack header: " + string(b))
	}
	var id uintptr
	digits := 0
	for _, c := range b[len(goroutinePrefix):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uintptr(c-'0')
		digits++
	}
	// 0 means "no owner" to the workers: a token must never be 0. (On
	// 32-bit systems ids wrap after 2^32 goroutines; two live goroutines
	// 2^32 apart would be needed to alias.)
	if digits == 0 || id == 0 {
		panic("scheduler: no goroutine id in runtime.Stack header: " + string(b))
	}
	return id
}
