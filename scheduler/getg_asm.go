//go:build (amd64 || arm64) && !purego

package scheduler

// getg returns the address of the calling goroutine's runtime descriptor. It is
// used only as an identity token ("is this goroutine the one that owns worker
// W?"): the address is never dereferenced, and ownership is always confirmed
// against the worker's own record, so a recycled descriptor cannot alias a
// live owner.
func getg() uintptr
