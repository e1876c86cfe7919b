#!/usr/bin/env bash
# The learning side at scale, as whole processes: build a CODEX_HOME holding 100,000
# episodes and 100,000 ratings (cargo bench -p codexd --bench learning, which also prints
# ingest throughput and in-process round trips), then start the real codexd on it and time
# `codex rate` and `codex prefs show` with hyperfine, and read the daemon's memory.
# Targets: rate median < 2 ms, prefs show < 20 ms, daemon RSS < 150 MB.
#
# Needs hyperfine (Debian/Ubuntu: `apt install hyperfine`).
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/lib/bench-common.sh bench-learning

CODEX_BENCH_HOME="$work/home" cargo bench -p codexd --bench learning
cargo build --release --quiet -p codexd -p codex-cli --bins
bin="${CARGO_TARGET_DIR:-target}/release"

export CODEX_HOME="$work/home" CODEX_SOCKET="$work/codexd.sock"
"$bin/codexd" --log-level warn &
daemon_pid=$!
for _ in $(seq 200); do
    "$bin/codex" --no-autostart status >/dev/null 2>&1 && break
    sleep 0.05
done
rss() { awk -v k="$1" '$1 == k":" { printf "%.1f MB", $2 / 1024 }' "/proc/$daemon_pid/status"; }
echo "codexd after start: RSS $(rss VmRSS)"

hyperfine -N --warmup 20 --runs 300 --export-json "$work/times.json" \
    -n "codex rate 4" "$bin/codex --no-autostart rate 4" \
    -n "codex prefs show" "$bin/codex --no-autostart prefs show" \
    -n "codex prefs show --json" "$bin/codex --no-autostart --json prefs show"

python3 - "$work/times.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"median {r['median'] * 1e3:.2f} ms  {r['command']}")
PY
echo "codexd after the runs: RSS $(rss VmRSS), peak $(rss VmHWM)"
