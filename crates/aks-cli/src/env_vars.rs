//! Every environment variable aksctl reads, in one place.

/// Configuration directory (default `~/.aksctl`).
pub const AKSCTL_CONFIG_DIR: &str = "AKSCTL_CONFIG_DIR";
/// Default subscription when `--subscription` is not given.
pub const AZURE_SUBSCRIPTION_ID: &str = "AZURE_SUBSCRIPTION_ID";
/// The kubeconfig list (first entry is where get-credentials merges when `--file` is not given).
pub const KUBECONFIG: &str = "KUBECONFIG";
/// Disables colour (https://no-color.org).
pub const NO_COLOR: &str = "NO_COLOR";
/// az's colour switch, honoured too.
pub const AZURE_CORE_NO_COLOR: &str = "AZURE_CORE_NO_COLOR";
/// az's default output format override.
pub const AZURE_CORE_OUTPUT: &str = "AZURE_CORE_OUTPUT";
/// az's switch for `--only-show-errors` by default.
pub const AZURE_CORE_ONLY_SHOW_ERRORS: &str = "AZURE_CORE_ONLY_SHOW_ERRORS";
/// Search path for `kubelogin`.
pub const PATH: &str = "PATH";
/// How long kubelogin mode's `convert-kubeconfig` waits for a kubeconfig's `<file>.lock`, in whole seconds (default
/// 5; docs/kubeconfig-files.md, "Locking").
pub const AKSCTL_KUBECONFIG_LOCK_TIMEOUT: &str = "AKSCTL_KUBECONFIG_LOCK_TIMEOUT";

/// Read a variable as a non-empty string.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Read a boolean-ish variable (`1`, `true`, `yes`, `on`).
pub fn flag(name: &str) -> bool {
    get(name).is_some_and(|value| {
        matches!(
            value.to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    })
}

/// The service principal's client id (read by the credential chain in aks-arm; shown by `account show`).
pub const AZURE_CLIENT_ID: &str = "AZURE_CLIENT_ID";

/// The user's shell (install-cli's PATH hint names its rc file).
pub const SHELL: &str = "SHELL";
/// kubectl's and kubelogin's cache directory.
pub const KUBECACHEDIR: &str = "KUBECACHEDIR";
