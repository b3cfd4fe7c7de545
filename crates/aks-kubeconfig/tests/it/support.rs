//! Helpers shared by the test modules.

use aks_kubeconfig::Kubeconfig;
use std::path::PathBuf;

/// The text of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Parses a non-empty kubeconfig or panics.
pub fn parse(text: &str) -> Kubeconfig {
    Kubeconfig::parse(text)
        .expect("valid kubeconfig")
        .expect("non-empty kubeconfig")
}

/// A confirm callback that must not be called.
pub fn never_asked(name: &str) -> bool {
    panic!("unexpected overwrite question for {name}")
}

/// True when file permissions do not stop this process (root), so permission tests cannot fail as intended.
#[cfg(unix)]
pub fn permissions_are_bypassed() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o555))
        .expect("chmod");
    let bypassed = std::fs::write(directory.path().join("probe"), b"x").is_ok();
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod back");
    bypassed
}

/// What `to_yaml` wrote before it serialized the structs directly: the JSON value with every object sorted.
/// `to_yaml` must stay byte-for-byte equal to it.
pub fn yaml_via_json(document: &Kubeconfig) -> String {
    let mut value = document.to_json_value();
    value.sort_all_objects();
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    serde_saphyr::to_string_with_options(&value, options).expect("serializable")
}
