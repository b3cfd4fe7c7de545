//! [`Deferred`]: a command clap builds only when the command line names it.

use clap::{ArgMatches, Args, FromArgMatches, Subcommand};

/// A command whose arguments and subcommands clap adds only when the command line names it (clap's
/// [`clap::Command::defer`]).
///
/// clap was about a sixth of `aks get-credentials`'s profile, most of it building commands the command line does
/// not name (issue #17, BENCHMARKS.md). Deferred, a command line builds the top level, the group it names and
/// that group's commands; `--help` and the error for a misspelt command still list every name and summary,
/// which are not deferred. Completions and manual pages build the whole tree first ([`clap::Command::build`]).
///
/// Not for a command that declares an option of its own under a global option's name (`doctor -o`,
/// `aks migrate --subscription`): clap gives a command the global options when its parent is built, before a
/// deferred command adds its own, and then refuses the two of the same name.
#[derive(Debug)]
pub struct Deferred<T>(pub T);

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Self)
    }

    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Self)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }

    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T: Subcommand> Subcommand for Deferred<T> {
    fn augment_subcommands(command: clap::Command) -> clap::Command {
        command.defer(|command| keeping_about(command, T::augment_subcommands))
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        command.defer(|command| keeping_about(command, T::augment_subcommands_for_update))
    }

    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}

impl<T: Args> Args for Deferred<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }

    fn augment_args(command: clap::Command) -> clap::Command {
        command.defer(|command| keeping_about(command, T::augment_args))
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        command.defer(|command| keeping_about(command, T::augment_args_for_update))
    }
}

/// `augment` applied to `command`, whose summary and description stay the ones it has (its variant's doc
/// comment). derive's `augment_*` also sets those of the type's own doc comment (`` `aksctl group ...` ``), which
/// the variant's replace because clap runs `augment_*` first when it is not deferred.
fn keeping_about(
    command: clap::Command,
    augment: fn(clap::Command) -> clap::Command,
) -> clap::Command {
    use clap::builder::Resettable;
    let about = command.get_about().cloned();
    let long_about = command.get_long_about().cloned();
    augment(command)
        .about(about.map_or(Resettable::Reset, Resettable::Value))
        .long_about(long_about.map_or(Resettable::Reset, Resettable::Value))
}
