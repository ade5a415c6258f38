//go:build !linux

package fs

import (
	"syscall"

	"github.com/weftrt/weft/task"
)

func newURingDriver(task.Executor, *config) (driver, error) { return nil, ErrUnavailable }

func closeFd(fd int) error { return syscall.Close(fd) }

type ringEngine = struct{}
