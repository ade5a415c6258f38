package scheduler_test

import (
	"fmt"
	"sync"

	"github.com/weftrt/weft/scheduler"
)

func ExampleScheduler_Go() {
	s := scheduler.New(scheduler.Workers(2))
	var wg sync.WaitGroup
	var mu sync.Mutex
	sum := 0
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		s.Go(func() {
			defer wg.Done()
			mu.Lock()
			sum += i
			mu.Unlock()
		})
	}
	wg.Wait()
	s.Close() // drains: runs what is queued, then every goroutine has exited
	fmt.Println(sum, s.Stats().Ran)
	// Output: 55 10
}
