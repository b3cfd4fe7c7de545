//! Operator commands: `aks install-cli` (a kubelogin link, PATH advice, kubectl checks), `version`, `completion`
//! and the manual page. The kubectl version checks use a fake `kubectl` script, so they do not depend on the
//! kubectl installed here, except `version_reads_the_real_kubectl_without_contacting_a_server`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

use crate::{cloud, stderr};

const AKSCTL: &str = env!("CARGO_BIN_EXE_aksctl");

/// A sandbox home and config dir for commands that need no cloud.
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("aksctl-operator-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Sandbox { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `aksctl` with the sandbox's HOME and config dir and exactly this PATH.
    fn command(&self, path: &str) -> Command {
        let mut command = Command::new(AKSCTL);
        command
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.home())
            .env("AKSCTL_CONFIG_DIR", self.path().join("config"))
            .env("SHELL", "/bin/bash")
            .env("NO_COLOR", "1");
        command
    }

    fn run(&self, path: &str, args: &[&str]) -> Output {
        self.command(path).args(args).output().unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn aksctl_binary() -> PathBuf {
    std::fs::canonicalize(AKSCTL).unwrap()
}

/// A directory with an executable `kubectl` that prints this client version JSON and records its environment.
fn fake_kubectl(root: &Path, major: &str, minor: &str, git_version: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = root.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("kubectl");
    let record = root.join("kubectl-env");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             printf 'args=%s\\nKUBECONFIG=%s\\nHOME=%s\\nKUBECACHEDIR=%s\\n' \"$*\" \"$KUBECONFIG\" \"$HOME\" \"$KUBECACHEDIR\" > '{}'\n\
             cat \"$KUBECONFIG\" >> '{}'\n\
             echo '{{\"clientVersion\":{{\"major\":\"{major}\",\"minor\":\"{minor}\",\"gitVersion\":\"{git_version}\"}},\"kustomizeVersion\":\"v5.5.0\"}}'\n",
            record.display(),
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn install_cli_links_kubelogin_idempotently_and_respects_foreign_files() {
    let sandbox = Sandbox::new();
    let dir = sandbox.path().join("tools");
    let dir_text = dir.display().to_string();
    let link = dir.join("kubelogin");
    let path = "/nonexistent-bin";

    let first = sandbox.run(
        path,
        &["aks", "install-cli", "--install-location", &dir_text],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(stdout(&first), "", "az prints nothing on stdout");
    let text = stderr(&first);
    assert!(text.contains("WARNING: Linked"), "{text}");
    assert_eq!(std::fs::read_link(&link).unwrap(), aksctl_binary());
    assert!(
        text.contains(&format!("export PATH=\"$PATH:{dir_text}\"")) && text.contains("~/.bashrc"),
        "PATH hint: {text}"
    );
    assert!(
        text.contains("kubectl was not found on your search PATH"),
        "{text}"
    );

    let again = sandbox.run(
        path,
        &["aks", "install-cli", "--install-location", &dir_text],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stderr(&again).contains("left as is"), "{}", stderr(&again));
    assert_eq!(std::fs::read_link(&link).unwrap(), aksctl_binary());

    // On PATH: no export hint.
    let on_path = format!("{dir_text}:/nonexistent-bin");
    let listed = sandbox.run(
        &on_path,
        &["aks", "install-cli", "--install-location", &dir_text],
    );
    assert_eq!(listed.status.code(), Some(0));
    let text = stderr(&listed);
    assert!(text.contains("is on your search PATH"), "{text}");
    assert!(!text.contains("export PATH"), "{text}");

    // A foreign kubelogin is never replaced without --force.
    std::fs::remove_file(&link).unwrap();
    std::fs::write(&link, "#!/bin/sh\necho upstream kubelogin\n").unwrap();
    let refused = sandbox.run(
        path,
        &["aks", "install-cli", "--install-location", &dir_text],
    );
    assert_eq!(refused.status.code(), Some(1));
    let text = stderr(&refused);
    assert!(
        text.starts_with("ERROR: ")
            && text.contains(&link.display().to_string())
            && text.contains("--force"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&link).unwrap(),
        "#!/bin/sh\necho upstream kubelogin\n"
    );
    let forced = sandbox.run(
        path,
        &[
            "aks",
            "install-cli",
            "--install-location",
            &dir_text,
            "--force",
        ],
    );
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert_eq!(std::fs::read_link(&link).unwrap(), aksctl_binary());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file left in the directory"
    );
}

#[test]
fn install_cli_defaults_to_local_bin_and_expands_the_home_directory() {
    let sandbox = Sandbox::new();
    let output = sandbox.run("/nonexistent-bin", &["aks", "install-cli"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let link = sandbox.home().join(".local/bin/kubelogin");
    assert_eq!(std::fs::read_link(&link).unwrap(), aksctl_binary());
    let tilde = sandbox.run(
        "/nonexistent-bin",
        &["aks", "install-cli", "--install-location", "~/bin"],
    );
    assert_eq!(tilde.status.code(), Some(0), "{}", stderr(&tilde));
    assert!(sandbox.home().join("bin/kubelogin").is_symlink());
    let usage = sandbox.run("/nonexistent-bin", &["aks", "install-cli", "-g", "rg1"]);
    assert_eq!(usage.status.code(), Some(2), "-g needs -n");
}

#[test]
fn install_cli_reports_kubectl_and_its_version_skew_against_the_cluster() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    cloud.run_json(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--no-ssh-key",
        "-k",
        "1.31",
    ]);
    let install = cloud.dir().join("tools");
    let install_text = install.display().to_string();
    let system_path = std::env::var("PATH").unwrap_or_default();
    for (minor, git_version, expected) in [
        (
            "31",
            "v1.31.9",
            "kubectl 1.31 is within one minor version of cluster c1 (Kubernetes 1.31",
        ),
        (
            "32+",
            "v1.32.4-dispatcher",
            "kubectl 1.32 is within one minor version of cluster c1",
        ),
        ("30", "v1.30.2", "kubectl 1.30 is within one minor version"),
        (
            "33",
            "v1.33.1",
            "version difference between kubectl (1.33) and cluster c1 (1.31",
        ),
        (
            "29",
            "v1.29.0",
            "version difference between kubectl (1.29) and cluster c1 (1.31",
        ),
    ] {
        let bin = fake_kubectl(cloud.dir(), "1", minor, git_version);
        let output = cloud
            .command()
            .args([
                "aks",
                "install-cli",
                "--install-location",
                &install_text,
                "-g",
                "rg1",
                "-n",
                "c1",
            ])
            .env("PATH", format!("{}:{system_path}", bin.display()))
            .output()
            .unwrap();
        let text = stderr(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert_eq!(stdout(&output), "");
        assert!(
            text.contains(&format!(
                "WARNING: kubectl {git_version} found at {}",
                bin.join("kubectl").display()
            )),
            "{text}"
        );
        assert!(text.contains(expected), "kubectl {minor}: {text}");
        if expected.starts_with("version difference") {
            assert!(
                text.contains("exceeds the supported minor version skew of +/-1: use kubectl 1.30, 1.31 or 1.32."),
                "{text}"
            );
        }
    }
    // kubectl ran isolated: a throw-away kubeconfig whose only server cannot exist, and a temporary home.
    let record = std::fs::read_to_string(cloud.dir().join("kubectl-env")).unwrap();
    assert!(
        record.contains("args=version --client -o json\n"),
        "{record}"
    );
    assert!(record.contains("server: https://127.0.0.1:0"), "{record}");
    let home = cloud.home().display().to_string();
    assert!(
        !record.contains(&home),
        "the user's home is not used: {record}"
    );
    // An unknown cluster is ARM's 404 (exit 3), after the link is made.
    let missing = cloud.run(&[
        "aks",
        "install-cli",
        "--install-location",
        &install_text,
        "-g",
        "rg1",
        "-n",
        "nope",
    ]);
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
}

#[test]
fn version_reports_versions_in_json_table_and_tsv() {
    let sandbox = Sandbox::new();
    let bin = fake_kubectl(sandbox.path(), "1", "32+", "v1.32.4-dispatcher");
    let path = bin.display().to_string();
    let output = sandbox.run(&path, &["version"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value["aksctl"], env!("CARGO_PKG_VERSION"));
    assert_eq!(value["kubelogin"], "0.2.19");
    assert_eq!(value["kubectl"], "v1.32.4-dispatcher");
    assert_eq!(value["apiVersions"]["microsoftGraph"], "v1.0");
    assert_eq!(value["apiVersions"]["resourceGroups"], "2024-11-01");
    // The managedClusters api-version is the one the ARM client sends.
    let cloud = cloud();
    cloud.run_json(&["aks", "list"]);
    let request = cloud
        .requests()
        .into_iter()
        .find(|r| r["path"].as_str().unwrap().contains("managedClusters"))
        .expect("aks list called ARM");
    let sent = request.to_string();
    let api_version = value["apiVersions"]["managedClusters"].as_str().unwrap();
    assert!(
        sent.contains(&format!("api-version={api_version}")),
        "{api_version} not in {sent}"
    );

    let no_kubectl = sandbox.run("/nonexistent-bin", &["version"]);
    let value: serde_json::Value = serde_json::from_str(&stdout(&no_kubectl)).unwrap();
    assert_eq!(value["kubectl"], serde_json::Value::Null);

    let table = stdout(&sandbox.run(&path, &["version", "-o", "table"]));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["Aksctl", "Kubectl", "Kubelogin"],
        "{table}"
    );
    assert!(lines[2].contains("v1.32.4-dispatcher"), "{table}");
    let tsv = stdout(&sandbox.run(&path, &["version", "-o", "tsv"]));
    assert!(tsv.contains("\t0.2.19"), "{tsv}");
    let queried = stdout(&sandbox.run(
        &path,
        &[
            "version",
            "--query",
            "apiVersions.microsoftGraph",
            "-o",
            "tsv",
        ],
    ));
    assert_eq!(queried, "v1.0\n");
    let flag = stdout(&sandbox.run(&path, &["--version"]));
    assert_eq!(flag, format!("aksctl {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn version_reads_the_real_kubectl_without_contacting_a_server() {
    let system_path = std::env::var("PATH").unwrap_or_default();
    let has_kubectl = std::env::split_paths(&system_path).any(|dir| dir.join("kubectl").is_file());
    if !has_kubectl {
        return; // CI installs kubectl; nothing to check without it
    }
    let sandbox = Sandbox::new();
    // The user's kubeconfig points at a listening server: kubectl must not be sent there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let kubeconfig = sandbox.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: c\n  context:\n    cluster: c\ncurrent-context: c\nusers: []\n"
        ),
    )
    .unwrap();
    let output = sandbox
        .command(&system_path)
        .env("KUBECONFIG", &kubeconfig)
        .arg("version")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let kubectl = value["kubectl"].as_str().expect("kubectl version");
    assert!(kubectl.starts_with("v1."), "{kubectl}");
    assert!(
        !sandbox.home().join(".kube").exists(),
        "kubectl's cache stays out of the user's home"
    );
    assert!(
        listener.accept().is_err(),
        "kubectl connected to the user's cluster"
    );
}

#[test]
fn completion_scripts_and_the_manual_page() {
    let sandbox = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let output = sandbox.run("/nonexistent-bin", &["completion", shell]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            stderr(&output)
        );
        let script = stdout(&output);
        assert!(script.contains("get-credentials"), "{shell}: {script}");
        assert!(script.contains("install-cli"), "{shell}");
    }
    let man = sandbox.run("/nonexistent-bin", &["completion", "man"]);
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let page = stdout(&man);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "roff preamble: {}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains(".TH aksctl 1"), "roff title header");
    assert!(
        page.contains("get\\-credentials") || page.contains("aks"),
        "{page}"
    );

    let pages_dir = sandbox.path().join("man1");
    let pages = sandbox.run(
        "/nonexistent-bin",
        &[
            "completion",
            "man",
            "--dir",
            &pages_dir.display().to_string(),
        ],
    );
    assert_eq!(pages.status.code(), Some(0), "{}", stderr(&pages));
    let listed = stdout(&pages);
    let create = pages_dir.join("aksctl-aks-create.1");
    assert!(
        listed.lines().any(|l| l == create.display().to_string()),
        "{listed}"
    );
    let create_page = std::fs::read_to_string(&create).unwrap();
    assert!(create_page.contains("enable\\-aad"), "{create_page}");
    let misuse = sandbox.run("/nonexistent-bin", &["completion", "bash", "--dir", "x"]);
    assert_eq!(misuse.status.code(), Some(2));
}

#[test]
fn help_carries_the_guide_and_az_examples() {
    let sandbox = Sandbox::new();
    for (args, example) in [
        (
            &["group", "create", "--help"][..],
            "aksctl group create --name myResourceGroup --location centralus",
        ),
        (
            &["aks", "create", "--help"][..],
            "aksctl aks create -g MyResourceGroup -n MyManagedCluster --enable-aad --enable-azure-rbac",
        ),
        (
            &["aks", "get-credentials", "--help"][..],
            "aksctl aks get-credentials --resource-group myResourceGroup --name myManagedCluster",
        ),
        (
            &["aks", "update", "--help"][..],
            "aksctl aks update -g MyResourceGroup -n MyManagedCluster --enable-aad --aad-admin-group-object-ids",
        ),
        (
            &["aks", "install-cli", "--help"][..],
            "aksctl aks install-cli --install-location",
        ),
        (
            &["completion", "--help"][..],
            "source <(aksctl completion bash)",
        ),
    ] {
        let output = sandbox.run("/nonexistent-bin", args);
        assert_eq!(output.status.code(), Some(0));
        // clap wraps long lines to the terminal width: compare with whitespace runs collapsed.
        let help = stdout(&output)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(help.contains(example), "{}: {help}", args.join(" "));
    }
}

/// `aksctl args` under a pseudo-terminal (util-linux `script`) with `input` typed at it; the sandbox environment
/// of `cloud`. Returns the exit code and the screen (stdout and stderr as the terminal showed them, `\r\n` → `\n`).
fn on_terminal(
    cloud: &aks_test_support::TestCloud,
    args: &[&str],
    input: &str,
) -> (Option<i32>, String) {
    let command_line = std::iter::once(AKSCTL)
        .chain(args.iter().copied())
        .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut terminal = Command::new("script");
    terminal
        .args(["-qec", &command_line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in cloud.std_command().get_envs() {
        match value {
            Some(value) => terminal.env(key, value),
            None => terminal.env_remove(key),
        };
    }
    let mut child = terminal.spawn().expect("script runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    (output.status.code(), screen)
}

/// az's get-credentials conflict rules (docs/az-behaviour.md, "The merge"): a different entry of the same name is
/// replaced only after a "y" on a terminal (one prompt per conflicting entry, knack's `prompt_y_n`); "n", or no
/// terminal at all, is the conflict error and the file is left as it was.
#[test]
fn get_credentials_asks_before_overwriting_only_on_a_terminal() {
    let cloud = cloud();
    // Two clusters named c1 in two groups: the second's cluster and context entries (both "c1") differ from the
    // first's; the users (clusterUser_<rg>_c1) do not collide.
    crate::create_aad_cluster(&cloud, "rg1", "c1");
    crate::create_aad_cluster(&cloud, "rg2", "c1");
    let file = cloud.dir().join("kubeconfig");
    let path = file.to_str().unwrap().to_string();
    cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--file",
        &path,
    ]);
    let first = std::fs::read_to_string(&file).unwrap();
    let second_args = [
        "aks",
        "get-credentials",
        "-g",
        "rg2",
        "-n",
        "c1",
        "--file",
        &path,
    ];

    // No terminal (a pipe on stdin): no prompt, az's conflict error, exit 1, the file untouched.
    let output = cloud.run(&second_args);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "ERROR: A different object named c1 already exists in clusters in your kubeconfig file.\n"
    );
    assert_eq!(stdout(&output), "");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);

    // On a terminal, answered "n": the prompt, then the same error; the file untouched.
    let prompt =
        "A different object named c1 already exists in your kubeconfig file.\nOverwrite? (y/n): ";
    let (code, screen) = on_terminal(&cloud, &second_args, "n\n");
    assert_eq!(code, Some(1), "{screen}");
    assert_eq!(screen.matches(prompt).count(), 1, "{screen:?}");
    assert!(
        screen.ends_with(
            "ERROR: A different object named c1 already exists in clusters in your kubeconfig file.\n"
        ),
        "{screen:?}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), first);

    // Answered "y" twice (the cluster entry, then the context entry): both replaced, the users kept side by side.
    let (code, screen) = on_terminal(&cloud, &second_args, "y\ny\n");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(screen.matches(prompt).count(), 2, "{screen:?}");
    assert!(
        screen.contains(&format!("Merged \"c1\" as current context in {path}")),
        "{screen:?}"
    );
    let merged: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let names = |key: &str| -> Vec<String> {
        merged[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names("clusters"), ["c1"]);
    assert_eq!(names("contexts"), ["c1"]);
    assert_eq!(names("users"), ["clusterUser_rg1_c1", "clusterUser_rg2_c1"]);
    assert_eq!(
        merged["contexts"][0]["context"]["user"],
        "clusterUser_rg2_c1"
    );
    assert_eq!(merged["current-context"], "c1");
    let rg2: serde_json::Value = serde_saphyr::from_str(&cloud.run_ok(&[
        "aks",
        "get-credentials",
        "-g",
        "rg2",
        "-n",
        "c1",
        "--file",
        "-",
    ]))
    .unwrap();
    assert_eq!(merged["clusters"][0], rg2["clusters"][0]);
    assert_ne!(
        merged["clusters"][0]["cluster"]["server"],
        serde_saphyr::from_str::<serde_json::Value>(&first).unwrap()["clusters"][0]["cluster"]["server"]
    );
}
