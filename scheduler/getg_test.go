package scheduler

import (
	"sync"
	"testing"
)

// getg must be stable within a goroutine, distinct between live goroutines,
// and never 0 (0 marks a worker without an owner). Run with -tags purego too,
// which swaps the assembly stub for the portable fallback.
func TestGetgIdentity(t *testing.T) {
	const N = 64
	var wg sync.WaitGroup
	ids := make(chan uintptr, N)
	release := make(chan struct{})
	wg.Add(N)
	for i := 0; i < N; i++ {
		go func() {
			defer wg.Done()
			g := getg()
			ids <- g
			<-release // all alive at once: no descriptor or id can be recycled
			if getg() != g {
				t.Errorf("goroutine %d: token changed", i)
			}
		}()
	}
	seen := map[uintptr]bool{getg(): true}
	for i := 0; i < N; i++ {
		g := <-ids
		if g == 0 || seen[g] {
			t.Errorf("token %#x zero or shared", g)
		}
		seen[g] = true
	}
	close(release)
	wg.Wait()
}
