//! End-to-end tests: the real `aksctl` binary against the local cloud emulator over TLS on 127.0.0.1 (port 0),
//! and real kubectl where noted. One test binary (docs/style.md, habit 15).
//!
//! What a person reads (help texts, tables, YAML, the migrate plan) is also kept as insta snapshots in
//! `tests/it/snapshots/` (CONTRIBUTING.md, "Snapshots"); [`assert_output_snapshot!`] takes one of a command's
//! output with the sandbox's ids, ports and times replaced.

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
mod help;
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
mod tty;
mod update;

use aks_test_support::TestCloud;

/// `insta::assert_snapshot!(name, text)` under [`snapshot_settings`] for `cloud`; an optional slice of
/// `(value, label)` names further ids the test knows.
#[macro_export]
macro_rules! assert_output_snapshot {
    ($cloud:expr, $name:expr, $text:expr) => {
        $crate::assert_output_snapshot!($cloud, $name, $text, &[])
    };
    ($cloud:expr, $name:expr, $text:expr, $known:expr) => {
        $crate::snapshot_settings($cloud, $known).bind(|| insta::assert_snapshot!($name, $text))
    };
}

/// Snapshot settings for the outputs of commands run against `cloud`. The seeded ids (and the test's own, in
/// `known`) are shown by name; what changes from one run to the next (the sandbox path, the port, generated GUIDs,
/// timestamps) becomes a placeholder. An id keeps its width, so table columns stay aligned as printed; everything
/// else is compared as it is.
pub fn snapshot_settings(cloud: &TestCloud, known: &[(&str, &str)]) -> insta::Settings {
    let ready = cloud.ready();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        &regex_literal(&cloud.dir().display().to_string()),
        "[sandbox]",
    );
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    let seeded = [
        (ready.subscription_id.as_str(), "subscription-id"),
        (ready.tenant_id.as_str(), "tenant-id"),
        (ready.client_id.as_str(), "client-id"),
        (ready.nonadmin_client_id.as_str(), "nonadmin-client-id"),
        (ready.admin_group_id.as_str(), "admin-group-id"),
    ];
    for (value, label) in seeded.iter().chain(known) {
        settings.add_filter(&regex_literal(value), placeholder(label, value.len()));
    }
    settings.add_filter(
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        placeholder("guid", 36),
    );
    // The emulator's random parts: a cluster's FQDN hash (8 hex digits) and its `resourceUid` (24).
    settings.add_filter(
        r"-[0-9a-f]{8}\.((?:portal\.)?hcp)\.",
        format!("-{}.$1.", placeholder("hash", 8)),
    );
    settings.add_filter(r"\b[0-9a-f]{24}\b", placeholder("resource-uid", 24));
    settings.add_filter(
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
        "[time]",
    );
    settings
}

/// `[label]` padded with dots to `width` characters (never shorter than the label).
fn placeholder(label: &str, width: usize) -> String {
    let dots = width.saturating_sub(label.len() + 2);
    format!("[{label}{}]", ".".repeat(dots))
}

/// A regular expression matching `text` literally.
fn regex_literal(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len());
    for character in text.chars() {
        if r"\.+*?()|[]{}^$".contains(character) {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern
}

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
