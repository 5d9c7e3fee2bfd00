#!/usr/bin/env bash
# The main job: installs what the build needs, then runs the web app on 127.0.0.1:${PORT:-5000}.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVLOOP_SETUP_PYTHON=0 ./dev/setup.sh
HOST=${HOST:-127.0.0.1} swift run WebApp "$@"
