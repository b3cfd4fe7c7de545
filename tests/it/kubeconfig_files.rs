//! The kubeconfig file as operators keep it: a dotfile manager's symbolic link written through by both
//! `get-credentials` and `kubelogin convert-kubeconfig`, locks beside the link and the target, a missing
//! directory created 0700 whatever the umask, and the messages around it (parse position, lock timeout,
//! install-cli). See docs/kubeconfig-files.md.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Output;

use aks_test_support::TestCloud;
use serde_json::Value;

use crate::{cloud, create_aad_cluster, stderr};

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn names_in(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn parse(path: &Path) -> Value {
    serde_saphyr::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// A fresh emulator with the AAD cluster `rg1/c1`.
fn cloud_with_cluster() -> TestCloud {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    cloud
}

fn get_credentials(cloud: &TestCloud, extra: &[&str]) -> Output {
    let args = [
        &["aks", "get-credentials", "-g", "rg1", "-n", "c1"][..],
        extra,
    ]
    .concat();
    cloud.run(&args)
}

#[test]
fn get_credentials_and_convert_kubeconfig_write_through_a_symlinked_kubeconfig() {
    let cloud = cloud_with_cluster();
    // A dotfile manager's layout: ~/.kube/config → ../dotfiles/kube/config, the real file 0640.
    let dotfiles = cloud.home().join("dotfiles/kube");
    fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("config");
    fs::write(
        &target,
        "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    .unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    let kube = cloud.home().join(".kube");
    fs::create_dir(&kube).unwrap();
    let link = kube.join("config");
    symlink("../dotfiles/kube/config", &link).unwrap();

    let output = get_credentials(&cloud, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "Merged \"c1\" as current context in {}",
            link.display()
        )),
        "{}",
        stderr(&output)
    );
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert_eq!(
        fs::read_link(&link).unwrap(),
        Path::new("../dotfiles/kube/config")
    );
    assert_eq!(mode_of(&target), 0o640, "the target keeps its mode");
    let doc = parse(&target);
    assert_eq!(doc["current-context"], "c1");
    assert_eq!(doc["users"][0]["user"]["exec"]["command"], "kubelogin");
    // No temporary or lock file left beside the link or the target.
    assert_eq!(names_in(&kube), ["config"]);
    assert_eq!(names_in(&dotfiles), ["config"]);

    let output = cloud.run(&["kubelogin", "convert-kubeconfig", "-l", "azurecli"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode_of(&target), 0o640);
    let args = parse(&target)["users"][0]["user"]["exec"]["args"].clone();
    assert!(
        args.as_array().unwrap().iter().any(|arg| arg == "azurecli"),
        "{args:?}"
    );
    assert_eq!(names_in(&kube), ["config"]);
    assert_eq!(names_in(&dotfiles), ["config"]);
}

#[test]
fn a_lock_beside_the_target_of_a_link_blocks_get_credentials_with_a_readable_timeout() {
    let cloud = cloud_with_cluster();
    let directory = cloud.dir().join("locked");
    fs::create_dir(&directory).unwrap();
    let target = directory.join("real-config");
    let link = directory.join("config");
    symlink(&target, &link).unwrap();
    fs::write(&target, "").unwrap();
    // Another writer, given the target's own path, holds client-go's lock on it.
    let lock = directory.join("real-config.lock");
    fs::write(&lock, "").unwrap();

    let output = get_credentials(&cloud, &["--file", link.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains(&format!(
            "timed out after 5s waiting for lock file {}",
            lock.display()
        )),
        "{text}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "", "nothing written");
    assert!(lock.exists(), "someone else's lock is left alone");
    assert!(
        !cloud.dir().join("config.lock").exists(),
        "our own lock is released"
    );
}

#[test]
fn a_missing_kubeconfig_directory_is_created_0700_even_under_umask_000() {
    let cloud = cloud_with_cluster();
    let file = cloud.dir().join("fresh/.kube/config");
    let aksctl = cloud.std_command();
    let mut command = std::process::Command::new("sh");
    for (name, value) in aksctl.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
        .args(["-c", "umask 000 && exec \"$0\" \"$@\""])
        .arg(aksctl.get_program())
        .args(["aks", "get-credentials", "-g", "rg1", "-n", "c1", "--file"])
        .arg(&file);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(mode_of(&cloud.dir().join("fresh")), 0o700);
    assert_eq!(mode_of(&cloud.dir().join("fresh/.kube")), 0o700);
    assert_eq!(mode_of(&file), 0o600);
}

#[test]
fn get_credentials_messages_name_the_parse_position_and_what_install_cli_installs() {
    let cloud = cloud_with_cluster();
    let broken = cloud.dir().join("broken");
    fs::write(
        &broken,
        "clusters: [\n  - name: x\n    cluster: {server: \n",
    )
    .unwrap();
    let output = get_credentials(&cloud, &["--file", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains(&format!("Error parsing {} (", broken.display())),
        "{text}"
    );
    assert!(text.contains("at line 2, column 3"), "{text}");

    let output = get_credentials(&cloud, &["--file", cloud.dir().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!(
            "{} is a directory, not a kubeconfig file",
            cloud.dir().display()
        )),
        "{}",
        stderr(&output)
    );

    // No kubelogin on PATH: the warning says what `aks install-cli` really does.
    let file = cloud.dir().join("exec-config");
    let output = cloud
        .command()
        .env("PATH", "/nonexistent")
        .args(["aks", "get-credentials", "-g", "rg1", "-n", "c1", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("run 'aksctl aks install-cli', which links aksctl as kubelogin (it does not install kubectl)"),
        "{text}"
    );
    assert!(!text.contains("both kubectl and kubelogin"), "{text}");
}

#[test]
fn aad_flags_without_enable_aad_are_ignored_as_az_does_but_with_a_warning() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "--name", "rg1", "--location", "eastus"]);
    let group = cloud.ready().admin_group_id.clone();
    let output = cloud.run(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--aad-admin-group-object-ids",
        &group,
        "--no-ssh-key",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let cluster: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        cluster.get("aadProfile").is_none_or(Value::is_null),
        "{cluster}"
    );
    assert_eq!(
        stderr(&output).trim_end(),
        "WARNING: --aad-admin-group-object-ids is ignored without --enable-aad: the cluster is created without Microsoft Entra integration. Add --enable-aad to create it with AKS-managed Entra integration, or enable it later with 'aksctl aks update --enable-aad'."
    );

    let output = cloud.run(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c2",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &group,
        "--no-ssh-key",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("ignored"), "{}", stderr(&output));
}
