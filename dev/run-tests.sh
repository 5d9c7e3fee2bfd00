#!/usr/bin/env bash
# Runs the built test bundle in groups, each in its own process, each exactly once: a test that
# passes only on a second try is a failing test. A group that has not finished after its timeout
# (DEVLOOP_TEST_TIMEOUT seconds, 900 by default) prints where it hangs — every thread's stack of the
# hung test process (gdb) and the last lines of its output — is killed, and counts as failed. The
# closing line adds up every group; any failure makes the exit status non-zero.
#   dev/run-tests.sh [extra Swift Testing arguments, e.g. --skip NAME]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

groups=(
    "webapp|--filter WebAppTests"
    # The API and runtime suites side by side (they were split while the tests' WebSocket client lost
    # a short exec's frames that came in the same read as its 101: see TestWebSocket, issue 8).
    "kubesim|--filter KubeSimTests"
    # One suite at a time: side by side, suites whose tests block the cooperative threads (blocking
    # reads, waits on child processes) starve the in-process kubesim and HTTP servers of the others,
    # and their time bounds fail (a 0.6 s suite took 59 s) — see issue 8.
    "devloop|--filter DevLoopTests --skip WebAppInPodTests --skip CooperativeThreadTests --no-parallel"
    # Measures how late a cooperative-pool heartbeat wakes, and how long a port-forward takes to
    # answer, during big syncs: alone, since other suites' own blocking calls would be measured too.
    "cooperative-threads|--filter CooperativeThreadTests"
    # The shipped web app built inside a kubesim pod, by the restarter (WebAppInPodTests) and through
    # the built `devloop up --sim` (its nested suite DevLoopUp), one after the other: they share the
    # in-pod build cache.
    "webapp-in-pod|--filter WebAppInPodTests"
)
# A cold first build of the web app's dependencies in the pod takes 5-20 minutes here (once per
# machine: the build cache is kept), then each test a few minutes.
declare -A group_timeout=([webapp-in-pod]=3600 [devloop]=2400)
# The bundle `swift build --build-tests` made, run as `swift test --skip-build` runs it (Swift Testing
# only), but without SwiftPM's lock: it is named after the .build path, which every clone mounted at
# the same place shares, so waiting for another build would count against the timeout.
bundle=${DEVLOOP_TEST_BUNDLE:-.build/debug/devloopPackageTests.xctest}
[ -x "$bundle" ] || { echo "run-tests: no test bundle at $bundle (swift build --build-tests)"; exit 2; }

# Every descendant of a process, children before grandchildren.
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# Prints the stacks of every thread of the test processes below `$1`, then the log's last lines.
report_hang() {
    local runner=$1 log=$2 pid
    for pid in "$runner" $(descendants "$runner"); do
        grep -q 'xctest' "/proc/$pid/cmdline" 2>/dev/null || continue
        echo "!! tests: threads of the hung test process $pid:"
        if command -v gdb >/dev/null 2>&1; then
            timeout 120 gdb -p "$pid" -batch -ex 'thread apply all bt' 2>/dev/null | grep -E '^(Thread|#)'
        else
            echo "!! (gdb is not installed: dev/setup.sh installs it)"
            for task in /proc/"$pid"/task/*; do echo "   $(cat "$task/comm"): $(cat "$task/wchan" 2>/dev/null)"; done
        fi
    done
    echo "!! tests: the last lines of its output:"
    tail -n 40 "$log" | sed 's/^/   /'
}

passed=0
failed=0
for group in "${groups[@]}"; do
    name=${group%%|*}
    read -r -a args <<<"${group#*|}"
    echo "== tests: $name"
    log=$(mktemp)
    # In the background (its own process group) so that a hang can be looked at before the kill.
    set -m
    "$bundle" --testing-library swift-testing "${args[@]}" "$@" >"$log" 2>&1 &
    runner=$!
    set +m
    tail -n +1 -f --pid="$runner" "$log" &
    follower=$!
    hung=0
    timeout_seconds=${DEVLOOP_TEST_TIMEOUT:-${group_timeout[$name]:-900}}
    deadline=$((SECONDS + timeout_seconds))
    while kill -0 "$runner" 2>/dev/null; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            hung=1
            break
        fi
        sleep 1
    done
    if [ "$hung" -eq 1 ]; then
        kill "$follower" 2>/dev/null
        wait "$follower" 2>/dev/null
        echo "!! tests: $name HUNG (no result after $timeout_seconds s)"
        report_hang "$runner" "$log"
        kill -TERM -- "-$runner" 2>/dev/null
        sleep 5
        kill -KILL -- "-$runner" 2>/dev/null
        wait "$runner" 2>/dev/null
        status=124
    else
        wait "$runner"
        status=$?
        wait "$follower" 2>/dev/null
    fi
    summary=$(grep -E '^. Test run with [0-9]+ tests?' "$log" | tail -1)
    total=$(sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' <<<"$summary")
    bad=$(grep -E '^✘ Test .* failed after' "$log" | grep -cv '^✘ Test run with' | tr -d ' ')
    finished=$(grep -cE '^✔ Test .* passed after' "$log" | tr -d ' ')
    rm -f "$log"
    if [ "$status" -eq 0 ] && [ -n "$total" ]; then
        passed=$((passed + total))
    else
        [ "$hung" -eq 1 ] || echo "!! tests: $name FAILED ($bad failing tests, exit $status)"
        # A hang, or a crash before the summary, is one failure more than the tests that said so.
        if [ "$hung" -eq 1 ] || [ -z "$total" ]; then
            failed=$((failed + bad + 1))
            passed=$((passed + finished))
        else
            [ "$bad" -gt 0 ] || bad=1
            failed=$((failed + bad))
            passed=$((passed + total - bad))
        fi
    fi
done
# bench-smoke: `devloop-bench all --quick` (debug build, about a minute), so that the bench never rots.
# Its figures are printed, not asserted; a crash or a failed scenario (a non-zero exit, such as a
# request devloop's forward dropped across a pod replacement) fails the group.
bench=${DEVLOOP_BENCH:-.build/debug/devloop-bench}
echo "== tests: bench-smoke"
if [ ! -x "$bench" ]; then
    echo "!! tests: bench-smoke FAILED (no $bench: swift build --build-tests builds it)"
    failed=$((failed + 1))
else
    bench_timeout=${DEVLOOP_TEST_TIMEOUT:-600}
    timeout --kill-after=10 "$bench_timeout" "$bench" all --quick
    status=$?
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
    else
        [ "$status" -eq 124 ] && echo "!! tests: bench-smoke HUNG (no result after $bench_timeout s)"
        echo "!! tests: bench-smoke FAILED (exit $status)"
        failed=$((failed + 1))
    fi
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
