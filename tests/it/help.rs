//! Every `--help` text of both command trees (aksctl's az-style tree and kubelogin mode's), as the real binary prints
//! it in a pipe, kept as reviewed snapshots in `tests/it/snapshots/` (CONTRIBUTING.md, "Snapshots").
//!
//! The list of commands is walked from clap's own tree (`Command::get_subcommands`), so a new command gets a
//! snapshot without editing this file, and a snapshot whose command is gone fails the test.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;

use clap::CommandFactory;

/// The snapshot-name prefix of every help text, so that stale ones can be found.
const PREFIX: &str = "help";

/// Every command path of a built clap tree, the root first (`[]`, `["aks"]`, `["aks", "create"]`, …), without
/// the `help` subcommands clap adds when it builds a tree.
fn command_paths(command: &clap::Command) -> Vec<Vec<String>> {
    let mut paths = vec![Vec::new()];
    for sub in command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help")
    {
        for mut path in command_paths(sub) {
            path.insert(0, sub.get_name().to_string());
            paths.push(path);
        }
    }
    paths
}

/// The snapshot name of a command path: `help-aksctl`, `help-aksctl-aks-create`, `help-kubelogin-get-token`.
fn snapshot_name(program: &str, path: &[String]) -> String {
    let mut name = format!("{PREFIX}-{program}");
    for part in path {
        name.push('-');
        name.push_str(part);
    }
    name
}

/// `program path… --help` from the real binary (argv[0] picks the tree), in a pipe with an empty environment: no
/// terminal width, no colour, no `[env: NAME=value]` taken from the developer's shell.
fn help_text(program: &str, path: &[String]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_aksctl"))
        .arg0(program)
        .args(path)
        .arg("--help")
        .env_clear()
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("aksctl runs");
    let stdout = String::from_utf8(output.stdout).expect("utf-8 help");
    assert!(
        output.status.success(),
        "{program} {} --help: {:?}\n{}",
        path.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty(), "help goes to stdout only");
    stdout
}

/// The names of the help snapshots on disk (`help-….snap`, without the module prefix insta adds).
fn help_snapshots_on_disk() -> BTreeSet<String> {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let marker = format!("__{PREFIX}-");
    std::fs::read_dir(&directory)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter_map(|file| {
                    let name = file.strip_suffix(".snap")?;
                    let start = name.find(&marker)?;
                    Some(name[start + 2..].to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_help_text_matches_its_snapshot() {
    let trees = [
        ("aksctl", aks_cli::args::Cli::command()),
        (
            "kubelogin",
            aks_cli::kubelogin::args::KubeloginCli::command(),
        ),
    ];
    let mut expected = BTreeSet::new();
    for (program, mut tree) in trees {
        // aksctl's groups add their commands when clap builds them (`args::Deferred`), as completions do.
        tree.build();
        let tree = &tree;
        for path in command_paths(tree) {
            let name = snapshot_name(program, &path);
            insta::assert_snapshot!(name.clone(), help_text(program, &path));
            expected.insert(name);
        }
    }
    assert!(expected.len() > 40, "the walk found the tree: {expected:?}");
    // A command that was removed leaves its snapshot behind: the reviewer deletes it with the command.
    let stale: Vec<String> = help_snapshots_on_disk()
        .difference(&expected)
        .cloned()
        .collect();
    assert!(
        stale.is_empty(),
        "help snapshots of commands that no longer exist (delete them): {stale:?}"
    );
}
