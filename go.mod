module github.com/weftrt/weft

go 1.26.0

require (
	github.com/panjf2000/ants/v2 v2.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.62.0
	golang.org/x/sync v0.11.0
	golang.org/x/sys v0.50.0
)

require github.com/stretchr/testify v1.12.1 // indirect
