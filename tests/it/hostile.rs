//! The hostile-input catalogue: one data-driven table of bad command lines, bad kubeconfig files, hostile ARM
//! answers (injected through the emulator's fault API) and bad `KUBERNETES_EXEC_INFO`, run as one test per part
//! (each on its own emulator, so nextest runs the parts in parallel). Every case must end with its documented exit
//! code (README: 0/1/2/3) and an error on stderr naming the bad value, print nothing on stdout, never panic or
//! hang, and leave the user's files byte-identical with the same mode.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

use aks_test_support::TestCloud;
use serde_json::{Value, json};

use crate::{cloud, create_aad_cluster, stderr};

/// The server id of AKS's AAD server application (kubelogin `--server-id`).
const SERVER_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

/// A file to create in the case's directory before the run.
enum Setup {
    /// A regular file with these bytes and this mode.
    File(&'static str, Vec<u8>, u32),
    /// A symbolic link `name` → `target` (relative to the case directory).
    Link(&'static str, &'static str),
    /// A directory.
    Dir(&'static str),
}

struct Case {
    name: &'static str,
    /// Arguments; `{dir}` is replaced with the case's directory.
    args: Vec<String>,
    /// Extra environment; `{dir}` is replaced too.
    env: Vec<(&'static str, String)>,
    files: Vec<Setup>,
    /// Fault rules to install for this case (removed afterwards).
    faults: Vec<Value>,
    exit: i32,
    /// Text stderr must contain (the bad value, or what is wrong with it); `{dir}` is replaced.
    stderr_has: &'static str,
    /// The run is killed (and the case fails) after this long: a bound against a hang, not a speed goal.
    timeout: Duration,
}

/// A case's default [`Case::timeout`].
const CASE_TIMEOUT: Duration = Duration::from_secs(60);

fn case(name: &'static str, args: &[&str], exit: i32, stderr_has: &'static str) -> Case {
    Case {
        name,
        args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        env: Vec::new(),
        files: Vec::new(),
        faults: Vec::new(),
        exit,
        stderr_has,
        timeout: CASE_TIMEOUT,
    }
}

impl Case {
    fn file(mut self, name: &'static str, bytes: impl Into<Vec<u8>>, mode: u32) -> Case {
        self.files.push(Setup::File(name, bytes.into(), mode));
        self
    }

    fn link(mut self, name: &'static str, target: &'static str) -> Case {
        self.files.push(Setup::Link(name, target));
        self
    }

    fn dir(mut self, name: &'static str) -> Case {
        self.files.push(Setup::Dir(name));
        self
    }

    fn env(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.env.push((name, value.into()));
        self
    }

    fn timeout(mut self, timeout: Duration) -> Case {
        self.timeout = timeout;
        self
    }

    fn fault(mut self, rule: Value) -> Case {
        self.faults.push(rule);
        self
    }
}

const GOOD_KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: mine\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: mine\n  context:\n    cluster: mine\n    user: me\ncurrent-context: mine\nusers:\n- name: me\n  user:\n    token: not-a-real-token\npreferences: {}\n";

fn get_credentials(file: &str) -> Vec<&str> {
    vec![
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--file",
        file,
    ]
}

/// bytes and mode of every entry under `root` (links as their target text).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let mode = metadata.permissions().mode();
        let bytes = if metadata.file_type().is_symlink() {
            std::fs::read_link(&path)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else if metadata.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
            Vec::new()
        } else {
            std::fs::read(&path).unwrap()
        };
        out.insert(path, (bytes, mode));
    }
    out
}

/// The catalogue's parts, one test each (nextest runs them in parallel, each on its own emulator).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Part {
    /// Names, GUIDs and other values.
    NamesAndValues,
    /// Flags and their combinations.
    Flags,
    /// Kubeconfig files.
    KubeconfigFiles,
    /// A kubeconfig of 200,000 clusters.
    LargeFile,
    /// A kubeconfig whose aliases expand to a billion nodes.
    AliasBomb,
    /// Hostile ARM answers, injected through the fault API.
    ArmAnswers,
    /// kubelogin and `KUBERNETES_EXEC_INFO`.
    Kubelogin,
}

/// Every case, each with its part.
fn cases(cloud: &TestCloud) -> Vec<(Part, Case)> {
    let ready = cloud.ready();
    let cluster_path =
        "*/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1";
    let huge = {
        // ~24 MB: many clusters, one of them a different `c1`, so the merge must refuse.
        let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
        for index in 0..200_000 {
            text.push_str(&format!(
                "- name: cluster-{index}\n  cluster:\n    server: https://10.0.{}.{}:443\n",
                index / 256 % 256,
                index % 256
            ));
        }
        text.push_str("- name: c1\n  cluster:\n    server: https://elsewhere.example:443\ncontexts: []\nusers: []\n");
        text
    };
    let credential =
        |value: &str| json!({"kubeconfigs": [{"name": "clusterUser", "value": value}]});
    let b64 = |text: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    };
    let token_args = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "kubelogin",
            "get-token",
            "--login",
            "spn",
            "--server-id",
            SERVER_ID,
            "--tenant-id",
            &ready.tenant_id,
            "--client-id",
            &ready.client_id,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let kubelogin = |name: &'static str, extra: &[&str], exit: i32, has: &'static str| Case {
        name,
        args: token_args(extra),
        env: vec![
            (
                "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET",
                ready.client_secret.clone(),
            ),
            ("AZURE_AUTHORITY_HOST", ready.authority_host.clone()),
            ("KUBECACHEDIR", "{dir}/../kubelogin-cache".into()),
        ],
        files: Vec::new(),
        faults: Vec::new(),
        exit,
        stderr_has: has,
        timeout: CASE_TIMEOUT,
    };
    let other_sub = "11111111-2222-3333-4444-555555555555";

    let sections = [
        (Part::NamesAndValues, vec![
        case("cluster name with a space", &["aks", "create", "-g", "rg1", "-n", "bad name", "--no-ssh-key"], 1, "bad name"),
        case("cluster name too long", &["aks", "create", "-g", "rg1", "-n", &"c".repeat(70), "--no-ssh-key"], 1, "ccccccccc"),
        case("cluster name with a slash", &["aks", "show", "-g", "rg1", "-n", "c1/../../x"], 1, "c1/../../x"),
        case("group name with a bang", &["group", "create", "-n", "rg!", "-l", "eastus"], 1, "rg!"),
        case("group name ending in a dot", &["group", "create", "-n", "rg.", "-l", "eastus"], 1, "rg."),
        case("empty group name", &["aks", "show", "-g", "", "-n", "c1"], 1, "resource group"),
        case("unknown location", &["group", "create", "-n", "rg2", "-l", "not a location"], 1, "'notalocation' is not available"),
        case("admin group id not a GUID", &["aks", "create", "-g", "rg1", "-n", "c2", "--enable-aad", "--aad-admin-group-object-ids", "not-a-guid", "--no-ssh-key"], 1, "not-a-guid"),
        case("admin group id with a bad GUID among good ones", &["aks", "update", "-g", "rg1", "-n", "c1", "--aad-admin-group-object-ids", &format!("{},1234", ready.admin_group_id)], 1, "1234"),
        case("tenant id not a GUID", &["aks", "create", "-g", "rg1", "-n", "c2", "--enable-aad", "--aad-tenant-id", "zz-top", "--no-ssh-key"], 1, "zz-top"),
        case("subscription not a GUID and unknown", &["group", "list", "--subscription", "no-such-subscription"], 1, "no-such-subscription"),
        case("subscription unknown", &["group", "list", "--subscription", other_sub], 3, other_sub),
        case("unknown cluster", &["aks", "show", "-g", "rg1", "-n", "nope"], 3, "nope"),
        case("unknown group", &["aks", "list", "-g", "no-such-group"], 3, "no-such-group"),
        case("non-UTF-8 argument", &[], 2, "UTF-8"),
        ]),
        (Part::Flags, vec![
        case("conflicting rbac flags", &["aks", "create", "-g", "rg1", "-n", "c2", "--enable-aad", "--enable-azure-rbac", "--disable-rbac", "--no-ssh-key"], 1, "--disable-rbac"),
        case("azure rbac without aad", &["aks", "create", "-g", "rg1", "-n", "c2", "--enable-azure-rbac", "--no-ssh-key"], 1, "--enable-aad"),
        case("local accounts on and off", &["aks", "update", "-g", "rg1", "-n", "c1", "--enable-local-accounts", "--disable-local-accounts"], 1, "--disable-local-accounts"),
        case("unknown --format", &["aks", "get-credentials", "-g", "rg1", "-n", "c1", "--format", "bogus", "--file", "{dir}/config"], 1, "--format"),
        case("--format with --admin", &["aks", "get-credentials", "-g", "rg1", "-n", "c1", "--admin", "--format", "exec", "--file", "{dir}/config"], 1, "--format"),
        case("unknown --output", &["group", "list", "-o", "yamlish"], 2, "yamlish"),
        case("invalid --query before a write", &["group", "create", "-n", "rg3", "-l", "eastus", "--query", "[[["], 2, "'[[['"),
        case("unknown flag", &["aks", "show", "-g", "rg1", "-n", "c1", "--frobnicate"], 2, "--frobnicate"),
        case("unknown command", &["aks", "explode"], 2, "explode"),
        case("missing required name", &["aks", "show", "-g", "rg1"], 2, "--name"),
        ]),
        (Part::KubeconfigFiles, vec![
        case("malformed YAML kubeconfig", &get_credentials("{dir}/config"), 1, "Error parsing {dir}/config (")
            .file("config", "clusters: [\n  - name: x\n    cluster: {server: \n", 0o600),
        case("non-UTF-8 kubeconfig", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", b"apiVersion: v1\nclusters:\n- name: \xff\xfe\xfd\n".to_vec(), 0o600),
        case("kubeconfig clusters is a number", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", "apiVersion: v1\nclusters: 5\ncontexts: []\nusers: []\n", 0o600),
        case("kubeconfig users is a map", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", "apiVersion: v1\nclusters: []\ncontexts: []\nusers: {a: b}\n", 0o600),
        case("kubeconfig is a YAML list", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", "- a\n- b\n", 0o600),
        case("kubeconfig is a scalar", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", "42\n", 0o600),
        case("kubeconfig current-context is a list", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", "apiVersion: v1\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: [1]\n", 0o600),
        case("kubeconfig nested 100000 deep", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", "[".repeat(100_000), 0o600),
        ]),
        // The two cases that make the parser work hardest, each a part of its own so that they run beside the
        // others: a debug build takes seconds for each, and more than a minute on a loaded machine.
        (Part::AliasBomb, vec![
        case("kubeconfig alias bomb", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\nclusters: *i\n", 0o600)
            .timeout(Duration::from_secs(300)),
        ]),
        (Part::LargeFile, vec![
        case("huge kubeconfig with a conflicting entry", &get_credentials("{dir}/config"), 1, "c1 already exists")
            .file("config", huge, 0o600)
            .timeout(Duration::from_secs(300)),
        ]),
        (Part::KubeconfigFiles, vec![
        case("kubeconfig without a users key", &get_credentials("{dir}/config"), 1, "No such key 'users'")
            .file("config", "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n", 0o600),
        // A link to a kubeconfig is written through (tests/it/kubeconfig_files.rs); only these are refused.
        case("kubeconfig is a symbolic link loop", &get_credentials("{dir}/config"), 1, "{dir}/config is a symbolic link loop")
            .link("config", "config"),
        case("kubeconfig is a dangling symbolic link", &get_credentials("{dir}/config"), 1, "{dir}/config is a dangling symbolic link")
            .link("config", "nowhere"),
        case("convert-kubeconfig on a dangling symbolic link", &["kubelogin", "convert-kubeconfig", "--kubeconfig", "{dir}/config", "-l", "azurecli"], 1, "{dir}/config is a dangling symbolic link")
            .link("config", "nowhere"),
        case("kubeconfig is read-only", &get_credentials("{dir}/config"), 1, "{dir}/config")
            .file("config", GOOD_KUBECONFIG, 0o444),
        case("kubeconfig is a directory", &get_credentials("{dir}/config"), 1, "{dir}/config is a directory")
            .dir("config"),
        case("kubeconfig under a file, not a directory", &get_credentials("{dir}/afile/config"), 1, "{dir}/afile")
            .file("afile", "just a file\n", 0o600),
        case("KUBECONFIG names a malformed file", &["aks", "get-credentials", "-g", "rg1", "-n", "c1"], 1, "{dir}/config")
            .file("config", "users: [\n", 0o600)
            .env("KUBECONFIG", "{dir}/config:{dir}/other"),
        case("convert-kubeconfig on a malformed file", &["kubelogin", "convert-kubeconfig", "--kubeconfig", "{dir}/config", "-l", "azurecli"], 1, "{dir}/config")
            .file("config", "clusters: 5\n", 0o600),
        ]),
        (Part::ArmAnswers, vec![
        case("cluster answer with wrong types", &["aks", "show", "-g", "rg1", "-n", "c1"], 1, "managedClusters/c1")
            .fault(json!({"method": "GET", "path": cluster_path, "times": 100, "body": {"name": 7, "properties": []}})),
        case("cluster answer not JSON", &["aks", "show", "-g", "rg1", "-n", "c1"], 1, "managedClusters/c1")
            .fault(json!({"method": "GET", "path": cluster_path, "times": 100, "body": "{\"name\": \"c1\", "})),
        case("cluster answer nested 10000 deep", &["aks", "show", "-g", "rg1", "-n", "c1"], 1, "managedClusters/c1")
            .fault(json!({"method": "GET", "path": cluster_path, "times": 100, "body": "[", "repeat": 10_000})),
        case("enormous cluster answer", &["aks", "show", "-g", "rg1", "-n", "c1"], 1, "managedClusters/c1")
            .fault(json!({"method": "GET", "path": cluster_path, "times": 100, "body": "{\"name\":\"c1\"}", "repeat": 5_000_000})),
        case("cluster list value is not a list", &["aks", "list", "-g", "rg1"], 1, "managedClusters")
            .fault(json!({"method": "GET", "path": "*/managedClusters", "times": 100, "body": {"value": "nope"}})),
        case("error answer that is HTML", &["aks", "show", "-g", "rg1", "-n", "c1"], 1, "(Bad Request) <html>bad gateway</html>")
            .fault(json!({"method": "GET", "path": cluster_path, "times": 100, "status": 400, "body": "<html>bad gateway</html>", "content_type": "text/html"})),
        case("error answer with an error string", &["aks", "show", "-g", "rg1", "-n", "c1"], 1, "Conflict")
            .fault(json!({"method": "GET", "path": cluster_path, "times": 100, "status": 409, "body": {"error": "Conflict"}})),
        case("credentials answer without kubeconfigs", &get_credentials("{dir}/config"), 1, "kubeconfig")
            .file("config", GOOD_KUBECONFIG, 0o600)
            .fault(json!({"method": "POST", "path": "*/listClusterUserCredential", "times": 100, "body": {}})),
        case("credentials answer not base64", &get_credentials("{dir}/config"), 1, "base64")
            .file("config", GOOD_KUBECONFIG, 0o600)
            .fault(json!({"method": "POST", "path": "*/listClusterUserCredential", "times": 100, "body": credential("!!not base64!!")})),
        case("credentials answer kubeconfig is not YAML", &get_credentials("{dir}/config"), 1, "kubeconfig")
            .file("config", GOOD_KUBECONFIG, 0o600)
            .fault(json!({"method": "POST", "path": "*/listClusterUserCredential", "times": 100, "body": credential(&b64("clusters: [\n"))})),
        case("credentials answer kubeconfig of wrong types", &get_credentials("{dir}/config"), 1, "kubeconfig")
            .file("config", GOOD_KUBECONFIG, 0o600)
            .fault(json!({"method": "POST", "path": "*/listClusterUserCredential", "times": 100, "body": credential(&b64("clusters: 5\nusers: x\n"))})),
        case("operation status of wrong types", &["aks", "update", "-g", "rg1", "-n", "c1", "--enable-azure-rbac"], 1, "operations")
            .fault(json!({"method": "GET", "path": "*/operations/*", "times": 100, "body": {"status": 42}})),
        ]),
        (Part::Kubelogin, vec![
        kubelogin("ExecCredential of an unknown apiVersion", &[], 1, "client.authentication.k8s.io/v2")
            .env("KUBERNETES_EXEC_INFO", r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v2","spec":{"interactive":false}}"#),
        kubelogin("KUBERNETES_EXEC_INFO not JSON", &[], 1, "cannot unmarshal \"{not json\" to ExecCredential")
            .env("KUBERNETES_EXEC_INFO", "{not json"),
        kubelogin("KUBERNETES_EXEC_INFO apiVersion a number", &[], 1, "invalid type: integer `1`")
            .env("KUBERNETES_EXEC_INFO", r#"{"apiVersion": 1}"#),
        case("unknown login mode", &["kubelogin", "get-token", "--login", "telepathy", "--server-id", SERVER_ID], 1, "telepathy"),
        case("server id missing", &["kubelogin", "get-token", "--login", "spn"], 1, "server-id"),
        case("convert-kubeconfig lock wait not a number", &["kubelogin", "convert-kubeconfig", "--kubeconfig", "{dir}/config", "-l", "azurecli"], 1, "invalid AKSCTL_KUBECONFIG_LOCK_TIMEOUT 'soon'")
            .file("config", GOOD_KUBECONFIG, 0o600)
            .env("AKSCTL_KUBECONFIG_LOCK_TIMEOUT", "soon"),
        ]),
    ];
    sections
        .into_iter()
        .flat_map(|(part, cases)| cases.into_iter().map(move |case| (part, case)))
        .collect()
}

/// One test per part of the catalogue.
macro_rules! part_tests {
    ($($test:ident => $part:ident),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_part(Part::$part);
            }
        )*
    };
}

part_tests! {
    hostile_inputs_names_and_values => NamesAndValues,
    hostile_inputs_flags => Flags,
    hostile_inputs_kubeconfig_files => KubeconfigFiles,
    hostile_inputs_alias_bomb => AliasBomb,
    hostile_inputs_large_file => LargeFile,
    hostile_inputs_arm_answers => ArmAnswers,
    hostile_inputs_kubelogin => Kubelogin,
}

/// Each case of `part` gets a clear error, a documented exit code and touches no file.
fn run_part(part: Part) {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let kube = cloud.home().join(".kube");
    std::fs::create_dir_all(&kube).unwrap();
    std::fs::write(kube.join("config"), GOOD_KUBECONFIG).unwrap();
    std::fs::set_permissions(kube.join("config"), std::fs::Permissions::from_mode(0o600)).unwrap();

    let cases = cases(&cloud);
    assert!(cases.len() >= 40, "the catalogue has {} cases", cases.len());
    assert!(
        cases.iter().any(|(of, _)| *of == part),
        "{part:?} has cases"
    );
    let mut failures = Vec::new();
    for (index, (_, mut case)) in cases
        .into_iter()
        .enumerate()
        .filter(|(_, (of, _))| *of == part)
    {
        let dir = cloud.dir().join("cases").join(format!("{index:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        let fill = |text: &str| text.replace("{dir}", &dir.display().to_string());
        for setup in &case.files {
            match setup {
                Setup::File(name, bytes, mode) => {
                    let path = dir.join(name);
                    std::fs::write(&path, bytes).unwrap();
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                        .unwrap();
                }
                Setup::Link(name, target) => symlink(target, dir.join(name)).unwrap(),
                Setup::Dir(name) => std::fs::create_dir(dir.join(name)).unwrap(),
            }
        }
        for rule in &case.faults {
            cloud.management("POST", "faults", Some(rule.clone()));
        }
        let before = (snapshot(&dir), snapshot(&kube));
        let mut command = cloud.command();
        command.timeout(case.timeout);
        if case.name == "non-UTF-8 argument" {
            use std::os::unix::ffi::OsStrExt;
            command.args(["aks", "show", "-g", "rg1", "-n"]);
            command.arg(std::ffi::OsStr::from_bytes(b"c\xff1"));
        }
        case.args = case.args.iter().map(|arg| fill(arg)).collect();
        command.args(&case.args);
        for (name, value) in &case.env {
            command.env(name, fill(value));
        }
        let output = command.output().expect("aksctl runs");
        let after = (snapshot(&dir), snapshot(&kube));
        if !case.faults.is_empty() {
            cloud.management("DELETE", "faults", None);
        }
        let text = stderr(&output);
        let expected = fill(case.stderr_has);
        let mut problems = Vec::new();
        if output.status.code() != Some(case.exit) {
            problems.push(format!(
                "exit {:?}, expected {}",
                output.status.code(),
                case.exit
            ));
        }
        if !text.contains(&expected) {
            problems.push(format!("stderr does not name {expected:?}"));
        }
        if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
            problems.push("panicked".into());
        }
        if case.exit != 0 && !output.stdout.is_empty() {
            problems.push(format!(
                "stdout not empty: {}",
                String::from_utf8_lossy(&output.stdout)
            ));
        }
        if before != after {
            let changed: Vec<_> = before
                .0
                .keys()
                .chain(after.0.keys())
                .chain(before.1.keys())
                .chain(after.1.keys())
                .filter(|path| {
                    before.0.get(*path).or(before.1.get(*path))
                        != after.0.get(*path).or(after.1.get(*path))
                })
                .collect();
            problems.push(format!("files changed: {changed:?}"));
        }
        if !problems.is_empty() {
            let shown: String = text.chars().take(600).collect();
            failures.push(format!(
                "[{index:02}] {}: {}\n    args: {:?}\n    stderr: {shown}",
                case.name,
                problems.join("; "),
                case.args
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} hostile cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
