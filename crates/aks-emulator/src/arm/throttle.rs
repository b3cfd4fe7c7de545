//! ARM's write throttling (docs/arm-aks-api.md): a token bucket per subscription for PUT and DELETE. When the
//! bucket is empty the write is refused with `429` and an integer `Retry-After` (the seconds until a token is
//! back); every ARM answer reports the bucket in `x-ms-ratelimit-remaining-subscription-writes`. Off by default
//! (nothing is refused and the header shows a full bucket); configured through [`WriteThrottle`] in
//! `EmulatorOptions` or `PUT /_emulator/throttle`.

use std::time::Duration;

use aks_model::ArmErrorBody;
use axum::http::StatusCode;
use axum::response::Response;

use crate::http::{arm_error, set};

/// The `Retry-After` seconds of a refusal: whole seconds, at least 1 (ARM sends integers).
pub(crate) fn retry_after_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// `429` for a write over the subscription's budget. The message follows ARM's throttling message (the
/// `TooManyRequests` code is the emulator's choice for the generic status).
pub(crate) fn too_many_requests(subscription: &str, wait: Duration) -> Response {
    let seconds = retry_after_seconds(wait);
    let mut response = arm_error(
        StatusCode::TOO_MANY_REQUESTS,
        ArmErrorBody::new(
            "TooManyRequests",
            format!(
                "Number of 'write' requests for subscription '{subscription}' exceeded. Please try again after '{seconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling"
            ),
        ),
    );
    set(response.headers_mut(), "retry-after", &seconds.to_string());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(2500)), 3);
    }
}
