//! aksctl: argv[0] dispatch and exit codes. Everything else lives in the `aks-cli` crate.

use std::process::ExitCode;

use aks_cli::{EmulatorServeSettings, LocalCloud, Outcome};

/// The embedded local cloud behind `aksctl emulator serve`.
struct EmbeddedCloud;

impl LocalCloud for EmbeddedCloud {
    fn serve(
        &self,
        settings: EmulatorServeSettings,
        on_ready: &mut dyn FnMut(&str),
    ) -> Result<(), String> {
        let mut options = aks_emulator::EmulatorOptions::new(settings.data_dir);
        options.port = settings.port;
        options.state_file = settings.state_file;
        options.lro.polls = settings.lro_polls;
        options.lro.retry_after_seconds = settings.retry_after_seconds;
        aks_emulator::serve_blocking(options, &mut |ready| {
            on_ready(&serde_json::to_string(ready).unwrap_or_default());
        })
        .map_err(|error| error.to_string())
    }
}

/// Whether argv[0] names kubelogin (`kubelogin`, `kubelogin.exe`, any directory).
fn invoked_as_kubelogin(argv0: Option<&std::ffi::OsString>) -> bool {
    argv0
        .map(std::path::Path::new)
        .and_then(|path| path.file_stem())
        .is_some_and(|stem| stem == "kubelogin")
}

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // kubelogin mode exits 0 or 1 only (docs/kubelogin.md, "Errors and exit codes").
    let outcome = if invoked_as_kubelogin(argv.first()) {
        aks_cli::kubelogin_main(argv)
    } else {
        aks_cli::main(argv, &EmbeddedCloud)
    };
    // az's exit codes (docs/az-behaviour.md, "Logging, errors and exit codes"): 0 ok, 1 failed, 2 usage,
    // 3 ARM resource not found.
    match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failure => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
        Outcome::NotFound => ExitCode::from(3),
    }
}
