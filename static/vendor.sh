#!/usr/bin/env bash
# Refreshes the third-party front-end files embedded in the binary from the
# npm registry, at the pinned versions below, with their licences.
# Run from the repo root: bash static/vendor.sh
set -euo pipefail
HTMX_VERSION=2.0.11

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package version → unpacked in $tmp/package
  rm -rf "$tmp/package"
  (cd "$tmp" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz && rm ./*.tgz)
}

fetch htmx.org "$HTMX_VERSION"
install -m 0644 "$tmp/package/dist/htmx.min.js" "$here/vendor/htmx/htmx.min.js"
install -m 0644 "$tmp/package/LICENSE" "$here/vendor/htmx/LICENSE"
echo "htmx.org $HTMX_VERSION" > "$here/vendor/htmx/VERSION"
echo "vendored htmx.org@$HTMX_VERSION"
