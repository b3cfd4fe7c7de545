//! The kubeconfig parser and its two mergers: any bytes parse or fail cleanly; what parses writes back to YAML
//! that parses to the same document (idempotent), and az's write-merge, kubectl's read-merge and kubelogin's
//! conversion never panic on it.
#![no_main]

use std::path::PathBuf;

use aks_kubeconfig::{ConvertOptions, Kubeconfig, LoginMode, az_merge, convert, kubectl_merge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(config)) = Kubeconfig::parse_bytes(data) else {
        return;
    };
    let yaml = config.to_yaml();
    let again = match Kubeconfig::parse(&yaml) {
        Ok(Some(again)) => again,
        other => panic!("our own YAML does not parse back: {other:?}\n{yaml}"),
    };
    assert_eq!(again.to_yaml(), yaml, "writing is not idempotent");

    let _ = az_merge(Some(config.clone()), again.clone(), false, &mut |_| false);
    let _ = az_merge(Some(config.clone()), again.clone(), true, &mut |_| true);
    let _ = az_merge(None, config.clone(), false, &mut |_| false);
    let merged = kubectl_merge(&[
        (PathBuf::from("/a"), config.clone()),
        (PathBuf::from("/b"), again),
    ]);
    let _ = format!("{merged:?}");

    for login in [LoginMode::DeviceCode, LoginMode::ServicePrincipal, LoginMode::Msi] {
        let mut converted = config.clone();
        let options = ConvertOptions {
            login: Some(login),
            ..ConvertOptions::default()
        };
        if convert(&mut converted, &options).is_ok() {
            let _ = Kubeconfig::parse(&converted.to_yaml()).expect("a converted kubeconfig parses");
        }
    }
});
