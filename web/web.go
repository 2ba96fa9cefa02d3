// Package web is the commander console: plain JavaScript and MapLibre GL JS under src/,
// bundled by esbuild (npm run build) into dist/, which is committed and embedded here so the
// binary serves the console with no Node.js on the machine. dist/inputs.sha256 records a hash
// of the sources it was built from; TestDistUpToDate fails when they changed since.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist returns the built console: index.html and assets/ (content-hashed names).
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded: it exists
	}
	return sub
}
