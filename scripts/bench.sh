#!/usr/bin/env bash
# Benchmarks: aksctl against its anchors (the real az CLI 2.91), side by side in one run on one emulator, with
# hyperfine. Writes BENCHMARKS.md (medians and ratios) and prints it.
#
#   scripts/bench.sh           full run: release build linked statically as scripts/release.sh links it, az installed
#                              in target/az-venv (scripts/lib.sh, ensure_az_venv)
#   scripts/bench.sh --quick   few iterations, no az, small files: what CI runs so the harness cannot rot
#                              (BENCH_PROFILE=release: the same on a release build)
#   scripts/bench.sh --only ROW[,ROW]   only these rows of a full run (release, az), printed and written to
#                              target/bench/only.md (BENCHMARKS.md is left alone): get-token-azurecli (kubelogin
#                              -l azurecli on the shared login vs az), prompt-interactive (50 parallel cold kubectl),
#                              merge (one cluster into 500 to 50,000 contexts, with peak RSS), fleet (the 500-cluster
#                              and the 5,000-cluster/10-subscription migrations); BENCH_RUNS=N sets hyperfine's runs
#                              (default 20; aksctl gets ten times that in the rows of a few milliseconds)
#   BENCH_BINARY=PATH          (full run or --only) measure this aksctl instead of building one
#
# Everything runs inside `unshare -n` (loopback only). Needs hyperfine (Debian package).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/lib.sh"
quick=0; only=
case "${1:-}" in
  --quick) quick=1 ;;
  --only) only=${2:?"--only needs rows, e.g. --only get-token-azurecli,prompt-interactive"} ;;
esac
for row in ${only//,/ }; do
  case $row in get-token-azurecli|prompt-interactive|merge|fleet) ;; *) echo "bench.sh: unknown row '$row' for --only" >&2; exit 2 ;; esac
done
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
if [ $quick = 1 ]; then
  profile=${BENCH_PROFILE:-debug}; runs=3; warmup=1; sizes="500 5000 10000"
  cargo build --quiet $([ "$profile" = release ] && echo --release) --bin aksctl
  binary=$root/target/$profile/aksctl
else
  profile=release; runs=${BENCH_RUNS:-20}; warmup=3; sizes="500 5000 10000 20000 50000"
  # --only may measure another build (BENCH_PROFILE=debug: to try the harness, not for the table).
  [ -n "$only" ] && profile=${BENCH_PROFILE:-release}
  if [ -n "${BENCH_BINARY:-}" ]; then
    binary=$(realpath "$BENCH_BINARY") # a build made elsewhere, e.g. the other side of an A/B comparison
  elif [ "$profile" = release ]; then
    # The shipped artefact's code and linkage (scripts/release.sh, RELEASE_RUSTFLAGS in scripts/lib.sh), with the
    # release profile, left unstripped so that `perf` can name functions.
    RUSTFLAGS="${RUSTFLAGS:-} $RELEASE_RUSTFLAGS" \
      cargo build --quiet --release --target x86_64-unknown-linux-gnu --bin aksctl
    binary=$root/target/x86_64-unknown-linux-gnu/release/aksctl
  else
    cargo build --quiet --bin aksctl
    binary=$root/target/$profile/aksctl
  fi
  venv=${AZ_VENV:-$root/target/az-venv}
  ensure_az_venv "$venv"
fi
out=${BENCH_OUT:-$root/BENCHMARKS.md}
# The 32-parallel get-credentials count with the real az next to aksctl (its own emulator and `unshare -n`); the
# table lands in BENCHMARKS.md below the timings.
concurrency=$root/target/bench/az-concurrency.md
rm -f "$concurrency"
if [ $quick = 0 ] && [ -z "$only" ]; then
  AZ_VENV=$venv AZ_CONCURRENCY_OUT=$concurrency bash "$root/scripts/az-concurrency.sh" "$binary" > /dev/null
fi
[ $quick = 1 ] && out=${BENCH_OUT:-$root/target/BENCHMARKS.quick.md}
if [ -n "$only" ]; then
  mkdir -p "$root/target/bench"; out=${BENCH_OUT:-$root/target/bench/only.md}
  [[ ",$only," == *",merge,"* ]] || sizes=
fi

exec unshare -n bash -s "$binary" "${venv:-}" "$root" "$quick" "$runs" "$warmup" "$sizes" "$out" "$only" <<'INNER'
set -euo pipefail
binary=$1; venv=$2; root=$3; quick=$4; runs=$5; warmup=$6; sizes=$7; out=$8; only=$9
source "$root/scripts/lib.sh"
wanted() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
start_loopback_emulator "$binary" --retry-after 1
rm_url=$(ready_field resource_manager); tenant=$(ready_field tenant_id); client=$(ready_field client_id); secret=$(ready_field client_secret)
group=$(ready_field admin_group_id); ca=$(ready_field ca_cert_file)
mkdir -p "$work/home" "$work/config" "$work/az-home" "$work/az-config"
export HOME=$work/home AKSCTL_CONFIG_DIR=$work/config AZURE_CLIENT_ID=$client AZURE_CLIENT_SECRET=$secret AZURE_TENANT_ID=$tenant
export REQUESTS_CA_BUNDLE=$ca NO_PROXY=127.0.0.1,localhost RUST_BACKTRACE=0
export AZURE_CORE_COLLECT_TELEMETRY=false AZURE_CORE_SURVEY_MESSAGE=false AZURE_CORE_NO_COLOR=true AZURE_CORE_INSTANCE_DISCOVERY=false
"$binary" cloud register --name Local --endpoint-resource-manager "$rm_url"
"$binary" cloud set --name Local 2>/dev/null
"$binary" group create -n rg1 -l eastus > /dev/null
"$binary" aks create -g rg1 -n c1 --enable-aad --aad-admin-group-object-ids "$group" --no-ssh-key > /dev/null
have_az=0
if [ "$quick" = 0 ] && [ -x "$venv/bin/az" ]; then
  have_az=1
  printf '\xef\xbb\xbf{"versions": {"azure-cli": {"local": "2.91.0"}, "core": {"local": "2.91.0"}, "telemetry": {"local": "1.1.0"}}, "update_time": "%s"}' \
    "$(date -u '+%Y-%m-%d %H:%M:%S.000000')" > "$work/az-config/versionCheck.json"
  cat > "$work/az" <<AZ
#!/bin/sh
HOME=$work/az-home AZURE_CONFIG_DIR=$work/az-config exec $venv/bin/az "\$@"
AZ
  chmod +x "$work/az"
  "$work/az" cloud register -n Local --endpoint-resource-manager "$rm_url" > /dev/null
  "$work/az" cloud set -n Local 2>/dev/null
  "$work/az" login --service-principal -u "$client" -p "$secret" --tenant "$tenant" > /dev/null
  "$work/az" version > /dev/null
fi

# A kubeconfig with N unrelated contexts (servers on 127.0.0.1, never contacted).
make_kubeconfig() {
  python3 - "$1" "$2" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("apiVersion: v1\nclusters:\n")
    for i in range(n): f.write(f"- cluster:\n    server: https://127.0.0.1:{1000 + i % 50000}\n  name: cluster-{i}\n")
    f.write("contexts:\n")
    for i in range(n): f.write(f"- context:\n    cluster: cluster-{i}\n    user: user-{i}\n  name: context-{i}\n")
    f.write("current-context: context-0\nkind: Config\npreferences: {}\nusers:\n")
    for i in range(n): f.write(f"- name: user-{i}\n  user:\n    token: token-{i}\n")
PY
}

results=$work/results; mkdir -p "$results"
[ -f "$root/target/bench/az-concurrency.md" ] && cp "$root/target/bench/az-concurrency.md" "$results/"
# aksctl's runs, then the anchor's. OURS_RUNS=N before a row of a few milliseconds gives aksctl more runs (still a
# second or two) than the anchor's hundreds of milliseconds allow, so that a busy spell of the shared machine during
# 20 runs does not decide its median.
bench() { # name, command (aksctl), [anchor command], [prepare]
  local name=$1 ours=$2 anchor=${3:-} prepare=${4:-true}
  local common=(-N --warmup "$warmup" --prepare "$prepare")
  hyperfine "${common[@]}" --runs "${OURS_RUNS:-$runs}" --export-json "$results/$name.json" -n aksctl "$ours" \
    > "$results/$name.log" 2>&1 || { cat "$results/$name.log"; exit 1; }
  if [ -n "$anchor" ] && [ $have_az = 1 ]; then
    hyperfine "${common[@]}" --runs "$runs" --export-json "$results/$name.anchor.json" -n anchor "$anchor" \
      >> "$results/$name.log" 2>&1 || { cat "$results/$name.log"; exit 1; }
  fi
}
peak_rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }

if wanted all-rows; then
OURS_RUNS=$((runs * 10)) bench get-credentials-exec "$binary aks get-credentials -g rg1 -n c1 --format exec --file $work/kc-exec" \
  "$work/az aks get-credentials -g rg1 -n c1 --format exec --file $work/kc-exec" "rm -f $work/kc-exec"
OURS_RUNS=$((runs * 10)) bench get-credentials-azure "$binary aks get-credentials -g rg1 -n c1 --format azure --file $work/kc-azure" \
  "$work/az aks get-credentials -g rg1 -n c1 --format azure --file $work/kc-azure" "rm -f $work/kc-azure"
OURS_RUNS=$((runs * 10)) bench version "$binary --version" "$work/az version"
fi

# The exec plugin kubectl runs on every call, warm (token cache hit) vs what kubelogin's azurecli mode runs.
export AZURE_AUTHORITY_HOST=$(ready_field authority_host) KUBECACHEDIR=$work/kubelogin-cache
server_id=6dae42f8-4368-4678-94ff-3960e28e3630
wanted all-rows && OURS_RUNS=$((runs * 10)) bench get-token "$binary kubelogin get-token --login spn --server-id $server_id --client-id $client --tenant-id $tenant --environment AzurePublicCloud" \
  "$work/az account get-access-token --resource $server_id"

# The physical floor (issue #17): starting a process (`/bin/true`) and one loopback TLS request (curl of the same
# listClusterUserCredential POST with an ARM token fetched beforehand, trusting the emulator CA). The floor and
# aksctl alternate in rounds of hyperfine runs, so a busy spell on the shared machine hits both; the report takes
# the median of all runs of each.
if wanted all-rows; then
floor_rounds=$([ "$quick" = 1 ] && echo 2 || echo "${BENCH_FLOOR_ROUNDS:-10}")
floor_bench() { # name, floor command, aksctl command, [prepare]
  local name=$1 floor=$2 ours=$3 prepare=${4:-true} round
  for round in $(seq 1 "$floor_rounds"); do
    hyperfine -N --warmup "$warmup" --runs "$runs" --prepare "$prepare" --export-json "$results/$name.$round.json" \
      -n floor "$floor" -n aksctl "$ours" > "$results/$name.log" 2>&1 || { cat "$results/$name.log"; exit 1; }
  done
}
arm_token=$("$binary" kubelogin get-token --login spn --server-id https://management.core.windows.net/ --client-id "$client" \
  --tenant-id "$tenant" --client-secret "$secret" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["token"])')
# The token goes in a header file, so that it is in no command line or hyperfine record.
(umask 077; printf 'Authorization: Bearer %s\n' "$arm_token" > "$work/arm-auth")
credential_url="${rm_url%/}/subscriptions/$(ready_field subscription_id)/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1/listClusterUserCredential?api-version=2026-08-01"
floor_bench floor-version /bin/true "$binary --version"
floor_bench floor-get-token /bin/true "$binary kubelogin get-token --login spn --server-id $server_id --client-id $client --tenant-id $tenant --environment AzurePublicCloud"
floor_bench floor-get-credentials \
  "curl -sS --noproxy * --compressed --cacert $ca -X POST -H @$work/arm-auth -H Content-Length:0 -o $work/curl-credentials.json $credential_url" \
  "$binary aks get-credentials -g rg1 -n c1 --format exec --file $work/kc-floor" "rm -f $work/kc-floor"
fi

# One prompt for many processes: 50 kubectl started at once on a kubeconfig converted to `-l interactive`, with a
# cold token cache each round; a stand-in browser (curl, trusting the emulator's CA) follows the authorize redirect
# to the loopback listener and counts itself. Wall time of the whole round, prompts, failed kubectl.
mkdir -p "$work/bin"
ln -sf "$binary" "$work/bin/kubelogin"
cat > "$work/browser" <<BROWSER
#!/bin/sh
echo opened >> "\$BENCH_PROMPTS"
exec curl -sS --noproxy '*' --cacert "$ca" -L -o /dev/null "\$1"
BROWSER
chmod +x "$work/browser"
"$binary" aks get-credentials -g rg1 -n c1 --format exec --file "$work/kc-interactive" > /dev/null 2>&1
"$binary" kubelogin convert-kubeconfig --kubeconfig "$work/kc-interactive" -l interactive
prompt_rounds=$([ "$quick" = 1 ] && echo 2 || echo 5)
wanted prompt-interactive || prompt_rounds=0
for round in $(seq 1 "$prompt_rounds"); do
  rm -rf "$work/prompt-cache" "$work/prompts"; touch "$work/prompts"
  start=$(date +%s.%N)
  pids=()
  for _ in $(seq 1 50); do
    PATH=$work/bin:$PATH KUBECONFIG=$work/kc-interactive KUBECACHEDIR=$work/prompt-cache BROWSER=$work/browser \
      BENCH_PROMPTS=$work/prompts kubectl get nodes > /dev/null 2>> "$work/prompt.log" &
    pids+=($!)
  done
  failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
  end=$(date +%s.%N)
  echo "$start $end $(wc -l < "$work/prompts") $failed" >> "$results/prompt.txt"
done

# Long-running operations: the emulator answers InProgress once with Retry-After: 1, so every run waits 1 s.
if wanted all-rows; then
saved_runs=$runs; saved_warmup=$warmup; runs=$([ "$quick" = 1 ] && echo 2 || echo 5); warmup=0
bench create-lro "$binary aks create -g rg1 -n lro --no-ssh-key -o none" "$work/az aks create -g rg1 -n lro --no-ssh-key -o none" \
  "$binary aks delete -g rg1 -n lro --yes"
# `aks update --enable-aad` on a Kubernetes-RBAC cluster (no AAD), recreated before every run (not timed).
bench update-lro "$binary aks update -g rg1 -n upd --enable-aad --aad-admin-group-object-ids $group -o none" \
  "$work/az aks update -g rg1 -n upd --enable-aad --aad-admin-group-object-ids $group -o none" \
  "sh -c '$binary aks delete -g rg1 -n upd --yes 2>/dev/null; $binary aks create -g rg1 -n upd --no-ssh-key -o none'"
runs=$saved_runs; warmup=$saved_warmup
fi
# Fleet migration: N legacy clusters, every operation takes 2 s, ARM's write throttle on (bucket 200, 10/s).
mgmt() { # method, path, body (JSON text, or @file)
  python3 - "$(ready_field management)$2" "$1" "${3:-}" "$ca" <<'PY'
import json, ssl, sys, urllib.request
url, method, body, ca = sys.argv[1:5]
if body.startswith("@"):
    body = open(body[1:]).read()
request = urllib.request.Request(url, method=method, data=body.encode() if body else None, headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca)).read()
PY
}
# kubelogin's azurecli mode on the login shared with az: a person signs in with `aksctl login --use-device-code`
# (approved through the emulator) into an az configuration directory; aksctl then reads az's MSAL cache natively
# (no aksctl cache: a fresh --cache-dir for every run) while the anchor is az answering `az account
# get-access-token` from the same files. Both answer with the access token az's cache holds after the first
# (warm-up) run, with no request: aksctl finds it before building any HTTP client or async runtime.
if wanted get-token-azurecli; then
shared=$work/shared-az; mkdir -p "$shared"
printf '[cloud]\nname = Local\n' > "$shared/config"
if [ $have_az = 1 ]; then
  HOME=$work/az-home AZURE_CONFIG_DIR=$shared "$venv/bin/az" cloud register -n Local --endpoint-resource-manager "$rm_url" > /dev/null
  HOME=$work/az-home AZURE_CONFIG_DIR=$shared "$venv/bin/az" cloud set -n Local 2>/dev/null
fi
AZURE_CONFIG_DIR=$shared "$binary" login --use-device-code > /dev/null 2> "$work/shared-login.err" &
shared_login=$!
code=
for _ in $(seq 1 200); do
  code=$(grep -o 'enter the code [A-Z0-9]*' "$work/shared-login.err" | awk '{print $4}' || true)
  [ -n "$code" ] && break; sleep 0.05
done
[ -n "$code" ] || { echo "aksctl login printed no device code:"; cat "$work/shared-login.err"; exit 1; }
mgmt POST devicecode/approve "{\"user_code\": \"$code\", \"user\": \"$(ready_field user_name)\"}"
wait "$shared_login" || { echo "aksctl login --use-device-code failed:"; cat "$work/shared-login.err"; exit 1; }
# Both commands read the same az directory, set for the whole hyperfine run: an `env` in front of each command
# would add its own exec (≈ 0.5 ms, a fifth of aksctl's time) to both sides.
(
  export HOME=$work/az-home AZURE_CONFIG_DIR=$shared
  OURS_RUNS=$((runs * 10)) bench get-token-azurecli \
    "$binary kubelogin get-token -l azurecli --server-id $server_id --cache-dir $work/azurecli-cache" \
    "$venv/bin/az account get-access-token --resource $server_id" \
    "rm -rf $work/azurecli-cache"
)
fi

if wanted fleet; then
fleet=$([ "$quick" = 1 ] && echo 20 || echo 500); fleet_concurrency=64; lro_ms=2000; capacity=200; refill=10
python3 - "$fleet" "$group" "$tenant" > "$work/fleet.json" <<'PY'
import json, sys
n, group, tenant = int(sys.argv[1]), sys.argv[2], sys.argv[3]
clusters = [{"resource_group": "fleet", "name": f"legacy{i:03d}", "body": {
    "location": "eastus", "sku": {"name": "Base", "tier": "Standard"},
    "properties": {"dnsPrefix": f"legacy{i:03d}", "enableRBAC": True, "kubernetesVersion": "1.32",
        "aadProfile": {"clientAppID": "11111111-2222-3333-4444-000000000002", "serverAppID": "11111111-2222-3333-4444-000000000001",
                       "serverAppSecret": "bench-secret", "tenantID": tenant},
        "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "mode": "System"}]}}} for i in range(n)]
print(json.dumps({"resource_groups": [{"name": "fleet", "location": "eastus"}], "clusters": clusters}))
PY
mgmt POST seed "@$work/fleet.json"
mgmt PUT lro "{\"polls\": 0, \"retry_after_seconds\": 1, \"retry_after_ms\": 200, \"min_duration_ms\": $lro_ms}"
mgmt PUT throttle "{\"enabled\": true, \"capacity\": $capacity, \"refill_per_second\": $refill}"
start=$(date +%s.%N)
/usr/bin/time -f %M -o "$work/fleet-rss" "$binary" aks migrate --resource-group fleet --aad-admin-group-object-ids "$group" \
  --concurrency $fleet_concurrency --yes -o json > "$work/fleet-report.json" 2> "$work/fleet.log" || true
end=$(date +%s.%N)
migrated=$(python3 -c 'import json,sys; print(sum(1 for c in json.load(open(sys.argv[1]))["clusters"] if c["result"] == "migrated"))' "$work/fleet-report.json" 2>/dev/null || echo 0)
echo "$fleet $capacity $refill $lro_ms $fleet_concurrency $start $end $(tail -n 1 "$work/fleet-rss") $migrated" > "$results/fleet.txt"
mgmt PUT throttle '{"enabled": false}'
mgmt PUT lro '{"polls": 1, "retry_after_seconds": 1}'

# The fleet over many subscriptions (issue #17): N legacy clusters spread over S subscriptions of the emulator, each
# subscription with its own write throttle (bucket 200, 10/s), 2 s operations, --concurrency per subscription. The
# emulator's CPU time over the run shows whether it, rather than the throttle, bounds the run; its state and the
# journal show that no cluster was lost or migrated twice.
fleet=$([ "$quick" = 1 ] && echo 40 || echo 5000); subs=$([ "$quick" = 1 ] && echo 2 || echo 10)
python3 - "$fleet" "$subs" "$tenant" > "$work/fleet10.json" <<'PY'
import json, sys
n, subs, tenant = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ids = [f"00000000-0000-0000-0000-00000000f{s:03d}" for s in range(subs)]
clusters = [{"subscription": ids[i % subs], "resource_group": "fleet", "name": f"legacy{i:04d}", "body": {
    "location": "eastus", "sku": {"name": "Base", "tier": "Standard"},
    "properties": {"dnsPrefix": f"legacy{i:04d}", "enableRBAC": True, "kubernetesVersion": "1.32",
        "aadProfile": {"clientAppID": "11111111-2222-3333-4444-000000000002", "serverAppID": "11111111-2222-3333-4444-000000000001",
                       "serverAppSecret": "bench-secret", "tenantID": tenant},
        "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "mode": "System"}]}}} for i in range(n)]
print(json.dumps({"subscriptions": ids, "resource_groups": [{"subscription": s, "name": "fleet", "location": "eastus"} for s in ids],
                  "clusters": clusters}))
PY
mgmt POST seed "@$work/fleet10.json"
mgmt PUT lro "{\"polls\": 0, \"retry_after_seconds\": 1, \"retry_after_ms\": 200, \"min_duration_ms\": $lro_ms}"
mgmt PUT throttle "{\"enabled\": true, \"capacity\": $capacity, \"refill_per_second\": $refill}"
subscription_flags=$(python3 -c 'import json,sys; print(" ".join("--subscription " + s for s in json.load(open(sys.argv[1]))["subscriptions"]))' "$work/fleet10.json")
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
cpu_before=$(cpu); start=$(date +%s.%N)
/usr/bin/time -f %M -o "$work/fleet10-rss" "$binary" aks migrate $subscription_flags --resource-group fleet \
  --aad-admin-group-object-ids "$group" --concurrency $fleet_concurrency --journal "$work/fleet10.jsonl" --yes -o json \
  > "$work/fleet10-report.json" 2> "$work/fleet10.log" || true
end=$(date +%s.%N); cpu_after=$(cpu)
python3 - "$(ready_field management)state" "$ca" > "$work/fleet10-state.json" <<'PY'
import ssl, sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], context=ssl.create_default_context(cafile=sys.argv[2])).read().decode())
PY
check=$(python3 -c '
import collections, json, sys
state, journal = json.load(sys.stdin), sys.argv[1]
subscriptions = {s.lower() for s in json.load(open(sys.argv[2]))["subscriptions"]}
managed = [c["body"]["id"].lower() for c in state["clusters"] if c["body"]["id"].split("/")[2].lower() in subscriptions
           and (c["body"]["properties"].get("aadProfile") or {}).get("managed")]
accepted = collections.Counter(json.loads(l).get("cluster") or json.loads(l).get("id") for l in open(journal)
                               if json.loads(l).get("state") == "accepted")
print(len(set(managed)), sum(1 for c in accepted.values() if c > 1))' "$work/fleet10.jsonl" "$work/fleet10.json" < "$work/fleet10-state.json")
echo "$fleet $subs $capacity $refill $lro_ms $fleet_concurrency $start $end $(tail -n 1 "$work/fleet10-rss") $check $cpu_before $cpu_after $(getconf CLK_TCK) $(cut -d' ' -f1 /proc/loadavg)" > "$results/fleet10.txt"
mgmt PUT throttle '{"enabled": false}'
mgmt PUT lro '{"polls": 1, "retry_after_seconds": 1}'
fi

# The process's own peak RSS, for the merge rows' "above the process" (issue #17: ≤ 2× the file): the same command
# on a kubeconfig with empty lists.
if wanted merge && [ -n "$sizes" ]; then
  printf 'apiVersion: v1\nclusters: []\ncontexts: []\nkind: Config\nusers: []\n' > "$work/merge-empty"
  echo "$(peak_rss "$binary" aks get-credentials -g rg1 -n c1 --file "$work/merge-empty" --overwrite-existing)" > "$results/rss-baseline.txt"
fi
for n in $sizes; do
  wanted merge || break
  make_kubeconfig "$n" "$work/big-$n"
  anchor=""
  [ "$n" = 5000 ] && anchor="$work/az aks get-credentials -g rg1 -n c1 --file $work/merge-$n --overwrite-existing"
  bench "merge-$n" "$binary aks get-credentials -g rg1 -n c1 --file $work/merge-$n --overwrite-existing" "$anchor" "cp $work/big-$n $work/merge-$n"
  cp "$work/big-$n" "$work/merge-$n"
  echo "$n $(peak_rss "$binary" aks get-credentials -g rg1 -n c1 --file "$work/merge-$n" --overwrite-existing) $(stat -c %s "$work/big-$n")" >> "$results/rss.txt"
done

python3 - "$results" "$out" "$quick" "$have_az" "$sizes" "$only" <<'PY'
import json, os, sys, platform, datetime
results, out, quick, have_az, sizes, only = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1", sys.argv[5].split(), sys.argv[6]
def medians(name):
    data = json.load(open(f"{results}/{name}.json"))["results"]
    if os.path.exists(f"{results}/{name}.anchor.json"):
        data += json.load(open(f"{results}/{name}.anchor.json"))["results"]
    return {r["command"]: r["median"] for r in data}
def ms(x): return f"{x * 1000:.1f} ms" if x is not None else "–"
rows = []
def row(label, name, goal):
    if not os.path.exists(f"{results}/{name}.json"):
        return
    m = medians(name)
    ours, anchor = m.get("aksctl"), m.get("anchor")
    ratio = f"{anchor / ours:.1f}× faster" if ours and anchor else "–"
    rows.append(f"| {label} | {ms(ours)} | {ms(anchor)} | {ratio} | {goal} |")
row("`aks get-credentials --format exec`", "get-credentials-exec", "≥ 40× faster")
row("`aks get-credentials --format azure`", "get-credentials-azure", "≥ 40× faster")
row("`aksctl --version` cold start (anchor: `az version`)", "version", "≤ 5 ms")
row("warm exec plugin `kubelogin get-token` (cache hit; anchor: `az account get-access-token`)", "get-token", "≤ 3 ms")
row("`kubelogin get-token -l azurecli` on the login shared with az, no aksctl cache (anchor: `az account get-access-token`, same files)", "get-token-azurecli", "≥ 100× faster")
rounds = [line.split() for line in open(f"{results}/prompt.txt")] if os.path.exists(f"{results}/prompt.txt") else []
walls = sorted(float(end) - float(start) for start, end, _, _ in rounds)
prompts = sorted({int(p) for _, _, p, _ in rounds})
failed = sum(int(f) for _, _, _, f in rounds)
if rounds: rows.append(f"| 50 parallel cold `kubectl get nodes`, kubelogin `-l interactive` (wall time of the round) "
            f"| {walls[len(walls) // 2] * 1000:.0f} ms ({' or '.join(map(str, prompts))} prompt per round, "
            f"{failed} of {50 * len(rounds)} kubectl failed, {len(rounds)} rounds) | – | – | 1 prompt, all succeed |")
full = os.path.exists(f"{results}/create-lro.json")  # not with --only
if full:
    m = medians("create-lro")
    def overhead(x): return f"{(x - 1.0) * 1000:.0f} ms over the 1 s Retry-After" if x is not None else "–"
    rows.append(f"| `aks create --enable-aad` LRO (one 1 s Retry-After) | {ms(m.get('aksctl'))} ({overhead(m.get('aksctl'))}) | {ms(m.get('anchor'))} ({overhead(m.get('anchor'))}) | – | overhead ≤ 30 ms |")
    m = medians("update-lro")
    rows.append(f"| `aks update --enable-aad` LRO (one 1 s Retry-After) | {ms(m.get('aksctl'))} ({overhead(m.get('aksctl'))}) | {ms(m.get('anchor'))} ({overhead(m.get('anchor'))}) | – | overhead ≤ 30 ms |")
for n in sizes:
    row(f"merge one cluster into a kubeconfig of {int(n):,} contexts", f"merge-{n}", "≥ 120× faster (≤ 50 ms), linear" if n == "5000" else "linear")
if os.path.exists(f"{results}/fleet.txt"):
    n, capacity, refill, lro_ms, concurrency, start, end, fleet_rss_kb, migrated = open(f"{results}/fleet.txt").read().split()
    n, capacity, refill, lro_s, concurrency = int(n), int(capacity), float(refill), int(lro_ms) / 1000, int(concurrency)
    wall = float(end) - float(start)
    # The throttle lets `capacity` writes through at once, then `refill` per second; each cluster needs one write and
    # an operation of lro_s; with `concurrency` workers no faster than n / concurrency operations in a row.
    minimum = max(max(0, n - capacity) / refill + lro_s, -(-n // concurrency) * lro_s)
    rows.append(f"| fleet migration of {n} clusters ({lro_s:.0f} s LRO, write throttle {capacity} + {refill:.0f}/s, --concurrency {concurrency}) "
                f"| {wall:.1f} s ({migrated} of {n} migrated) | minimum {minimum:.1f} s (computed) | {wall / minimum:.2f}× the minimum | ≤ 1.2× the minimum |")
if os.path.exists(f"{results}/fleet10.txt"):
    (n, subs, capacity, refill, lro_ms, concurrency, start, end, rss_kb, managed, duplicated,
     cpu_before, cpu_after, ticks, load) = open(f"{results}/fleet10.txt").read().split()
    n, subs, capacity, refill, lro_s, concurrency = int(n), int(subs), int(capacity), float(refill), int(lro_ms) / 1000, int(concurrency)
    wall = float(end) - float(start)
    per = -(-n // subs)
    # Each subscription alone: its own bucket and --concurrency workers (the subscriptions run side by side).
    minimum = max(max(0, per - capacity) / refill + lro_s, -(-per // concurrency) * lro_s)
    emulator_cpu = (int(cpu_after) - int(cpu_before)) / int(ticks)
    rows.append(f"| fleet migration of {n:,} clusters over {subs} subscriptions ({lro_s:.0f} s LRO, write throttle {capacity} + {refill:.0f}/s each, "
                f"--concurrency {concurrency} per subscription) | {wall:.1f} s ({managed} of {n} managed in the emulator, {duplicated} migrated twice; "
                f"peak RSS {int(rss_kb) / 1024:.1f} MiB; emulator CPU {emulator_cpu:.1f} s = {emulator_cpu / wall * 100:.0f}% of one core; load {load}) "
                f"| minimum {minimum:.1f} s (computed) | {wall / minimum:.2f}× the minimum | ≤ 1.05×, ≤ 64 MiB, 0 lost or twice |")
rss = [line.split() for line in open(f"{results}/rss.txt")] if os.path.exists(f"{results}/rss.txt") else []
floor_rows = []
if full:
    def floor_medians(name):
        import glob, statistics
        times = {}
        for path in sorted(glob.glob(f"{results}/{name}.*.json")):
            for r in json.load(open(path))["results"]:
                times.setdefault(r["command"], []).extend(r["times"])
        return {command: statistics.median(values) for command, values in times.items()}, len(times.get("aksctl", []))
    for label, floor_label, name, goal in [
        ("`aksctl --version`", "`/bin/true`", "floor-version", 1.3),
        ("warm `kubelogin get-token` (cache hit)", "`/bin/true`", "floor-get-token", 1.6),
        ("`aks get-credentials --format exec`", "`curl` of the same listClusterUserCredential POST (token fetched before)", "floor-get-credentials", 1.5),
    ]:
        m, count = floor_medians(name)
        ratio = m["aksctl"] / m["floor"]
        floor_rows.append(f"| {label} | {ms(m['aksctl'])} | {floor_label} | {ms(m['floor'])} | {ratio:.2f}× | ≤ {goal}× | {count} |")
lines = [
    "# Benchmarks",
    "",
    f"Generated by `scripts/bench.sh{' --quick' if quick else ''}{' --only ' + only if only else ''}` on {datetime.date.today()} ({platform.machine()}, {os.cpu_count()} cores), "
    "hyperfine medians, aksctl and the anchor in the same run against the same emulator (inside `unshare -n`)."
    + ("" if have_az else " No anchor in this run."),
    "",
    "| row | aksctl | anchor (az 2.91) | ratio | goal |",
    "|---|---|---|---|---|",
    *rows,
    "",
]
if full:
    lines += ["Against the floor: the cost of starting a process and of one loopback TLS request. Floor and aksctl "
              "alternate in rounds of hyperfine runs in the same run; medians of all runs.", "",
              "| row | aksctl | floor | floor median | ratio to the floor | goal | runs each |",
              "|---|---|---|---|---|---|---|", *floor_rows, ""]
if os.path.exists(f"{results}/fleet.txt"):
    fleet = open(f"{results}/fleet.txt").read().split()
    lines += [f"Peak memory (max RSS) of the {fleet[0]}-cluster fleet run: {int(fleet[7]) / 1024:.1f} MiB.", ""]
if rss:
    base = int(open(f"{results}/rss-baseline.txt").read()) if os.path.exists(f"{results}/rss-baseline.txt") else None
    def above(kb, size):
        grown = max(int(kb) - base, 0)  # a small file's run can peak a page or two below the baseline's
        return "" if base is None else f", {grown / 1024:.1f} MiB above the process = {grown * 1024 / int(size):.1f}× the file"
    lines += ["Peak memory (max RSS) of one merge: " + ", ".join(
        f"{int(n):,} contexts {int(kb) / 1024:.1f} MiB (file {int(size) / 1048576:.1f} MiB{above(kb, size)})" for n, kb, size in rss)
        + ("" if base is None else f"; the process alone (empty lists) {base / 1024:.1f} MiB") + ".", ""]
if os.path.exists(f"{results}/az-concurrency.md"):
    lines += [open(f"{results}/az-concurrency.md").read().rstrip("\n"), ""]
if not full:  # --only: these rows alone, in their own file
    open(out, "w").write("\n".join(lines))
    print("\n".join(lines))
    sys.exit(0)
# The hand-written findings below the generated part survive a re-run.
previous = open(out).read() if os.path.exists(out) else ""
findings = previous.find("\n## Findings")
tail = previous[findings + 1:] if findings >= 0 else ""
open(out, "w").write("\n".join(lines) + ("\n" + tail if tail else ""))
print("\n".join(lines))
PY
INNER
