// Command server runs one contestant of the plaintext benchmark: a server that
// answers GET /plaintext with "Hello, World!" the way the TechEmpower plaintext
// test expects (Content-Type text/plain, Content-Length, Date, Server).
//
// Every contestant lives in its own file and registers itself in init, so a new
// one (weft's, once http/ exists) is one more file, and run.sh picks it up from
// `server -list` without changes.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// contestants maps a -server name to a function that serves on addr until the
// process is killed. It returns only on a setup error.
var contestants = map[string]func(addr string) error{}

func register(name string, serve func(addr string) error) {
	if _, dup := contestants[name]; dup {
		panic("bench/server: duplicate contestant " + name)
	}
	contestants[name] = serve
}

// The body and the headers every contestant sends, so that response sizes match.
const (
	helloBody   = "Hello, World!"
	serverName  = "bench"
	contentType = "text/plain"
)

func names() []string {
	out := make([]string, 0, len(contestants))
	for n := range contestants {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func main() {
	name := flag.String("server", "", "contestant to run: "+strings.Join(names(), ", "))
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	list := flag.Bool("list", false, "print the contestants this binary was built with, one a line, and exit")
	flag.Parse()

	if *list {
		for _, n := range names() {
			fmt.Println(n)
		}
		return
	}
	serve, ok := contestants[*name]
	if !ok {
		fmt.Fprintf(os.Stderr, "server: unknown -server %q (have: %s)\n", *name, strings.Join(names(), ", "))
		os.Exit(2)
	}
	if err := serve(*addr); err != nil {
		fmt.Fprintf(os.Stderr, "server %s: %v\n", *name, err)
		os.Exit(1)
	}
}
