//! Secrets never reach a terminal: a full run of the guide (group create, aks create --enable-aad,
//! get-credentials in the exec, azure and admin formats, aks update of a legacy cluster seeded with a
//! serverAppSecret, kubelogin get-token with a service principal), all with `--debug` (kubelogin: `-v 10`),
//! and every stdout and stderr searched for the seeded secrets: the client secrets, the serverAppSecret, any
//! access token (`eyJ`, the start of every JWT), and the admin kubeconfig's client key and token.

use std::process::Output;

use base64::Engine;
use serde_json::{Value, json};

use crate::{cloud, stderr};

const LEGACY_SERVER_SECRET: &str = "legacy-server-app-secret-5b1e";
const SERVER_ID: &str = "6dae42f8-4368-4678-94ff-3960e28e3630";

/// What one command printed, labelled.
struct Printed {
    label: String,
    stdout: String,
    stderr: String,
}

fn printed(label: &str, output: &Output) -> Printed {
    assert!(
        output.status.success(),
        "{label} failed: {}",
        stderr(output)
    );
    Printed {
        label: label.to_owned(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: stderr(output),
    }
}

#[test]
fn a_full_debug_run_prints_no_secret() {
    let cloud = cloud();
    let ready = cloud.ready().clone();
    let dir = cloud.dir().to_path_buf();
    let mut all: Vec<Printed> = Vec::new();
    let run = |args: &[&str]| cloud.run(args);

    all.push(printed(
        "group create",
        &run(&["group", "create", "-n", "rg1", "-l", "eastus", "--debug"]),
    ));
    all.push(printed(
        "aks create",
        &run(&[
            "aks",
            "create",
            "-g",
            "rg1",
            "-n",
            "c1",
            "--enable-aad",
            "--aad-admin-group-object-ids",
            &ready.admin_group_id,
            "--no-ssh-key",
            "--debug",
        ]),
    ));
    for (format, admin) in [("exec", false), ("azure", false), ("exec", true)] {
        let file = dir.join(format!("kubeconfig-{format}-{admin}"));
        let mut args = vec![
            "aks",
            "get-credentials",
            "-g",
            "rg1",
            "-n",
            "c1",
            "--file",
            file.to_str().unwrap(),
            "--debug",
        ];
        if admin {
            args.push("--admin");
        } else {
            args.extend(["--format", format]);
        }
        all.push(printed(
            &format!("get-credentials {format} admin={admin}"),
            &run(&args),
        ));
    }

    // A legacy AAD cluster holding a server application secret, migrated to managed AAD.
    cloud.management(
        "POST",
        "seed",
        Some(json!({
            "clusters": [{"resource_group": "rg1", "name": "legacy", "body": {
                "location": "eastus",
                "sku": {"name": "Base", "tier": "Free"},
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "kubernetesVersion": "1.32",
                    "enableRBAC": true,
                    "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_DS2_v2",
                                           "mode": "System", "osType": "Linux"}],
                    "aadProfile": {
                        "clientAppID": "11111111-2222-3333-4444-000000000002",
                        "serverAppID": "11111111-2222-3333-4444-000000000001",
                        "serverAppSecret": LEGACY_SERVER_SECRET,
                        "tenantID": ready.tenant_id
                    }
                }
            }}]
        })),
    );
    all.push(printed(
        "aks show legacy",
        &run(&["aks", "show", "-g", "rg1", "-n", "legacy", "--debug"]),
    ));
    all.push(printed(
        "aks update legacy",
        &run(&[
            "aks",
            "update",
            "-g",
            "rg1",
            "-n",
            "legacy",
            "--enable-aad",
            "--aad-admin-group-object-ids",
            &ready.admin_group_id,
            "--debug",
        ]),
    ));

    // kubelogin get-token with a service principal: its stdout is the ExecCredential (the one place a token
    // belongs); its stderr, at the highest verbosity, holds none.
    let token = cloud
        .command()
        .args([
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
            "-v",
            "10",
        ])
        .env("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", &ready.client_secret)
        .env("AZURE_AUTHORITY_HOST", &ready.authority_host)
        .output()
        .unwrap();
    let token_output = printed("kubelogin get-token", &token);
    let credential: Value = serde_json::from_str(&token_output.stdout).unwrap();
    let access_token = credential["status"]["token"].as_str().unwrap().to_owned();
    assert!(access_token.starts_with("eyJ"), "{access_token}");
    assert!(
        !token_output
            .stdout
            .replacen(&access_token, "", 1)
            .contains("eyJ"),
        "the token once, nothing else"
    );

    // The admin kubeconfig's credentials.
    let admin: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("kubeconfig-exec-true")).unwrap())
            .unwrap();
    let admin_user = &admin["users"][0]["user"];
    let client_key_data = admin_user["client-key-data"].as_str().unwrap().to_owned();
    let client_key_pem = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&client_key_data)
            .unwrap(),
    )
    .unwrap();
    let key_line = client_key_pem
        .lines()
        .find(|line| !line.starts_with("-----") && line.len() > 20)
        .unwrap()
        .to_owned();
    let admin_token = admin_user["token"].as_str().unwrap().to_owned();

    let secrets: Vec<(&str, &str)> = vec![
        ("client secret", ready.client_secret.as_str()),
        (
            "non-admin client secret",
            ready.nonadmin_client_secret.as_str(),
        ),
        ("user password", ready.user_password.as_str()),
        ("serverAppSecret", LEGACY_SERVER_SECRET),
        ("admin client-key-data", client_key_data.as_str()),
        ("admin client key (PEM)", key_line.as_str()),
        ("admin token", admin_token.as_str()),
        ("get-token's access token", access_token.as_str()),
    ];
    let debug_lines: usize = all
        .iter()
        .map(|p| p.stderr.lines().filter(|l| l.contains("DEBUG")).count())
        .sum();
    assert!(
        debug_lines > 20,
        "--debug logged requests ({debug_lines} lines)"
    );
    all.push(Printed {
        label: "kubelogin get-token (stderr)".into(),
        stdout: String::new(),
        stderr: token_output.stderr,
    });
    let mut leaks = Vec::new();
    for printed in &all {
        for (stream, text) in [("stdout", &printed.stdout), ("stderr", &printed.stderr)] {
            for (name, secret) in &secrets {
                if text.contains(secret) {
                    leaks.push(format!("{} {stream}: {name}", printed.label));
                }
            }
            if let Some(at) = text.find("eyJ") {
                let start = at.saturating_sub(80);
                leaks.push(format!(
                    "{} {stream}: a JWT near {:?}",
                    printed.label,
                    &text[start..(at + 20).min(text.len())]
                ));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets printed:\n{}", leaks.join("\n"));

    // Nor did the request log (what the emulator shows testers) keep the serverAppSecret or a token.
    let log = serde_json::to_string(&cloud.requests()).unwrap();
    assert!(!log.contains(LEGACY_SERVER_SECRET));
    assert!(!log.contains(&ready.client_secret));
    assert!(!log.contains("eyJ"), "a token in the request log");
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Kubeconfigs and token caches are created 0600 and cache directories 0700 even under `umask 000`; an existing
/// kubeconfig keeps its mode, and like az a warning names it when others may read it.
#[test]
fn files_are_private_and_existing_modes_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let cloud = cloud();
    let ready = cloud.ready().clone();
    crate::create_aad_cluster(&cloud, "rg1", "c1");
    let umask_000 = |args: &[&str], env: &[(&str, &str)]| {
        let command = cloud.std_command();
        let program = command.get_program().to_owned();
        let mut shell = std::process::Command::new("/bin/sh");
        shell
            .arg("-c")
            .arg("umask 000; exec \"$0\" \"$@\"")
            .arg(program)
            .args(args);
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => shell.env(name, value),
                None => shell.env_remove(name),
            };
        }
        for (name, value) in env {
            shell.env(name, value);
        }
        let output = shell.output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        output
    };
    // A fresh sign-in (new config dir) and a fresh default kubeconfig, user and admin, under umask 000.
    let config = cloud.dir().join("config-umask");
    let config_text = config.to_str().unwrap();
    let resource_manager = ready.resource_manager.clone();
    umask_000(
        &[
            "cloud",
            "register",
            "--name",
            "Emulator",
            "--endpoint-resource-manager",
            &resource_manager,
        ],
        &[("AKSCTL_CONFIG_DIR", config_text)],
    );
    umask_000(
        &["cloud", "set", "--name", "Emulator"],
        &[("AKSCTL_CONFIG_DIR", config_text)],
    );
    umask_000(
        &["aks", "get-credentials", "-g", "rg1", "-n", "c1"],
        &[("AKSCTL_CONFIG_DIR", config_text)],
    );
    let default = cloud.default_kubeconfig();
    assert_eq!(mode_of(&default), 0o600, "new kubeconfig");
    let admin = cloud.dir().join("new-dir/admin-config");
    let output = umask_000(
        &[
            "aks",
            "get-credentials",
            "-g",
            "rg1",
            "-n",
            "c1",
            "--admin",
            "--file",
            admin.to_str().unwrap(),
        ],
        &[("AKSCTL_CONFIG_DIR", config_text)],
    );
    assert_eq!(mode_of(&admin), 0o600, "new admin kubeconfig");
    assert!(
        !stderr(&output).contains("has permissions"),
        "{}",
        stderr(&output)
    );
    let tokens = config.join("tokens");
    assert_eq!(mode_of(&config), 0o700, "config dir");
    assert_eq!(mode_of(&tokens), 0o700, "token cache dir");
    for entry in std::fs::read_dir(&config)
        .unwrap()
        .chain(std::fs::read_dir(&tokens).unwrap())
    {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_eq!(mode_of(&path), 0o600, "{}", path.display());
        }
    }
    // kubelogin's token cache, under umask 000.
    let kubelogin_cache = cloud.dir().join("kubelogin-cache");
    umask_000(
        &[
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
            "--cache-dir",
            kubelogin_cache.to_str().unwrap(),
        ],
        &[
            ("AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", &ready.client_secret),
            ("AZURE_AUTHORITY_HOST", &ready.authority_host),
        ],
    );
    assert_eq!(mode_of(&kubelogin_cache), 0o700);
    let mut cached = 0;
    for entry in std::fs::read_dir(&kubelogin_cache).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            cached += 1;
            assert_eq!(mode_of(&path), 0o600, "{}", path.display());
        }
    }
    assert!(cached > 0, "kubelogin cached its token");

    // An existing kubeconfig readable by others keeps its mode, with az's warning; a private one gets none.
    for (mode, warned) in [(0o644, true), (0o640, true), (0o600, false)] {
        let file = cloud.dir().join(format!("existing-{mode:o}"));
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let output = cloud.run(&[
            "aks",
            "get-credentials",
            "-g",
            "rg1",
            "-n",
            "c1",
            "--overwrite-existing",
            "--file",
            file.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(mode_of(&file), mode, "mode kept");
        let warning = format!(
            "WARNING: {} has permissions \"{mode:o}\".\nIt should be readable and writable only by its owner.",
            file.display()
        );
        assert_eq!(
            stderr(&output).contains(&warning),
            warned,
            "{}",
            stderr(&output)
        );
    }
}
