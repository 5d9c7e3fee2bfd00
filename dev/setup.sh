#!/usr/bin/env bash
# Installs what building and testing devloop needs, idempotently: fast when everything is there.
# Debian packages through apt-get, Python tools through pip. Never downloads anything else.
set -euo pipefail

need_apt=()
for pkg in libcurl4-openssl-dev zlib1g-dev libssl-dev openssl bubblewrap postgresql chromium socat iproute2 tar busybox gdb shellcheck; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ "${DEVLOOP_SETUP_PYTHON:-1}" = 1 ]; then
    need_pip=()
    python3 -c 'import kubernetes_validate' 2>/dev/null || need_pip+=(kubernetes-validate)
    command -v checkov >/dev/null 2>&1 || need_pip+=(checkov)
    python3 -c 'import jsonschema' 2>/dev/null || need_pip+=(jsonschema)
    if [ ${#need_pip[@]} -gt 0 ]; then
        echo "setup: installing Python tools: ${need_pip[*]}"
        python3 -m pip install -q --disable-pip-version-check "${need_pip[@]}"
    fi
fi
