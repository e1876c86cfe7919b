# codex shell capture for bash: each command you type is recorded (folder, start, exit status,
# duration) for codex to learn your habits. Load it with `eval "$(codex init bash)"` in
# ~/.bashrc. `codex capture pause` stops recording; a command typed with a leading space is
# never recorded. The recording runs in the background, detached, its output discarded: the
# prompt never waits for it, and with codexd down it adds nothing.
if [[ $- == *i* && -z ${__codex_capture_loaded-} ]]; then
__codex_capture_loaded=1
__codex_bin=@CODEX@
__codex_armed=
__codex_t0=
__codex_dir=
__codex_first=
__codex_last_hist=

# DEBUG trap: the first command after a prompt is the line typed. Only its start, folder and
# first simple command are noted here (no fork, nothing slow).
__codex_preexec() {
  [[ -n $__codex_armed && $BASH_COMMAND != __codex_precmd ]] || return 0
  __codex_armed=
  [[ -z ${COMP_LINE-} ]] || return 0
  __codex_t0=$EPOCHREALTIME
  __codex_dir=$PWD
  __codex_first=$BASH_COMMAND
}

# In the background subshell: the line typed, from history (as one argument, never evaluated).
# When the history number did not move, the line was not saved (HISTCONTROL's ignorespace or
# ignoredups): it is recorded only if the history's last line is this command's (a repeat).
__codex_send() {
  local line re='^ *[0-9]+[* ] (.*)$'
  line=$(HISTTIMEFORMAT= builtin history 1) || return 0
  [[ $line =~ $re ]] || return 0
  line=${BASH_REMATCH[1]}
  if [[ -n $4 && $line != "$5"* ]]; then return 0; fi
  exec "$__codex_bin" capture record --shell bash --exit "$1" ${2:+--start "$2"} --end "$3" \
    --cwd "$6" -- "$line" </dev/null >/dev/null 2>&1
}

# First in PROMPT_COMMAND, so $? is the command's. A line the DEBUG trap did not see (a
# subshell alone, `( ... )`) is still recorded when history has it, without a start.
__codex_precmd() {
  local status=$? t1=$EPOCHREALTIME hist=$HISTCMD same=
  __codex_armed=
  [[ $hist == "$__codex_last_hist" ]] && same=1
  if [[ -n $__codex_t0 ]]; then
    { __codex_send "$status" "$__codex_t0" "$t1" "$same" "$__codex_first" "$__codex_dir" & } 2>/dev/null
    disown $! 2>/dev/null
  elif [[ -n $__codex_last_hist && -z $same ]]; then
    { __codex_send "$status" "" "$t1" "" "" "$PWD" & } 2>/dev/null
    disown $! 2>/dev/null
  fi
  __codex_last_hist=$hist
  __codex_t0=
  return $status
}

__codex_arm() { __codex_armed=1; }

if [[ $(declare -p PROMPT_COMMAND 2>/dev/null) == "declare -a"* ]]; then
  PROMPT_COMMAND=(__codex_precmd "${PROMPT_COMMAND[@]}" __codex_arm)
else
  PROMPT_COMMAND="__codex_precmd${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}"$'\n'__codex_arm
fi
trap '__codex_preexec' DEBUG
fi
