//go:build !linux

package fs

import "github.com/weftrt/weft/task"

func newURingDriver(task.Executor, *config) (driver, error) { return nil, ErrUnavailable }

// closeFd is reached only by the io_uring backend, which other systems never
// build: every File here wraps an *os.File.
func closeFd(int) error { return ErrUnavailable }

type ringEngine = struct{}
