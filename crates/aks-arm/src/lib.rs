//! The Azure Resource Manager client of aksctl.
//!
//! What it is for: sending ARM requests, with tokens from `aks-identity`'s token sources, through an ordered policy
//! pipeline (per-call → retry with `Retry-After` → per-try auth and request ids → redacted `tracing` logs →
//! transport), following long-running
//! operations ([`Poller`]), the typed operations `az aks`/`az group` need ([`ArmClient`]), the clouds az knows
//! ([`Cloud`], [`discover_cloud`]) and aksctl's own configuration ([`config`]).
//!
//! What it is not for: printing, prompting or exiting (the CLI does that; this crate logs at debug level only),
//! kubeconfig handling (`aks-kubeconfig`), or the wire types themselves (`aks-model`).
//!
//! References: `docs/arm-aks-api.md` (operations, long-running operations, headers, throttling, clouds),
//! `docs/entra-protocols.md` (client credentials), `docs/az-behaviour.md` (the requests az makes) and
//! `docs/rust-dependencies.md` (azure_identity).

#![warn(missing_docs)]
// `ArmError::Service` carries what failed (method, URL, status, code, message, target, request id) by value, as
// the CLI matches on it; errors are the cold path, so the size of the `Err` variant is accepted.
#![allow(clippy::result_large_err)]

pub mod authorization;
mod challenge;
mod client;
mod cloud;
pub mod config;
mod error;
pub mod graph;
mod http;
mod metadata;
mod operations;
pub mod permissions;
mod poller;
pub mod redact;
pub mod transport;

pub use challenge::ClaimsChallenge;
pub use client::{
    ArmClient, ArmClientOptions, ArmResponse, RETRYABLE_STATUSES, RetryPolicy, retry_after,
};
pub use cloud::Cloud;
pub use error::{ArmError, error_chain};
pub use http::{CA_BUNDLE_VARIABLES, CONNECT_TIMEOUT, http_client};
pub use metadata::{cloud_from_metadata, discover_cloud, fetch_cloud_metadata, metadata_url};
pub use poller::{DEFAULT_POLL_INTERVAL, PollStatus, Poller};

#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod properties_tests;
