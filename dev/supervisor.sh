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
#   DEVLOOP_CONTROL_DIR      where the supervisor and an exec meet (default /tmp/devloop). An exec shares
#                            the container's file system but, on some runtimes, not its processes, so
#                            requests and answers are files, never signals.
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
now() { date +%s; }
# A fifth of a second where sleep takes fractions (GNU, busybox), else a second.
nap() { sleep 0.2 2>/dev/null || sleep 1; }
# A fiftieth of a second, for the short waits of a restart (an answer, a server going or coming up):
# each one is part of devloop's save -> serving time, and they last only while a restart is under way.
blink() { sleep 0.02 2>/dev/null || sleep 1; }

build() {
    [ -n "${DEVLOOP_BUILD:-}" ] || return 0
    (cd "$app_dir" && sh -c "$DEVLOOP_BUILD")
}

# --- The exec side ------------------------------------------------------------------------------------

# Hands the run command to the supervisor loop and waits for its answer, then for readiness.
swap() {
    [ -n "${DEVLOOP_RUN:-}" ] || { complain "DEVLOOP_RUN is not set"; return 2; }
    [ -f "$control/supervisor.pid" ] || { complain "no supervisor runs in this container ($control)"; return 3; }
    # An exec may get the same pid every time (a fresh pid namespace): add randomness.
    id="$(now)-$$-$(od -An -N4 -tu4 /dev/urandom 2>/dev/null | tr -d ' ')"
    printf '%s\n%s\n' "$id" "$DEVLOOP_RUN" >"$control/request.$id"
    mv "$control/request.$id" "$control/request"
    deadline=$(($(now) + swap_timeout))
    until [ -f "$control/answer.$id" ]; do
        if [ "$(now)" -ge "$deadline" ]; then
            rm -f "$control/request"
            complain "the supervisor did not take the restart request within ${swap_timeout}s"
            return 3
        fi
        blink
    done
    answer=$(cat "$control/answer.$id")
    rm -f "$control/answer.$id"
    case $answer in
    started*) ;;
    *)
        complain "$answer"
        return 3
        ;;
    esac
    [ -n "${DEVLOOP_READY_COMMAND:-}" ] || return 0
    until (cd "$app_dir" && sh -c "$DEVLOOP_READY_COMMAND") >/dev/null 2>&1; do
        state=$(cat "$control/server.state" 2>/dev/null)
        case $state in
        exited*)
            complain "the new server $state before it was ready"
            return 3
            ;;
        esac
        if [ "$(now)" -ge "$deadline" ]; then
            complain "the new server was not ready within ${swap_timeout}s"
            return 3
        fi
        blink
    done
}

# --- The supervisor loop ------------------------------------------------------------------------------

server_pid=
server_started=0
run_command=${DEVLOOP_RUN:-}

# The pids of $1 and everything it started, found in /proc before any is signalled (a child whose parent
# died first would be re-parented out of reach).
process_tree() {
    echo "$1"
    for stat in /proc/[0-9]*/stat; do
        line=$(cat "$stat" 2>/dev/null) || continue
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
    for pid in $(process_tree "$2"); do kill "-$1" "$pid" 2>/dev/null; done
}

start_server() {
    (cd "$app_dir" && exec sh -c "$run_command") &
    server_pid=$!
    server_started=$(now)
    echo "running $server_pid" >"$control/server.state"
    say "server started (pid $server_pid): $run_command"
}

# TERM, a bounded wait, then KILL.
stop_server() {
    [ -n "$server_pid" ] || return 0
    signal_tree TERM "$server_pid"
    deadline=$(($(now) + stop_timeout))
    while kill -0 "$server_pid" 2>/dev/null; do
        if [ "$(now)" -ge "$deadline" ]; then
            say "server (pid $server_pid) ignored TERM for ${stop_timeout}s: killing it"
            signal_tree KILL "$server_pid"
            break
        fi
        blink
    done
    wait "$server_pid" 2>/dev/null
    say "server (pid $server_pid) stopped"
    echo "stopped" >"$control/server.state"
    server_pid=
}

take_request() {
    [ -f "$control/request" ] || return 1
    id=$(sed -n 1p "$control/request")
    requested=$(sed -n '2,$p' "$control/request")
    rm -f "$control/request"
    say "restart requested: replacing the server"
    stop_server
    [ -n "$requested" ] && run_command=$requested
    start_server
    echo "started $server_pid" >"$control/answer.$id"
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
    rm -f "$control"/request "$control"/answer.*
    # The exec side runs this copy, so that it works before the sources (and this script in them) arrive.
    cp "$0" "$control/supervisor.sh.new" && mv "$control/supervisor.sh.new" "$control/supervisor.sh"
    echo $$ >"$control/supervisor.pid"
    wait_for_sources
    # A first sync may still be under way when the sources appear: a failed first build is tried again.
    while :; do
        say "building"
        # In the background, so that a TERM during a long first build is handled at once.
        build &
        build_pid=$!
        if wait "$build_pid"; then
            build_pid=
            start_server
            break
        fi
        status=$?
        build_pid=
        echo "stopped" >"$control/server.state"
        say "the build failed (exit $status): building again in ${build_retry}s, or at a restart request"
        deadline=$(($(now) + build_retry))
        while [ "$(now)" -lt "$deadline" ]; do
            take_request && break 2
            nap
        done
    done
    delay=1
    restart_at=
    while :; do
        take_request
        if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then
            wait "$server_pid"
            status=$?
            echo "exited with status $status" >"$control/server.state"
            # A server that ran for a while crashed anew: start the back-off over.
            [ $(($(now) - server_started)) -ge $((2 * backoff_max)) ] && delay=1
            say "server (pid $server_pid) exited with status $status: restarting it in ${delay}s"
            server_pid=
            restart_at=$(($(now) + delay))
            delay=$((delay * 2))
            [ "$delay" -gt "$backoff_max" ] && delay=$backoff_max
        fi
        if [ -z "$server_pid" ] && [ -n "$restart_at" ] && [ "$(now)" -ge "$restart_at" ]; then
            restart_at=
            start_server
        fi
        # A request restarts at once, whatever the back-off.
        [ -n "$server_pid" ] && restart_at=
        nap
    done
}

case ${1:-run} in
run) supervise ;;
build) build ;;
swap) swap ;;
restart) build && swap ;;
*)
    complain "usage: supervisor.sh [run|build|swap|restart]"
    exit 2
    ;;
esac
