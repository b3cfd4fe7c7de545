//! kubelogin mode: the same binary named `kubelogin` (or run as `aksctl kubelogin …`) behaves like Azure/kubelogin
//! 0.2.19 — its subcommands, flags, environment variables, outputs, `Error: …` messages and exit codes
//! (docs/kubelogin.md).
//!
//! args ([`args`]) → settings (resolved in each command from flags + environment, as kubelogin's
//! `UpdateFromEnv`) → command ([`convert`], [`get_token`]). stdout carries only data (the ExecCredential line,
//! help, the version); everything else goes to stderr.

pub mod args;
mod convert;
mod get_token;

pub(crate) use get_token::environment_authority;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::Outcome;
use args::{GetTokenOnly, KubeloginCli, KubeloginCommand};

/// The upstream release whose behaviour this mode follows.
pub const KUBELOGIN_VERSION: &str = "v0.2.19";

/// A kubelogin failure: printed as `Error: <message>` on stderr, exit 1 (docs/kubelogin.md, "Errors and exit codes").
#[derive(Debug)]
pub struct KubeloginError(String);

impl KubeloginError {
    fn new(message: impl Into<String>) -> KubeloginError {
        KubeloginError(message.into())
    }
}

impl std::fmt::Display for KubeloginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Write to stderr, ignoring failures (a closed stderr must not turn into a panic).
fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Write data to stdout; a broken pipe is a clean exit.
fn emit(text: &str) -> Result<(), KubeloginError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(KubeloginError::new(format!("writing to stdout: {error}"))),
    }
}

/// `$HOME/.kube/cache/kubelogin/` (docs/kubelogin.md, "Caches").
fn default_cache_dir() -> PathBuf {
    crate::paths::home()
        .join(".kube")
        .join("cache")
        .join("kubelogin")
}

/// Run kubelogin with these arguments (argv[0] included; its value is not looked at).
pub fn main(argv: impl IntoIterator<Item = OsString>) -> Outcome {
    let cli = match parse(argv.into_iter().collect()) {
        Ok(cli) => cli,
        Err(error) => return parse_error(error),
    };
    install_logging(cli.klog.verbosity.unwrap_or(0));
    let result = match cli.command {
        _ if cli.version => version(),
        None => {
            let mut command = <KubeloginCli as clap::CommandFactory>::command();
            emit(&command.render_help().to_string())
        }
        Some(KubeloginCommand::Version) => version(),
        Some(KubeloginCommand::ConvertKubeconfig(args)) => convert::run(args),
        Some(KubeloginCommand::GetToken(args)) => get_token::run(args),
        Some(KubeloginCommand::RemoveCacheDir(args)) => {
            remove_cache_dir(args.cache_dir.map(PathBuf::from))
        }
        Some(KubeloginCommand::RemoveTokens(args)) => {
            warn(
                "Command \"remove-tokens\" is deprecated, remove-tokens is deprecated, use remove-cache-dir instead",
            );
            remove_cache_dir(args.token_cache_dir.map(PathBuf::from))
        }
    };
    match result {
        Ok(()) => Outcome::Success,
        Err(error) => {
            warn(&format!("Error: {error}"));
            Outcome::Failure
        }
    }
}

/// The command line: `get-token …` through [`GetTokenOnly`] when that parses it, everything else (and whatever it
/// refuses) through the whole tree.
fn parse(argv: Vec<OsString>) -> Result<KubeloginCli, clap::Error> {
    if argv.get(1).is_some_and(|command| command == "get-token") {
        let without_command = argv.iter().take(1).chain(&argv[2..]);
        if let Ok(only) = GetTokenOnly::try_parse_from(without_command) {
            return Ok(KubeloginCli {
                version: false,
                klog: only.klog,
                command: Some(KubeloginCommand::GetToken(only.args)),
            });
        }
    }
    KubeloginCli::try_parse_from(argv)
}

/// cobra's answer to a bad command line: `Error: unknown flag: --x` and friends, exit 1 (kubelogin exits 1 on
/// every error); help goes to stdout with exit 0.
fn parse_error(error: clap::Error) -> Outcome {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = emit(&error.render().to_string());
            return Outcome::Success;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = emit(&error.render().to_string());
            return Outcome::Success;
        }
        _ => {}
    }
    let invalid = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(value)) => Some(value.clone()),
        _ => None,
    };
    let message = match (error.kind(), invalid) {
        (ErrorKind::UnknownArgument, Some(flag)) => {
            let flag = flag.split('=').next().unwrap_or_default().to_owned();
            if flag.starts_with("--") {
                format!("unknown flag: {flag}")
            } else {
                format!(
                    "unknown shorthand flag: {:?} in {flag}",
                    flag.trim_start_matches('-').chars().next().unwrap_or('-')
                )
                .replace('"', "'")
            }
        }
        (ErrorKind::InvalidSubcommand, _) => {
            let command = match error.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(value)) => value.clone(),
                _ => String::new(),
            };
            format!(
                "unknown command {command:?} for \"kubelogin\"\nRun 'kubelogin --help' for usage."
            )
        }
        _ => {
            let rendered = error.render().to_string();
            rendered
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned()
        }
    };
    warn(&format!("Error: {message}"));
    Outcome::Failure
}

/// klog verbosity: 5 and above shows aksctl's debug logs on stderr, 10 also azure_identity's.
fn install_logging(level: u8) {
    if level == 0 {
        return;
    }
    let filter = match level {
        10.. => {
            "warn,aks_arm=trace,aks_identity=trace,aks_cli=trace,aks_kubeconfig=trace,azure_identity=debug,azure_core=debug"
        }
        5.. => "warn,aks_arm=debug,aks_identity=debug,aks_cli=debug,aks_kubeconfig=debug",
        _ => "warn,aks_arm=info,aks_identity=info,aks_cli=info",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Go's `GOOS/GOARCH` names for this platform.
fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{os}/{arch}")
}

/// The version block of `kubelogin --version` (docs/kubelogin.md, "Well-known values"); the git hash names the
/// kubelogin release this mode follows and the aksctl build.
fn version_text() -> String {
    format!(
        "kubelogin version\ngit hash: {KUBELOGIN_VERSION}/aksctl-{aksctl}\nGo version: none (aksctl {aksctl}, Rust)\nBuild time: unknown\nPlatform: {platform}\n",
        aksctl = env!("CARGO_PKG_VERSION"),
        platform = platform()
    )
}

fn version() -> Result<(), KubeloginError> {
    emit(&version_text())
}

/// `remove-cache-dir` / `remove-tokens`: `rm -rf` of the dir (default `~/.kube/cache/kubelogin/`; like
/// kubelogin, `$KUBECACHEDIR` is not consulted here).
fn remove_cache_dir(dir: Option<PathBuf>) -> Result<(), KubeloginError> {
    let dir = dir
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(default_cache_dir);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(KubeloginError::new(format!(
            "unable to delete authentication record cache in {:?}: {error}",
            dir.display().to_string()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<OsString> {
        line.split(' ').map(OsString::from).collect()
    }

    /// The get-token parser gives what the whole tree gives, and leaves everything else to it.
    #[test]
    fn get_token_alone_parses_as_the_whole_tree_does() {
        let accepted = [
            "kubelogin get-token --login spn --server-id s --client-id c --tenant-id t --environment AzurePublicCloud",
            "kubelogin get-token -l azurecli --server-id s -v 5 --legacy --timeout 90s",
            "kubelogin get-token --logtostderr=false -t t -e AzureChinaCloud --pop-enabled=true --pop-claims u=h",
            "kubelogin get-token --server-id=s --cache-dir /tmp/c --token-cache-dir /tmp/d -s sub",
        ];
        for line in accepted {
            let whole = KubeloginCli::try_parse_from(argv(line)).unwrap();
            let only = GetTokenOnly::try_parse_from(argv(&line.replacen(" get-token", "", 1)));
            assert!(only.is_ok(), "{line}: {only:?}");
            let parsed = parse(argv(line)).unwrap();
            assert_eq!(format!("{parsed:?}"), format!("{whole:?}"), "{line}");
        }
        let refused = [
            "kubelogin get-token --help",
            "kubelogin get-token -h",
            "kubelogin get-token --version",
            "kubelogin get-token --kubeconfig k",
            "kubelogin get-token --legacy=maybe",
            "kubelogin get-token extra",
            "kubelogin get-token --server-idd s",
            "kubelogin -v 5 get-token --server-id s",
        ];
        for line in refused {
            let whole = KubeloginCli::try_parse_from(argv(line));
            let parsed = parse(argv(line));
            match (&whole, &parsed) {
                (Err(whole), Err(parsed)) => {
                    assert_eq!(parsed.kind(), whole.kind(), "{line}");
                    assert_eq!(
                        parsed.render().to_string(),
                        whole.render().to_string(),
                        "{line}"
                    );
                }
                _ => assert_eq!(format!("{parsed:?}"), format!("{whole:?}"), "{line}"),
            }
        }
    }

    #[test]
    fn version_block_has_kubelogin_lines() {
        let text = version_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "kubelogin version");
        assert!(lines[1].starts_with("git hash: v0.2.19/"), "{text}");
        assert!(lines[4].starts_with("Platform: "), "{text}");
        assert!(!platform().contains("x86_64"));
    }

    #[test]
    fn remove_cache_dir_is_rm_rf() {
        let temp = tempfile_dir();
        let dir = temp.join("cache");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub").join("f"), "x").unwrap();
        remove_cache_dir(Some(dir.clone())).unwrap();
        assert!(!dir.exists());
        remove_cache_dir(Some(dir)).unwrap();
        let _ = std::fs::remove_dir_all(temp);
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aksctl-kubelogin-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
