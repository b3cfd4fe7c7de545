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

fn main() -> ExitCode {
    // az's exit codes (az-cli-aks.md §4.3): 0 ok, 1 failed, 2 usage, 3 ARM resource not found.
    match aks_cli::main(std::env::args_os(), &EmbeddedCloud) {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failure => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
        Outcome::NotFound => ExitCode::from(3),
    }
}
