#!/usr/bin/env bash
# The main job: installs what the build needs, then runs the web app on 127.0.0.1:${PORT:-5000}.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVLOOP_SETUP_PYTHON=0 ./dev/setup.sh
# Local defaults: loopback only, and a ready schema on first start (both overridable).
HOST=${HOST:-127.0.0.1} MIGRATE_ON_START=${MIGRATE_ON_START:-1} swift run WebApp "$@"
