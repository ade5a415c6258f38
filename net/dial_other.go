//go:build !linux

package net

import (
	"context"
	"net/netip"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/task"
)

func dialAddr(_ context.Context, _ *weft.Runtime, _ string, _ netip.AddrPort, _ *config, f *task.Future[*Stream]) {
	f.Complete(nil, ErrUnsupported)
}
