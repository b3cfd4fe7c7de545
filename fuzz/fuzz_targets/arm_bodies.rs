//! The ARM body types aksctl reads: error envelopes, async-operation status, managed clusters (unknown fields
//! kept: what deserializes serializes back to a value that deserializes to the same thing), credential results.
#![no_main]

use aks_model::{
    ArmErrorBody, AsyncOperationStatus, CredentialResults, ManagedCluster, OperationState,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<ArmErrorBody>(data) {
        let _ = format!("{body:?}");
    }
    if let Ok(status) = serde_json::from_slice::<AsyncOperationStatus>(data) {
        let state = status.state();
        let _ = state.is_terminal();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = OperationState::parse(text).is_terminal();
    }
    if let Ok(cluster) = serde_json::from_slice::<ManagedCluster>(data) {
        let value = serde_json::to_value(&cluster).expect("a cluster serializes");
        let again: ManagedCluster =
            serde_json::from_value(value.clone()).expect("our own cluster JSON deserializes");
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            value,
            "round trip changed the cluster"
        );
        let _ = format!("{cluster:?}");
        let _ = cluster.aad_mode();
    }
    if let Ok(results) = serde_json::from_slice::<CredentialResults>(data) {
        let _ = format!("{results:?}");
    }
});
