# codex shell capture for fish: each command you type is recorded (folder, exit status,
# duration) for codex to learn your habits. Load it with `codex init fish | source` in
# ~/.config/fish/config.fish. `codex capture pause` stops recording; a command typed with a
# leading space is never recorded. The recording runs in the background, detached, its output
# discarded: the prompt never waits for it, and with codexd down it adds nothing.
if status is-interactive; and not set -q __codex_capture_loaded
    set -g __codex_capture_loaded 1
    set -g __codex_bin @CODEX@

    function __codex_preexec --on-event fish_preexec
        set -g __codex_dir $PWD
    end

    function __codex_postexec --on-event fish_postexec
        set -l exit_status $status
        set -q __codex_dir; or return
        $__codex_bin capture record --shell fish --exit $exit_status --duration-ms $CMD_DURATION --cwd $__codex_dir -- $argv[1] </dev/null >/dev/null 2>&1 &
        disown 2>/dev/null
        set -e __codex_dir
    end
end
