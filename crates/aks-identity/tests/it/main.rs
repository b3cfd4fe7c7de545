//! aks-identity's integration tests: the shared login against the emulator (TLS on 127.0.0.1, port 0), and the
//! real MSAL Python / msal-extensions (inside `unshare -n`) reading and writing the same files as we do.

mod az_cli;
mod msal_interop;
mod silent;
mod support;
