#!/usr/bin/env bash
# What the shell hook (`codex init bash`) adds to each command typed: N commands run through
# an interactive bash (`bash --norc -i` reading them from stdin, so PROMPT_COMMAND and the
# DEBUG trap run as at a terminal) without the hook, with it and codexd up, and with it and
# codexd down; each timed ROUNDS times, the median kept. Prints the mean added ms per command.
# Target: under 5 ms added per command.
#
# Usage: scripts/bench-shell-hook.sh [N] [ROUNDS]   (defaults 500 and 5)
# BIN_DIR=target/debug uses binaries already built instead of building release ones.
set -euo pipefail

cd "$(dirname "$0")/.."
n="${1:-500}"
rounds="${2:-5}"
if [[ -z "${BIN_DIR:-}" ]]; then
    cargo build --release --quiet -p codexd -p codex-cli --bins
    BIN_DIR="${CARGO_TARGET_DIR:-target}/release"
fi
bin=$(cd "$BIN_DIR" && pwd)

work=$(mktemp -d)
daemon_pid=""
cleanup() {
    if [[ -n "$daemon_pid" ]]; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

export CODEX_HOME="$work/home" CODEX_SOCKET="$work/run/codexd.sock" HOME="$work"
mkdir -p "$work/proj" && touch "$work/proj/Cargo.toml"
"$bin/codex" init bash > "$work/hook.bash"

# The commands typed: cheap builtins, so what is timed is the prompt's own work.
{
    echo "cd $work/proj"
    for ((i = 0; i < n; i++)); do echo ": command $i"; done
    echo "exit"
} > "$work/commands"
{ echo "source $work/hook.bash"; cat "$work/commands"; } > "$work/commands-hooked"

# Seconds one bash session takes for a script.
session() {
    local t0=$EPOCHREALTIME
    bash --norc -i < "$1" > /dev/null 2>&1
    local t1=$EPOCHREALTIME
    echo "$t0 $t1" | awk '{printf "%.6f\n", $2 - $1}'
}

median() {
    local script=$1 i
    for ((i = 0; i < rounds; i++)); do session "$script"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# Wait until the daemon has taken every command in (each is answered once recorded).
settle() {
    local want=$1
    for _ in $(seq 600); do
        local got
        got=$("$bin/codex" --no-autostart --json capture status 2>/dev/null \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["recorded"])' || echo 0)
        [[ "$got" -ge "$want" ]] && return 0
        sleep 0.1
    done
    echo "the daemon recorded $got of $want commands" >&2
}

base=$(median "$work/commands")
down=$(median "$work/commands-hooked")
if pgrep -u "$(id -u)" -f "$bin/codexd --home $work/home" >/dev/null; then
    echo "a codexd started while it was meant to be down" >&2
    exit 1
fi

"$bin/codexd" --home "$work/home" --socket "$CODEX_SOCKET" --log-level warn &
daemon_pid=$!
for _ in $(seq 100); do [[ -S "$CODEX_SOCKET" ]] && break; sleep 0.05; done
up_total=0
times=()
for ((r = 0; r < rounds; r++)); do
    times+=("$(session "$work/commands-hooked")")
    up_total=$((up_total + n + 1))
    settle "$up_total"
done
up=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')

awk -v n="$n" -v base="$base" -v up="$up" -v down="$down" -v r="$rounds" 'BEGIN {
    printf "%d commands per session, median of %d sessions\n", n, r
    printf "no hook:             %8.1f ms  (%.3f ms per command)\n", base * 1e3, base * 1e3 / n
    printf "hook, codexd up:     %8.1f ms  (+%.3f ms per command)\n", up * 1e3, (up - base) * 1e3 / n
    printf "hook, codexd down:   %8.1f ms  (+%.3f ms per command)\n", down * 1e3, (down - base) * 1e3 / n
    printf "target: under 5 ms added per command\n"
}'
