//! The guide "Enable Azure managed identity authentication for Kubernetes clusters with kubelogin"
//! (https://learn.microsoft.com/azure/aks/enable-authentication-microsoft-entra-id), every section, run end to end
//! on the embedded local cloud: the emulator starts in-process, then each of the guide's commands runs as the
//! operator would type it — `aksctl …`, `kubelogin …` (aksctl under that name) and `kubectl get nodes` when kubectl
//! is installed — and the example ends with a summary of what ran.
//!
//! Run it with `cargo run --release --example quickstart`. Nothing leaves 127.0.0.1: the kubeconfigs point
//! kubelogin at the emulator's authority and CA (docs/offline-rehearsal.md).
//!
//! The aksctl it drives is this example itself (it re-runs itself as `aksctl`, or as `kubelogin` through a symbolic
//! link), or the binary named by `AKSCTL_BIN` (CI runs the static release artefact this way:
//! `AKSCTL_BIN=dist/aksctl cargo run --example quickstart`).

// A walkthrough: its output is the guide's transcript.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

use aks_cli::{EmulatorServeSettings, LocalCloud, Outcome};
use aks_emulator::{Emulator, EmulatorOptions, ReadyRecord};

/// Set in the environment of the child processes that act as `aksctl` (or `kubelogin`).
const CHILD: &str = "AKSCTL_QUICKSTART_CHILD";
/// The aksctl binary to drive instead of this example.
const BINARY: &str = "AKSCTL_BIN";

const GROUP: &str = "myResourceGroup";
const CLUSTER: &str = "myManagedCluster";
const EXISTING: &str = "myExistingCluster";
const LEGACY: &str = "myLegacyCluster";
const ADMIN_GROUP: &str = "myAKSAdminGroup";

struct NoNestedEmulator;

impl LocalCloud for NoNestedEmulator {
    fn serve(&self, _: EmulatorServeSettings, _: &mut dyn FnMut(&str)) -> Result<(), String> {
        Err("the quickstart already runs the emulator".to_string())
    }
}

/// Acting as aksctl, or as kubelogin when run through a link of that name.
fn child_main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let as_kubelogin = argv
        .first()
        .and_then(|argv0| Path::new(argv0).file_stem())
        .is_some_and(|stem| stem == "kubelogin");
    let outcome = if as_kubelogin {
        aks_cli::kubelogin_main(argv)
    } else {
        aks_cli::main(argv, &NoNestedEmulator)
    };
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failure => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
        Outcome::NotFound => ExitCode::from(3),
    }
}

/// An argument as a shell would need it typed.
fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
    if plain {
        arg.to_owned()
    } else if !arg.contains(['"', '$', '`', '\\', '!']) {
        format!("\"{arg}\"")
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// LINE split at whitespace, then TAIL.
fn arguments(line: &str, tail: &[&str]) -> Vec<String> {
    line.split_whitespace()
        .chain(tail.iter().copied())
        .map(str::to_owned)
        .collect()
}

/// The command line as the operator would type it.
fn shown(program: &str, args: &[String]) -> String {
    std::iter::once(program.to_owned())
        .chain(args.iter().map(|arg| shell_word(arg)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The walk through the guide: the sandbox, the local cloud's ready record and what ran.
struct Walk {
    sandbox: PathBuf,
    ready: ReadyRecord,
    aksctl: PathBuf,
    /// `<sandbox>/bin`: `kubelogin` (a link to aksctl) first on PATH.
    bin: PathBuf,
    ran: Vec<String>,
}

impl Walk {
    fn new(sandbox: &Path, ready: ReadyRecord) -> anyhow::Result<Walk> {
        let aksctl = match std::env::var_os(BINARY) {
            Some(path) => std::fs::canonicalize(&path).map_err(|error| {
                anyhow::anyhow!("{BINARY}={}: {error}", Path::new(&path).display())
            })?,
            None => std::env::current_exe()?,
        };
        let bin = sandbox.join("bin");
        std::fs::create_dir_all(&bin)?;
        std::fs::create_dir_all(sandbox.join("home"))?;
        std::os::unix::fs::symlink(&aksctl, bin.join("kubelogin"))?;
        Ok(Walk {
            sandbox: sandbox.to_owned(),
            ready,
            aksctl,
            bin,
            ran: Vec::new(),
        })
    }

    /// PATH with `<sandbox>/bin` first.
    fn path(&self) -> OsString {
        let mut paths = vec![self.bin.clone()];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).unwrap_or_default()
    }

    /// A clean environment: the sandbox's HOME and config dir, nothing from the caller's Azure settings.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", self.path())
            .env("HOME", self.sandbox.join("home"))
            .env("AKSCTL_CONFIG_DIR", self.sandbox.join("config"))
            .env(CHILD, "1")
            .env("RUST_BACKTRACE", "0");
        command
    }

    /// Print the command line, run it, print its output; fail when it fails.
    fn run(&mut self, shown: &str, mut command: Command) -> anyhow::Result<String> {
        println!("$ {shown}");
        let output: Output = command.output()?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        print!("{stdout}");
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        println!();
        anyhow::ensure!(
            output.status.success(),
            "`{shown}` failed with {}",
            output.status
        );
        self.ran.push(shown.to_owned());
        Ok(stdout)
    }

    /// `aksctl LINE TAIL...`, signed in as the emulator's service principal (the variables the README exports).
    /// LINE is split at whitespace; TAIL holds arguments that contain spaces.
    fn aksctl(&mut self, line: &str, tail: &[&str]) -> anyhow::Result<String> {
        let args = arguments(line, tail);
        let mut command = self.command(&self.aksctl);
        command
            .args(&args)
            .env("REQUESTS_CA_BUNDLE", &self.ready.ca_cert_file)
            .env("AZURE_CLIENT_ID", &self.ready.client_id)
            .env("AZURE_CLIENT_SECRET", &self.ready.client_secret)
            .env("AZURE_TENANT_ID", &self.ready.tenant_id);
        self.run(&shown("aksctl", &args), command)
    }

    /// `kubelogin LINE TAIL...`: aksctl under that name, on the default kubeconfig unless told otherwise.
    fn kubelogin(&mut self, line: &str, tail: &[&str]) -> anyhow::Result<String> {
        let args = arguments(line, tail);
        let mut command = self.command(&self.bin.join("kubelogin"));
        command.args(&args);
        self.run(&shown("kubelogin", &args), command)
    }

    fn default_kubeconfig(&self) -> PathBuf {
        self.sandbox.join("home/.kube/config")
    }
}

/// Point aksctl at the local cloud; the guide's resource group, admin group and its member.
fn prepare(walk: &mut Walk) -> anyhow::Result<String> {
    println!("# Point aksctl at the local cloud, as `az cloud register` would.");
    let resource_manager = walk.ready.resource_manager.clone();
    walk.aksctl(
        &format!("cloud register --name LocalCloud --endpoint-resource-manager {resource_manager}"),
        &[],
    )?;
    walk.aksctl("cloud set --name LocalCloud", &[])?;

    println!("# Before you begin: a resource group.");
    walk.aksctl(
        &format!("group create --name {GROUP} --location centralus --output table"),
        &[],
    )?;

    println!("# An Entra group for the cluster's administrators.");
    let group_id = walk.aksctl(
        &format!("ad group create --display-name {ADMIN_GROUP} --mail-nickname {ADMIN_GROUP} --query id --output tsv"),
        &[],
    )?;
    println!(
        "# Add yourself (here: the signed-in service principal; its object id from a group it is in)."
    );
    let query = format!("[?appId=='{}'].id | [0]", walk.ready.client_id);
    let seeded_group = walk.ready.admin_group_id.clone();
    let member = walk.aksctl(
        &format!("ad group member list --group {seeded_group} --output tsv --query"),
        &[&query],
    )?;
    let member = member.trim();
    anyhow::ensure!(
        !member.is_empty(),
        "the signed-in service principal is not in {seeded_group}"
    );
    walk.aksctl(
        &format!("ad group member add --group {ADMIN_GROUP} --member-id {member}"),
        &[],
    )?;
    walk.aksctl(
        &format!("ad group member check --group {ADMIN_GROUP} --member-id {member}"),
        &[],
    )?;
    Ok(group_id.trim().to_owned())
}

/// "Create an AKS cluster with Microsoft Entra ID enabled" and "Use an existing cluster".
fn create_and_enable(walk: &mut Walk, group_id: &str) -> anyhow::Result<()> {
    let tenant = walk.ready.tenant_id.clone();
    let enable =
        format!("--enable-aad --aad-admin-group-object-ids {group_id} --aad-tenant-id {tenant}");
    println!("# Create an AKS cluster with AKS-managed Microsoft Entra integration.");
    walk.aksctl(
        &format!("aks create --resource-group {GROUP} --name {CLUSTER} {enable} --generate-ssh-keys --output table"),
        &[],
    )?;
    walk.aksctl(
        &format!("aks show --resource-group {GROUP} --name {CLUSTER} --query aadProfile"),
        &[],
    )?;

    println!(
        "# Use an existing cluster: a cluster with Kubernetes RBAC and no Entra integration ..."
    );
    walk.aksctl(
        &format!("aks create --resource-group {GROUP} --name {EXISTING} --generate-ssh-keys --output table"),
        &[],
    )?;
    println!("# ... gets AKS-managed Microsoft Entra integration.");
    walk.aksctl(
        &format!(
            "aks update --resource-group {GROUP} --name {EXISTING} {enable} --query aadProfile"
        ),
        &[],
    )?;
    Ok(())
}

/// "Migrate a legacy cluster to integration": a legacy-AAD cluster, the update (with its warning), new credentials.
fn migrate_legacy(walk: &mut Walk, group_id: &str) -> anyhow::Result<()> {
    println!(
        "# Migrate a legacy cluster: seed a legacy-AAD cluster (its own server and client applications)."
    );
    let management = walk.ready.management.clone();
    walk.aksctl(
        &format!("emulator seed --legacy-cluster {GROUP}/{LEGACY} --management {management}"),
        &[],
    )?;
    walk.aksctl(
        &format!("aks show --resource-group {GROUP} --name {LEGACY} --query"),
        &["aadProfile.{managed: managed, serverAppId: serverAppId, clientAppId: clientAppId}"],
    )?;
    walk.aksctl(
        &format!("aks get-credentials --resource-group {GROUP} --name {LEGACY} --format azure"),
        &[],
    )?;
    println!(
        "# The update warns about API-server downtime on the Free tier and names the command to run after."
    );
    walk.aksctl(
        &format!(
            "aks update --resource-group {GROUP} --name {LEGACY} --enable-aad --aad-admin-group-object-ids \
             {group_id} --query aadProfile.managed"
        ),
        &[],
    )?;
    println!("# Re-fetch the credentials: the kubeconfig now names AKS's server application.");
    walk.aksctl(
        &format!(
            "aks get-credentials --resource-group {GROUP} --name {LEGACY} --overwrite-existing"
        ),
        &[],
    )?;
    Ok(())
}

/// "Access your enabled cluster": credentials in both formats, kubelogin, and kubectl.
fn access(walk: &mut Walk) -> anyhow::Result<Option<String>> {
    println!(
        "# Get the cluster user credentials (exec format, for kubelogin: the default on Kubernetes 1.24+)."
    );
    walk.aksctl(
        &format!("aks get-credentials --resource-group {GROUP} --name {CLUSTER} --format exec"),
        &[],
    )?;
    println!("# The legacy azure auth-provider format, into a separate file.");
    let azure_file = walk.sandbox.join("azure-format.kubeconfig");
    let azure_path = azure_file.display().to_string();
    walk.aksctl(
        &format!(
            "aks get-credentials --resource-group {GROUP} --name {CLUSTER} --format azure --file"
        ),
        &[&azure_path],
    )?;
    println!("# Convert it for kubelogin with the Azure CLI's login, as the guide does.");
    walk.kubelogin(
        "convert-kubeconfig -l azurecli --kubeconfig",
        &[&azure_path],
    )?;
    println!("{}", std::fs::read_to_string(&azure_file)?);

    println!(
        "# `-l azurecli` asks the real az for each token, and az is not signed in to this local cloud, so kubectl\n\
         # signs in as the guide's automation section does: kubelogin's spn mode with the service principal."
    );
    walk.kubelogin("convert-kubeconfig -l spn", &[])?;
    println!("{}", std::fs::read_to_string(walk.default_kubeconfig())?);
    let Some(kubectl) = find_on_path("kubectl") else {
        println!("# kubectl is not installed: skipping `kubectl get nodes`.\n");
        return Ok(Some(
            "kubectl get nodes (skipped: kubectl is not installed)".into(),
        ));
    };
    println!(
        "# Nothing else is exported: the kubeconfig's exec env points kubelogin at the local cloud and its CA."
    );
    println!(
        "$ export AAD_SERVICE_PRINCIPAL_CLIENT_ID=<client_id> AAD_SERVICE_PRINCIPAL_CLIENT_SECRET=<client_secret>"
    );
    let mut command = walk.command(&kubectl);
    command
        .args(["get", "nodes"])
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_ID", &walk.ready.client_id)
        .env(
            "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET",
            &walk.ready.client_secret,
        );
    let nodes = walk.run("kubectl get nodes", command)?;
    anyhow::ensure!(nodes.contains(" Ready "), "kubectl listed no Ready node");
    Ok(None)
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

fn main() -> anyhow::Result<ExitCode> {
    if std::env::var_os(CHILD).is_some() {
        return Ok(child_main());
    }
    let sandbox = tempfile::Builder::new()
        .prefix("aksctl-quickstart-")
        .tempdir()?;
    let mut options = EmulatorOptions::new(sandbox.path().join("emulator"));
    options.lro.polls = 2;
    options.lro.retry_after_ms = Some(250);
    let emulator = Emulator::start(options)?;
    let ready = emulator.ready().clone();
    println!(
        "# Local cloud on {} (CA: {})\n",
        ready.resource_manager, ready.ca_cert_file
    );
    let mut walk = Walk::new(sandbox.path(), ready)?;
    println!("# aksctl: {}\n", walk.aksctl.display());

    let group_id = prepare(&mut walk)?;
    create_and_enable(&mut walk, &group_id)?;
    migrate_legacy(&mut walk, &group_id)?;
    let skipped = access(&mut walk)?;

    println!(
        "# Summary: {} commands of the guide ran and succeeded on the local cloud.",
        walk.ran.len()
    );
    for shown in &walk.ran {
        println!("#   ok    {shown}");
    }
    if let Some(skipped) = skipped {
        println!("#   skip  {skipped}");
    }
    emulator.shutdown();
    Ok(ExitCode::SUCCESS)
}
