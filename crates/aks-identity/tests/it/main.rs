//! aks-identity's integration tests: the shared login against the emulator (TLS on 127.0.0.1, port 0), and the
//! real MSAL Python / msal-extensions (inside `unshare -n`) reading and writing the same files as we do.

// Skip notices go to stderr, also from helpers outside `#[test]` functions (Cargo.toml [workspace.lints]).
#![allow(clippy::print_stderr)]

mod az_cli;
mod msal_interop;
mod silent;
mod support;
