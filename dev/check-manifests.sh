#!/usr/bin/env bash
# Checks the Kubernetes manifests under k8s/, for every overlay:
#   1. `kubectl kustomize` renders it;
#   2. kubernetes-validate --strict validates every rendered object against the Kubernetes 1.25 and 1.32
#      schemas (an object whose schema is unknown fails too);
#   3. checkov passes, skipping only the checks listed with a reason in k8s/checkov-skips.txt.
# Then validates the dev deployment (dev/k8s/*.yaml, plain files that devloop applies) the same way
# (kubernetes-validate --strict; checkov is for what ships: the dev pod runs as root on hostPath volumes).
# Runs on a temporary copy of k8s/ where each missing secrets env file is created from its .example:
# the user's files are never touched. Exits non-zero when any overlay fails any step.
set -euo pipefail
cd "$(dirname "$0")/.."

kube_versions=(1.25.0 1.32.0)
skips_file=k8s/checkov-skips.txt

for tool in kubectl kubernetes-validate checkov; do
    command -v "$tool" >/dev/null || { echo "check-manifests: $tool is missing (run dev/setup.sh)" >&2; exit 1; }
done

skips=()
line_number=0
while IFS= read -r line || [ -n "$line" ]; do
    line_number=$((line_number + 1))
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ ! "$line" =~ ^(CKV2?_[A-Z0-9]+_[0-9]+)[[:space:]]+[^[:space:]] ]]; then
        echo "check-manifests: $skips_file:$line_number: expected '<check id> <reason>', got: $line" >&2
        exit 1
    fi
    skips+=("${BASH_REMATCH[1]}")
done <"$skips_file"

work=$(mktemp -d /tmp/devloop-manifests.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -R k8s "$work/k8s"

failures=()
for overlay_dir in "$work"/k8s/overlays/*/; do
    overlay=$(basename "$overlay_dir")
    rendered="$work/$overlay.yaml"
    while IFS= read -r -d '' example; do
        [ -e "${example%.example}" ] || cp "$example" "${example%.example}"
    done < <(find "$overlay_dir" -name '*.env.example' -print0)

    echo "-- k8s/overlays/$overlay: kubectl kustomize"
    if ! kubectl kustomize "$overlay_dir" >"$rendered" 2>"$work/kustomize.err"; then
        sed "s|$work/||g" "$work/kustomize.err" >&2
        failures+=("$overlay: kubectl kustomize failed")
        continue
    fi
    echo "   $(grep -c '^kind:' "$rendered") objects"

    echo "-- k8s/overlays/$overlay: kubernetes-validate --strict (Kubernetes ${kube_versions[*]})"
    version_flags=()
    for version in "${kube_versions[@]}"; do version_flags+=(-k "$version"); done
    # --quiet prints only problems; an unknown kind or apiVersion is a WARN with exit status 0, so any
    # output at all counts as a failure.
    if ! report=$(kubernetes-validate --strict --quiet "${version_flags[@]}" "$rendered" 2>&1) || [ -n "$report" ]; then
        echo "${report//$work\//}" >&2
        failures+=("$overlay: kubernetes-validate")
    fi

    echo "-- k8s/overlays/$overlay: checkov (skipping ${skips[*]:-nothing})"
    skip_flags=()
    [ ${#skips[@]} -gt 0 ] && skip_flags=(--skip-check "$(IFS=,; echo "${skips[*]}")")
    # --skip-download keeps checkov offline; --compact keeps rendered Secret values out of the output.
    if ! (cd "$work" && checkov --quiet --compact --skip-download --framework kubernetes \
        "${skip_flags[@]}" -f "$overlay.yaml"); then
        failures+=("$overlay: checkov")
    fi
done

echo "-- dev/k8s: kubernetes-validate --strict (Kubernetes ${kube_versions[*]})"
dev_flags=()
for version in "${kube_versions[@]}"; do dev_flags+=(-k "$version"); done
if ! report=$(kubernetes-validate --strict --quiet "${dev_flags[@]}" dev/k8s/*.yaml 2>&1) || [ -n "$report" ]; then
    echo "$report" >&2
    failures+=("dev/k8s: kubernetes-validate")
fi

if [ ${#failures[@]} -gt 0 ]; then
    printf 'check-manifests: FAILED: %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "check-manifests: all overlays render, validate and pass checkov; dev/k8s validates"
