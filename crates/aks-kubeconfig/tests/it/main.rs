//! Integration tests of aks-kubeconfig: parsing and writing, az's and kubectl's merges, files and locks,
//! and property tests.

mod az_merge;
mod files;
mod kubectl_merge;
mod properties;
mod roundtrip;
mod scale;
mod support;
