# codex shell capture for zsh: each command you type is recorded (folder, start, exit status,
# duration) for codex to learn your habits. Load it with `eval "$(codex init zsh)"` in
# ~/.zshrc. `codex capture pause` stops recording; a command typed with a leading space is
# never recorded. The recording runs in the background, detached, its output discarded: the
# prompt never waits for it, and with codexd down it adds nothing.
if [[ -o interactive && -z ${__codex_capture_loaded-} ]]; then
typeset -g __codex_capture_loaded=1
typeset -g __codex_bin=@CODEX@
typeset -g __codex_cmd= __codex_t0= __codex_dir=
zmodload zsh/datetime 2>/dev/null

__codex_preexec() {
  __codex_cmd=$1
  __codex_t0=$EPOCHREALTIME
  __codex_dir=$PWD
}

__codex_precmd() {
  local exit_status=$? t1=$EPOCHREALTIME
  if [[ -n $__codex_t0 ]]; then
    "$__codex_bin" capture record --shell zsh --exit "$exit_status" --start "$__codex_t0" \
      --end "$t1" --cwd "$__codex_dir" -- "$__codex_cmd" </dev/null >/dev/null 2>&1 &!
  fi
  __codex_t0=
}

autoload -Uz add-zsh-hook
add-zsh-hook preexec __codex_preexec
add-zsh-hook precmd __codex_precmd
fi
