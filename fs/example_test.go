package fs_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/weftrt/weft"
	"github.com/weftrt/weft/fs"
)

// Files on a runtime: each call returns a future; Join waits for it (inside a task it does
// so without pinning a worker). The runtime closes its FS when it closes.
func Example() {
	rt, err := weft.New(weft.Loops(1))
	if err != nil {
		panic(err)
	}
	defer rt.Close()
	dir, _ := os.MkdirTemp("", "weft-fs-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "greeting.txt")

	if _, err := fs.WriteFile(rt, path, []byte("hello from weft\n"), 0o644).Join(); err != nil {
		panic(err)
	}
	f, err := fs.Open(rt, path).Join()
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 5)
	n, err := f.ReadAt(buf, 6).Join() // buf belongs to the read until the future completes
	fmt.Printf("%d %v %q\n", n, err, buf[:n])
	f.Close().Join()

	_, err = fs.Open(rt, filepath.Join(dir, "missing")).Join()
	fmt.Println(os.IsNotExist(err))
	// Output:
	// 5 <nil> "from "
	// true
}
