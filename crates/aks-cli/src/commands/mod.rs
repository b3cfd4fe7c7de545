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
use crate::args::{
    AccessCommand, AccountCommand, AksCommand, CloudCommand, Command, Deferred, EmulatorCommand,
    GroupCommand,
};
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
            Command::Group(Deferred(GroupCommand::Create(args))) => {
                group::create(args, context).await
            }
            Command::Group(Deferred(GroupCommand::Show(args))) => group::show(args, context).await,
            Command::Group(Deferred(GroupCommand::List)) => group::list(context).await,
            Command::Group(Deferred(GroupCommand::Delete(args))) => {
                group::delete(args, context).await
            }
            Command::Aks(Deferred(AksCommand::Create(Deferred(args)))) => {
                aks::create(*args, context).await
            }
            Command::Aks(Deferred(AksCommand::Update(Deferred(args)))) => {
                update::update(*args, context).await
            }
            Command::Aks(Deferred(AksCommand::Migrate(args))) => {
                migrate::migrate(*args, context).await
            }
            Command::Aks(Deferred(AksCommand::Access(Deferred(AccessCommand::Check(args))))) => {
                access::check(args, context).await
            }
            Command::Aks(Deferred(AksCommand::Show(args))) => aks::show(args, context).await,
            Command::Aks(Deferred(AksCommand::List(args))) => aks::list(args, context).await,
            Command::Aks(Deferred(AksCommand::Delete(args))) => aks::delete(args, context).await,
            Command::Aks(Deferred(AksCommand::InstallCli(Deferred(args)))) => {
                install_cli::install_cli(args, context).await
            }
            Command::Version => version::version(context).await,
            Command::Completion(Deferred(args)) => completion::completion(args, context),
            Command::Ad(Deferred(command)) => ad::run(command, context).await,
            Command::Role(Deferred(command)) => role::run(command, context).await,
            Command::Doctor(args) => doctor::doctor(args, context).await,
            Command::Aks(Deferred(AksCommand::GetCredentials(args))) => {
                credentials::get_credentials(args, context).await
            }
            Command::Cloud(Deferred(CloudCommand::Register(args))) => {
                cloud::register(args, context).await
            }
            Command::Cloud(Deferred(CloudCommand::Set(args))) => cloud::set(args, context),
            Command::Cloud(Deferred(CloudCommand::List)) => cloud::list(context),
            Command::Cloud(Deferred(CloudCommand::Show(args))) => cloud::show(args, context),
            Command::Cloud(Deferred(CloudCommand::Unregister(args))) => {
                cloud::unregister(args, context)
            }
            Command::Account(Deferred(AccountCommand::Set(args))) => {
                account::set(args, context).await
            }
            Command::Account(Deferred(AccountCommand::Show(args))) => {
                account::show(args, context).await
            }
            Command::Account(Deferred(AccountCommand::List(args))) => {
                account::list(args, context).await
            }
            Command::Account(Deferred(AccountCommand::Clear)) => account::clear(context).await,
            Command::Account(Deferred(AccountCommand::GetAccessToken(args))) => {
                account::get_access_token(args, context).await
            }
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
