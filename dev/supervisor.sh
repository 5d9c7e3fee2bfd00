#!/bin/sh
# devloop's in-pod supervisor: the dev container's command. It builds and runs the server, restarts it
# with back-off when it crashes, and lets devloop rebuild and replace it without restarting the container.
# Plain POSIX sh (dash, busybox ash); Linux only for stopping a server's child processes (/proc).
#
#   supervisor.sh [run]   the container's command: wait for the sources, build, serve, supervise
#   supervisor.sh build   (through exec) run the build here; its output is the compiler's; exit status its
#   supervisor.sh swap    (through exec) have the supervisor replace the server; wait until it is up
#   supervisor.sh restart (through exec) build, then swap when the build succeeded
#
# Environment (set in the manifest; an exec may override DEVLOOP_APP_DIR, DEVLOOP_BUILD and DEVLOOP_RUN):
#   DEVLOOP_RUN              the server command, run by sh in DEVLOOP_APP_DIR (required; prefer `exec ...`)
#   DEVLOOP_BUILD            the build command, run by sh in DEVLOOP_APP_DIR (optional)
#   DEVLOOP_APP_DIR          the synced sources (default /app)
#   DEVLOOP_WAIT_FOR         a path under DEVLOOP_APP_DIR whose arrival means the sources are synced
#                            (default: the folder is not empty)
#   DEVLOOP_READY_COMMAND    a command that succeeds once the server answers; swap waits for it (optional)
#   DEVLOOP_CONTROL_DIR      where the supervisor and an exec meet (default /tmp/devloop): a request and
#                            its answer are files there, and each side wakes the other with USR1 (an exec
#                            runs in the container's pid namespace: kubectl exec, kubesim), so that
#                            neither polls. Both files are rewritten in place, never moved or removed on
#                            a restart's path: each `mv` or `rm` is a process start (5-20 ms on a loaded
#                            node), and a reader tells a whole file by its id (see `take_request`).
#   DEVLOOP_STOP_TIMEOUT     seconds between TERM and KILL when a server is replaced or stopped (default 10)
#   DEVLOOP_SWAP_TIMEOUT     seconds swap waits for the new server, readiness included (default 120)
#   DEVLOOP_BACKOFF_MAX      longest delay before restarting a crashed server, in seconds (default 30)
#   DEVLOOP_BUILD_RETRY      seconds before a failed first build is tried again (default 10)
set -u

app_dir=${DEVLOOP_APP_DIR:-/app}
control=${DEVLOOP_CONTROL_DIR:-/tmp/devloop}
stop_timeout=${DEVLOOP_STOP_TIMEOUT:-10}
swap_timeout=${DEVLOOP_SWAP_TIMEOUT:-120}
backoff_max=${DEVLOOP_BACKOFF_MAX:-30}
build_retry=${DEVLOOP_BUILD_RETRY:-10}

say() { printf 'devloop-supervisor: %s\n' "$*"; }
complain() { printf 'devloop-supervisor: %s\n' "$*" >&2; }
# Seconds since boot in $now, without a fork (a restart's waits are part of devloop's save -> serving time).
clock() {
    read -r now _ </proc/uptime
    now=${now%.*}
}
# Hundredths of a second since boot in $ticks.
tick() {
    read -r ticks _ </proc/uptime
    ticks=${ticks%.*}${ticks#*.}
}
# A fifth of a second where sleep takes fractions (GNU, busybox), else a second.
nap() { sleep 0.2 2>/dev/null || sleep 1; }
# A hundredth of a second, between two readiness checks of a new server: readiness is a command (a
# connection) that can only be tried again.
blink() { sleep 0.01 2>/dev/null || sleep 1; }

# USR1 is a wake-up (a request for the supervisor, an answer for an exec), USR2 the end of a bounded
# wait (`alarm`). Each sets a flag and cuts a `wait` short: `interrupted` says the wait did not end
# because its process did. A waiter clears it before it looks for its file, so that a wake-up that comes
# between the look and the `wait` is not lost.
interrupted=0
overdue=0
newline='
'
# A wake-up also ends the doze under way: one that comes after doze's look at the flag and before its
# `wait` would otherwise be lost for the doze's whole length (a restart's p99 was 2.5-3 s).
trap 'interrupted=1; [ -z "$dozer" ] || kill "$dozer" 2>/dev/null' USR1
dozer=
trap 'interrupted=1; overdue=1' USR2

# Waits for child $1 to end, whatever wake-ups arrive meanwhile; its exit status in $waited.
await() {
    while :; do
        interrupted=0
        wait "$1"
        waited=$?
        [ "$interrupted" = 1 ] || return 0
    done
}

# Sleeps $1 seconds, or less when a wake-up comes (or came since `interrupted` was cleared).
doze() {
    sleep "$1" 2>/dev/null &
    dozer=$!
    [ "$interrupted" = 1 ] || wait "$dozer"
    kill "$dozer" 2>/dev/null
    wait "$dozer" 2>/dev/null
    dozer=
}

# Sends this shell USR2 in $1 seconds unless `alarm_cancel` comes first: a bounded wait that does not
# poll. The timer's own sleep goes with it.
alarm() {
    overdue=0
    (
        trap 'kill "$timer" 2>/dev/null; exit 0' TERM
        sleep "$1" &
        timer=$!
        wait "$timer" && kill -USR2 $$
    ) &
    alarm_pid=$!
}
# The timer is told to go at once, but not waited for: `alarm_reap` does that off the restart's path.
alarm_cancel() {
    kill "$alarm_pid" 2>/dev/null
}
alarm_reap() {
    [ -n "$alarm_pid" ] || return 0
    wait "$alarm_pid" 2>/dev/null
    alarm_pid=
}
alarm_pid=

# "PID START": process $1 and its start time (clock ticks since boot), in $process; empty when it is
# gone. The two name one process whatever pids are reused, so a wake-up (USR1, which ends a process that
# does not expect it) goes to the process that asked for it or to no one.
process_of() {
    process=
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    # The command name in parentheses may hold spaces: the fields after the last ")" are fixed.
    # shellcheck disable=SC2086
    set -- "$1" ${stat##*) }
    process="$1 ${21}"
}

# Sends USR1 to $1 ("PID START") if that process still runs.
wake() {
    process_of "${1%% *}" && [ "$process" = "$1" ] && kill -USR1 "${1%% *}" 2>/dev/null
}

build() {
    [ -n "${DEVLOOP_BUILD:-}" ] || return 0
    (cd "$app_dir" && exec sh -c "$DEVLOOP_BUILD")
}

# --- The exec side ------------------------------------------------------------------------------------

# The supervisor's answer to request $1 in $answer, once it has been written whole: the answer file holds
# one line, "ID ANSWER", written by one `echo` (a reader sees no line before its newline).
answer_for() {
    read -r answered answer 2>/dev/null <"$control/answer" && [ "$answered" = "$1" ]
}

# Hands the run command to the supervisor loop, wakes it, and waits for its answer, then for readiness.
swap() {
    [ -n "${DEVLOOP_RUN:-}" ] || { complain "DEVLOOP_RUN is not set"; return 2; }
    [ -f "$control/supervisor.pid" ] || { complain "no supervisor runs in this container ($control)"; return 3; }
    read -r supervisor <"$control/supervisor.pid"
    process_of "${supervisor%% *}"
    [ "$process" = "$supervisor" ] || {
        complain "the supervisor (pid ${supervisor%% *}) is not running, or not in this exec's pid namespace"
        return 3
    }
    # "PID-START-RANDOM": the supervisor wakes the process the id names (this one) once it has answered.
    process_of $$
    read -r random </proc/sys/kernel/random/uuid
    id="${process% *}-${process#* }-$random"
    # The id first and last: the supervisor takes the request only once its last line has been written.
    printf '%s\n%s\n%s\n' "$id" "$DEVLOOP_RUN" "$id" >"$control/request"
    wake "$supervisor"
    clock
    deadline=$((now + swap_timeout))
    interrupted=0
    until answer_for "$id"; do
        clock
        if [ "$now" -ge "$deadline" ]; then
            rm -f "$control/request"
            complain "the supervisor did not take the restart request within ${swap_timeout}s"
            return 3
        fi
        doze 1
        interrupted=0
        # Should a wake-up come between the supervisor's last look and its wait, send another (the
        # supervisor takes a request once, whatever wakes it).
        wake "$supervisor"
    done
    case $answer in
    started*) ;;
    *)
        complain "$answer"
        return 3
        ;;
    esac
    [ -n "${DEVLOOP_READY_COMMAND:-}" ] || return 0
    cd "$app_dir" || return 3
    until sh -c "$DEVLOOP_READY_COMMAND" >/dev/null 2>&1; do
        read -r state <"$control/server.state"
        case $state in
        exited*)
            complain "the new server $state before it was ready"
            return 3
            ;;
        esac
        clock
        if [ "$now" -ge "$deadline" ]; then
            complain "the new server was not ready within ${swap_timeout}s"
            return 3
        fi
        blink
    done
}

# Builds, then swaps when the build succeeded: one exec for a restart. Between the two, a line on stderr
# gives the build's exit status and its time in hundredths of a second, for devloop to tell the build's
# output and time from the swap's.
restart() {
    tick
    build_start=$ticks
    build
    status=$?
    tick
    printf 'devloop-supervisor: build exited %s after %s cs\n' "$status" "$((ticks - build_start))" >&2
    [ "$status" = 0 ] || return "$status"
    swap
}

# --- The supervisor loop ------------------------------------------------------------------------------

server_pid=
server_started=0
run_command=${DEVLOOP_RUN:-}

# The pids of $1 and everything it started, added to $tree, found in /proc before any is signalled (a
# child whose parent died first would be re-parented out of reach). Each thread's children file names its
# children; without those files (a kernel built without them), every process's parent is read. A variable,
# not output: a command substitution would fork the supervisor on a restart's path. (Each `for` expands
# its list before the recursion reuses its variable.)
process_tree() {
    tree="$tree $1"
    if [ -r "/proc/$1/task/$1/children" ]; then
        for task in /proc/"$1"/task/*; do
            children=
            read -r children 2>/dev/null <"$task/children"
            for pid in $children; do process_tree "$pid"; done
        done
        return 0
    fi
    for stat in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$stat" || continue
        # The command name in parentheses may hold spaces: the fields after the last ")" are fixed.
        # shellcheck disable=SC2086
        set -- "$1" ${line##*) }
        [ "${3:-}" = "$1" ] || continue
        pid=${stat#/proc/}
        process_tree "${pid%/stat}"
    done
}

# Sends signal $1 to process $2 and everything it started.
signal_tree() {
    tree=
    process_tree "$2"
    for pid in $tree; do kill "-$1" "$pid" 2>/dev/null; done
}

start_server() {
    (cd "$app_dir" && exec sh -c "$run_command") &
    server_pid=$!
    clock
    server_started=$now
    echo "running $server_pid" >"$control/server.state"
    say "server started (pid $server_pid): $run_command"
}

# TERM, a bounded wait, then KILL.
stop_server() {
    [ -n "$server_pid" ] || return 0
    signal_tree TERM "$server_pid"
    alarm "$stop_timeout"
    while :; do
        interrupted=0
        wait "$server_pid" 2>/dev/null
        [ "$interrupted" = 1 ] || break
        if [ "$overdue" = 1 ]; then
            say "server (pid $server_pid) ignored TERM for ${stop_timeout}s: killing it"
            signal_tree KILL "$server_pid"
            wait "$server_pid" 2>/dev/null
            break
        fi
    done
    alarm_cancel
    say "server (pid $server_pid) stopped"
    echo "stopped" >"$control/server.state"
    server_pid=
}

# The request file stays where swap wrote it: a request is new when its id is not the one taken last, and
# whole when its last line repeats the id (a request read while swap still writes it is left for the
# wake-up that follows the write).
taken=
take_request() {
    [ -f "$control/request" ] || return 1
    id=
    requested=
    last=
    {
        read -r id
        while IFS= read -r line; do
            [ -z "$last" ] || requested="${requested:+$requested$newline}$last"
            last=$line
        done
    } 2>/dev/null <"$control/request"
    [ -n "$id" ] && [ "$id" != "$taken" ] && [ "$last" = "$id" ] || return 1
    taken=$id
    say "restart requested: replacing the server"
    stop_server
    [ -n "$requested" ] && run_command=$requested
    start_server
    echo "$id started $server_pid" >"$control/answer"
    requester=${id#*-}
    wake "${id%%-*} ${requester%%-*}"
    alarm_reap
    return 0
}

build_pid=

shutdown() {
    say "stopping"
    [ -z "$build_pid" ] || signal_tree KILL "$build_pid"
    stop_server
    rm -f "$control/supervisor.pid"
    exit 0
}

wait_for_sources() {
    if [ -n "${DEVLOOP_WAIT_FOR:-}" ]; then
        ready() { [ -e "$app_dir/$DEVLOOP_WAIT_FOR" ]; }
    else
        ready() { [ -n "$(ls -A "$app_dir" 2>/dev/null)" ]; }
    fi
    ready && return 0
    say "waiting for the synced sources in $app_dir${DEVLOOP_WAIT_FOR:+ ($DEVLOOP_WAIT_FOR)}"
    until ready; do nap; done
    say "sources arrived in $app_dir"
}

supervise() {
    [ -n "$run_command" ] || { complain "DEVLOOP_RUN is not set"; exit 2; }
    trap shutdown TERM INT
    mkdir -p "$control"
    rm -f "$control"/request "$control"/answer
    # The exec side runs this copy, so that it works before the sources (and this script in them) arrive.
    cp "$0" "$control/supervisor.sh.new" && mv "$control/supervisor.sh.new" "$control/supervisor.sh"
    process_of $$
    echo "$process" >"$control/supervisor.pid"
    wait_for_sources
    # A first sync may still be under way when the sources appear: a failed first build is tried again.
    while :; do
        say "building"
        # In the background, so that a TERM during a long first build is handled at once.
        build &
        build_pid=$!
        await "$build_pid"
        build_pid=
        if [ "$waited" = 0 ]; then
            start_server
            break
        fi
        echo "stopped" >"$control/server.state"
        say "the build failed (exit $waited): building again in ${build_retry}s, or at a restart request"
        clock
        deadline=$((now + build_retry))
        while [ "$now" -lt "$deadline" ]; do
            interrupted=0
            take_request && break 2
            doze $((deadline - now))
            clock
        done
    done
    delay=1
    restart_at=
    # Blocks in `wait` on the server (or a back-off's doze) until it exits or a request wakes it.
    while :; do
        interrupted=0
        take_request && continue
        if [ -n "$server_pid" ]; then
            [ "$interrupted" = 1 ] && continue
            wait "$server_pid"
            status=$?
            [ "$interrupted" = 1 ] && continue
            echo "exited with status $status" >"$control/server.state"
            # A server that ran for a while crashed anew: start the back-off over.
            clock
            [ $((now - server_started)) -ge $((2 * backoff_max)) ] && delay=1
            say "server (pid $server_pid) exited with status $status: restarting it in ${delay}s"
            server_pid=
            restart_at=$((now + delay))
            delay=$((delay * 2))
            [ "$delay" -gt "$backoff_max" ] && delay=$backoff_max
        fi
        clock
        if [ "$now" -ge "$restart_at" ]; then
            start_server
        else
            doze $((restart_at - now))
        fi
        # A request restarts at once, whatever the back-off.
        [ -n "$server_pid" ] && restart_at=
    done
}

case ${1:-run} in
run) supervise ;;
build) build ;;
swap) swap ;;
restart) restart ;;
*)
    complain "usage: supervisor.sh [run|build|swap|restart]"
    exit 2
    ;;
esac
