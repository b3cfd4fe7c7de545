#!/usr/bin/env bash
# Conformance with the real Azure CLI: az 2.91 (installed from PyPI into a venv) runs the guide against the aksctl
# emulator — cloud register (endpoint discovery), service-principal login, group create, aks create --enable-aad,
# aks get-credentials --format azure|exec — and aksctl runs the same commands against the same emulator; the
# outputs are compared (shape of `aks show`, the resource group, the kubeconfig users, and the `-o table` of every
# command aksctl shares with az). Then a person signs in with `az login --use-device-code` (no --tenant: the
# `organizations` authority), approved through the emulator.
#
# Everything runs inside `unshare -n` (loopback only): az contacts Microsoft hosts by itself otherwise
# (telemetry, version checks, instance discovery). Usage: scripts/az-conformance.sh [path/to/aksctl]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=$(realpath "${1:-$root/target/debug/aksctl}")
venv=${AZ_VENV:-$root/target/az-venv}

source "$root/scripts/lib.sh"
ensure_az_venv "$venv"

exec unshare -n bash -s "$binary" "$venv" "$root" <<'INNER'
set -euo pipefail
binary=$1; venv=$2; root=$3
source "$root/scripts/lib.sh"
start_loopback_emulator "$binary" --retry-after 1
rm_url=$(ready_field resource_manager); tenant=$(ready_field tenant_id); client=$(ready_field client_id); secret=$(ready_field client_secret)
group=$(ready_field admin_group_id); ca=$(ready_field ca_cert_file)

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
step() { echo "+ $*" >&2; }

step az cloud register; az cloud register -n Local --endpoint-resource-manager "$rm_url" >/dev/null
az cloud set -n Local 2>/dev/null
step az login; az login --service-principal -u "$client" -p "$secret" --tenant "$tenant" > "$work/az-login.json"
step az group create; az group create -n rg1 -l centralus > "$work/az-group.json"
step az aks create; az aks create -g rg1 -n azc --enable-aad --aad-admin-group-object-ids "$group" --generate-ssh-keys > "$work/az-create.json"
step az aks show; az aks show -g rg1 -n azc > "$work/az-show.json"
az aks show -g rg1 -n azc -o yaml > "$work/az-show.yaml"
step az aks get-credentials; az aks get-credentials -g rg1 -n azc --format azure --file "$work/az-kc-azure" 2> "$work/az-gc.err"
az aks get-credentials -g rg1 -n azc --format exec --file "$work/az-kc-exec" 2>> "$work/az-gc.err"

step aksctl cloud register; aksctl cloud register --name Local --endpoint-resource-manager "$rm_url"
aksctl cloud set --name Local 2>/dev/null
# `aksctl account …` reads az's files (here the aksctl side's own ~/.azure), so aksctl logs in as az did.
step aksctl login --service-principal
aksctl login --service-principal -u "$client" -p "$secret" --tenant "$tenant" > "$work/aksctl-login.json" 2>/dev/null
step aksctl group create; aksctl group create -n rg2 -l centralus > "$work/aksctl-group.json"
step aksctl aks create; aksctl aks create -g rg2 -n azc --enable-aad --aad-admin-group-object-ids "$group" --generate-ssh-keys > "$work/aksctl-create.json" 2>/dev/null
step aksctl aks show; aksctl aks show -g rg2 -n azc > "$work/aksctl-show.json"
aksctl aks show -g rg2 -n azc -o yaml > "$work/aksctl-show.yaml"
step aksctl aks get-credentials; aksctl aks get-credentials -g rg2 -n azc --format azure --file "$work/aksctl-kc-azure" 2> "$work/aksctl-gc.err"
aksctl aks get-credentials -g rg2 -n azc --format exec --file "$work/aksctl-kc-exec" 2>> "$work/aksctl-gc.err"

# -o table, command by command, for every aksctl command with an az counterpart (the transformer's columns where az
# has one, knack's automatic table elsewhere). Each tool creates its own resources (tables/az-*, tables/aksctl-*).
step "-o table for every command"; mkdir -p "$work/tables"
tables() {  # tables WHO RG CLUSTER GROUP-NAME: run WHO's commands, one table file per command
  local who=$1 rg=$2 cluster=$3 adg=$4 run
  if [ "$who" = az ]; then run=az; else run=aksctl; fi
  local t="$work/tables/$who"
  $run group create -n "$rg-t" -l centralus -o table > "$t-group-create" 2>/dev/null
  $run group show -n "$rg" -o table > "$t-group-show"
  $run group list -o table > "$t-group-list"
  $run aks create -g "$rg-t" -n "$cluster" --generate-ssh-keys -o table > "$t-aks-create" 2>/dev/null
  $run aks update -g "$rg-t" -n "$cluster" --enable-aad --aad-admin-group-object-ids "$group" -o table > "$t-aks-update" 2>/dev/null
  $run aks show -g "$rg" -n azc -o table > "$t-aks-show"
  $run aks list -o table > "$t-aks-list"
  $run aks show -g "$rg" -n azc --query '{Name: name, Managed: aadProfile.managed}' -o table > "$t-aks-show-query"
  $run account show -o table > "$t-account-show"
  $run account list -o table > "$t-account-list"
  $run cloud show -o table > "$t-cloud-show"
  $run cloud list -o table > "$t-cloud-list"
  $run ad group create --display-name "$adg" --mail-nickname "$adg" -o table > "$t-ad-group-create"
  $run ad group show -g "$adg" -o table > "$t-ad-group-show"
  $run ad group list --display-name "$adg" -o table > "$t-ad-group-list"
  $run ad group member check -g "$adg" --member-id "$group" -o table > "$t-ad-group-member-check"
  $run ad group member list -g "$adg" -o table > "$t-ad-group-member-list"
}
tables az rg1 azt az-team
tables aksctl rg2 aksctlt aksctl-team

python3 - "$work" <<'PY'
import json, sys, re
work = sys.argv[1]
def load(name): return json.load(open(f"{work}/{name}"))
failures, notes = [], []
def same(what, a, b):
    if a != b: failures.append(f"{what}: az={a!r} aksctl={b!r}")

az_group, our_group = load("az-group.json"), load("aksctl-group.json")
same("group keys", sorted(az_group), sorted(our_group))
same("group properties", az_group["properties"], our_group["properties"])
for name in ("az-create.json", "az-show.json"):
    doc = load(name)
    same(f"{name} provisioningState", doc["provisioningState"], "Succeeded")
az_show, our_show = load("az-show.json"), load("aksctl-show.json")
same("aadProfile", az_show["aadProfile"], our_show["aadProfile"])
for key in ("enableRbac", "disableLocalAccounts", "location", "kubernetesVersion", "type", "sku"):
    same(key, az_show.get(key), our_show.get(key))
missing = sorted(set(az_show) - set(our_show)); extra = sorted(set(our_show) - set(az_show))
if missing or extra:
    failures.append(f"top-level keys only az prints: {missing}; only aksctl prints: {extra}")
def paths(value, prefix=""):
    if isinstance(value, dict):
        for key, child in value.items():
            yield f"{prefix}.{key}"
            yield from paths(child, f"{prefix}.{key}")
    elif isinstance(value, list):
        for child in value:
            yield from paths(child, f"{prefix}[]")
nested_missing = sorted(set(paths(az_show)) - set(paths(our_show)))
nested_extra = sorted(set(paths(our_show)) - set(paths(az_show)))
if nested_missing or nested_extra:
    failures.append(f"nested keys only az prints: {nested_missing}; only aksctl prints: {nested_extra}")
for note in notes: print("note:", note)
if failures:
    raise SystemExit("az conformance FAILED:\n" + "\n".join(failures))
PY
"$venv/bin/python" - "$work" <<'PY'
import json, sys, yaml
work = sys.argv[1]
failures = []
# -o yaml is yaml.safe_dump of the -o json document, byte for byte, for az and for aksctl.
for who in ("az", "aksctl"):
    with open(f"{work}/{who}-show.json", encoding="utf-8") as file:
        expected = yaml.safe_dump(json.load(file), default_flow_style=False, allow_unicode=True)
    with open(f"{work}/{who}-show.yaml", encoding="utf-8") as file:
        if file.read() != expected:
            failures.append(f"{who} aks show -o yaml differs from yaml.safe_dump of its -o json")
for fmt in ("azure", "exec"):
    az = yaml.safe_load(open(f"{work}/az-kc-{fmt}"))
    ours = yaml.safe_load(open(f"{work}/aksctl-kc-{fmt}"))
    az_user = az["users"][0]["user"]; our_user = ours["users"][0]["user"]
    if az_user != our_user:
        failures.append(f"{fmt} user differs: az={az_user} aksctl={our_user}")
    if az["current-context"] != ours["current-context"]:
        failures.append(f"{fmt} current-context: {az['current-context']} vs {ours['current-context']}")
if failures:
    raise SystemExit("az conformance FAILED:\n" + "\n".join(failures))
PY
python3 - "$work/tables" <<'PY'
import os, sys
directory = sys.argv[1]
failures = []
def header(text): return text.splitlines()[0].split() if text.strip() else []
for name in sorted(os.listdir(directory)):
    if not name.startswith("az-"):
        continue
    command = name[3:]
    az = open(os.path.join(directory, name)).read()
    ours = open(os.path.join(directory, "aksctl-" + command)).read()
    # Values differ (names, ids, times); the columns must not, nor the row count of a command about one resource
    # (lists are taken at different moments; az 2.91 also knows one cloud more, AzureBleuCloud).
    rows_differ = not command.endswith("-list") and len(az.splitlines()) != len(ours.splitlines())
    if header(az) != header(ours) or rows_differ:
        failures.append(f"{command} -o table:\n--- az\n{az}--- aksctl\n{ours}")
if failures:
    raise SystemExit("az conformance FAILED (tables):\n" + "\n".join(failures))
print(f"tables: {len([n for n in os.listdir(directory) if n.startswith('az-')])} commands match az")
PY
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
# --generate-ssh-keys: the public key file is written as az writes it, and keyData is that file as read.
az_key = open(f"{work}/az-home/.ssh/id_rsa.pub").read()
our_key = open(f"{work}/aksctl-home/.ssh/id_rsa.pub").read()
shape = lambda key: (key.split(" ")[0], len(key.split(" ")), key.endswith("\n"))
if shape(az_key) != shape(our_key):
    raise SystemExit(f"az conformance FAILED: id_rsa.pub shape az={shape(az_key)} aksctl={shape(our_key)}")
for who, key in (("az", az_key), ("aksctl", our_key)):
    sent = json.load(open(f"{work}/{who}-create.json"))["linuxProfile"]["ssh"]["publicKeys"][0]["keyData"]
    if sent != key:
        raise SystemExit(f"az conformance FAILED: {who} keyData is not its id_rsa.pub as read")
PY
az_merged=$(grep -c 'Merged "azc" as current context' "$work/az-gc.err" || true)
our_merged=$(grep -c 'Merged "azc" as current context' "$work/aksctl-gc.err" || true)
[ "$az_merged" = 2 ] && [ "$our_merged" = 2 ] || { echo "Merged lines: az=$az_merged aksctl=$our_merged"; cat "$work/az-gc.err" "$work/aksctl-gc.err"; exit 1; }
# kubelogin's azurecli mode with the real az logged in to the emulator: kubectl → kubelogin (aksctl) → az.
step kubelogin azurecli + kubectl get nodes
mkdir -p "$work/bin" "$work/kube-home"
ln -s "$binary" "$work/bin/kubelogin"
printf '#!/bin/sh\nHOME=%s AZURE_CONFIG_DIR=%s exec %s "$@"\n' "$work/az-home" "$work/az-config" "$venv/bin/az" > "$work/bin/az"
chmod +x "$work/bin/az"
cp "$work/aksctl-kc-exec" "$work/kc-azurecli"
PATH=$work/bin:$PATH "$work/bin/kubelogin" convert-kubeconfig -l azurecli --kubeconfig "$work/kc-azurecli"
grep -q -- "azurecli" "$work/kc-azurecli"
nodes=$(PATH=$work/bin:$PATH HOME=$work/kube-home KUBECACHEDIR=$work/kube-home/cache \
  kubectl get nodes --kubeconfig "$work/kc-azurecli" -o name)
echo "$nodes" | grep -q '^node/aks-nodepool1-' || { echo "kubectl get nodes through azurecli failed: $nodes"; exit 1; }

# A person signs in with the real az: `az login --use-device-code` without --tenant (authority `organizations`),
# the code approved through the emulator's management API while az polls, then `az account show` and
# `az account get-access-token` act as that person in their home tenant.
step az login --use-device-code as the developer
dev_user=$(ready_field dev_user_name); management=$(ready_field management)
mkdir -p "$work/az-user-home" "$work/az-user-config"
cp "$work/az-config/versionCheck.json" "$work/az-user-config/"
azu() { HOME=$work/az-user-home AZURE_CONFIG_DIR=$work/az-user-config "$venv/bin/az" "$@"; }
azu cloud register -n Local --endpoint-resource-manager "$rm_url" >/dev/null
azu cloud set -n Local 2>/dev/null
azu login --use-device-code > "$work/az-user-login.json" 2> "$work/az-user-login.err" &
login=$!
code=
for _ in $(seq 1 600); do
  code=$(grep -o 'enter the code [A-Z0-9]*' "$work/az-user-login.err" | awk '{print $4}' || true)
  [ -n "$code" ] && break
  kill -0 "$login" 2>/dev/null || break
  sleep 0.1
done
[ -n "$code" ] || { echo "az printed no device code:"; cat "$work/az-user-login.err"; exit 1; }
grep -qF "To sign in, use a web browser to open the page ${rm_url}devicelogin and enter the code $code to authenticate." \
  "$work/az-user-login.err" || { echo "az's device-code message does not name the emulator's page:"; cat "$work/az-user-login.err"; exit 1; }
curl -sSf --cacert "$ca" -H 'content-type: application/json' -X POST "${management}devicecode/approve" \
  -d "{\"user_code\": \"$code\", \"user\": \"$dev_user\"}" > /dev/null
wait "$login" || { echo "az login --use-device-code failed:"; cat "$work/az-user-login.err"; exit 1; }
azu account show > "$work/az-user-account.json"
azu account get-access-token > "$work/az-user-token.json"
python3 - "$work" "$dev_user" "$tenant" <<'PY'
import base64, json, sys
work, user, tenant = sys.argv[1:]
failures = []
login = json.load(open(f"{work}/az-user-login.json"))
account = json.load(open(f"{work}/az-user-account.json"))
token = json.load(open(f"{work}/az-user-token.json"))
if [entry["user"] for entry in login] != [{"name": user, "type": "user"}]:
    failures.append(f"az login printed {login}")
if account["user"] != {"name": user, "type": "user"} or account["tenantId"] != tenant:
    failures.append(f"az account show: {account}")
payload = token["accessToken"].split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
if (claims.get("upn"), claims.get("tid")) != (user, tenant):
    failures.append(f"token upn/tid: {claims.get('upn')}/{claims.get('tid')}, expected {user}/{tenant}")
if token["tenant"] != tenant:
    failures.append(f"az account get-access-token tenant: {token['tenant']}")
if failures:
    raise SystemExit("az user sign-in FAILED:\n" + "\n".join(failures))
PY

# The login is shared both ways. aksctl reads az's person login (the one above) with no az anywhere on PATH...
step aksctl account show and get-access-token on the login az made, no az on PATH
aksctl_person() {  # aksctl as a person: no environment credential, az's config dir $1, a PATH without az
  local config=$1; shift
  env -u AZURE_CLIENT_ID -u AZURE_CLIENT_SECRET -u AZURE_TENANT_ID PATH=/usr/bin:/bin HOME=$work/aksctl-home \
    AKSCTL_CONFIG_DIR=$work/aksctl-config AZURE_CONFIG_DIR=$config RUST_BACKTRACE=0 "$binary" "$@"
}
if env PATH=/usr/bin:/bin sh -c 'command -v az' >/dev/null; then echo "an az is on /usr/bin:/bin"; exit 1; fi
aksctl_person "$work/az-user-config" account show > "$work/aksctl-reads-az-account.json"
aksctl_person "$work/az-user-config" account get-access-token > "$work/aksctl-reads-az-token.json"
# ...and the real az reads a person login made by `aksctl login --use-device-code` (approved as the admin).
step aksctl login --use-device-code, then az account show/get-access-token
admin_user=$(ready_field user_name)
mkdir -p "$work/shared-home" "$work/shared-config"
cp "$work/az-config/versionCheck.json" "$work/shared-config/"
azs() { HOME=$work/shared-home AZURE_CONFIG_DIR=$work/shared-config "$venv/bin/az" "$@"; }
azs cloud register -n Local --endpoint-resource-manager "$rm_url" >/dev/null
azs cloud set -n Local 2>/dev/null
aksctl_person "$work/shared-config" login --use-device-code > "$work/aksctl-user-login.json" 2> "$work/aksctl-user-login.err" &
login=$!
code=
for _ in $(seq 1 600); do
  code=$(grep -o 'enter the code [A-Z0-9]*' "$work/aksctl-user-login.err" | awk '{print $4}' || true)
  [ -n "$code" ] && break
  kill -0 "$login" 2>/dev/null || break
  sleep 0.1
done
[ -n "$code" ] || { echo "aksctl printed no device code:"; cat "$work/aksctl-user-login.err"; exit 1; }
curl -sSf --cacert "$ca" -H 'content-type: application/json' -X POST "${management}devicecode/approve" \
  -d "{\"user_code\": \"$code\", \"user\": \"$admin_user\"}" > /dev/null
wait "$login" || { echo "aksctl login --use-device-code failed:"; cat "$work/aksctl-user-login.err"; exit 1; }
azs account show < /dev/null > "$work/az-reads-aksctl-account.json"
azs account get-access-token < /dev/null > "$work/az-reads-aksctl-token.json"
python3 - "$work" "$dev_user" "$admin_user" "$tenant" <<'PY'
import base64, json, sys
work, dev, admin, tenant = sys.argv[1:]
failures = []
def upn(path):
    token = json.load(open(path))["accessToken"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))).get("upn")
for who, user, prefix in (("aksctl reading az", dev, "aksctl-reads-az"), ("az reading aksctl", admin, "az-reads-aksctl")):
    account = json.load(open(f"{work}/{prefix}-account.json"))
    if account["user"] != {"name": user, "type": "user"} or account["tenantId"] != tenant:
        failures.append(f"{who}: account show {account}")
    if account.get("environmentName") != "Local":
        failures.append(f"{who}: environmentName {account.get('environmentName')}")
    if upn(f"{work}/{prefix}-token.json") != user:
        failures.append(f"{who}: token upn {upn(f'{work}/{prefix}-token.json')}, expected {user}")
    token = json.load(open(f"{work}/{prefix}-token.json"))
    if sorted(token) != ["accessToken", "expiresOn", "expires_on", "subscription", "tenant", "tokenType"]:
        failures.append(f"{who}: get-access-token keys {sorted(token)}")
login = json.load(open(f"{work}/aksctl-user-login.json"))
if [entry["user"] for entry in login] != [{"name": admin, "type": "user"}] or "cloudName" not in login[0]:
    failures.append(f"aksctl login printed {login}")
if failures:
    raise SystemExit("shared login FAILED:\n" + "\n".join(failures))
print("shared login: az reads aksctl's login and aksctl reads az's")
PY
# `az role assignment create|list|delete` and `az role definition list` (issue #14 point 3) against the emulator,
# and aksctl's JSON for the same state: the same definitions; the same list (principalName and roleDefinitionName
# filled in client-side) after az creates an assignment and after aksctl creates it; create outputs equal but for
# the new assignment's name/id and its timestamps.
role_conformance() {
  step "role assignment create/list/delete and role definition list, az and aksctl"
  local nonadmin scope role="Azure Kubernetes Service Cluster Admin Role" r="$work/role"
  nonadmin=$(ready_field nonadmin_client_id)
  scope=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/az-show.json")
  mkdir -p "$r"
  az role definition list --name "$role" > "$r/az-definitions.json"
  aksctl role definition list --name "$role" > "$r/aksctl-definitions.json"
  az role assignment create --assignee "$nonadmin" --role "$role" --scope "$scope" > "$r/az-create.json"
  az role assignment create --assignee "$nonadmin" --role "$role" --scope "$scope" > "$r/az-create-again.json"
  aksctl role assignment create --assignee "$nonadmin" --role "$role" --scope "$scope" > "$r/aksctl-create-again.json"
  az role assignment list --scope "$scope" > "$r/az-list-1.json"
  aksctl role assignment list --scope "$scope" > "$r/aksctl-list-1.json"
  az role assignment list --scope "$scope" -o table > "$r/az-list.table"
  aksctl role assignment list --scope "$scope" -o table > "$r/aksctl-list.table"
  az role assignment list --all --assignee "$nonadmin" > "$r/az-list-all.json"
  aksctl role assignment list --all --assignee "$nonadmin" > "$r/aksctl-list-all.json"
  az role assignment delete --assignee "$nonadmin" --role "$role" --scope "$scope"
  az role assignment list --scope "$scope" > "$r/az-list-empty.json"
  aksctl role assignment create --assignee "$nonadmin" --role "$role" --scope "$scope" > "$r/aksctl-create.json"
  az role assignment list --scope "$scope" > "$r/az-list-2.json"
  aksctl role assignment list --scope "$scope" > "$r/aksctl-list-2.json"
  aksctl role assignment delete --assignee "$nonadmin" --role "$role" --scope "$scope"
  az role assignment list --scope "$scope" > "$r/az-list-after.json"
  python3 - "$r" <<'PY'
import json, sys
r = sys.argv[1]
def load(name): return json.load(open(f"{r}/{name}"))
failures = []
def same(what, a, b):
    if a != b: failures.append(f"{what}:\n  az     {json.dumps(a, sort_keys=True)}\n  aksctl {json.dumps(b, sort_keys=True)}")
same("role definition list --name", load("az-definitions.json"), load("aksctl-definitions.json"))
same("role assignment list (az created)", load("az-list-1.json"), load("aksctl-list-1.json"))
same("role assignment list --all --assignee", load("az-list-all.json"), load("aksctl-list-all.json"))
same("role assignment list (aksctl created)", load("az-list-2.json"), load("aksctl-list-2.json"))
same("create on an existing assignment", load("az-create-again.json"), load("aksctl-create-again.json"))
new = lambda doc: {k: v for k, v in doc.items() if k not in ("id", "name", "createdOn", "updatedOn")}
same("role assignment create", new(load("az-create.json")), new(load("aksctl-create.json")))
same("az list after az delete", load("az-list-empty.json"), [])
same("az list after aksctl delete", load("az-list-after.json"), [])
if len(load("az-list-1.json")) != 1:
    failures.append(f"one assignment expected: {load('az-list-1.json')}")
az_table, our_table = open(f"{r}/az-list.table").read(), open(f"{r}/aksctl-list.table").read()
same("role assignment list -o table", az_table, our_table)
if failures:
    raise SystemExit("az conformance FAILED (role):\n" + "\n".join(failures))
print("role: az and aksctl print the same assignments and definitions")
PY
}
role_conformance


# Identity-correct tokens (issue #13 point 4): 1,000 randomised login / logout / account set (tenant switch to a
# guest tenant) / rotated-secret cycles, about 10% of them by the real az, on one set of az files; after every step
# aksctl's get-access-token, an ARM call (its caller from the emulator's request log), kubelogin -l azurecli and
# -l spn (and now and then az) must serve the identity az's profile names, or az's error when nobody: 0 stale.
# IDENTITY_CYCLES and IDENTITY_SEED (printed by every run) replay a run.
identity_cycles() {
  step "identity cycles: ${IDENTITY_CYCLES:-1000} randomised steps by aksctl and az"
  python3 "$root/scripts/shared_login_proofs.py" cycles "$work/ready.json" "$binary" "$venv/bin/az" "$work/cycles" \
    --cycles "${IDENTITY_CYCLES:-1000}" ${IDENTITY_SEED:+--seed "$IDENTITY_SEED"}
}

# The shared cache under concurrent writers (issue #13 point 9): 20 aksctl logins at once lose nothing; then 20 az +
# 20 aksctl logins at once and 40 get-access-token at once on the same az files: both files stay valid JSON, every
# process serves its own person, both tools still work; an aksctl login the token cache lost fails the proof unless
# az's own trace shows az's lock failing first (then it is printed with that evidence).
shared_cache_writers() {
  step "shared cache: 20 az + 20 aksctl writers at once"
  python3 "$root/scripts/shared_login_proofs.py" writers "$work/ready.json" "$binary" "$venv/bin/az" "$work/writers" \
    --each "${SHARED_CACHE_WRITERS:-20}"
}
identity_cycles
shared_cache_writers
# aksctl's clouds are az's: after `aksctl cloud register` + `cloud set` and `aksctl login`, the real az shows the
# cloud with the endpoints and suffixes az's own `az cloud register` gave it (the "Local" cloud above), as active,
# and the login on it.
clouds_shared_with_az() {
  step "aksctl cloud register/set + login, then az cloud show and az account show"
  local home=$work/clouds-home config=$work/clouds-config
  mkdir -p "$home" "$config"
  cp "$work/az-config/versionCheck.json" "$config/"
  as_aksctl() {
    env -u AZURE_CLIENT_ID -u AZURE_CLIENT_SECRET -u AZURE_TENANT_ID HOME=$home AZURE_CONFIG_DIR=$config \
      AKSCTL_CONFIG_DIR=$work/clouds-aksctl RUST_BACKTRACE=0 "$binary" "$@"
  }
  as_aksctl cloud register --name Shared --endpoint-resource-manager "$rm_url"
  as_aksctl cloud set --name Shared 2>/dev/null
  as_aksctl login --service-principal -u "$client" -p "$secret" --tenant "$tenant" --output none
  HOME=$home AZURE_CONFIG_DIR=$config "$venv/bin/az" cloud show < /dev/null > "$work/clouds-aksctl-show.json"
  az cloud show -n Local < /dev/null > "$work/clouds-az-show.json"
  HOME=$home AZURE_CONFIG_DIR=$config "$venv/bin/az" account show < /dev/null > "$work/clouds-account.json"
  python3 - "$work" "$client" "$tenant" <<'PY'
import json, sys
work, client, tenant = sys.argv[1:]
failures = []
shown = json.load(open(f"{work}/clouds-aksctl-show.json"))
reference = json.load(open(f"{work}/clouds-az-show.json"))
if shown["name"] != "Shared" or not shown["isActive"]:
    failures.append(f"az cloud show on aksctl's files: name {shown['name']}, isActive {shown['isActive']}")
for part in ("endpoints", "suffixes"):
    if shown[part] != reference[part]:
        failures.append(f"{part}: aksctl registered {shown[part]}, az registers {reference[part]}")
account = json.load(open(f"{work}/clouds-account.json"))
if account.get("environmentName") != "Shared" or account["user"] != {"name": client, "type": "servicePrincipal"} \
        or account["tenantId"] != tenant:
    failures.append(f"az account show on aksctl's login: {account}")
if failures:
    raise SystemExit("clouds shared with az FAILED:\n" + "\n".join(failures))
print("clouds shared: az sees aksctl's registered, active cloud and its login")
PY
}
clouds_shared_with_az

echo "az conformance: ok"
INNER
