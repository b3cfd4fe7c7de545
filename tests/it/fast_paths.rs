//! Start-up short cuts (issue #17) answer exactly what the full command-line parser answers: the same stdout,
//! stderr and exit code, for the command lines that take them and for their near misses.

use std::process::Output;

use crate::{cloud, stderr};

fn answer(output: &Output) -> (Option<i32>, String, String) {
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr(output),
    )
}

#[test]
fn version_flag_alone_answers_as_clap_does() {
    let cloud = cloud();
    let short_cut = answer(&cloud.run(&["--version"]));
    assert_eq!(
        short_cut,
        (
            Some(0),
            format!("aksctl {}\n", env!("CARGO_PKG_VERSION")),
            String::new()
        )
    );
    // With a global flag before or after it, clap parses the whole command line and answers.
    assert_eq!(
        answer(&cloud.run(&["--only-show-errors", "--version"])),
        short_cut
    );
    assert_eq!(answer(&cloud.run(&["--version", "--debug"])), short_cut);
    assert_eq!(answer(&cloud.run(&["-V"])), short_cut);
    // A misspelt flag is still clap's usage error.
    let (code, stdout, error) = answer(&cloud.run(&["--versio"]));
    assert_eq!((code, stdout.as_str()), (Some(2), ""));
    assert!(
        error.starts_with("error: unexpected argument '--versio' found"),
        "{error}"
    );
}
