// Package static holds the files every page needs — the stylesheet, the
// small app script and the vendored htmx — embedded in the binary, and the
// content-hashed names they are served under.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// FS holds the static files, served under /static/.
//
//go:embed app.css app.js favicon.svg vendor
var FS embed.FS

//go:generate bash vendor.sh

// Prefix is the URL path the files are served under.
const Prefix = "/static/"

// Asset is one embedded file as it is served.
type Asset struct {
	Name        string // path inside FS, e.g. "app.css"
	URL         string // content-hashed URL, e.g. "/static/app.3f2a9c1b.css"
	ContentType string
	// ETag is weak because the compress middleware sends the same file
	// in several encodings, which a strong tag would have to tell apart.
	ETag string
	Body []byte
}

// index maps both the plain and the hashed path (inside Prefix) to the file.
type index struct {
	byName   map[string]*Asset
	byHashed map[string]*Asset
}

// assets is computed once, when the binary starts, from the embedded bytes:
// the names change exactly when the content does.
var assets = buildIndex(FS)

// contentTypes are fixed here rather than taken from the mime package, which
// also reads the host's mime.types and so could vary between machines.
var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
	"":     "text/plain; charset=utf-8", // LICENSE, VERSION
}

func buildIndex(fsys fs.FS) index {
	ix := index{byName: map[string]*Asset{}, byHashed: map[string]*Asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:4])
		ext := path.Ext(name)
		ct, ok := contentTypes[ext]
		if !ok {
			ct = "application/octet-stream"
		}
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		a := &Asset{Name: name, URL: Prefix + hashed, ContentType: ct, ETag: `W/"` + hash + `"`, Body: body}
		ix.byName[name] = a
		ix.byHashed[hashed] = a
		return nil
	})
	if err != nil {
		// Reading an embed.FS cannot fail; this only guards against a
		// broken build.
		panic(fmt.Sprintf("static: index embedded files: %v", err))
	}
	return ix
}

// URL returns the content-hashed URL of the embedded file name (a path
// inside FS such as "app.css" or "vendor/htmx/htmx.min.js"). Templates name
// every static file through it, so each link changes when the file does and
// can be cached for good. It panics when name is not embedded: that is a
// typo in a template, which the tests rendering every page catch.
func URL(name string) string {
	a, ok := assets.byName[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return a.URL
}

// Lookup finds the file for p, a path inside Prefix. hashed reports whether
// p is the current content-hashed name (cacheable for good) rather than the
// plain name. It returns nil for anything else, including a hash that is not
// the current one.
func Lookup(p string) (a *Asset, hashed bool) {
	if a, ok := assets.byHashed[p]; ok {
		return a, true
	}
	return assets.byName[p], false
}
