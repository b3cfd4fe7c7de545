//! End-to-end tests: the real `aksctl` binary against the local cloud emulator over TLS on 127.0.0.1 (port 0),
//! and real kubectl where noted. One test binary (docs/style.md, habit 15).

mod access_check;
mod ad;
mod claims_challenge;
mod clouds;
mod concurrency;
mod conditional_access;
mod doctor;
mod emulator_seed;
mod errors;
mod export_template;
mod fast_paths;
mod faults;
mod guide;
mod hostile;
mod identity;
mod identity_cycles;
mod kubeconfig_files;
mod kubelogin;
mod kubelogin_interactive;
mod kubelogin_modes;
mod lockout;
mod login;
mod migrate;
mod migrate_subscriptions;
mod offline;
mod one_prompt;
mod operator;
mod outputs;
mod role;
mod secrets;
mod update;

use aks_test_support::TestCloud;

/// A fresh emulator and sandbox for one test.
pub fn cloud() -> TestCloud {
    TestCloud::start(env!("CARGO_BIN_EXE_aksctl"))
}

/// The guide's admin group flow: a group and an AAD cluster in it (no SSH key, fast).
pub fn create_aad_cluster(cloud: &TestCloud, group: &str, name: &str) -> serde_json::Value {
    cloud.run_json(&["group", "create", "--name", group, "--location", "eastus"]);
    cloud.run_json(&[
        "aks",
        "create",
        "-g",
        group,
        "-n",
        name,
        "--enable-aad",
        "--aad-admin-group-object-ids",
        &cloud.ready().admin_group_id,
        "--no-ssh-key",
    ])
}

/// The object id of the seeded service principal with `app_id` (from the emulator state).
pub fn object_id(cloud: &aks_test_support::TestCloud, app_id: &str) -> String {
    cloud.management("GET", "state", None)["directory"]["service_principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["app_id"] == app_id)
        .unwrap_or_else(|| panic!("service principal {app_id}"))["object_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// stderr as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}
