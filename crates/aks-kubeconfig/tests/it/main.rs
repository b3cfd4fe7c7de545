//! Integration tests of aks-kubeconfig: parsing and writing, az's and kubectl's merges, files and locks,
//! kubelogin's conversion (its own test table, and files), and property tests.

mod az_merge;
mod convert;
mod convert_cases;
mod convert_files;
mod files;
mod kubectl_merge;
mod properties;
mod roundtrip;
mod scale;
mod support;
