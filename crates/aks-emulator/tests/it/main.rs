//! Integration tests of the emulator over real HTTPS on 127.0.0.1 (one test binary; modules by area).

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
mod management;
mod pipelines;
mod support;
