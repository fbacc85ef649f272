#!/usr/bin/env bash
# Refreshes the third-party front-end files embedded in the binary from the
# npm registry, at the pinned versions below, with their licences, and
# axe-core, which only the browser tests in e2e/ inject into pages.
# Run from the repo root: bash static/vendor.sh
set -euo pipefail
HTMX_VERSION=2.0.11
AXE_VERSION=4.14.1

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

fetch axe-core "$AXE_VERSION"
axe="$here/../e2e/testdata/axe"
mkdir -p "$axe"
install -m 0644 "$tmp/package/axe.min.js" "$axe/axe.min.js"
install -m 0644 "$tmp/package/LICENSE" "$axe/LICENSE"
echo "axe-core $AXE_VERSION" > "$axe/VERSION"
echo "vendored axe-core@$AXE_VERSION"
