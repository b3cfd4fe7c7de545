//! `aksctl emulator serve`: the embedded local cloud, reached through [`LocalCloud`].

use crate::args::EmulatorServeArgs;
use crate::context::Context;
use crate::error::CliError;
use crate::{EmulatorServeSettings, LocalCloud};

/// Serve until interrupted; the ready record is the first and only stdout line.
pub fn serve(
    args: &EmulatorServeArgs,
    context: &Context,
    local_cloud: &dyn LocalCloud,
) -> Result<(), CliError> {
    let settings = EmulatorServeSettings {
        port: args.port,
        state_file: args.state.clone(),
        data_dir: args
            .data_dir
            .clone()
            .unwrap_or_else(|| context.store.dir.join("emulator")),
        lro_polls: args.lro_polls,
        retry_after_seconds: args.retry_after,
    };
    let mut printed = Ok(());
    let mut on_ready = |line: &str| printed = context.printer.stdout(&format!("{line}\n"));
    local_cloud
        .serve(settings, &mut on_ready)
        .map_err(CliError::message)?;
    printed
}
