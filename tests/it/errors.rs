//! az's validation messages and exit codes, and ARM errors shown like az.

use crate::{cloud, create_aad_cluster, stderr};

#[test]
fn creating_an_existing_cluster_fails_like_az_and_sends_no_put() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    cloud.clear_requests();
    let output = cloud.run(&["aks", "create", "-g", "rg1", "-n", "c1", "--no-ssh-key"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "ERROR: The cluster 'c1' under resource group 'rg1' already exists. Please use command 'aksctl aks update' to update the existing cluster, or select a different cluster name to create a new cluster.\n"
    );
    assert!(cloud.requests().iter().all(|r| r["method"] != "PUT"));
}

#[test]
fn missing_cluster_is_exit_code_3_with_the_arm_error() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    let output = cloud.run(&["aks", "get-credentials", "-g", "rg1", "-n", "nope"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.starts_with("ERROR: (ResourceNotFound) "), "{text}");
    assert!(
        text.contains("\nCode: ResourceNotFound\nMessage: "),
        "{text}"
    );
    let output = cloud.run(&["group", "show", "-n", "missing-group"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("(ResourceGroupNotFound)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn validation_messages_are_azs_and_nothing_is_sent() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    cloud.clear_requests();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "aks",
                "create",
                "-g",
                "rg1",
                "-n",
                "c1",
                "--enable-azure-rbac",
            ],
            "--enable-azure-rbac can only be used together with --enable-aad",
        ),
        (
            &[
                "aks",
                "create",
                "-g",
                "rg1",
                "-n",
                "c1",
                "--enable-aad",
                "--enable-azure-rbac",
                "--disable-rbac",
            ],
            "--enable-azure-rbac cannot be used together with --disable-rbac",
        ),
        (
            &[
                "aks",
                "create",
                "-g",
                "rg1",
                "-n",
                "c1",
                "--disable-rbac",
                "--enable-rbac",
            ],
            "specify either '--disable-rbac' or '--enable-rbac', not both.",
        ),
        (
            &[
                "aks",
                "get-credentials",
                "-g",
                "rg1",
                "-n",
                "c1",
                "--format",
                "yaml",
            ],
            "--format can only be azure or exec.",
        ),
        (
            &[
                "aks",
                "get-credentials",
                "-g",
                "rg1",
                "-n",
                "c1",
                "--admin",
                "--format",
                "exec",
            ],
            "--format can only be specified when requesting clusterUser credential.",
        ),
        (
            &[
                "aks",
                "create",
                "-g",
                "rg1",
                "-n",
                "c1",
                "--enable-aad",
                "--aad-admin-group-object-ids",
                "not-a-guid",
                "--no-ssh-key",
            ],
            "\"not-a-guid\"",
        ),
        (
            &["aks", "create", "-g", "rg1", "--name=-bad-", "--no-ssh-key"],
            "\"-bad-\"",
        ),
        (&["group", "create", "-n", "rg.", "-l", "eastus"], "\"rg.\""),
        (
            &[
                "aks",
                "create",
                "-g",
                "rg1",
                "-n",
                "c1",
                "--ssh-key-value",
                "not a key",
            ],
            "The SSH key provided is not a valid RSA public key.",
        ),
    ];
    for (args, message) in cases {
        let output = cloud.run(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).starts_with("ERROR: "),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(
        cloud
            .requests()
            .iter()
            .all(|r| r["method"] != "PUT" && r["method"] != "POST"),
        "{:?}",
        cloud.requests()
    );
}

#[test]
fn usage_errors_exit_2() {
    let cloud = cloud();
    let output = cloud.run(&["aks", "create", "-g", "rg1"]);
    assert_eq!(output.status.code(), Some(2));
    let output = cloud.run(&["aks", "frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn admin_credentials_refused_when_local_accounts_are_disabled() {
    let cloud = cloud();
    cloud.run_json(&["group", "create", "-n", "rg1", "-l", "eastus"]);
    cloud.run_json(&[
        "aks",
        "create",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &cloud.ready().admin_group_id,
        "--disable-local-accounts",
        "--no-ssh-key",
    ]);
    let output = cloud.run(&[
        "aks",
        "get-credentials",
        "-g",
        "rg1",
        "-n",
        "c1",
        "--admin",
        "-f",
        "-",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let message = "Getting static credential is not allowed because this cluster is set to disable local accounts.";
    assert_eq!(
        stderr(&output),
        format!("ERROR: (BadRequest) {message}\nCode: BadRequest\nMessage: {message}\n")
    );
}

#[test]
fn secrets_never_reach_debug_output() {
    let cloud = cloud();
    let output = cloud
        .command()
        .args(["group", "create", "-n", "rg1", "-l", "eastus", "--debug"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(all.contains("PUT"), "--debug logs requests: {all}");
    assert!(
        !all.contains(&cloud.ready().client_secret),
        "client secret leaked"
    );
    assert!(!all.contains("eyJ"), "a token leaked: {all}");
}

#[test]
fn a_principal_without_a_role_is_refused_credentials_with_arms_403_and_exit_1() {
    let cloud = cloud();
    create_aad_cluster(&cloud, "rg1", "c1");
    let ready = cloud.ready().clone();
    let file = cloud.dir().join("refused-kubeconfig");
    let output = cloud
        .command()
        .args(["aks", "get-credentials", "-g", "rg1", "-n", "c1", "--file"])
        .arg(&file)
        .env("AZURE_CLIENT_ID", &ready.nonadmin_client_id)
        .env("AZURE_CLIENT_SECRET", &ready.nonadmin_client_secret)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let nonadmin_object_id = "1b1b1b1b-1111-2222-3333-555555555555";
    let message = format!(
        "The client '{nonadmin_object_id}' with object id '{nonadmin_object_id}' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action' over scope '/subscriptions/{}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1' or the scope is invalid. If access was recently granted, please refresh your credentials.",
        ready.subscription_id
    );
    assert_eq!(
        stderr(&output),
        format!(
            "ERROR: (AuthorizationFailed) {message}\nCode: AuthorizationFailed\nMessage: {message}\n"
        )
    );
    assert!(!file.exists(), "nothing is written");
}
