#!/usr/bin/env bash
# The 32-parallel get-credentials test (tests/it/concurrency.rs) measured with the real az CLI 2.91 and with
# aksctl: N clusters on the emulator, N `get-credentials` processes for N different clusters started at once into
# one kubeconfig (which already holds one unrelated context), then count the clusters' contexts still in the file
# and check that it is valid YAML. Repeated for a few rounds; prints a markdown table and writes it to
# target/bench/az-concurrency.md (scripts/bench.sh and BENCHMARKS.md pick it up from there).
#
#   scripts/az-concurrency.sh [AKSCTL_BINARY]     (default target/debug/aksctl)
#   ROUNDS=5 CLUSTERS=32 AZ_VENV=target/az-venv AZ_CONCURRENCY_OUT=target/bench/az-concurrency.md
#
# az is installed into a venv by scripts/lib.sh (ensure_az_venv). Everything runs inside `unshare -n` (loopback
# only): az contacts Microsoft hosts by itself otherwise (docs/az-behaviour.md, "Running the real az against the
# emulator").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath "${1:-$root/target/debug/aksctl}")
venv=${AZ_VENV:-$root/target/az-venv}
rounds=${ROUNDS:-5}
clusters=${CLUSTERS:-32}
out=${AZ_CONCURRENCY_OUT:-$root/target/bench/az-concurrency.md}
[ -x "$binary" ] || { echo "no aksctl binary at $binary (cargo build first)" >&2; exit 1; }
source "$root/scripts/lib.sh"
ensure_az_venv "$venv"
mkdir -p "$(dirname "$out")"
out=$(realpath "$out")

exec unshare -n bash -s "$binary" "$venv" "$rounds" "$clusters" "$out" "$root" <<'INNER'
set -euo pipefail
binary=$1; venv=$2; rounds=$3; clusters=$4; out=$5; root=$6
source "$root/scripts/lib.sh"
start_loopback_emulator "$binary" --retry-after 1
rm_url=$(ready_field resource_manager); tenant=$(ready_field tenant_id); client=$(ready_field client_id); secret=$(ready_field client_secret)
group=$(ready_field admin_group_id); ca=$(ready_field ca_cert_file); management=$(ready_field management)

# N AAD clusters, already Succeeded, through the emulator's management API (as the Rust test seeds them).
python3 - "$management" "$ca" "$clusters" "$group" <<'PY'
import json, ssl, sys, urllib.request
url, ca, n, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
clusters = [{"resource_group": "rg1", "name": f"c{i:02d}", "body": {
    "location": "eastus",
    "properties": {"dnsPrefix": f"c{i:02d}", "enableRBAC": True, "kubernetesVersion": "1.32",
        "aadProfile": {"managed": True, "adminGroupObjectIDs": [group]},
        "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "mode": "System"}]}}} for i in range(n)]
body = json.dumps({"resource_groups": [{"name": "rg1", "location": "eastus"}], "clusters": clusters}).encode()
request = urllib.request.Request(url + "seed", method="POST", data=body, headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca)).read()
PY

mkdir -p "$work/az-home" "$work/az-config" "$work/aksctl-home" "$work/aksctl-config"
printf '\xef\xbb\xbf{"versions": {"azure-cli": {"local": "2.91.0"}, "core": {"local": "2.91.0"}, "telemetry": {"local": "1.1.0"}}, "update_time": "%s"}' \
  "$(date -u '+%Y-%m-%d %H:%M:%S.000000')" > "$work/az-config/versionCheck.json"
export REQUESTS_CA_BUNDLE=$ca NO_PROXY=127.0.0.1,localhost
export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_SURVEY_MESSAGE=false AZURE_CORE_NO_COLOR=true AZURE_CORE_INSTANCE_DISCOVERY=false
az() { HOME=$work/az-home AZURE_CONFIG_DIR=$work/az-config "$venv/bin/az" "$@"; }
aksctl() {
  HOME=$work/aksctl-home AKSCTL_CONFIG_DIR=$work/aksctl-config AZURE_CLIENT_ID=$client AZURE_CLIENT_SECRET=$secret \
    AZURE_TENANT_ID=$tenant RUST_BACKTRACE=0 "$binary" "$@"
}
az cloud register -n Local --endpoint-resource-manager "$rm_url" >/dev/null
az cloud set -n Local 2>/dev/null
az login --service-principal -u "$client" -p "$secret" --tenant "$tenant" >/dev/null
aksctl cloud register --name Local --endpoint-resource-manager "$rm_url"
aksctl cloud set --name Local 2>/dev/null
# One warm-up each (token caches filled, first-run notices printed), into a throw-away file.
az aks get-credentials -g rg1 -n c00 --file "$work/warmup-az" 2>/dev/null
aksctl aks get-credentials -g rg1 -n c00 --file "$work/warmup-aksctl" 2>/dev/null

unrelated="apiVersion: v1
clusters:
- cluster: {server: 'https://127.0.0.1:1'}
  name: keep
contexts:
- context: {cluster: keep, user: keep}
  name: keep
current-context: keep
kind: Config
preferences: {}
users:
- name: keep
  user: {token: keep-token}
"
for round in $(seq 1 "$rounds"); do
  for tool in az aksctl; do
    file=$work/kc-$tool-$round
    printf '%s' "$unrelated" > "$file"
    chmod 600 "$file"
    pids=()
    for i in $(seq 0 $((clusters - 1))); do
      name=$(printf 'c%02d' "$i")
      "$tool" aks get-credentials -g rg1 -n "$name" --file "$file" > "$work/$tool-$round-$name.out" 2> "$work/$tool-$round-$name.err" &
      pids+=($!)
    done
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
    echo "$failed" > "$file.failed"
    echo "round $round $tool: $failed of $clusters processes failed" >&2
  done
done

"$venv/bin/python" - "$work" "$rounds" "$clusters" "$out" <<'PY'
import glob, os, statistics, sys, yaml
work, rounds, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
expected = {f"c{i:02d}" for i in range(n)}
rows = []
for tool, label in (("az", "az 2.91 (`az aks get-credentials`)"), ("aksctl", "aksctl (`aksctl aks get-credentials`)")):
    kept, valid, keep_ok, failed, errors = [], 0, 0, 0, {}
    for round in range(1, rounds + 1):
        path = f"{work}/kc-{tool}-{round}"
        failed += int(open(path + ".failed").read())
        for err in glob.glob(f"{work}/{tool}-{round}-*.err"):
            for line in open(err, errors="replace"):
                if line.startswith("ERROR") or line.startswith("Error") or "Traceback" in line:
                    errors[line.strip()[:160]] = errors.get(line.strip()[:160], 0) + 1
        try:
            doc = yaml.safe_load(open(path))
            contexts = {c.get("name") for c in (doc or {}).get("contexts") or []}
            valid += 1 if isinstance(doc, dict) else 0
        except yaml.YAMLError:
            contexts = set()
        kept.append(len(contexts & expected))
        keep_ok += "keep" in contexts
    rows.append(f"| {label} | {rounds} | {min(kept)} / {statistics.median(kept):g} / {max(kept)} of {n} "
                f"| {' '.join(map(str, kept))} | {'yes' if valid == rounds else f'no ({rounds - valid} of {rounds} not)'} "
                f"| {keep_ok} of {rounds} | {failed} of {rounds * n} |")
    for line, count in sorted(errors.items(), key=lambda item: -item[1])[:5]:
        print(f"{tool}: {count} × {line}", file=sys.stderr)
table = "\n".join([
    f"{n} `get-credentials` processes for {n} different clusters started at once into one kubeconfig (which already "
    "holds one unrelated context `keep`), on the emulator inside `unshare -n`; contexts of the clusters present "
    "in the file afterwards (`scripts/az-concurrency.sh`).",
    "",
    "| tool | rounds | contexts kept: min / median / max | each round | valid YAML every round | `keep` kept | processes failed |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    *rows,
    "",
])
print(table)
with open(out, "w") as f:
    f.write(table)
PY
INNER
