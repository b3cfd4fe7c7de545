//! Property tests of the ARM body types: any JSON either is refused or survives a round trip unchanged
//! (unknown fields are kept), and operation states parse from any text.

use aks_model::{ArmErrorBody, AsyncOperationStatus, ManagedCluster, OperationState};
use proptest::prelude::*;
use serde_json::Value;

/// JSON values a few levels deep, with ARM-ish keys mixed in so typed fields get hit.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 ._-]{0,12}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("properties".to_owned()),
        Just("aadProfile".to_owned()),
        Just("managed".to_owned()),
        Just("adminGroupObjectIDs".to_owned()),
        Just("provisioningState".to_owned()),
        Just("agentPoolProfiles".to_owned()),
        Just("status".to_owned()),
        Just("error".to_owned()),
        Just("code".to_owned()),
        Just("location".to_owned()),
        "[a-z]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_cluster_that_deserializes_round_trips(value in json_value()) {
        if let Ok(cluster) = serde_json::from_value::<ManagedCluster>(value) {
            let written = serde_json::to_value(&cluster).unwrap();
            let again: ManagedCluster = serde_json::from_value(written.clone()).unwrap();
            prop_assert_eq!(&again, &cluster);
            prop_assert_eq!(serde_json::to_value(&again).unwrap(), written);
        }
    }

    #[test]
    fn error_and_status_bodies_parse_or_refuse(value in json_value()) {
        if let Ok(body) = serde_json::from_value::<ArmErrorBody>(value.clone()) {
            let again: ArmErrorBody =
                serde_json::from_value(serde_json::to_value(&body).unwrap()).unwrap();
            prop_assert_eq!(again, body);
        }
        if let Ok(status) = serde_json::from_value::<AsyncOperationStatus>(value) {
            let again: AsyncOperationStatus =
                serde_json::from_value(serde_json::to_value(&status).unwrap()).unwrap();
            prop_assert_eq!(&again, &status);
            // ARM's terminal states, any case (az also accepts the British spelling); anything else is running.
            let lower = status.status.to_ascii_lowercase();
            let terminal = ["succeeded", "failed", "canceled", "cancelled"].contains(&lower.as_str());
            prop_assert_eq!(status.state().is_terminal(), terminal, "{:?}", status.status);
        }
    }

    #[test]
    fn operation_states_parse_from_any_text_ignoring_case(text in ".{0,20}") {
        let state = OperationState::parse(&text);
        prop_assert_eq!(OperationState::parse(&text.to_ascii_uppercase()), state);
        prop_assert_eq!(OperationState::parse(&text.to_ascii_lowercase()), state);
    }
}
