//! `aksctl completion bash|zsh|fish|powershell|man`: shell completion scripts (clap_complete) and manual pages
//! (clap_mangen), both generated from the clap definitions in [`crate::args`], so they never drift from `--help`.

use clap::CommandFactory;

use crate::args::{Cli, CompletionArgs, CompletionShell};
use crate::context::Context;
use crate::error::CliError;

/// The program name completions are registered for.
const BIN_NAME: &str = "aksctl";

/// `completion SHELL` prints the script; `completion man` prints `aksctl.1`, or with `--dir` writes one page per
/// command there (`aksctl.1`, `aksctl-aks.1`, `aksctl-aks-create.1`, ...) and prints their paths.
pub fn completion(args: CompletionArgs, context: &Context) -> Result<(), CliError> {
    let mut command = Cli::command();
    let shell = match args.shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
        CompletionShell::Powershell => clap_complete::Shell::PowerShell,
        CompletionShell::Man => return man(command, args, context),
    };
    if args.dir.is_some() {
        return Err(CliError::Usage(
            "--dir is only for `aksctl completion man`".into(),
        ));
    }
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, BIN_NAME, &mut script);
    context.printer.stdout(&String::from_utf8_lossy(&script))
}

fn man(command: clap::Command, args: CompletionArgs, context: &Context) -> Result<(), CliError> {
    let Some(dir) = args.dir else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|source| CliError::Io {
                action: "rendering the manual page",
                path: "aksctl.1".into(),
                source,
            })?;
        return context.printer.stdout(&String::from_utf8_lossy(&page));
    };
    let io_error = |action: &'static str| {
        let path = dir.display().to_string();
        move |source| CliError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::create_dir_all(&dir).map_err(io_error("creating the directory"))?;
    clap_mangen::generate_to(command, &dir).map_err(io_error("writing manual pages to"))?;
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .map_err(io_error("listing"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension().is_some_and(|e| e == "1")
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(BIN_NAME))
        })
        .map(|path| path.display().to_string())
        .collect();
    pages.sort();
    let mut text = pages.join("\n");
    text.push('\n');
    context.printer.stdout(&text)
}
