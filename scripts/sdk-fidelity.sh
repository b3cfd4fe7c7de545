#!/usr/bin/env bash
# Fidelity with a client we did not write: the official Azure Python SDK (azure-mgmt-containerservice,
# azure-mgmt-resource, azure-identity from PyPI) drives the emulator: resource group, cluster create LRO
# (begin_create_or_update().result()), user credentials in exec and azure format, admin credentials, list, delete.
#
# The SDK and the emulator run inside `unshare -n` (a network namespace with only loopback), so nothing can leave
# the machine. Usage: scripts/sdk-fidelity.sh [path/to/aksctl]   (default: target/debug/aksctl)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath "${1:-$root/target/debug/aksctl}")
venv=${SDK_VENV:-$root/target/sdk-venv}
source "$root/scripts/lib.sh"
ensure_sdk_venv "$venv"

exec unshare -n bash -s "$binary" "$venv" "$root" <<'INNER'
set -euo pipefail
binary=$1; venv=$2; root=$3
source "$root/scripts/lib.sh"
start_loopback_emulator "$binary"
export REQUESTS_CA_BUNDLE=$(ready_field ca_cert_file)
export HTTPS_PROXY= HTTP_PROXY= NO_PROXY=127.0.0.1,localhost
"$venv/bin/python" "$root/scripts/sdk_fidelity.py" "$ready"
INNER
