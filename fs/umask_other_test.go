//go:build !unix

package fs_test

// umask is zero where there is no umask: permissions are taken as given.
func umask() uint32 { return 0 }
