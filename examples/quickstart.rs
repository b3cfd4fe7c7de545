//! The guide "Enable Azure managed identity authentication for Kubernetes clusters with kubelogin", run end to end
//! on the embedded local cloud: start the emulator in-process, then run each of the guide's commands with the real
//! aksctl code (this example re-runs itself as `aksctl` for each step) and print the command and its output.
//!
//! Run it with `cargo run --release --example quickstart`. Nothing leaves 127.0.0.1.

use std::path::Path;
use std::process::{Command, ExitCode};

use aks_cli::{EmulatorServeSettings, LocalCloud, Outcome};
use aks_emulator::{Emulator, EmulatorOptions, ReadyRecord};

/// Set in the environment of the child processes that act as `aksctl`.
const CHILD: &str = "AKSCTL_QUICKSTART_CHILD";

struct NoNestedEmulator;

impl LocalCloud for NoNestedEmulator {
    fn serve(&self, _: EmulatorServeSettings, _: &mut dyn FnMut(&str)) -> Result<(), String> {
        Err("the quickstart already runs the emulator".to_string())
    }
}

fn step(sandbox: &Path, ready: &ReadyRecord, args: &[&str]) -> anyhow::Result<()> {
    println!("$ aksctl {}", args.join(" "));
    let output = Command::new(std::env::current_exe()?)
        .args(args)
        .env(CHILD, "1")
        .env("HOME", sandbox.join("home"))
        .env("AKSCTL_CONFIG_DIR", sandbox.join("config"))
        .env("REQUESTS_CA_BUNDLE", &ready.ca_cert_file)
        .env("AZURE_CLIENT_ID", &ready.client_id)
        .env("AZURE_CLIENT_SECRET", &ready.client_secret)
        .env("AZURE_TENANT_ID", &ready.tenant_id)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("KUBECONFIG")
        .env_remove("AZURE_SUBSCRIPTION_ID")
        .output()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    println!();
    anyhow::ensure!(
        output.status.success(),
        "aksctl {} failed with {}",
        args.join(" "),
        output.status
    );
    Ok(())
}

fn main() -> anyhow::Result<ExitCode> {
    if std::env::var_os(CHILD).is_some() {
        return Ok(
            match aks_cli::main(std::env::args_os(), &NoNestedEmulator) {
                Outcome::Success => ExitCode::SUCCESS,
                Outcome::Failure => ExitCode::from(1),
                Outcome::Usage => ExitCode::from(2),
                Outcome::NotFound => ExitCode::from(3),
            },
        );
    }
    let sandbox = tempfile::Builder::new()
        .prefix("aksctl-quickstart-")
        .tempdir()?;
    let mut options = EmulatorOptions::new(sandbox.path().join("emulator"));
    options.lro.polls = 2;
    options.lro.retry_after_ms = Some(250);
    let emulator = Emulator::start(options)?;
    let ready = emulator.ready().clone();
    let dir = sandbox.path();
    println!(
        "# Local cloud on {} (CA: {})\n",
        ready.resource_manager, ready.ca_cert_file
    );

    println!("# Point aksctl at the local cloud, as `az cloud register` would.");
    step(
        dir,
        &ready,
        &[
            "cloud",
            "register",
            "--name",
            "LocalCloud",
            "--endpoint-resource-manager",
            &ready.resource_manager,
        ],
    )?;
    step(dir, &ready, &["cloud", "set", "--name", "LocalCloud"])?;

    println!("# The guide: create a resource group.");
    step(
        dir,
        &ready,
        &[
            "group",
            "create",
            "--name",
            "myResourceGroup",
            "--location",
            "centralus",
        ],
    )?;

    println!("# The guide: create an AKS cluster with AKS-managed Microsoft Entra integration.");
    println!(
        "# (The admin group {} exists in the emulator's directory.)",
        ready.admin_group_id
    );
    step(
        dir,
        &ready,
        &[
            "aks",
            "create",
            "--resource-group",
            "myResourceGroup",
            "--name",
            "myManagedCluster",
            "--enable-aad",
            "--aad-admin-group-object-ids",
            &ready.admin_group_id,
            "--aad-tenant-id",
            &ready.tenant_id,
            "--generate-ssh-keys",
            "--output",
            "table",
        ],
    )?;
    step(
        dir,
        &ready,
        &[
            "aks",
            "show",
            "--resource-group",
            "myResourceGroup",
            "--name",
            "myManagedCluster",
            "--query",
            "aadProfile",
        ],
    )?;

    println!("# The guide: get the cluster user credentials (exec format, for kubelogin).");
    step(
        dir,
        &ready,
        &[
            "aks",
            "get-credentials",
            "--resource-group",
            "myResourceGroup",
            "--name",
            "myManagedCluster",
            "--format",
            "exec",
        ],
    )?;
    let azure_file = dir.join("azure-format.kubeconfig");
    println!("# The legacy azure auth-provider format, into a separate file.");
    step(
        dir,
        &ready,
        &[
            "aks",
            "get-credentials",
            "--resource-group",
            "myResourceGroup",
            "--name",
            "myManagedCluster",
            "--format",
            "azure",
            "--file",
            azure_file.to_str().unwrap_or_default(),
        ],
    )?;
    println!(
        "# The merged kubeconfig ({}):",
        dir.join("home/.kube/config").display()
    );
    println!(
        "{}",
        std::fs::read_to_string(dir.join("home/.kube/config"))?
    );
    emulator.shutdown();
    Ok(ExitCode::SUCCESS)
}
