#!/usr/bin/env bash
# Every generated file is reproducible: regenerate it with its pinned generator and fail when the committed file
# differs (`git diff --exit-code`). Today: crates/aks-model/src/az_attributes.rs from scripts/gen-az-attributes.py
# (azure-mgmt-containerservice 41.6.0, the SDK az 2.91 ships), formatted by rustfmt.
#
# The SDK is imported inside `unshare -n` (loopback only). Usage: scripts/check-generated.sh   (AZ_VENV to reuse a venv)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${AZ_VENV:-$root/target/az-venv}
source "$root/scripts/lib.sh"
ensure_az_venv "$venv"

target=crates/aks-model/src/az_attributes.rs
generated=$(mktemp)
trap 'rm -f "$generated"' EXIT
unshare -n "$venv/bin/python" "$root/scripts/gen-az-attributes.py" > "$generated"
rustfmt --edition 2024 < "$generated" > "$root/$target"
git -C "$root" diff --exit-code -- "$target"
echo "generated files: up to date ($target)"
