#!/usr/bin/env bash
# The test command: installs what the tests need, lints, checks the manifests, starts a throwaway
# PostgreSQL on 127.0.0.1, builds and runs every test. Long soaks: DEVLOOP_SOAK=1.
set -euo pipefail
cd "$(dirname "$0")/.."

./dev/setup.sh

echo "== swift format lint --strict"
swift format lint --strict --recursive Package.swift Sources Tests

if [ -x dev/check-manifests.sh ]; then
    echo "== manifests"
    ./dev/check-manifests.sh
fi

pgdir=$(mktemp -d /tmp/devloop-pg.XXXXXX)
trap './dev/postgres.sh stop "$pgdir"' EXIT
TEST_DATABASE_URL=$(./dev/postgres.sh start "$pgdir")
export TEST_DATABASE_URL

echo "== swift build"
swift build --build-tests
echo "== swift test"
./dev/run-tests.sh "$@"
