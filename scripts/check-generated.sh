#!/usr/bin/env bash
# Every generated file is reproducible: regenerate it with its pinned generator and fail when the committed file
# differs (`git diff --exit-code`). Today:
# - crates/aks-model/src/az_attributes.rs from scripts/gen-az-attributes.py (azure-mgmt-containerservice 41.6.0,
#   the SDK az 2.91 ships), formatted by rustfmt;
# - tests/fixtures/table/knack-goldens.json from scripts/gen-table-goldens.py (knack and az 2.91's transformers);
# - tests/fixtures/yaml/pyyaml-goldens.json from scripts/gen-yaml-goldens.py (the PyYAML az 2.91 ships);
# - tests/fixtures/clouds/az-cloud-register-goldens.json from scripts/gen-cloud-goldens.py (az 2.91's own
#   `cloud register` code on a set of metadata answers).
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
# The goldens' generators write their files themselves (paths relative to the repository).
(cd "$root" && unshare -n "$venv/bin/python" scripts/gen-table-goldens.py > /dev/null)
(cd "$root" && unshare -n "$venv/bin/python" scripts/gen-yaml-goldens.py > /dev/null)
(cd "$root" && unshare -n "$venv/bin/python" scripts/gen-cloud-goldens.py > /dev/null)
goldens="tests/fixtures/table/knack-goldens.json tests/fixtures/yaml/pyyaml-goldens.json
  tests/fixtures/clouds/az-cloud-register-goldens.json"
# shellcheck disable=SC2086 # the list of paths is meant to split
git -C "$root" diff --exit-code -- "$target" $goldens
echo "generated files: up to date ($target $goldens)"
