#!/usr/bin/env bash
# Load test of a demo server on loopback with hey.
#
#   bash bench/load.sh                 # 2000 requests, 16 workers per endpoint
#   N=500 C=8 PORT=18099 bash bench/load.sh
#   DATA=/tmp/arch1m bash bench/load.sh   # an archive kept by bench/sync-1m.sh (KEEP=...)
#
# Builds the binary, starts `ticketnotes --demo` on 127.0.0.1 with a
# throw-away data dir, signs in as the demo admin with curl, runs hey
# against a few pages and prints a summary table, then stops the server.
# Everything stays on 127.0.0.1; the run is bounded by N per endpoint.
# hey runs on the same machine as the server and competes with it for CPU.
# Each view is asked for once before hey loads it: that first request
# reads the view from the archive (and, on a machine whose page cache does
# not hold the database, from disk); its time is the table's "first ms",
# and the percentiles are those of the requests after it. "steal %" is the
# CPU time the hypervisor took from this machine during the view's run:
# compare views and runs only where it is near zero.
#
# With DATA, the server runs on that data dir instead (with scheduling off:
# no vendor is called) and signs in as EMAIL / PASSWORD (bench/sync-1m.sh's
# user by default); the table then also has the archive's budget views: a
# 30-day range, range + account + role + ticket, and the four searches.
# DATA is used in place: run it on a copy if it must stay unchanged.
set -euo pipefail

N=${N:-2000}            # requests per endpoint
C=${C:-16}              # concurrent workers
Q=${Q:-}                # requests per second per worker; empty: as fast as each worker can
PORT=${PORT:-18734}
DATA=${DATA:-}
DATABASE_URL=${DATABASE_URL:-} # with DATA: the server's PostgreSQL database (DATA keeps its key)
HOST=127.0.0.1
BASE="http://$HOST:$PORT"

cd "$(dirname "$0")/.."

if ! command -v hey >/dev/null; then
	echo "hey not found; installing it with apt-get" >&2
	if [ "$(id -u)" -eq 0 ]; then apt-get install -y hey; else sudo apt-get install -y hey; fi
fi
for tool in curl go; do
	command -v "$tool" >/dev/null || { echo "load.sh: $tool is required" >&2; exit 1; }
done
if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
	echo "load.sh: something already listens on $HOST:$PORT; set PORT" >&2
	exit 1
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "building ..."
go build -o "$WORK/ticketnotes" .

if [ -n "$DATA" ]; then
	DBFLAG=()
	if [ -n "$DATABASE_URL" ]; then DBFLAG=(--database-url "$DATABASE_URL"); fi
	"$WORK/ticketnotes" --addr "$HOST:$PORT" --data-dir "$DATA" "${DBFLAG[@]}" --sync-interval 0 \
		>"$WORK/server.out" 2>"$WORK/server.log" &
else
	# Pages read the archive; the demo's first sync fills it within seconds.
	"$WORK/ticketnotes" --demo --addr "$HOST:$PORT" --data-dir "$WORK/data" \
		>"$WORK/server.out" 2>"$WORK/server.log" &
fi
SERVER_PID=$!

for _ in $(seq 1 100); do
	curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "load.sh: server exited" >&2; exit 1; }
	sleep 0.2
done
curl -fsS "$BASE/healthz" >/dev/null || { echo "load.sh: server did not answer /healthz" >&2; exit 1; }

if [ -n "$DATA" ]; then
	EMAIL=${EMAIL:-bench@example.com}
	PASSWORD=${PASSWORD:-bench-password-1}
else
	# "  admin:   EMAIL / PASSWORD", printed by --demo at start.
	read -r EMAIL PASSWORD < <(awk '$1 == "admin:" { print $2, $4; exit }' "$WORK/server.out")
fi
[ -n "${EMAIL:-}" ] && [ -n "${PASSWORD:-}" ] || { echo "load.sh: no demo sign-in printed" >&2; exit 1; }

# Sign in like a browser: the form's CSRF token and cookies, then the form.
JAR="$WORK/cookies"
CSRF=$(curl -fsS -c "$JAR" "$BASE/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n1)
[ -n "$CSRF" ] || { echo "load.sh: no CSRF token on /login" >&2; exit 1; }
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" \
	--data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" --data-urlencode "_csrf=$CSRF" \
	"$BASE/login")
[ "$STATUS" = 303 ] || { echo "load.sh: sign-in answered $STATUS, want 303" >&2; exit 1; }
# The Netscape jar marks HttpOnly cookies with a "#HttpOnly_" prefix.
COOKIE=$(awk -F'\t' 'NF == 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$JAR")

# Warm the cache and find a conversation (a Sendbird ticket, account 2).
NOTES=$(curl -fsS -H "Cookie: $COOKIE" "$BASE/notes")
grep -q 'data-testid="note"' <<<"$NOTES" || { echo "load.sh: /notes shows no notes (not signed in?)" >&2; exit 1; }
TICKET=$(grep -o 'href="/tickets/2/[^"?#]*' <<<"$NOTES" | head -n1 | sed 's/^href="//')
[ -n "$TICKET" ] || { echo "load.sh: no Sendbird ticket link on /notes" >&2; exit 1; }
curl -fsS -o /dev/null -H "Cookie: $COOKIE" "$BASE$TICKET"

HX=(-H "HX-Request: true" -H "HX-Target: notes-results")
AUTH=(-H "Cookie: $COOKIE")
ROWS=()

# cpu_jiffies prints the machine's total and steal CPU time so far
# (/proc/stat's first line). Steal is time the hypervisor gave this VM's
# CPUs to someone else: on a shared host it stretches every request, and a
# view's p99 moves with it between runs of the same code.
cpu_jiffies() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9; exit }' /proc/stat 2>/dev/null || echo "0 0"
}

# steal_pct "T0 S0" "T1 S1": the share of CPU time stolen between the two.
steal_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[1] - x[1]; if (d > 0) printf "%.1f", 100 * (y[2] - x[2]) / d; else printf "?" }'
}

# run NAME N C URL [hey options...]: one hey run, summarised into ROWS.
run() {
	local name=$1 n=$2 c=$3 url=$4
	shift 4
	echo "hey: $name ($n requests, $c workers) ..."
	# One request first, on its own and not in the percentiles: it reads
	# (and keeps) the view, as the first viewer of a page does; the table
	# shows its time apart.
	local first
	first=$(curl -sS -o /dev/null -w '%{time_total}' "$@" "$url" | awk '{ printf "%.1f", $1 * 1000 }')
	local out s0 s1
	s0=$(cpu_jiffies)
	out=$(hey -n "$n" -c "$c" ${Q:+-q "$Q"} -disable-redirects "$@" "$url")
	s1=$(cpu_jiffies)
	local rps p50 p95 p99 codes
	rps=$(awk '/Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	# hey prints latencies in seconds; the table shows milliseconds.
	pct() { awk -v p="$1%" '$1 == p && $2 == "in" { printf "%.1f", $3 * 1000 }' <<<"$out"; }
	p50=$(pct 50)
	p95=$(pct 95)
	p99=$(pct 99)
	codes=$(awk '/Status code distribution:/ { on = 1; next } on && /\[[0-9]+\]/ { gsub(/[\[\]]/, "", $1); printf "%s%s×%s", sep, $1, $2; sep = " " } on && /^$/ && sep { exit }' <<<"$out")
	ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$name" "$n" "$c" "$rps" "$first" "$p50" "$p95" "$p99" "$(steal_pct "$s0" "$s1")" "${codes:-none}")")
	if grep -q 'Error distribution' <<<"$out"; then
		echo "$out" | sed -n '/Error distribution/,$p' >&2
	fi
}

run "/healthz" "$N" "$C" "$BASE/healthz"
run "/login (anonymous)" "$N" "$C" "$BASE/login"
run "/notes" "$N" "$C" "$BASE/notes" "${AUTH[@]}"
run "/notes htmx partial" "$N" "$C" "$BASE/notes" "${AUTH[@]}" "${HX[@]}"
run "/notes?q=refund (search)" "$N" "$C" "$BASE/notes?q=refund" "${AUTH[@]}"
run "conversation" "$N" "$C" "$BASE$TICKET" "${AUTH[@]}"
if [ -n "$DATA" ]; then
	# The archive issue's views: the last 30 days; that range narrowed to
	# account 2, customer notes and one ticket of its; the four searches.
	FROM=$(date -u -d '30 days ago' +%F)
	TO=$(date -u +%F)
	TID=${TICKET##*/}
	run "/notes 30-day range" "$N" "$C" "$BASE/notes?from=$FROM&to=$TO" "${AUTH[@]}"
	run "/notes range+account+role+ticket" "$N" "$C" "$BASE/notes?from=2000-01-01&to=$TO&account=2&role=customer&ticket=$TID" "${AUTH[@]}"
	run "/notes?q=证书 (2 CJK chars)" "$N" "$C" "$BASE/notes?q=%E8%AF%81%E4%B9%A6" "${AUTH[@]}"
	run "/notes?q=refund (word)" "$N" "$C" "$BASE/notes?q=refund" "${AUTH[@]}"
	run "/notes?q=refu* (prefix)" "$N" "$C" "$BASE/notes?q=refu%2A" "${AUTH[@]}"
	run "/notes?q=\"payment failed\" (phrase)" "$N" "$C" "$BASE/notes?q=%22payment+failed%22" "${AUTH[@]}"
fi

echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(go version | awk '{ print $3 }'), hey $(dpkg-query -W -f '${Version}' hey 2>/dev/null || echo '?')"
echo "conversation: $TICKET"
echo
echo "| endpoint | requests | workers | req/s | first ms | p50 ms | p95 ms | p99 ms | steal % | status codes |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${ROWS[@]}"
