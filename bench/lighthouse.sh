#!/usr/bin/env bash
# Lighthouse scores of the notes page over a large archive.
#
#   KEEP=/tmp/arch1m bash bench/sync-1m.sh      # once: a 1,000,000-note archive
#   DATA=/tmp/arch1m bash bench/lighthouse.sh   # then: the scores
#
# Installs the pinned Lighthouse (bench/lighthouse/package.json, npm ci; it
# uses Debian's Chromium, never a browser of its own), builds the server,
# starts it on DATA with scheduling off (no vendor is called), signs in as
# EMAIL / PASSWORD (bench/sync-1m.sh's admin) and runs Lighthouse on each
# PAGES entry, mobile (Lighthouse's default: a mid-range phone on a slow
# connection, simulated) and desktop. It prints performance, accessibility
# and best practices per page and form factor, and keeps the JSON reports
# in bench/out/. DATA is used in place: the server may migrate it.
set -euo pipefail

DATA=${DATA:?set DATA to a data dir, e.g. one kept by KEEP=/tmp/arch1m bash bench/sync-1m.sh}
EMAIL=${EMAIL:-bench@example.com}
PASSWORD=${PASSWORD:-bench-password-1}
PORT=${PORT:-18760}
HOST=127.0.0.1
BASE="http://$HOST:$PORT"
# The default view, a search and a narrow range.
PAGES=${PAGES:-"/notes /notes?q=refund /notes?from=$(date -d "-3 days" +%F)&to=$(date -d "-2 days" +%F)"}
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}

cd "$(dirname "$0")/.."
[ -n "$CHROMIUM" ] || { echo "lighthouse.sh: Debian's chromium is required (apt-get install chromium)" >&2; exit 1; }
[ -d "$DATA" ] || { echo "lighthouse.sh: no data dir $DATA" >&2; exit 1; }
if [ ! -x bench/lighthouse/node_modules/.bin/lighthouse ]; then
	(cd bench/lighthouse && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts)
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/ticketnotes" .
"$WORK/ticketnotes" --addr "$HOST:$PORT" --data-dir "$DATA" --sync-interval 0 >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 150); do
	curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
	sleep 0.2
done

JAR="$WORK/cookies"
CSRF=$(curl -fsS -c "$JAR" "$BASE/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n1)
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" \
	--data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" --data-urlencode "_csrf=$CSRF" "$BASE/login")
[ "$STATUS" = 303 ] || { echo "lighthouse.sh: sign-in answered $STATUS, want 303" >&2; exit 1; }
COOKIE=$(awk -F'\t' 'NF == 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$JAR")

mkdir -p bench/out
echo "| page | form factor | performance | accessibility | best practices |"
echo "| --- | --- | ---: | ---: | ---: |"
i=0
for page in $PAGES; do
	i=$((i + 1))
	for ff in mobile desktop; do
		preset=()
		[ "$ff" = desktop ] && preset=(--preset=desktop)
		out="bench/out/lighthouse-$i-$ff.json"
		bench/lighthouse/node_modules/.bin/lighthouse "$BASE$page" "${preset[@]}" --quiet \
			--only-categories=performance,accessibility,best-practices \
			--extra-headers="{\"Cookie\": \"$COOKIE\"}" \
			--chrome-path="$CHROMIUM" \
			--chrome-flags="--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run" \
			--output=json --output-path="$out" >/dev/null 2>"$WORK/lh.log" ||
			{ cat "$WORK/lh.log" >&2; exit 1; }
		node -e '
			const r = require(process.argv[1]);
			const s = k => Math.round(r.categories[k].score * 100);
			console.log(`| ${process.argv[2]} | ${process.argv[3]} | ${s("performance")} | ${s("accessibility")} | ${s("best-practices")} |`);
		' "$PWD/$out" "$page" "$ff"
	done
done
