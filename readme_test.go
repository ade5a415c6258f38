package weft_test

import (
	"os"
	"strings"
	"testing"
)

// normalize drops indentation and blank lines, so a README block matches the
// same statements inside a function body.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestReadmeBlocksAreCompiled keeps README.md honest: every ```go block in
// it must appear, statement for statement, in example_readme_test.go, whose
// Examples are compiled and run by go test.
func TestReadmeBlocksAreCompiled(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := os.ReadFile("example_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := normalize(string(examples))
	blocks := 0
	rest := string(readme)
	for {
		_, after, ok := strings.Cut(rest, "```go\n")
		if !ok {
			break
		}
		block, tail, ok := strings.Cut(after, "```")
		if !ok {
			t.Fatal("unterminated ```go block in README.md")
		}
		rest = tail
		blocks++
		if !strings.Contains(code, normalize(block)) {
			t.Errorf("README.md block %d is not in example_readme_test.go:\n%s", blocks, block)
		}
	}
	if blocks < 3 {
		t.Fatalf("found %d ```go blocks in README.md, want the tour's (at least 3)", blocks)
	}
}
