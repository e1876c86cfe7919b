#!/usr/bin/env bash
# `codex status` as a whole process against the cheapest possible client (connect, one
# `hello`, read, exit), both against one release-built codexd on a throwaway CODEX_HOME.
# Target: the median of `codex status` is at most 2x the baseline's.
#
# Needs hyperfine (Debian/Ubuntu: `apt install hyperfine`). Extra arguments go to hyperfine,
# e.g. `scripts/bench-status.sh --export-markdown out.md`.
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/lib/bench-common.sh bench-status

cargo build --release --quiet -p codexd -p codex-cli --bins --example rt_probe
bin="${CARGO_TARGET_DIR:-target}/release"

socket="$work/run/codexd.sock"
"$bin/codexd" --home "$work/home" --socket "$socket" --log-level warn &
daemon_pid=$!
for _ in $(seq 100); do
    [[ -S "$socket" ]] && "$bin/examples/rt_probe" "$socket" 2>/dev/null && break
    sleep 0.05
done
"$bin/examples/rt_probe" "$socket"

hyperfine -N --warmup 50 --runs 1000 --export-json "$work/times.json" "$@" \
    -n "baseline: connect + hello" "$bin/examples/rt_probe $socket" \
    -n "codex status" "$bin/codex --no-autostart --socket $socket status"

# hyperfine prints means; the target is about medians.
python3 - "$work/times.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base, status = (r["median"] for r in results)
print(f"median: baseline {base * 1e3:.2f} ms, codex status {status * 1e3:.2f} ms, "
      f"ratio {status / base:.2f}x (target <= 2x)")
PY
