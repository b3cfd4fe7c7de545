//! Files: atomic writes, client-go's lock, and the get-credentials file step (plus az's file-level tests).

use crate::support::{never_asked, parse};
use aks_kubeconfig::{
    FileLock, FileMergeError, Kubeconfig, KubeconfigError, LoadError, MergeError, MergeFileOptions,
    SymlinkPolicy, WriteError, load_file, lock_path, merge_into_file, merge_into_file_with,
    write_atomic,
};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

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

fn entries_in(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn credential(name: &str) -> Kubeconfig {
    parse(&format!(
        "apiVersion: v1\nclusters:\n- cluster:\n    server: https://{name}.hcp.eastus.azmk8s.io:443\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n    user: clusterUser_rg_{name}\n  name: {name}\ncurrent-context: {name}\nkind: Config\npreferences: {{}}\nusers:\n- name: clusterUser_rg_{name}\n  user:\n    token: t-{name}\n"
    ))
}

#[cfg(unix)]
#[test]
fn new_file_is_0600_and_existing_mode_is_kept() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    let outcome = write_atomic(&path, b"a: 1\n", SymlinkPolicy::Refuse).unwrap();
    assert!(outcome.created);
    assert_eq!(outcome.mode, 0o600);
    assert_eq!(mode_of(&path), 0o600);

    set_mode(&path, 0o644);
    let outcome = write_atomic(&path, b"a: 2\n", SymlinkPolicy::Refuse).unwrap();
    assert!(!outcome.created);
    assert_eq!(outcome.mode, 0o644);
    assert_eq!(mode_of(&path), 0o644);
    assert_eq!(fs::read_to_string(&path).unwrap(), "a: 2\n");
    assert_eq!(
        entries_in(directory.path()),
        ["config"],
        "no temp file left behind"
    );
}

#[test]
fn missing_parent_directories_are_created() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("a/b/config");
    write_atomic(&path, b"x: y\n", SymlinkPolicy::Refuse).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "x: y\n");
}

#[cfg(unix)]
#[test]
fn symlinks_are_refused_or_followed() {
    let directory = tempfile::tempdir().unwrap();
    let target = directory.path().join("real-config");
    let link = directory.path().join("config");
    fs::write(&target, "original\n").unwrap();
    set_mode(&target, 0o640);
    std::os::unix::fs::symlink("real-config", &link).unwrap();

    let error = write_atomic(&link, b"new\n", SymlinkPolicy::Refuse).unwrap_err();
    assert!(
        matches!(&error, WriteError::Symlink { path } if path == &link),
        "{error:?}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "original\n");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    let outcome = write_atomic(&link, b"new\n", SymlinkPolicy::Follow).unwrap();
    assert!(!outcome.created);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "new\n");
    assert_eq!(mode_of(&target), 0o640);
}

#[cfg(unix)]
#[test]
fn read_only_directory_fails_and_changes_nothing() {
    if crate::support::permissions_are_bypassed() {
        eprintln!("skipped: running with permission checks bypassed (root)");
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    fs::write(&path, "old\n").unwrap();
    set_mode(directory.path(), 0o555);
    let result = write_atomic(&path, b"new\n", SymlinkPolicy::Refuse);
    set_mode(directory.path(), 0o755);
    let error = result.unwrap_err();
    assert_eq!(
        error.io_error_kind(),
        Some(std::io::ErrorKind::PermissionDenied),
        "{error:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
    assert_eq!(entries_in(directory.path()), ["config"]);
}

#[test]
fn a_file_in_place_of_the_directory_fails_and_changes_nothing() {
    // Also works as root, unlike the read-only directory test.
    let directory = tempfile::tempdir().unwrap();
    let blocker = directory.path().join("not-a-dir");
    fs::write(&blocker, "keep\n").unwrap();
    let error = write_atomic(&blocker.join("config"), b"new\n", SymlinkPolicy::Refuse).unwrap_err();
    assert!(error.io_error_kind().is_some(), "{error:?}");
    assert_eq!(fs::read_to_string(&blocker).unwrap(), "keep\n");
    assert_eq!(entries_in(directory.path()), ["not-a-dir"]);
}

#[test]
fn lock_is_exclusive_between_threads_and_removed_on_drop() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    let first = FileLock::acquire(&path, Duration::from_secs(1)).unwrap();
    assert_eq!(first.path(), lock_path(&path));
    assert!(first.path().exists());

    // The second lock is taken only after the first is released: the waiter sees `released` set (stored just
    // before the drop), whatever the threads' timing. The pause only makes it likely that the waiter is already
    // waiting when the first lock goes; nothing is asserted on time.
    let barrier = Arc::new(Barrier::new(2));
    let released = Arc::new(AtomicBool::new(false));
    let waiter = {
        let path = path.clone();
        let barrier = Arc::clone(&barrier);
        let released = Arc::clone(&released);
        std::thread::spawn(move || {
            barrier.wait();
            let lock = FileLock::acquire(&path, Duration::from_secs(10)).unwrap();
            (released.load(Ordering::SeqCst), lock.path().exists())
        })
    };
    barrier.wait();
    std::thread::sleep(Duration::from_millis(200));
    released.store(true, Ordering::SeqCst);
    drop(first);
    let (after_release, existed) = waiter.join().unwrap();
    assert!(after_release, "second lock taken while the first was held");
    assert!(existed);
    assert!(
        !lock_path(&path).exists(),
        "lock file removed after the second drop"
    );
}

#[test]
fn a_leftover_lock_file_times_out_with_a_hint() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    fs::write(lock_path(&path), "").unwrap();
    let started = Instant::now();
    let error = FileLock::acquire(&path, Duration::from_millis(200)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    let lock = lock_path(&path);
    assert!(
        matches!(&error, WriteError::LockTimeout { path, .. } if path == &lock),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&lock.display().to_string()), "{message}");
    assert!(
        message.contains("hint: if no other kubectl or aksctl is running, remove"),
        "{message}"
    );
    // A duration people read ("200ms"), not Debug's "200.123456ms".
    let waited = message
        .strip_prefix("timed out after ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap();
    assert!(
        waited.ends_with("ms") && waited[..waited.len() - 2].parse::<u32>().is_ok(),
        "{message}"
    );
    assert!(lock.exists(), "someone else's lock is never removed");
}

#[cfg(unix)]
#[test]
fn missing_directories_are_created_0700() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("home/.kube/config");
    merge_into_file(&path, credential("aks1"), false, &mut never_asked).unwrap();
    assert_eq!(mode_of(&directory.path().join("home")), 0o700);
    assert_eq!(mode_of(&directory.path().join("home/.kube")), 0o700);
    assert_eq!(mode_of(&path), 0o600);

    // An existing directory keeps its mode.
    set_mode(&directory.path().join("home/.kube"), 0o755);
    write_atomic(&path, b"a: 1\n", SymlinkPolicy::Refuse).unwrap();
    assert_eq!(mode_of(&directory.path().join("home/.kube")), 0o755);
}

#[test]
fn a_directory_is_not_a_kubeconfig() {
    let directory = tempfile::tempdir().unwrap();
    let error =
        merge_into_file(directory.path(), credential("c1"), false, &mut never_asked).unwrap_err();
    assert!(
        matches!(&error, FileMergeError::Directory { path } if path == directory.path()),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("is a directory, not a kubeconfig file")
    );
    assert_eq!(entries_in(directory.path()), Vec::<String>::new());
}

fn follow() -> MergeFileOptions {
    MergeFileOptions {
        symlinks: SymlinkPolicy::Follow,
        lock_timeout: Duration::from_millis(300),
    }
}

#[cfg(unix)]
#[test]
fn merge_writes_through_a_link_chain_keeping_links_and_mode() {
    let directory = tempfile::tempdir().unwrap();
    let dotfiles = directory.path().join("dotfiles");
    fs::create_dir(&dotfiles).unwrap();
    let target = dotfiles.join("kubeconfig");
    fs::write(&target, credential("old").to_yaml()).unwrap();
    set_mode(&target, 0o640);
    let middle = directory.path().join("middle");
    std::os::unix::fs::symlink("dotfiles/kubeconfig", &middle).unwrap();
    let link = directory.path().join("config");
    std::os::unix::fs::symlink(&middle, &link).unwrap();

    let outcome =
        merge_into_file_with(&link, credential("new"), false, &mut never_asked, &follow()).unwrap();
    assert_eq!(outcome.previous_mode, Some(0o640));
    for kept in [&link, &middle] {
        assert!(fs::symlink_metadata(kept).unwrap().file_type().is_symlink());
    }
    assert_eq!(mode_of(&target), 0o640);
    assert_eq!(
        load_file(&target).unwrap().unwrap().context_names(),
        ["old", "new"]
    );
    // The temporary file was made beside the target (the rename is within one directory), and every lock
    // file is gone.
    assert_eq!(entries_in(&dotfiles), ["kubeconfig"]);
    assert_eq!(
        entries_in(directory.path()),
        ["config", "dotfiles", "middle"]
    );
}

#[cfg(unix)]
#[test]
fn a_link_is_locked_beside_the_link_and_beside_its_target() {
    let directory = tempfile::tempdir().unwrap();
    let target = directory.path().join("real");
    fs::write(&target, "").unwrap();
    let link = directory.path().join("config");
    std::os::unix::fs::symlink("real", &link).unwrap();

    // kubectl given the link locks config.lock; a writer given the target locks real.lock: both exclude us.
    for held in [&link, &target] {
        let _held = FileLock::acquire(held, Duration::from_secs(1)).unwrap();
        let error =
            merge_into_file_with(&link, credential("c1"), false, &mut never_asked, &follow())
                .unwrap_err();
        match &error {
            FileMergeError::Lock(WriteError::LockTimeout { path, .. }) => {
                assert_eq!(path, &lock_path(held))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read_to_string(&target).unwrap(), "");
    }
    let lock = FileLock::acquire_following(&link, Duration::from_secs(1)).unwrap();
    assert_eq!(lock.paths(), [lock_path(&link), lock_path(&target)]);
    drop(lock);
    assert_eq!(entries_in(directory.path()), ["config", "real"]);
}

#[cfg(unix)]
#[test]
fn dangling_links_and_loops_are_refused_naming_the_path() {
    let directory = tempfile::tempdir().unwrap();
    let dangling = directory.path().join("dangling");
    std::os::unix::fs::symlink("nowhere/config", &dangling).unwrap();
    let looped = directory.path().join("loop");
    std::os::unix::fs::symlink("loop", &looped).unwrap();

    let error = write_atomic(&dangling, b"x", SymlinkPolicy::Follow).unwrap_err();
    assert!(
        matches!(&error, WriteError::DanglingSymlink { path, target }
            if path == &dangling && target == &directory.path().join("nowhere/config")),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("is a dangling symbolic link"),
        "{error}"
    );
    let error = write_atomic(&looped, b"x", SymlinkPolicy::Follow).unwrap_err();
    assert!(
        matches!(&error, WriteError::SymlinkLoop { path } if path == &looped),
        "{error:?}"
    );
    assert!(
        error.to_string().ends_with("is a symbolic link loop"),
        "{error}"
    );

    for link in [&dangling, &looped] {
        let error =
            merge_into_file_with(link, credential("c1"), false, &mut never_asked, &follow())
                .unwrap_err();
        assert!(matches!(&error, FileMergeError::Resolve(_)), "{error:?}");
        assert_eq!(error.path(), Some(link.as_path()));
    }
    assert_eq!(entries_in(directory.path()), ["dangling", "loop"]);
}

#[cfg(unix)]
#[test]
fn merge_into_a_missing_file_creates_it_0600() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join(".kube/config");
    let outcome = merge_into_file(&path, credential("aks1"), false, &mut never_asked).unwrap();
    assert_eq!(outcome.current_context, "aks1");
    assert_eq!(outcome.previous_mode, None);
    assert!(outcome.created);
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(load_file(&path).unwrap().unwrap(), credential("aks1"));
    assert!(!lock_path(&path).exists());
}

#[cfg(unix)]
#[test]
fn merge_keeps_mode_and_reports_the_previous_one() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    fs::write(&path, credential("old").to_yaml()).unwrap();
    set_mode(&path, 0o644);
    let outcome = merge_into_file(&path, credential("new"), false, &mut never_asked).unwrap();
    assert_eq!(outcome.previous_mode, Some(0o644));
    assert!(!outcome.created);
    assert_eq!(mode_of(&path), 0o644);
    let merged = load_file(&path).unwrap().unwrap();
    assert_eq!(merged.context_names(), ["old", "new"]);
    assert_eq!(merged.current_context(), Some("new"));
}

#[test]
fn merge_into_an_empty_file_writes_the_addition() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    fs::write(&path, "\n").unwrap();
    merge_into_file(&path, credential("aks1"), false, &mut never_asked).unwrap();
    assert_eq!(load_file(&path).unwrap().unwrap(), credential("aks1"));
}

#[test]
fn test_merge_credentials_non_existent() {
    // az's `merge_kubernetes_configurations('non', 'existent')`: loading a missing file is an error.
    let directory = tempfile::tempdir().unwrap();
    let error = load_file(&directory.path().join("non")).unwrap_err();
    assert!(
        matches!(&error, LoadError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{error:?}"
    );
}

#[test]
fn test_merge_credentials_broken_yaml() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    fs::write(&path, "{ broken").unwrap();
    let error = merge_into_file(&path, credential("aks1"), false, &mut never_asked).unwrap_err();
    match &error {
        FileMergeError::Parse {
            path: reported,
            source,
        } => {
            assert_eq!(reported, &path);
            assert!(matches!(source, KubeconfigError::Yaml { .. }));
            assert!(!source.detail().is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), "{ broken");
    assert!(matches!(load_file(&path), Err(LoadError::Parse { .. })));
}

#[cfg(unix)]
#[test]
fn test_merge_credentials_rejects_symlink() {
    let directory = tempfile::tempdir().unwrap();
    let target = directory.path().join("target.kubeconfig");
    let original = "clusters: []\ncontexts: []\ncurrent-context: ''\nkind: Config\nusers: []\n";
    fs::write(&target, original).unwrap();
    let link = directory.path().join("target.kubeconfig.link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let error = merge_into_file(&link, credential("c1"), false, &mut never_asked).unwrap_err();
    assert!(
        matches!(&error, FileMergeError::Symlink { path } if path == &link),
        "{error:?}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), original);
    assert!(!lock_path(&link).exists());

    let options = MergeFileOptions {
        symlinks: SymlinkPolicy::Follow,
        ..MergeFileOptions::default()
    };
    merge_into_file_with(&link, credential("c1"), false, &mut never_asked, &options).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(load_file(&target).unwrap().unwrap().context_names(), ["c1"]);
}

#[test]
fn a_refused_conflict_leaves_the_file_untouched() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    let before = credential("aks1")
        .to_yaml()
        .replace("t-aks1", "other-token");
    fs::write(&path, &before).unwrap();
    let error = merge_into_file(&path, credential("aks1"), false, &mut |_| false).unwrap_err();
    assert!(
        matches!(&error, FileMergeError::Merge(MergeError::Conflict { key, name }) if key == "users" && name == "clusterUser_rg_aks1"),
        "{error:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), before);
    assert_eq!(
        entries_in(directory.path()),
        ["config"],
        "no lock or temp file left"
    );

    assert!(merge_into_file(&path, credential("x"), false, &mut never_asked).is_ok());
    fs::write(&path, "kind: Config\n").unwrap();
    let error = merge_into_file(&path, credential("x"), false, &mut never_asked).unwrap_err();
    assert!(
        matches!(error, FileMergeError::Merge(MergeError::MissingKey { ref key }) if key == "clusters")
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "kind: Config\n");
}

#[test]
fn a_held_lock_makes_merge_time_out_without_writing() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    let _held = FileLock::acquire(&path, Duration::from_secs(1)).unwrap();
    let options = MergeFileOptions {
        lock_timeout: Duration::from_millis(100),
        ..MergeFileOptions::default()
    };
    let error = merge_into_file_with(&path, credential("a"), false, &mut never_asked, &options)
        .unwrap_err();
    assert!(
        matches!(error, FileMergeError::Lock(WriteError::LockTimeout { .. })),
        "{error:?}"
    );
    assert!(!path.exists());
}

#[test]
fn thirty_two_concurrent_merges_all_land() {
    let directory = tempfile::tempdir().unwrap();
    let path = Arc::new(directory.path().join("config"));
    let barrier = Arc::new(Barrier::new(32));
    let workers: Vec<_> = (0..32)
        .map(|index| {
            let path = Arc::clone(&path);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let name = format!("cluster-{index:02}");
                barrier.wait();
                merge_into_file(&path, credential(&name), false, &mut never_asked)
                    .unwrap_or_else(|error| panic!("{name}: {error}"))
            })
        })
        .collect();
    let created: usize = workers
        .into_iter()
        .map(|worker| usize::from(worker.join().unwrap().created))
        .sum();
    assert_eq!(created, 1, "exactly one writer created the file");
    let merged = load_file(&path).unwrap().unwrap();
    let mut contexts = merged.context_names();
    contexts.sort();
    let expected: Vec<String> = (0..32).map(|index| format!("cluster-{index:02}")).collect();
    assert_eq!(contexts, expected);
    assert_eq!(merged.cluster_names().len(), 32);
    assert_eq!(merged.user_names().len(), 32);
    assert_eq!(entries_in(directory.path()), ["config"]);
}

/// A kubeconfig its owner made read-only is not replaced (the rename would only need the directory's write
/// permission, and root ignores file modes): `PermissionDenied`, the file and its mode unchanged.
#[cfg(unix)]
#[test]
fn a_read_only_file_is_refused_and_left_alone() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    fs::write(&path, "apiVersion: v1\nkind: Config\n").unwrap();
    set_mode(&path, 0o444);
    let error = write_atomic(&path, b"replaced", SymlinkPolicy::Refuse).unwrap_err();
    assert_eq!(
        error.io_error_kind(),
        Some(std::io::ErrorKind::PermissionDenied)
    );
    assert_eq!(error.path(), path);
    assert_eq!(fs::read(&path).unwrap(), b"apiVersion: v1\nkind: Config\n");
    assert_eq!(mode_of(&path), 0o444);
    assert_eq!(
        entries_in(directory.path()),
        ["config"],
        "no temporary file left"
    );
    set_mode(&path, 0o400);
    assert!(write_atomic(&path, b"replaced", SymlinkPolicy::Refuse).is_err());
    set_mode(&path, 0o644);
    assert!(write_atomic(&path, b"replaced", SymlinkPolicy::Refuse).is_ok());
    assert_eq!(mode_of(&path), 0o644);
}

/// A kubeconfig of `count` clusters, contexts and users as the writer lays it out (so a merge copies its
/// untouched entries from the text and writes the result to the file in pieces).
fn large_file_text(count: usize) -> String {
    let mut text = String::from("apiVersion: v1\nclusters:\n");
    for index in 0..count {
        text += &format!("- cluster:\n    server: https://127.0.0.1:{index}\n  name: c{index}\n");
    }
    text += "contexts:\n";
    for index in 0..count {
        text +=
            &format!("- context:\n    cluster: c{index}\n    user: u{index}\n  name: c{index}\n");
    }
    text += "current-context: c0\nkind: Config\npreferences: {}\nusers:\n";
    for index in 0..count {
        text += &format!("- name: u{index}\n  user:\n    token: t{index}\n");
    }
    text
}

#[test]
fn a_large_file_is_written_byte_for_byte_as_the_whole_parse_writes_it() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("config");
    // Larger than the write buffer several times over, so the file is written in many pieces.
    let text = parse(&large_file_text(1000)).to_yaml();
    assert!(text.len() > 2 * 64 * 1024, "{} bytes", text.len());
    let mut replaced = credential("c7");
    replaced.users = parse(&large_file_text(8)).users;
    for (addition, overwrite) in [(credential("fresh"), false), (replaced, true)] {
        fs::write(&path, &text).unwrap();
        let expected = aks_kubeconfig::az_merge(
            Kubeconfig::parse(&text).unwrap(),
            addition.clone(),
            overwrite,
            &mut never_asked,
        )
        .unwrap()
        .to_yaml();
        let outcome = merge_into_file(&path, addition, overwrite, &mut never_asked).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
        assert_eq!(
            outcome.current_context,
            parse(&expected).current_context().unwrap()
        );
        assert_eq!(
            entries_in(directory.path()),
            ["config"],
            "no lock or temp file left"
        );
    }

    // A conflict refused on a large file: nothing written, nothing left behind.
    fs::write(&path, &text).unwrap();
    let error = merge_into_file(&path, credential("c9"), false, &mut |_| false).unwrap_err();
    assert!(
        matches!(&error, FileMergeError::Merge(MergeError::Conflict { key, name }) if key == "clusters" && name == "c9"),
        "{error:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
    assert_eq!(entries_in(directory.path()), ["config"]);
}
