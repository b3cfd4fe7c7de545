//! `convert-kubeconfig` on files: a `KUBECONFIG` list, users written back to their own file, modes, symbolic
//! links, locks, and nothing written on failure (docs/kubelogin.md, "Writing back").

use crate::support::parse;
use aks_kubeconfig::{
    ConvertError, ConvertFileError, ConvertFilesOptions, ConvertOptions, ConvertedUser, FileLock,
    LoginMode, MissingFiles, convert_explicit_file, convert_files, convert_files_with,
};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File A: a legacy azure user, a token user, a shared cluster, an unknown top-level key and an unknown user key.
const FILE_A: &str = r#"# a comment that a rewrite loses, as with client-go
apiVersion: v1
kind: Config
clusters:
- name: aks-a
  cluster:
    server: https://aks-a.hcp.eastus.azmk8s.io:443
contexts:
- name: aks-a
  context:
    cluster: aks-a
    user: clusterUser_rg_aks-a
current-context: aks-a
x-team-note: keep me
users:
- name: clusterUser_rg_aks-a
  user:
    auth-provider:
      name: azure
      config:
        apiserver-id: 6dae42f8-4368-4678-94ff-3960e28e3630
        client-id: 80faf920-1908-4b52-b5ef-a8e7bedfc67a
        tenant-id: 72f988bf-86f1-41af-91ab-2d7cd011db47
        environment: AzurePublicCloud
        config-mode: '1'
    x-user-extra: 42
- name: token-user
  user:
    token: abc
"#;

/// File B: a kubelogin exec user (az's shape, with an aka.ms hint), and a user named like one in A (shadowed).
const FILE_B: &str = r#"apiVersion: v1
kind: Config
clusters:
- name: aks-b
  cluster:
    server: https://aks-b.hcp.eastus.azmk8s.io:443
contexts:
- name: aks-b
  context:
    cluster: aks-b
    user: clusterUser_rg_aks-b
current-context: aks-b
users:
- name: clusterUser_rg_aks-b
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: /usr/local/bin/kubelogin
      args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630, --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, 72f988bf-86f1-41af-91ab-2d7cd011db47, --login, devicecode]
      env: null
      installHint: |
        install kubelogin: https://aka.ms/aks/kubelogin
      interactiveMode: IfAvailable
      provideClusterInfo: false
- name: token-user
  user:
    exec:
      command: kubelogin
      args: [get-token, --server-id, shadowed]
"#;

fn azurecli() -> ConvertOptions {
    ConvertOptions {
        login: Some(LoginMode::AzureCli),
        ..ConvertOptions::default()
    }
}

fn write_pair(directory: &Path) -> (PathBuf, PathBuf) {
    let a = directory.join("a.yaml");
    let b = directory.join("b.yaml");
    fs::write(&a, FILE_A).unwrap();
    fs::write(&b, FILE_B).unwrap();
    (a, b)
}

fn args_of(path: &Path, user: &str) -> Vec<String> {
    let config = parse(&fs::read_to_string(path).unwrap());
    config
        .user_exec(user)
        .unwrap()
        .args
        .as_ref()
        .unwrap()
        .clone()
}

#[cfg(unix)]
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn each_user_is_written_back_to_its_own_file() {
    let directory = tempfile::tempdir().unwrap();
    let (a, b) = write_pair(directory.path());
    let report = convert_files(&[a.clone(), b.clone()], &azurecli()).unwrap();
    assert_eq!(
        report.converted,
        [
            ConvertedUser {
                name: "clusterUser_rg_aks-a".into(),
                file: a.clone()
            },
            ConvertedUser {
                name: "clusterUser_rg_aks-b".into(),
                file: b.clone()
            },
        ]
    );
    assert_eq!(report.written, [a.clone(), b.clone()]);

    let expected_args = [
        "get-token",
        "--login",
        "azurecli",
        "--server-id",
        "6dae42f8-4368-4678-94ff-3960e28e3630",
    ];
    assert_eq!(args_of(&a, "clusterUser_rg_aks-a"), expected_args);
    assert_eq!(args_of(&b, "clusterUser_rg_aks-b"), expected_args);

    let after_a = parse(&fs::read_to_string(&a).unwrap());
    let before_a = parse(FILE_A);
    // Unknown keys and the other user survive; the auth-provider is gone.
    assert_eq!(after_a.other["x-team-note"], "keep me");
    let converted = after_a
        .named_user("clusterUser_rg_aks-a")
        .unwrap()
        .user
        .as_ref()
        .unwrap();
    assert!(converted.auth_provider.is_absent());
    assert_eq!(converted.other["x-user-extra"], 42);
    assert_eq!(
        after_a.named_user("token-user"),
        before_a.named_user("token-user")
    );
    assert_eq!(after_a.clusters, before_a.clusters);
    assert_eq!(after_a.contexts, before_a.contexts);

    // B: the kept install hint, command reset, interactiveMode dropped; the shadowed user is not converted.
    let after_b = parse(&fs::read_to_string(&b).unwrap());
    let exec = after_b.user_exec("clusterUser_rg_aks-b").unwrap();
    assert_eq!(exec.command.as_ref().unwrap(), "kubelogin");
    assert_eq!(
        exec.install_hint.as_ref().unwrap(),
        "install kubelogin: https://aka.ms/aks/kubelogin\n"
    );
    assert!(exec.interactive_mode.is_absent());
    assert_eq!(
        after_b.named_user("token-user"),
        parse(FILE_B).named_user("token-user")
    );
    // client-go's serialization of the exec section.
    let text = fs::read_to_string(&b).unwrap();
    assert!(text.contains("env: null"), "{text}");
    assert!(text.contains("provideClusterInfo: false"), "{text}");
}

#[test]
fn context_restricts_conversion_to_one_file() {
    let directory = tempfile::tempdir().unwrap();
    let (a, b) = write_pair(directory.path());
    let options = ConvertOptions {
        context: Some("aks-b".into()),
        ..azurecli()
    };
    let report = convert_files(&[a.clone(), b.clone()], &options).unwrap();
    assert_eq!(report.written, [b]);
    assert_eq!(fs::read_to_string(&a).unwrap(), FILE_A, "A untouched");
}

#[cfg(unix)]
#[test]
fn file_modes_are_kept() {
    let directory = tempfile::tempdir().unwrap();
    let (a, b) = write_pair(directory.path());
    set_mode(&a, 0o644);
    set_mode(&b, 0o600);
    convert_files(&[a.clone(), b.clone()], &azurecli()).unwrap();
    assert_eq!(mode_of(&a), 0o644);
    assert_eq!(mode_of(&b), 0o600);
}

#[test]
fn an_error_in_one_file_leaves_both_files_byte_identical() {
    let directory = tempfile::tempdir().unwrap();
    let (a, b) = write_pair(directory.path());
    // B's user has no --server-id; A's converts fine but must not be written either.
    let broken_b = FILE_B.replace("--server-id, 6dae42f8-4368-4678-94ff-3960e28e3630, ", "");
    fs::write(&b, &broken_b).unwrap();
    let error = convert_files(&[a.clone(), b.clone()], &azurecli()).unwrap_err();
    assert_eq!(error.to_string(), "--server-id is required");
    assert!(matches!(
        error,
        ConvertFileError::Convert(ConvertError::MissingArgument { ref user, .. })
            if user == "clusterUser_rg_aks-b"
    ));
    assert_eq!(fs::read_to_string(&a).unwrap(), FILE_A);
    assert_eq!(fs::read_to_string(&b).unwrap(), broken_b);
    assert!(!directory.path().join("a.yaml.lock").exists());
}

#[test]
fn an_unknown_context_writes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let (a, b) = write_pair(directory.path());
    let options = ConvertOptions {
        context: Some("nope".into()),
        ..azurecli()
    };
    let error = convert_files(&[a.clone(), b.clone()], &options).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no context exists with the name: \"nope\""
    );
    assert_eq!(fs::read_to_string(&a).unwrap(), FILE_A);
    assert_eq!(fs::read_to_string(&b).unwrap(), FILE_B);
}

#[test]
fn a_held_lock_times_out_and_writes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let (a, b) = write_pair(directory.path());
    let _held = FileLock::acquire(&b, Duration::from_secs(1)).unwrap();
    let error = convert_files_with(
        &[a.clone(), b.clone()],
        &azurecli(),
        &ConvertFilesOptions {
            lock_timeout: Duration::from_millis(50),
            ..ConvertFilesOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(error, ConvertFileError::Lock(_)), "{error:?}");
    assert_eq!(fs::read_to_string(&a).unwrap(), FILE_A);
    assert_eq!(fs::read_to_string(&b).unwrap(), FILE_B);
    assert!(
        !directory.path().join("a.yaml.lock").exists(),
        "A's lock released"
    );
}

#[test]
fn nothing_to_convert_writes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    let text = "# only a token user\napiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: abc}\n";
    fs::write(&path, text).unwrap();
    let report = convert_files(std::slice::from_ref(&path), &azurecli()).unwrap();
    assert!(report.converted.is_empty() && report.written.is_empty());
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn missing_list_entries_are_skipped_but_an_explicit_file_must_exist() {
    let directory = tempfile::tempdir().unwrap();
    let (a, _) = write_pair(directory.path());
    let missing = directory.path().join("missing.yaml");
    let report = convert_files(&[missing.clone(), a.clone()], &azurecli()).unwrap();
    assert_eq!(report.written, [a]);
    assert!(!missing.exists());

    let error = convert_explicit_file(&missing, &azurecli()).unwrap_err();
    assert!(
        matches!(&error, ConvertFileError::Read { path, source }
            if path == &missing && source.kind() == io::ErrorKind::NotFound),
        "{error:?}"
    );
    let error = convert_files_with(
        std::slice::from_ref(&missing),
        &azurecli(),
        &ConvertFilesOptions {
            missing_files: MissingFiles::Error,
            ..ConvertFilesOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(error, ConvertFileError::Read { .. }));
}

#[test]
fn invalid_options_fail_before_any_file_is_read() {
    let directory = tempfile::tempdir().unwrap();
    let garbage = directory.path().join("garbage");
    fs::write(&garbage, "users: [unclosed").unwrap();
    let options = ConvertOptions {
        pop_enabled: Some(true),
        ..azurecli()
    };
    let error = convert_files(std::slice::from_ref(&garbage), &options).unwrap_err();
    assert!(matches!(
        error,
        ConvertFileError::Convert(ConvertError::PopClaimsFlagMissing)
    ));
    let error = convert_files(std::slice::from_ref(&garbage), &azurecli()).unwrap_err();
    assert!(matches!(error, ConvertFileError::Parse { .. }), "{error:?}");
}

#[cfg(unix)]
#[test]
fn symbolic_links_are_followed() {
    let directory = tempfile::tempdir().unwrap();
    let (a, _) = write_pair(directory.path());
    let link = directory.path().join("link.yaml");
    std::os::unix::fs::symlink("a.yaml", &link).unwrap();
    set_mode(&a, 0o640);
    // A writer given the target's own path excludes us: both link.yaml.lock and a.yaml.lock are taken.
    let held = FileLock::acquire(&a, Duration::from_secs(1)).unwrap();
    let options = ConvertFilesOptions {
        missing_files: MissingFiles::Error,
        lock_timeout: Duration::from_millis(200),
    };
    let error = convert_files_with(std::slice::from_ref(&link), &azurecli(), &options).unwrap_err();
    assert!(matches!(&error, ConvertFileError::Lock(_)), "{error:?}");
    assert_eq!(error.path(), Some(aks_kubeconfig::lock_path(&a).as_path()));
    drop(held);
    let report = convert_explicit_file(&link, &azurecli()).unwrap();
    assert_eq!(report.written, std::slice::from_ref(&link));
    assert_eq!(mode_of(&a), 0o640);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        args_of(&a, "clusterUser_rg_aks-a"),
        [
            "get-token",
            "--login",
            "azurecli",
            "--server-id",
            "6dae42f8-4368-4678-94ff-3960e28e3630"
        ]
    );
}

#[test]
fn converting_twice_is_idempotent() {
    let directory = tempfile::tempdir().unwrap();
    let (a, b) = write_pair(directory.path());
    let paths = [a.clone(), b.clone()];
    convert_files(&paths, &azurecli()).unwrap();
    let first = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    convert_files(&paths, &azurecli()).unwrap();
    assert_eq!((fs::read(&a).unwrap(), fs::read(&b).unwrap()), first);
}

/// A named pipe that answers each read with an empty document and tells the test each time a reader opened it:
/// placed after a file in a `KUBECONFIG` list, its first read proves that the file before it has been read.
#[cfg(unix)]
struct ReadSignal {
    path: PathBuf,
    reads: std::sync::mpsc::Receiver<()>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    feeder: std::thread::JoinHandle<()>,
}

#[cfg(unix)]
impl ReadSignal {
    fn new(path: PathBuf) -> ReadSignal {
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo {}", path.display());
        let (sender, reads) = std::sync::mpsc::channel();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let feeder = {
            let (path, stop) = (path.clone(), stop.clone());
            // Opening a pipe for writing blocks until a reader opens it; closing it at once ends that read.
            std::thread::spawn(move || {
                loop {
                    let writer = fs::OpenOptions::new().write(true).open(&path).unwrap();
                    drop(writer);
                    if stop.load(std::sync::atomic::Ordering::SeqCst) || sender.send(()).is_err() {
                        return;
                    }
                }
            })
        };
        ReadSignal {
            path,
            reads,
            stop,
            feeder,
        }
    }

    /// Blocks until a reader has opened the pipe (at most 60 s, against a hang).
    fn wait_for_read(&self) {
        self.reads
            .recv_timeout(Duration::from_secs(60))
            .expect("the pipe was read");
    }

    /// Stops the feeder: opening the pipe for reading releases its pending open.
    fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(fs::File::open(&self.path).unwrap());
        self.feeder.join().unwrap();
    }
}

#[cfg(unix)]
#[test]
fn a_change_made_under_the_lock_is_kept_and_the_waiting_run_finishes() {
    // Another writer holds A's lock after this run has read A, and changes A meanwhile: the run plans again from
    // the new contents under the lock (it neither fails nor starts over nor loses the other change). The order
    // is certain, not timed: the list is [A, pipe], so the pipe's first read means A has been read.
    let directory = tempfile::tempdir().unwrap();
    let (a, _) = write_pair(directory.path());
    let signal = ReadSignal::new(directory.path().join("after-a.pipe"));
    let held = FileLock::acquire(&a, Duration::from_secs(1)).unwrap();
    let worker = {
        let paths = vec![a.clone(), signal.path.clone()];
        std::thread::spawn(move || convert_files(&paths, &azurecli()))
    };
    signal.wait_for_read();
    fs::write(&a, FILE_A.replace("token: abc", "token: changed")).unwrap();
    drop(held);
    let report = worker.join().unwrap().unwrap();
    signal.finish();
    assert_eq!(report.written, std::slice::from_ref(&a));
    let text = fs::read_to_string(&a).unwrap();
    assert!(text.contains("token: changed"), "{text}");
    assert_eq!(
        args_of(&a, "clusterUser_rg_aks-a")[..3],
        ["get-token", "--login", "azurecli"]
    );
    assert!(!directory.path().join("a.yaml.lock").exists());
}

#[cfg(unix)]
#[test]
fn a_dangling_or_looping_explicit_file_is_refused_naming_it() {
    let directory = tempfile::tempdir().unwrap();
    let dangling = directory.path().join("dangling.yaml");
    std::os::unix::fs::symlink("missing.yaml", &dangling).unwrap();
    let looped = directory.path().join("loop.yaml");
    std::os::unix::fs::symlink("loop.yaml", &looped).unwrap();
    for link in [&dangling, &looped] {
        let error = convert_explicit_file(link, &azurecli()).unwrap_err();
        assert!(matches!(&error, ConvertFileError::Resolve(_)), "{error:?}");
        assert_eq!(error.path(), Some(link.as_path()));
    }
    // In a KUBECONFIG list a dangling link is a missing file: skipped, as client-go skips it.
    let (a, _) = write_pair(directory.path());
    let report = convert_files(&[dangling.clone(), a.clone()], &azurecli()).unwrap();
    assert_eq!(report.written, [a]);
    assert!(!directory.path().join("missing.yaml").exists());
}
