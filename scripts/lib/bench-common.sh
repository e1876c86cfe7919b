# Sourced by the bench scripts: fail early without hyperfine, and give them a throwaway
# folder ($work) plus a daemon slot ($daemon_pid) that are cleaned up on exit.
# Usage: source scripts/lib/bench-common.sh NAME

command -v hyperfine >/dev/null || { echo "$1: hyperfine is not installed" >&2; exit 2; }

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
