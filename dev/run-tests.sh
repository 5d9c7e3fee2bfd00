#!/usr/bin/env bash
# Runs the built test bundle in groups, each in its own process: on a 2-core machine the kubesim API
# suites and the runtime suites starve each other of Swift's two cooperative threads when they share a
# process. A group that fails or hangs is run once more and says so loudly; the closing line adds up
# the last attempt of every group.
#   dev/run-tests.sh [extra swift test arguments]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

api='KubeSimTests\.(APISemanticsTests|APIServerKubectlTests|APIServerStreamTests|ChannelProtocolTests|RolloutAndFaultTests|KubectlAcceptanceTests)'
groups=(
    "webapp|--filter WebAppTests"
    "kubesim-api|--filter $api"
    "kubesim-runtime|--filter KubeSimTests --skip $api"
    "devloop|--filter DevLoopTests"
)
passed=0
failed=0
for group in "${groups[@]}"; do
    name=${group%%|*}
    read -r -a args <<<"${group#*|}"
    for attempt in 1 2; do
        echo "== tests: $name (attempt $attempt)"
        log=$(mktemp)
        timeout --kill-after=30 "${DEVLOOP_TEST_TIMEOUT:-900}" swift test --skip-build "${args[@]}" "$@" 2>&1 | tee "$log"
        status=${PIPESTATUS[0]}
        summary=$(grep -E '^. Test run with [0-9]+ tests?' "$log" | tail -1)
        total=$(sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' <<<"$summary")
        bad=$(grep -cE '^✘ Test .* failed after' "$log" | tr -d ' ')
        rm -f "$log"
        [ -n "$total" ] || total=0
        if [ "$status" -eq 0 ]; then break; fi
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
            echo "!! tests: $name HUNG (no result after ${DEVLOOP_TEST_TIMEOUT:-900} s)"
        else
            echo "!! tests: $name FAILED ($bad failing tests, exit $status)"
        fi
        [ "$attempt" -eq 1 ] && echo "!! tests: running $name once more"
    done
    if [ "$status" -eq 0 ]; then
        passed=$((passed + total))
    else
        [ "$bad" -gt 0 ] || bad=1
        failed=$((failed + bad))
        passed=$((passed + total - bad))
    fi
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
