//! A rehearsal never leaves the machine: inside `unshare -n` (a network namespace with only loopback, so any
//! attempt to reach login.microsoftonline.com fails), `aksctl emulator serve` runs, aksctl creates an Entra
//! cluster and fetches its exec kubeconfig, and real kubectl lists the nodes through aksctl-as-kubelogin with
//! only `PATH`, `HOME` and `KUBECONFIG` set: no `AZURE_*` variable, no `REQUESTS_CA_BUNDLE`. The kubeconfig
//! alone points kubelogin at the emulator's authority and CA (docs/offline-rehearsal.md).

use std::process::Command;

/// Run inside the namespace: `$1` aksctl, `$2` a work directory.
const SCRIPT: &str = r#"
set -euo pipefail
aksctl=$1; work=$2
ip link set lo up
"$aksctl" emulator serve --data-dir "$work/emulator" --lro-polls 1 --retry-after 1 \
  > "$work/ready.json" 2> "$work/emulator.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 400); do [ -s "$work/ready.json" ] && break; sleep 0.05; done
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$work/ready.json"; }
rm_url=$(field resource_manager); client=$(field client_id); secret=$(field client_secret)
tenant=$(field tenant_id); group=$(field admin_group_id); ca=$(field ca_cert_file)
mkdir -p "$work/bin" "$work/home"
ln -s "$aksctl" "$work/bin/kubelogin"
kubectl_dir=$(dirname "$(command -v kubectl)")
setup() {
  env -i PATH=/usr/bin:/bin HOME="$work/home" AKSCTL_CONFIG_DIR="$work/config" REQUESTS_CA_BUNDLE="$ca" \
    AZURE_CLIENT_ID="$client" AZURE_CLIENT_SECRET="$secret" AZURE_TENANT_ID="$tenant" RUST_BACKTRACE=0 \
    "$aksctl" "$@" > /dev/null
}
setup cloud register --name Emulator --endpoint-resource-manager "$rm_url"
setup cloud set --name Emulator
setup group create --name rg1 --location eastus
setup aks create -g rg1 -n c1 --enable-aad --aad-admin-group-object-ids "$group" --no-ssh-key
setup aks get-credentials -g rg1 -n c1
# The guide's automation section: the service principal's secret goes into the kubeconfig's exec args.
clean() { env -i PATH="$work/bin:$kubectl_dir:/usr/bin:/bin" HOME="$work/home" RUST_BACKTRACE=0 "$@"; }
clean kubelogin convert-kubeconfig -l spn --client-id "$client" --client-secret "$secret"
echo "== env"
clean env | sort
echo "== kubectl"
clean kubectl get nodes
"#;

#[test]
fn kubectl_get_nodes_inside_unshare_n_with_nothing_but_the_kubeconfig() {
    let work = tempfile::Builder::new()
        .prefix("aksctl-offline-")
        .tempdir()
        .unwrap();
    // Root may create the namespace directly; others map themselves to root in a user namespace first.
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"));
    let output = Command::new("unshare")
        .args(if root { &["-n"][..] } else { &["-r", "-n"][..] })
        .args(["bash", "-c", SCRIPT, "offline"])
        .arg(env!("CARGO_BIN_EXE_aksctl"))
        .arg(work.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = std::fs::read_to_string(work.path().join("emulator.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "{stdout}\n{stderr}\nemulator log:\n{log}"
    );
    let (env, nodes) = stdout.split_once("== kubectl\n").expect("both sections");
    let names: Vec<&str> = env
        .lines()
        .skip_while(|line| *line != "== env")
        .skip(1)
        .map(|line| line.split('=').next().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["HOME", "PATH", "RUST_BACKTRACE"],
        "kubectl ran with nothing else set"
    );
    assert!(nodes.starts_with("NAME "), "{nodes}");
    assert!(nodes.contains("aks-nodepool1-"), "{nodes}");
    assert!(nodes.contains(" Ready "), "{nodes}");
}
