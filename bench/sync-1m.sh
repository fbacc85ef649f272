#!/usr/bin/env bash
# Memory and page latency while the server backfills a large archive.
#
#   bash bench/sync-1m.sh                       # 1,000,000 notes
#   SCALE=200000 RATE=1000 bash bench/sync-1m.sh
#
# Builds the binaries, starts bench/sims (the three simulators seeded with
# about SCALE notes, in their own process so their memory is not the
# server's), creates an admin and three accounts pointed at the simulators
# in a throw-away data dir (bench/benchctl, through package models), then
# starts the server with --allow-private-endpoints: its backfill begins at
# once. Every second it samples the server's VmHWM and VmRSS from /proc;
# meanwhile hey loads /notes (C workers at Q requests/s each, signed in)
# in rounds of N until
# the backfill has finished; then it measures /notes once more, idle, over
# the whole archive. It prints the peak RSS and both p99s, then stops
# everything. Bounded by TIMEOUT for the backfill. Everything stays on
# 127.0.0.1; hey and the simulators share the machine with the server.
set -euo pipefail

SCALE=${SCALE:-1000000}  # notes over the three simulators
RATE=${RATE:-1000}       # requests per second per account (0: the vendors' defaults)
N=${N:-500}              # requests per hey round during the sync
IDLE_N=${IDLE_N:-4000}   # requests measured idle afterwards
C=${C:-16}               # concurrent hey workers
Q=${Q:-2}                # requests per second per worker: paced, so latency is not queueing behind a saturated CPU
TIMEOUT=${TIMEOUT:-40m}  # longest the backfill may take
PPROF=${PPROF:-}          # host:port: build with -tags benchpprof and save heap profiles there every 5 s
MEMLIMIT=${MEMLIMIT:-}   # e.g. 150MiB: the server's GOMEMLIMIT (Go's soft heap limit); empty leaves Go's default
SERVER_GOGC=${SERVER_GOGC:-}  # e.g. 100: the server's GOGC; empty leaves the server's own default (50)
SIMS_NICE=${SIMS_NICE:-10} # the simulators stand for vendors on other machines: their CPU yields to the server's
KEEP=${KEEP:-}           # a directory: the server's data dir is moved there at the end, to measure the archive again
DATABASE_URL=${DATABASE_URL:-} # postgres://...: the server's database (an empty one); the data dir keeps only the key
PORT=${PORT:-18735}
SIMS_PORT=${SIMS_PORT:-18740}
HOST=127.0.0.1
BASE="http://$HOST:$PORT"

cd "$(dirname "$0")/.."

if ! command -v hey >/dev/null; then
	echo "hey not found; installing it with apt-get" >&2
	if [ "$(id -u)" -eq 0 ]; then apt-get install -y hey; else sudo apt-get install -y hey; fi
fi
for tool in curl go; do
	command -v "$tool" >/dev/null || { echo "sync-1m.sh: $tool is required" >&2; exit 1; }
done
for p in "$PORT" "$SIMS_PORT" $((SIMS_PORT + 1)) $((SIMS_PORT + 2)); do
	if (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
		echo "sync-1m.sh: something already listens on $HOST:$p; set PORT / SIMS_PORT" >&2
		exit 1
	fi
done

WORK=$(mktemp -d)
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$KEEP" ] && [ -d "$WORK/data" ]; then
		rm -rf "$KEEP" && mv "$WORK/data" "$KEEP" && echo "data dir kept in $KEEP (sign in as bench@example.com / bench-password-1)"
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "building ..."
if [ -n "$PPROF" ]; then
	go build -tags benchpprof -o "$WORK/ticketnotes" .
	mkdir -p bench/out
else
	go build -o "$WORK/ticketnotes" .
fi
go build -o "$WORK/sims" ./bench/sims
go build -o "$WORK/benchctl" ./bench/benchctl

echo "seeding the simulators with about $SCALE notes ..."
nice -n "$SIMS_NICE" "$WORK/sims" --scale "$SCALE" --addr "$HOST:$SIMS_PORT" --accounts "$WORK/accounts.json" >"$WORK/sims.out" 2>&1 &
SIMS_PID=$!
PIDS+=("$SIMS_PID")
for _ in $(seq 1 600); do
	grep -q '^ready$' "$WORK/sims.out" && break
	kill -0 "$SIMS_PID" 2>/dev/null || { cat "$WORK/sims.out" >&2; echo "sync-1m.sh: sims exited" >&2; exit 1; }
	sleep 0.2
done
grep -q '^ready$' "$WORK/sims.out" || { echo "sync-1m.sh: sims not ready" >&2; exit 1; }
cat "$WORK/sims.out"

DATA="$WORK/data"
DBFLAG=()
if [ -n "$DATABASE_URL" ]; then DBFLAG=(--database-url "$DATABASE_URL"); fi
EMAIL=bench@example.com
PASSWORD=bench-password-1
"$WORK/ticketnotes" user add --data-dir "$DATA" "${DBFLAG[@]}" --email "$EMAIL" --role admin <<<"$PASSWORD" >/dev/null
"$WORK/benchctl" accounts --data-dir "$DATA" "${DBFLAG[@]}" --accounts "$WORK/accounts.json" --rate "$RATE"

# The default --sync-interval (5m) backfills every account at start.
env ${SERVER_GOGC:+GOGC=$SERVER_GOGC} GOMEMLIMIT=${MEMLIMIT:-off} TICKETNOTES_BENCH_PPROF=$PPROF "$WORK/ticketnotes" --addr "$HOST:$PORT" --data-dir "$DATA" "${DBFLAG[@]}" --allow-private-endpoints \
	>"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
START=$(date +%s)

# One line a second: seconds since start, VmHWM and VmRSS in kB.
(
	while [ -r "/proc/$SERVER_PID/status" ]; do
		awk -v t=$(($(date +%s) - START)) '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 } END { if (h) print t, h, r }' \
			"/proc/$SERVER_PID/status" 2>/dev/null || true
		sleep 1
	done
) >"$WORK/rss.log" &
PIDS+=("$!")
if [ -n "$PPROF" ]; then
	(
		while [ -r "/proc/$SERVER_PID/status" ]; do
			sleep 5
			t=$(($(date +%s) - START))
			curl -fsS -o "bench/out/heap-$t.pprof" "http://$PPROF/debug/pprof/heap" 2>/dev/null || true
			# Go's own view (MemStats) beside the kernel's: RSS less what Go
			# holds from the OS is mostly SQLite's C memory.
			{
				echo -n "$t "
				awk '/^VmRSS:|^RssAnon:|^RssFile:/ { printf "%s %s kB  ", $1, $2 }' "/proc/$SERVER_PID/status" 2>/dev/null
				curl -fsS "http://$PPROF/debug/pprof/heap?debug=1" 2>/dev/null |
					awk '/^# (HeapAlloc|HeapSys|HeapReleased|StackSys|Sys) =/ { printf "%s %d MB  ", $2, $4 / 1048576 } END { print "" }'
			} >>bench/out/mem.log
		done
	) &
	PIDS+=("$!")
fi

for _ in $(seq 1 100); do
	curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break
	kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "sync-1m.sh: server exited" >&2; exit 1; }
	sleep 0.2
done
curl -fsS "$BASE/healthz" >/dev/null || { echo "sync-1m.sh: server did not answer /healthz" >&2; exit 1; }

# Sign in like a browser (as bench/load.sh does).
JAR="$WORK/cookies"
CSRF=$(curl -fsS -c "$JAR" "$BASE/login" | sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' | head -n1)
[ -n "$CSRF" ] || { echo "sync-1m.sh: no CSRF token on /login" >&2; exit 1; }
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" \
	--data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" --data-urlencode "_csrf=$CSRF" \
	"$BASE/login")
[ "$STATUS" = 303 ] || { echo "sync-1m.sh: sign-in answered $STATUS, want 303" >&2; exit 1; }
COOKIE=$(awk -F'\t' 'NF == 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$JAR")
curl -fsS -o /dev/null -H "Cookie: $COOKIE" "$BASE/notes"

"$WORK/benchctl" wait --data-dir "$DATA" "${DBFLAG[@]}" --timeout "$TIMEOUT" >"$WORK/wait.log" 2>&1 &
WAIT_PID=$!
PIDS+=("$WAIT_PID")

# hey -o csv: one line a request, its latency in seconds first, the status
# code seventh.
ROUNDS=0
while kill -0 "$WAIT_PID" 2>/dev/null; do
	hey -n "$N" -c "$C" -q "$Q" -disable-redirects -o csv -H "Cookie: $COOKIE" "$BASE/notes" | tail -n +2 >>"$WORK/during.csv"
	ROUNDS=$((ROUNDS + 1))
	if [ $((ROUNDS % 4)) = 1 ]; then tail -n 1 "$WORK/wait.log"; fi
done
if ! wait "$WAIT_PID"; then
	tail -n 5 "$WORK/wait.log" >&2
	echo "sync-1m.sh: the backfill did not finish" >&2
	exit 1
fi
SYNCED=$(tail -n 1 "$WORK/wait.log")
echo "$SYNCED"

echo "idle: $IDLE_N requests over the whole archive ..."
hey -n "$IDLE_N" -c "$C" -q "$Q" -disable-redirects -o csv -H "Cookie: $COOKIE" "$BASE/notes" | tail -n +2 >"$WORK/idle.csv"
sleep 1

# stats FILE: requests, non-200 answers, p50 and p99 in ms.
stats() {
	local n bad p50 p99
	n=$(wc -l <"$1")
	bad=$(awk -F, '$7 != 200' "$1" | wc -l)
	p50=$(cut -d, -f1 "$1" | sort -g | awk -v n="$n" 'NR == int(n * 0.50 + 0.999999) { printf "%.1f", $1 * 1000 }')
	p99=$(cut -d, -f1 "$1" | sort -g | awk -v n="$n" 'NR == int(n * 0.99 + 0.999999) { printf "%.1f", $1 * 1000 }')
	echo "$n $bad $p50 $p99"
}
read -r DN DBAD DP50 DP99 < <(stats "$WORK/during.csv")
read -r IN IBAD IP50 IP99 < <(stats "$WORK/idle.csv")
PEAK=$(awk '$2 > m { m = $2 } END { printf "%.1f", m / 1024 }' "$WORK/rss.log")
MAXRSS=$(awk '$3 > m { m = $3 } END { printf "%.1f", m / 1024 }' "$WORK/rss.log")
LASTRSS=$(awk 'END { printf "%.1f", $3 / 1024 }' "$WORK/rss.log")
SIMS_RSS=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SIMS_PID/status" 2>/dev/null || echo '?')
DB_MB=$(du -sm "$DATA" | cut -f1)
if [ -n "$DATABASE_URL" ]; then
	DB_MB=$(psql "$DATABASE_URL" -Atc "SELECT pg_database_size(current_database()) / 1048576" 2>/dev/null || echo '?')
fi

echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(go version | awk '{ print $3 }'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "scale $SCALE, rate $RATE/s per account, GOMEMLIMIT ${MEMLIMIT:-off}, $C hey workers at $Q/s each; $SYNCED; data dir $DB_MB MB"
echo "server peak RSS (VmHWM) $PEAK MB; highest sampled VmRSS $MAXRSS MB; VmRSS at the end $LASTRSS MB; simulators' VmHWM $SIMS_RSS MB"
echo
echo "| /notes | requests | non-200 | p50 ms | p99 ms |"
echo "| --- | ---: | ---: | ---: | ---: |"
echo "| during the backfill ($ROUNDS rounds) | $DN | $DBAD | $DP50 | $DP99 |"
echo "| idle, whole archive | $IN | $IBAD | $IP50 | $IP99 |"
awk -v d="$DP99" -v i="$IP99" 'BEGIN { if (i > 0) printf "p99 during / idle: %.2f×\n", d / i }'
echo "RSS samples (s, VmHWM kB, VmRSS kB), every 30th:"
awk 'NR % 30 == 1' "$WORK/rss.log"
