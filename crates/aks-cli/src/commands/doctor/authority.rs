//! Where a kubeconfig's kubelogin exec user would sign in, worked out the way aksctl's kubelogin mode does it
//! (`get-token`: `--login`, else `AAD_LOGIN_METHOD`; `AZURE_AUTHORITY_HOST` from the exec `env`, else the
//! shell; else `--authority-host`; else the `--environment` name's authority), so `doctor` can compare it with the
//! cloud that served the cluster. Pure: the shell's variables come in as a lookup function.

use std::str::FromStr;

use aks_kubeconfig::{ExecConfig, LoginMode};

/// Where the authority host came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// `AZURE_AUTHORITY_HOST` in the exec section's `env`: kubectl sets it whatever the shell has.
    KubeconfigEnv,
    /// `AZURE_AUTHORITY_HOST` in this shell only: kubectl passes it on, but only where it is set.
    Shell,
    /// The `--authority-host` argument.
    Flag,
    /// The `--environment` name (default `AzurePublicCloud`).
    Environment(String),
}

/// How one exec user signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SignIn {
    /// The token comes from another tool (`azurecli`, `azd`) or the host (`msi`): its own cloud decides.
    Delegated(LoginMode),
    /// kubelogin asks this authority host for the token.
    Authority {
        mode: LoginMode,
        authority_host: String,
        source: Source,
    },
}

/// The value after `flag` (`--flag value` or `--flag=value`), or after `short` when given.
fn arg_value(args: &[String], flag: &str, short: Option<&str>) -> Option<String> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == flag || short.is_some_and(|short| arg == short) {
            return iter.next().cloned();
        }
        if let Some(value) = arg
            .strip_prefix(flag)
            .and_then(|rest| rest.strip_prefix('='))
        {
            return Some(value.to_owned());
        }
    }
    None
}

fn exec_env(exec: &ExecConfig, name: &str) -> Option<String> {
    exec.env
        .as_ref()?
        .iter()
        .find(|entry| entry.name.as_ref().is_some_and(|n| n == name))
        .and_then(|entry| entry.value.as_ref().cloned())
        .filter(|value| !value.is_empty())
}

/// How `exec` signs in when kubectl runs it from a shell whose variables `shell` looks up. `None` when the login
/// mode is not one kubelogin knows (get-token would refuse it).
pub(super) fn exec_sign_in(
    exec: &ExecConfig,
    shell: &dyn Fn(&str) -> Option<String>,
) -> Option<SignIn> {
    let args = exec.args.as_ref().map_or(&[][..], Vec::as_slice);
    // The variable kubectl hands the plugin: the exec env entry wins over the shell's.
    let variable = |name: &str| {
        exec_env(exec, name)
            .map(|v| (v, true))
            .or_else(|| shell(name).map(|v| (v, false)))
    };
    let mode = match variable("AAD_LOGIN_METHOD") {
        Some((value, _)) => value,
        None => arg_value(args, "--login", Some("-l"))
            .unwrap_or_else(|| LoginMode::default().to_string()),
    };
    let mode = LoginMode::from_str(&mode).ok()?;
    // Every mode named, so that a new one must say where it signs in.
    match mode {
        LoginMode::AzureCli | LoginMode::Azd | LoginMode::Msi => {
            return Some(SignIn::Delegated(mode));
        }
        LoginMode::DeviceCode
        | LoginMode::Interactive
        | LoginMode::ServicePrincipal
        | LoginMode::Ropc
        | LoginMode::WorkloadIdentity
        | LoginMode::AzurePipelines => {}
    }
    let flag = arg_value(args, "--authority-host", None).filter(|value| !value.is_empty());
    let (authority_host, source) = match (variable("AZURE_AUTHORITY_HOST"), flag) {
        // kubelogin's environment override replaces the flag for workload identity only.
        (Some((value, from_kubeconfig)), flag)
            if flag.is_none() || mode == LoginMode::WorkloadIdentity =>
        {
            (
                value,
                if from_kubeconfig {
                    Source::KubeconfigEnv
                } else {
                    Source::Shell
                },
            )
        }
        (_, Some(flag)) => (flag, Source::Flag),
        (_, None) => {
            let environment = arg_value(args, "--environment", Some("-e"))
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| aks_kubeconfig::DEFAULT_ENVIRONMENT.to_owned());
            (
                crate::kubelogin::environment_authority(&environment).to_owned(),
                Source::Environment(environment),
            )
        }
    };
    Some(SignIn::Authority {
        mode,
        authority_host,
        source,
    })
}

/// Two authority hosts name the same place (case and a trailing slash aside).
pub(super) fn same_authority(one: &str, other: &str) -> bool {
    one.trim_end_matches('/')
        .eq_ignore_ascii_case(other.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aks_kubeconfig::{ExecEnvVar, Field};

    fn exec(args: &[&str], env: &[(&str, &str)]) -> ExecConfig {
        ExecConfig {
            args: Field::Present(args.iter().map(|arg| (*arg).to_owned()).collect()),
            env: Field::Present(
                env.iter()
                    .map(|(name, value)| ExecEnvVar {
                        name: Field::Present((*name).to_owned()),
                        value: Field::Present((*value).to_owned()),
                        other: Default::default(),
                    })
                    .collect(),
            ),
            ..ExecConfig::default()
        }
    }

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_environment_name_decides_without_anything_else() {
        let aks = exec(
            &[
                "get-token",
                "--environment",
                "AzurePublicCloud",
                "--server-id",
                "s",
            ],
            &[],
        );
        assert_eq!(
            exec_sign_in(&aks, &none),
            Some(SignIn::Authority {
                mode: LoginMode::DeviceCode,
                authority_host: "https://login.microsoftonline.com/".into(),
                source: Source::Environment("AzurePublicCloud".into()),
            })
        );
        let gov = exec(
            &["get-token", "-l", "spn", "-e", "AzureUSGovernmentCloud"],
            &[],
        );
        assert!(matches!(
            exec_sign_in(&gov, &none),
            Some(SignIn::Authority { mode: LoginMode::ServicePrincipal, authority_host, .. })
                if authority_host == "https://login.microsoftonline.us/"
        ));
    }

    #[test]
    fn the_kubeconfig_env_wins_over_the_shell_and_the_shell_over_the_environment_name() {
        let shell =
            |name: &str| (name == "AZURE_AUTHORITY_HOST").then(|| "https://shell/".to_owned());
        let pinned = exec(
            &[
                "get-token",
                "--login=spn",
                "--environment",
                "AzurePublicCloud",
            ],
            &[("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9/")],
        );
        assert!(matches!(
            exec_sign_in(&pinned, &shell),
            Some(SignIn::Authority { authority_host, source: Source::KubeconfigEnv, .. })
                if authority_host == "https://127.0.0.1:9/"
        ));
        let plain = exec(&["get-token", "--environment", "AzurePublicCloud"], &[]);
        assert!(matches!(
            exec_sign_in(&plain, &shell),
            Some(SignIn::Authority { authority_host, source: Source::Shell, .. }) if authority_host == "https://shell/"
        ));
        let flagged = exec(
            &[
                "get-token",
                "-l",
                "ropc",
                "--authority-host",
                "https://flag/",
            ],
            &[],
        );
        assert!(matches!(
            exec_sign_in(&flagged, &shell),
            Some(SignIn::Authority {
                source: Source::Flag,
                ..
            })
        ));
    }

    #[test]
    fn delegated_and_unknown_modes() {
        let cli = exec(&["get-token", "--login", "azurecli"], &[]);
        assert_eq!(
            exec_sign_in(&cli, &none),
            Some(SignIn::Delegated(LoginMode::AzureCli))
        );
        let by_env = exec(&["get-token"], &[("AAD_LOGIN_METHOD", "msi")]);
        assert_eq!(
            exec_sign_in(&by_env, &none),
            Some(SignIn::Delegated(LoginMode::Msi))
        );
        assert_eq!(
            exec_sign_in(&exec(&["get-token", "-l", "nope"], &[]), &none),
            None
        );
    }

    #[test]
    fn authorities_compare_without_case_or_trailing_slash() {
        assert!(same_authority(
            "https://127.0.0.1:5/",
            "https://127.0.0.1:5"
        ));
        assert!(same_authority(
            "https://LOGIN.microsoftonline.com/",
            "https://login.microsoftonline.com/"
        ));
        assert!(!same_authority(
            "https://login.microsoftonline.com/",
            "https://127.0.0.1:5/"
        ));
    }
}
