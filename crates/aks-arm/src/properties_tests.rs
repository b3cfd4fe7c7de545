//! Property tests of what aksctl reads from ARM answers: error bodies and retry headers, whatever the bytes.

use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::error::parse_error_body;
use crate::retry_after;

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_error_body_gives_a_code_and_a_bounded_message(status in 100u16..1000, body in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (code, message, _) = parse_error_body(status, &body);
        prop_assert!(!code.is_empty());
        prop_assert!(message.len() <= 8 * 1024, "message of {} bytes", message.len());
    }

    #[test]
    fn an_arm_envelope_gives_back_its_code_message_and_target(
        code in "[A-Za-z]{1,20}", message in ".{0,200}", target in proptest::option::of("[a-z.]{1,10}"),
    ) {
        let mut error = serde_json::json!({"code": code, "message": message});
        if let Some(target) = &target {
            error["target"] = serde_json::json!(target);
        }
        let body = serde_json::to_vec(&serde_json::json!({"error": error})).unwrap();
        let parsed = parse_error_body(400, &body);
        prop_assert_eq!(parsed, (code, message, target));
    }

    #[test]
    fn retry_headers_never_panic_and_are_never_negative(
        name in prop_oneof![Just("retry-after"), Just("retry-after-ms"), Just("x-ms-retry-after-ms")],
        value in prop_oneof![
            "[ -~]{0,40}",
            any::<f64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            (1u32..400).prop_map(|e| format!("1e{e}")),
        ],
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
        if let Some(delay) = retry_after(&headers) {
            prop_assert!(!delay.is_zero());
        }
    }
}

#[test]
fn huge_or_tiny_retry_headers_are_capped_or_ignored() {
    let headers = |name: &'static str, value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    };
    assert_eq!(
        retry_after(&headers("retry-after", "1e300")),
        Some(std::time::Duration::MAX)
    );
    assert_eq!(
        retry_after(&headers("retry-after-ms", "1e300")),
        Some(std::time::Duration::MAX)
    );
    assert_eq!(retry_after(&headers("retry-after", "1e-40")), None);
    assert_eq!(
        crate::poller::poll_delay(&headers("retry-after", "999999999")),
        crate::poller::MAX_POLL_DELAY
    );
    assert_eq!(
        crate::poller::poll_delay(&HeaderMap::new()),
        crate::DEFAULT_POLL_INTERVAL
    );
}
