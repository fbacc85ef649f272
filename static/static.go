// Package static holds the files every page needs — the stylesheet, the
// small app script and the vendored htmx — embedded in the binary.
package static

import "embed"

// FS holds the static files, served under /static/.
//
//go:embed app.css app.js favicon.svg vendor
var FS embed.FS

//go:generate bash vendor.sh
