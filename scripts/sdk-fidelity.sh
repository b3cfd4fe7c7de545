#!/usr/bin/env bash
# Fidelity with a client we did not write: the official Azure Python SDK (azure-mgmt-containerservice,
# azure-mgmt-resource, azure-mgmt-authorization, azure-identity from PyPI) drives the emulator: resource group,
# cluster create LRO (begin_create_or_update().result()), user credentials in exec and azure format, admin
# credentials, role definitions and role assignments on the cluster, list, delete.
#
# The SDK and the emulator run inside `unshare -n` (a network namespace with only loopback), so nothing can leave
# the machine. Usage: scripts/sdk-fidelity.sh [path/to/aksctl]   (default: target/debug/aksctl)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath "${1:-$root/target/debug/aksctl}")
venv=${SDK_VENV:-$root/target/sdk-venv}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import azure.mgmt.containerservice, azure.identity, azure.mgmt.resource, azure.mgmt.authorization' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check azure-mgmt-containerservice azure-identity azure-mgmt-resource \
    azure-mgmt-authorization
fi

exec unshare -n bash -s "$binary" "$venv" "$root" <<'INNER'
set -euo pipefail
binary=$1; venv=$2; root=$3
ip link set lo up
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
"$binary" emulator serve --data-dir "$work/emulator" > "$work/ready.json" 2> "$work/emulator.log" &
server=$!
for _ in $(seq 1 200); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
ready=$(head -n 1 "$work/ready.json")
[ -n "$ready" ] || { echo "emulator did not start"; cat "$work/emulator.log"; exit 1; }
export REQUESTS_CA_BUNDLE=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ca_cert_file"])' "$ready")
export HTTPS_PROXY= HTTP_PROXY= NO_PROXY=127.0.0.1,localhost
"$venv/bin/python" "$root/scripts/sdk_fidelity.py" "$ready"
INNER
