//! The aksctl command tree: clap arguments → settings → commands, az's output formats, progress and errors.
//!
//! What it is for: everything a user types and sees. Commands call `aks-arm` for Azure Resource Manager,
//! `aks-kubeconfig` for kubeconfig files and `aks-model` for types, validation and az-style views.
//!
//! What it is not for: wire protocols or file formats (those live in the library crates), and choosing exit codes
//! (the binary maps [`Outcome`] to them). The local cloud is reached through the [`LocalCloud`] trait so that this
//! crate does not depend on the emulator.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod args;
mod commands;
mod context;
pub mod env_vars;
mod error;
pub mod kubelogin;
mod output;
mod paths;
mod progress;
mod ssh;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

pub use error::{CliError, Outcome};
pub use output::Printer;

/// What `aksctl emulator serve` needs from the embedded local cloud.
pub trait LocalCloud {
    /// Serve until interrupted; call `on_ready` once with the one-line JSON ready record.
    fn serve(
        &self,
        settings: EmulatorServeSettings,
        on_ready: &mut dyn FnMut(&str),
    ) -> Result<(), String>;
}

/// Resolved `emulator serve` settings.
#[derive(Debug, Clone)]
pub struct EmulatorServeSettings {
    /// Port on 127.0.0.1 (0 = any).
    pub port: u16,
    /// State file, if any.
    pub state_file: Option<PathBuf>,
    /// Where the CA and other files go.
    pub data_dir: PathBuf,
    /// InProgress answers before an LRO completes.
    pub lro_polls: u32,
    /// Retry-After seconds.
    pub retry_after_seconds: u64,
}

/// Run kubelogin mode (Azure/kubelogin 0.2.19's commands, flags, outputs and exit codes) with these arguments
/// (argv[0] included): what the binary does when it is named `kubelogin`.
pub fn kubelogin_main(argv: impl IntoIterator<Item = OsString>) -> Outcome {
    kubelogin::main(argv)
}

/// Whether the command line is `aksctl --version` or `aksctl -V` and nothing else.
fn asks_version_only(argv: &[OsString]) -> bool {
    argv.len() == 2 && (argv[1] == "--version" || argv[1] == "-V")
}

/// clap's `--version` answer for the command tree ([`args::Cli`]): its name and the package version.
fn version_text() -> String {
    format!("aksctl {}\n", env!("CARGO_PKG_VERSION"))
}

/// Run aksctl with these arguments (argv[0] included). `aksctl kubelogin …` runs kubelogin mode.
pub fn main(argv: impl IntoIterator<Item = OsString>, local_cloud: &dyn LocalCloud) -> Outcome {
    let argv: Vec<OsString> = argv.into_iter().collect();
    if argv.get(1).is_some_and(|command| command == "kubelogin") {
        return kubelogin::main(argv.into_iter().skip(1));
    }
    if asks_version_only(&argv) {
        // What clap answers, without building the command tree first (issue #17: start-up cost).
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), version_text().as_bytes());
        return Outcome::Success;
    }
    let cli = match args::Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Outcome::Usage
            } else {
                Outcome::Success
            };
        }
    };
    if let args::Command::Kubelogin(kubelogin) = cli.command {
        return kubelogin::main(std::iter::once(OsString::from("kubelogin")).chain(kubelogin.args));
    }
    let context = match context::Context::new(&cli.global) {
        Ok(context) => context,
        Err(error) => {
            Printer::new(args::OutputFormat::Json, None, false, true).error(&error.display_text());
            return error.outcome();
        }
    };
    match commands::run(cli.command, &context, local_cloud) {
        Ok(()) => Outcome::Success,
        Err(error) => {
            context.printer.error(&error.display_text());
            error.outcome()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_text_is_what_clap_renders() {
        let rendered = <args::Cli as clap::CommandFactory>::command().render_version();
        assert_eq!(version_text(), rendered);
    }

    /// clap's own checks of the whole tree, deferred groups included (`args::Deferred`); a debug build makes
    /// them only for the commands a command line builds.
    #[test]
    fn the_command_tree_passes_clap_s_checks() {
        <args::Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn only_a_lone_version_flag_takes_the_short_way() {
        let argv = |args: &[&str]| -> Vec<OsString> { args.iter().map(OsString::from).collect() };
        assert!(asks_version_only(&argv(&["aksctl", "--version"])));
        assert!(asks_version_only(&argv(&["/usr/bin/aksctl", "-V"])));
        for other in [
            &["aksctl"][..],
            &["aksctl", "--version", "--debug"],
            &["aksctl", "--debug", "--version"],
            &["aksctl", "version"],
            &["aksctl", "--versio"],
            &["aksctl", "-v"],
        ] {
            assert!(!asks_version_only(&argv(other)), "{other:?}");
        }
    }
}
