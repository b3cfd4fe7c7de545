//! Integration tests of the emulator over real HTTPS on 127.0.0.1 (one test binary; modules by area).

// Skip notices go to stderr, also from helpers outside `#[test]` functions (Cargo.toml [workspace.lints]).
#![allow(clippy::print_stderr)]

mod arm;
mod authorization;
mod authorize;
mod clusters;
mod conditional_access;
mod credentials;
mod directory;
mod enforcement;
mod entra;
mod grants;
mod kubernetes;
mod kubernetes_rbac;
mod management;
mod pipelines;
mod support;
