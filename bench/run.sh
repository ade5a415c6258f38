#!/usr/bin/env bash
# The whole-server plaintext benchmark of issue 6: every contestant in one run,
# alternating, on the same machine. See README.md for what each column means.
#
#   bash bench/run.sh                       # full: 3 runs, 5 s each (3-4 minutes; up to 7 on a busy machine)
#   RUNS=1 DURATION=2s bash bench/run.sh    # quick check
#
# Settings (environment):
#   SERVERS     contestants, space-separated (default: all that `server -list` offers,
#               and c-epoll and c-uring, the C servers in cepoll/, when gcc is there to build them)
#   RUNS        runs per contestant and test (3)
#   DURATION    wrk duration per run (5s)
#   WARMUP      wrk warm-up before each measured run, not counted; 0 to skip (1s)
#   CONNS       wrk connections (100)
#   DEPTH       requests per write in the pipelined test (16)
#   IDLE_CONNS  idle keep-alive connections for the RSS test; 0 to skip (10000)
#   SERVER_CPU  CPU the server is pinned to (1); it runs with GOMAXPROCS=1
#   CLIENT_CPU  CPU wrk and the idle client are pinned to (0)
#   PORT        port on 127.0.0.1 (18080)
#   SUBJECT     contestant whose ratios to each peer are shown (weft)
#   NOISE_LIMIT, NOISE_RETRIES
#               a wrk run during which other processes took more than NOISE_LIMIT %
#               of the two CPUs (20) is measured again, up to NOISE_RETRIES times (1);
#               the quietest attempt is kept
#   OUT         results directory (bench/results/<UTC time>)
set -euo pipefail
cd "$(dirname "$0")"

RUNS=${RUNS:-3}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
CONNS=${CONNS:-100}
DEPTH=${DEPTH:-16}
IDLE_CONNS=${IDLE_CONNS:-10000}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
PORT=${PORT:-18080}
SUBJECT=${SUBJECT:-weft}
NOISE_LIMIT=${NOISE_LIMIT:-20}
NOISE_RETRIES=${NOISE_RETRIES:-1}
OUT=${OUT:-results/$(date -u +%Y%m%dT%H%M%SZ)}

if ! command -v wrk >/dev/null; then
  echo "== installing wrk"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
command -v taskset >/dev/null || { echo "run.sh: taskset (util-linux) is required" >&2; exit 1; }

echo "== building"
mkdir -p bin "$OUT"
go build -o bin/server ./server
go build -o bin/idleconns ./idleconns
go build -o bin/report ./report
# c-epoll is the reference point issue 6 quotes, a minimal C epoll server: the
# floor the kernel's TCP path sets on this machine, measured in the same run.
# c-uring is the same server on io_uring (cepoll/curing.c): whether dropping the
# system calls lowers that floor. c-uring-batch, only when named in SERVERS, is
# it with deliberate completion coalescing (trades latency; see curing.c).
CEPOLL=
if command -v gcc >/dev/null; then
  gcc -O2 -Wall -Wextra -o bin/cepoll cepoll/cepoll.c
  gcc -O2 -Wall -Wextra -o bin/curing cepoll/curing.c
  CEPOLL="c-epoll c-uring"
else
  echo "run.sh: no gcc; skipping the c-epoll and c-uring contestants"
fi

# A contestant is one file in server/ that registers itself; weft's joins the
# list the moment server/weft.go exists, with no change here.
SERVERS=${SERVERS:-$(bin/server -list | tr '\n' ' ') $CEPOLL}
read -r -a servers <<<"$SERVERS"
if [ -z "$CEPOLL" ]; then
  kept=()
  for s in "${servers[@]}"; do [[ "$s" = c-* ]] || kept+=("$s"); done
  servers=("${kept[@]}")
fi
[ "${#servers[@]}" -gt 0 ] || { echo "run.sh: no contestants" >&2; exit 1; }

# 10,000 idle connections need as many descriptors in the server and the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
CLK_TCK=$(getconf CLK_TCK)
URL="http://127.0.0.1:$PORT/plaintext"
# The headers the TechEmpower plaintext test sends.
WRK_HEADERS=(-H 'Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
             -H 'Connection: keep-alive')

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

start_server() { # name
  local cmd=(bin/server -server "$1")
  [ "$1" != c-epoll ] || cmd=(bin/cepoll) # single-threaded; GOMAXPROCS means nothing to it
  [ "$1" != c-uring ] || cmd=(bin/curing)
  [ "$1" != c-uring-batch ] || cmd=(bin/curing -batch 64 -wait 200)
  # taskset execs the server, so $! is the server's own PID.
  GOMAXPROCS=1 taskset -c "$SERVER_CPU" "${cmd[@]}" -addr "127.0.0.1:$PORT" >>"$OUT/$1.log" 2>&1 &
  SERVER_PID=$!
  # Ready once it answers one request correctly (idleconns checks status and body).
  for _ in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "run.sh: server $1 exited; see $OUT/$1.log" >&2; exit 1; }
    if bin/idleconns -addr "127.0.0.1:$PORT" -n 1 -workers 1 -pid "$SERVER_PID" -settle 0 -timeout 1s >/dev/null 2>&1; then
      return
    fi
    sleep 0.05
  done
  echo "run.sh: server $1 did not answer on port $PORT; see $OUT/$1.log" >&2
  exit 1
}

cpu_ticks() { # pid -> utime+stime of all its threads, in clock ticks
  # Fields 14 and 15 of /proc/PID/stat; strip "pid (comm) " first, comm may hold spaces.
  local rest
  rest=$(sed 's/^.*) //' "/proc/$1/stat")
  awk '{print $12 + $13}' <<<"$rest"
}

cpus_ticks() { # -> "busy total" ticks of the server's and the client's CPUs, from /proc/stat
  awk -v a="cpu$SERVER_CPU" -v b="cpu$CLIENT_CPU" '
    $1 == a || $1 == b { busy += $2 + $3 + $4 + $7 + $8 + $9; for (i = 2; i <= 9; i++) total += $i }
    END { print busy, total }' /proc/stat
}

children_ticks() { # -> user+sys CPU of this shell's reaped children (wrk), in clock ticks
  # `times` must run in this shell, not in a $(...) subshell, which has no
  # children of its own; its second line is "XmY.YYYs XmY.YYYs" for them.
  times >"$OUT/.times"
  awk -v hz="$CLK_TCK" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    printf "%d\n", t * hz + 0.5 }' "$OUT/.times"
}

OTHER=0
measure_wrk() { # name test run -> $OUT/name.test.run.{wrk,cpu}; sets OTHER, the other-CPU %
  local name=$1 test=$2 run=$3 args=()
  if [ "$test" = pipe ]; then
    args=(-s pipeline.lua)
  fi
  start_server "$name"
  if [ "$WARMUP" != 0 ]; then
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$WARMUP" "${WRK_HEADERS[@]}" "${args[@]}" "$URL" ${args:+-- "$DEPTH"} >/dev/null
  fi
  local t0 t1 c0 c1 w0 w1 b0 b1 n0 n1
  c0=$(cpus_ticks)
  children_ticks >"$OUT/.w0"
  t0=$(cpu_ticks "$SERVER_PID")
  WRK_CONNECTIONS=$CONNS taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "${WRK_HEADERS[@]}" "${args[@]}" "$URL" ${args:+-- "$DEPTH"} \
    >"$OUT/$name.$test.$run.wrk"
  t1=$(cpu_ticks "$SERVER_PID")
  children_ticks >"$OUT/.w1"
  c1=$(cpus_ticks)
  stop_server
  w0=$(<"$OUT/.w0") w1=$(<"$OUT/.w1")
  read -r b0 n0 <<<"$c0"
  read -r b1 n1 <<<"$c1"
  # server_ticks CLK_TCK busy_ticks total_ticks wrk_ticks: the last three tell
  # how much of the two CPUs other processes took during the run.
  echo "$((t1 - t0)) $CLK_TCK $((b1 - b0)) $((n1 - n0)) $((w1 - w0))" >"$OUT/$name.$test.$run.cpu"
  OTHER=$(((b1 - b0) - (t1 - t0) - (w1 - w0)))
  [ "$OTHER" -gt 0 ] || OTHER=0
  OTHER=$((OTHER * 100 / (n1 - n0 > 0 ? n1 - n0 : 1)))
}

run_wrk() { # name test run
  local name=$1 test=$2 run=$3 best=101 try
  # A run during which other processes took more than NOISE_LIMIT % of the two
  # CPUs is measured again, up to NOISE_RETRIES times; the quietest attempt is kept.
  for try in $(seq 0 "$NOISE_RETRIES"); do
    measure_wrk "$name" "$test" "$run"
    if [ "$OTHER" -lt "$best" ]; then
      best=$OTHER
      mv "$OUT/$name.$test.$run.wrk" "$OUT/.best.wrk"
      mv "$OUT/$name.$test.$run.cpu" "$OUT/.best.cpu"
    fi
    [ "$best" -gt "$NOISE_LIMIT" ] || break
    [ "$try" -lt "$NOISE_RETRIES" ] && echo "  $name $test run $run: other processes took ${OTHER}% of the CPUs; measuring again"
  done
  mv "$OUT/.best.wrk" "$OUT/$name.$test.$run.wrk"
  mv "$OUT/.best.cpu" "$OUT/$name.$test.$run.cpu"
  printf '  %-9s %-5s run %d: %s req/s (other processes: %d%% of the CPUs)\n' "$name" "$test" "$run" \
    "$(awk '/^Requests\/sec:/ {print $2}' "$OUT/$name.$test.$run.wrk")" "$best"
}

run_idle() { # name run
  local name=$1 run=$2
  start_server "$name"
  taskset -c "$CLIENT_CPU" bin/idleconns -addr "127.0.0.1:$PORT" -n "$IDLE_CONNS" -pid "$SERVER_PID" \
    >"$OUT/$name.idle.$run.tsv"
  stop_server
  printf '  %-9s idle  run %d: %s B/conn\n' "$name" "$run" "$(cut -f4 "$OUT/$name.idle.$run.tsv")"
}

echo "== $RUNS run(s) of: ${servers[*]}; wrk -t1 -c$CONNS -d$DURATION, pipelined depth $DEPTH, $IDLE_CONNS idle conns; results in bench/$OUT"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
n=${#servers[@]}
for run in $(seq "$RUNS"); do
  # Alternate: each test goes round all contestants before the next test, and
  # the starting contestant rotates per run, so drift in the machine's load
  # falls on everyone alike.
  order=()
  for i in $(seq 0 $((n - 1))); do order+=("${servers[$(((i + run - 1) % n))]}"); done
  echo "-- run $run: ${order[*]}"
  for s in "${order[@]}"; do run_wrk "$s" plain "$run"; done
  for s in "${order[@]}"; do run_wrk "$s" pipe "$run"; done
  if [ "$IDLE_CONNS" != 0 ]; then
    for s in "${order[@]}"; do run_idle "$s" "$run"; done
  fi
done

{
  echo "plaintext: server pinned to CPU $SERVER_CPU with GOMAXPROCS=1; wrk -t1 -c$CONNS -d$DURATION --latency pinned to CPU $CLIENT_CPU;"
  echo "pipe = $DEPTH requests per write; idle = $IDLE_CONNS keep-alive connections, one request each; medians of $RUNS run(s)"
  # Other work on the machine skews req/s and p99 most; CPU/req and B/conn least.
  echo "load average at start: $LOAD0; at end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
  # The servers are built from the working tree, which may hold uncommitted work.
  if rev=$(git -C .. rev-parse --short HEAD 2>/dev/null); then
    [ -z "$(git -C .. status --porcelain -- . 2>/dev/null | grep -v ' bench/')" ] || rev="$rev + uncommitted changes"
    cc=
    [ -z "$CEPOLL" ] || cc="; c-epoll, c-uring: gcc -O2, $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)"
    echo "built from weft $rev; $(go version | cut -d' ' -f3)$cc"
  fi
  echo
  bin/report -dir "$OUT" -subject "$SUBJECT" -order "$(tr ' ' , <<<"$SUBJECT ${servers[*]}")"
} | tee "$OUT/table.txt"
