//! Commands: each takes its arguments and the [`Context`] and prints through the context's printer.

mod access;
mod account;
mod ad;
mod aks;
mod cloud;
mod completion;
mod credentials;
mod doctor;
mod emulator;
mod export_template;
mod group;
mod install_cli;
mod lockout;
mod login;
mod migrate;
mod role;
mod subscription_picker;
mod update;
mod version;

use crate::LocalCloud;
use crate::args::{AccessCommand, AksCommand, Command, Deferred, EmulatorCommand};
use crate::context::Context;
use crate::error::CliError;

/// Run one command to completion.
pub fn run(
    command: Command,
    context: &Context,
    local_cloud: &dyn LocalCloud,
) -> Result<(), CliError> {
    if let Command::Emulator(Deferred(EmulatorCommand::Serve(args))) = &command {
        return emulator::serve(args, context, local_cloud);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| CliError::Io {
            action: "starting the async runtime for",
            path: "aksctl".into(),
            source,
        })?;
    runtime.block_on(async {
        match command {
            Command::Group(Deferred(command)) => group::run(command, context).await,
            Command::Aks(Deferred(command)) => aks_group(command, context).await,
            Command::Version => version::version(context).await,
            Command::Completion(Deferred(args)) => completion::completion(args, context),
            Command::Ad(Deferred(command)) => ad::run(command, context).await,
            Command::Role(Deferred(command)) => role::run(command, context).await,
            Command::Doctor(args) => doctor::doctor(args, context).await,
            Command::Cloud(Deferred(command)) => cloud::run(command, context).await,
            Command::Account(Deferred(command)) => account::run(command, context).await,
            Command::Login(Deferred(args)) => login::login(args, context).await,
            Command::Logout(Deferred(args)) => account::logout(args, context).await,
            Command::Emulator(Deferred(EmulatorCommand::Serve(_))) => unreachable!("handled above"),
            Command::Emulator(Deferred(EmulatorCommand::Seed(args))) => {
                emulator::seed(args, context).await
            }
            Command::Kubelogin(_) => {
                unreachable!("aks_cli::main runs kubelogin mode before commands")
            }
        }
    })
}

/// Run an `aks` command. Its commands live in several modules (one per command that needs more than a few
/// functions), so the group's dispatch is here rather than in `aks`.
async fn aks_group(command: AksCommand, context: &Context) -> Result<(), CliError> {
    match command {
        AksCommand::Create(Deferred(args)) => aks::create(*args, context).await,
        AksCommand::Update(Deferred(args)) => update::update(*args, context).await,
        AksCommand::Migrate(args) => migrate::migrate(*args, context).await,
        AksCommand::Access(Deferred(AccessCommand::Check(args))) => {
            access::check(args, context).await
        }
        AksCommand::Show(args) => aks::show(args, context).await,
        AksCommand::List(args) => aks::list(args, context).await,
        AksCommand::Delete(args) => aks::delete(args, context).await,
        AksCommand::InstallCli(Deferred(args)) => install_cli::install_cli(args, context).await,
        AksCommand::GetCredentials(args) => credentials::get_credentials(args, context).await,
    }
}

/// Ask before a destructive operation unless `--yes` (az's `user_confirmation`).
fn confirm_or_yes(context: &Context, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    match context
        .printer
        .confirm("Are you sure you want to perform this operation? (y/n): ")
    {
        Some(true) => Ok(()),
        Some(false) => Err(CliError::message("Operation cancelled.")),
        None => Err(CliError::message(
            "Unable to prompt for confirmation as no tty available. Use --yes.",
        )),
    }
}

/// az's `--tags a=b c` parsing: `key=value` or `key` (empty value); `""` clears.
fn parse_tags(tags: &Option<Vec<String>>) -> Option<serde_json::Map<String, serde_json::Value>> {
    tags.as_ref().map(|items| {
        items
            .iter()
            .filter(|item| !item.is_empty())
            .map(|item| match item.split_once('=') {
                Some((key, value)) => (
                    key.to_string(),
                    serde_json::Value::String(value.to_string()),
                ),
                None => (item.clone(), serde_json::Value::String(String::new())),
            })
            .collect()
    })
}
