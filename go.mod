module github.com/vlmrt/vlmrt

go 1.26.0

require (
	github.com/daulet/tokenizers v1.24.0
	github.com/ebitengine/purego v0.11.3
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
	golang.org/x/text v0.44.0
)

require github.com/stretchr/testify v1.12.1 // indirect
