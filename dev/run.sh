#!/usr/bin/env bash
# The main job: installs what the build needs, builds devloop, then runs `devloop up` for the shipped
# web app (dev/devloop.yaml). Without a kubeconfig context it starts its embedded kubesim; the first
# build inside the dev pod compiles the web app's dependencies (minutes), then edits show on the next
# refresh of http://localhost:8080. Ctrl-C stops everything. Arguments go to `devloop up` (`--sim`).
# The web app alone, without Kubernetes: `swift run WebApp` (127.0.0.1:5000, MIGRATE_ON_START=1).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVLOOP_SETUP_PYTHON=0 ./dev/setup.sh
DEVLOOP_WITHOUT_WEBAPP=1 swift build --product devloop
exec .build/debug/devloop up "$@"
