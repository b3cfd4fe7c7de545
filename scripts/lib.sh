# Shared set-up for the scripts that run clients we did not write (the real az CLI, the Azure Python SDK) against
# the emulator. Source it; it defines functions only and changes no shell option:
#
#   source "$(dirname "$0")/lib.sh"
#
# Outside the network namespace (may use the network, to install from PyPI):
#   ensure_az_venv VENV     az 2.91 in a venv (the CLI and SDK versions the docs describe), unless already there
#   ensure_sdk_venv VENV    the Azure Python SDK (containerservice, resource, identity, authorization), unless already there
# Inside `unshare -n` (loopback only; source the file again there, the heredoc is a new shell):
#   start_emulator BINARY WORK [ARGS...]   `aksctl emulator serve` in the background with its data in WORK/emulator;
#                                          sets `server` (its pid) and `ready` (its JSON ready line), fails if it
#                                          does not start; the caller's trap kills "$server"
#   ready_field NAME                       one field of the ready line (`resource_manager`, `ca_cert_file`, …)
#   start_loopback_emulator BINARY [ARGS...]
#                                          what every script does first in the namespace: loopback up, a `work`
#                                          directory, an EXIT trap that stops the emulator and removes `work`, then
#                                          start_emulator BINARY "$work" ARGS...

# How the shipped artefact is linked (scripts/release.sh, and scripts/bench.sh measures the same): glibc linked
# statically, so no dynamic loader runs at start-up, and a fixed-address (non-PIE) executable, so it does not
# relocate itself either: a static-pie aksctl wrote ~20,000 pointers into ~90 pages at every start, ~0.1-0.2 ms of
# the ~0.8 ms a kubectl exec-plugin call costs (BENCHMARKS.md, issue #17). The executable's own addresses are
# then not randomised (its stack, heap and mappings still are), as with kubectl's and kubelogin's release binaries
# (Go's default on linux/amd64); README.md, "Install", weighs it.
RELEASE_RUSTFLAGS=${RELEASE_RUSTFLAGS:-'-C target-feature=+crt-static -C relocation-model=static'}

# The az release the project mirrors (docs/az-behaviour.md); pip's version specifier.
AZ_CLI_REQUIREMENT='azure-cli>=2.91,<2.92'

# `--no-compile`: pip would compile every module of the venv to bytecode at install time, most of the install's
# CPU for azure-cli (157 s against 65 s without, on a 2-core machine with no pip cache). Python compiles what an
# import needs on first use and keeps it (the venv is writable), and az imports a small share of its modules.
pip_install() {
  local venv=$1
  shift
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-compile "$@"
}

ensure_az_venv() {
  local venv=$1
  if [ ! -x "$venv/bin/az" ]; then
    python3 -m venv "$venv"
    pip_install "$venv" "$AZ_CLI_REQUIREMENT"
  fi
}

ensure_sdk_venv() {
  local venv=$1
  if [ ! -x "$venv/bin/python" ] \
    || ! "$venv/bin/python" -c 'import azure.mgmt.containerservice, azure.identity, azure.mgmt.resource, azure.mgmt.authorization' 2>/dev/null; then
    python3 -m venv "$venv"
    pip_install "$venv" azure-mgmt-containerservice azure-identity azure-mgmt-resource \
      azure-mgmt-authorization
  fi
}

start_emulator() {
  local binary=$1 work=$2
  shift 2
  "$binary" emulator serve --data-dir "$work/emulator" "$@" > "$work/ready.json" 2> "$work/emulator.log" &
  server=$!
  for _ in $(seq 1 200); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
  ready=$(head -n 1 "$work/ready.json")
  if [ -z "$ready" ]; then
    echo "emulator did not start" >&2
    cat "$work/emulator.log" >&2
    return 1
  fi
}

ready_field() {
  python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$ready" "$1"
}

start_loopback_emulator() {
  local binary=$1
  shift
  ip link set lo up
  work=$(mktemp -d)
  trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
  start_emulator "$binary" "$work" "$@"
}
