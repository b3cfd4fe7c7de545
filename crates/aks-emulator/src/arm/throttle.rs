//! ARM's write throttling (arm-aks-api.md §7): a token bucket per subscription for PUT and DELETE. When the
//! bucket is empty the write is refused with `429` and an integer `Retry-After` (the seconds until a token is
//! back); every ARM answer reports the bucket in `x-ms-ratelimit-remaining-subscription-writes`. Off by default
//! (nothing is refused and the header shows a full bucket); configured through [`WriteThrottle`] in
//! `EmulatorOptions` or `PUT /_emulator/throttle`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aks_model::ArmErrorBody;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::http::{arm_error, set};

/// The write budget of each subscription (arm-aks-api.md §7: ARM's regional buckets hold 200 writes and refill
/// 10 per second).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WriteThrottle {
    /// Refuse writes when the bucket is empty (default false: the bucket is not used at all).
    pub enabled: bool,
    /// Tokens in a full bucket (default 200).
    pub capacity: u32,
    /// Tokens added per second (default 10).
    pub refill_per_second: f64,
}

impl Default for WriteThrottle {
    fn default() -> Self {
        WriteThrottle {
            enabled: false,
            capacity: 200,
            refill_per_second: 10.0,
        }
    }
}

#[derive(Clone, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of every subscription, with their configuration.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteBuckets {
    config: WriteThrottle,
    buckets: HashMap<String, Bucket>,
}

impl WriteBuckets {
    /// Buckets under `config`, all full.
    pub(crate) fn new(config: WriteThrottle) -> WriteBuckets {
        WriteBuckets {
            config,
            buckets: HashMap::new(),
        }
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &WriteThrottle {
        &self.config
    }

    /// Replace the configuration; every bucket starts full again.
    pub(crate) fn configure(&mut self, config: WriteThrottle) {
        self.config = config;
        self.buckets.clear();
    }

    fn bucket(&mut self, subscription: &str, now: Instant) -> &mut Bucket {
        let capacity = f64::from(self.config.capacity);
        let rate = self.config.refill_per_second.max(0.0);
        let bucket = self
            .buckets
            .entry(subscription.to_ascii_lowercase())
            .or_insert(Bucket {
                tokens: capacity,
                updated: now,
            });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        bucket
    }

    /// Whole tokens left for `subscription`.
    pub(crate) fn remaining(&mut self, subscription: &str, now: Instant) -> u64 {
        if !self.config.enabled {
            return u64::from(self.config.capacity);
        }
        self.bucket(subscription, now).tokens.floor() as u64
    }

    /// Take a token for a write: the tokens left, or how long until one is back.
    pub(crate) fn take(&mut self, subscription: &str, now: Instant) -> Result<u64, Duration> {
        if !self.config.enabled {
            return Ok(u64::from(self.config.capacity));
        }
        let rate = self.config.refill_per_second;
        let bucket = self.bucket(subscription, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(bucket.tokens.floor() as u64);
        }
        if rate <= 0.0 {
            return Err(Duration::from_secs(3600));
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
    }
}

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

    fn on(capacity: u32, refill_per_second: f64) -> WriteBuckets {
        WriteBuckets::new(WriteThrottle {
            enabled: true,
            capacity,
            refill_per_second,
        })
    }

    #[test]
    fn an_empty_bucket_refuses_until_it_refills() {
        let mut buckets = on(2, 4.0);
        let start = Instant::now();
        assert_eq!(buckets.remaining("S", start), 2);
        assert_eq!(buckets.take("S", start), Ok(1));
        assert_eq!(buckets.take("s", start), Ok(0));
        assert_eq!(buckets.take("s", start), Err(Duration::from_millis(250)));
        assert_eq!(buckets.take("other", start), Ok(1), "per subscription");
        let later = start + Duration::from_millis(600);
        assert_eq!(buckets.remaining("s", later), 2);
        assert_eq!(buckets.take("s", later), Ok(1));
        let much_later = later + Duration::from_secs(60);
        assert_eq!(buckets.remaining("s", much_later), 2, "capped at capacity");
    }

    #[test]
    fn off_by_default_and_reconfigurable() {
        let mut buckets = WriteBuckets::default();
        let now = Instant::now();
        for _ in 0..500 {
            assert_eq!(buckets.take("s", now), Ok(200));
        }
        buckets.configure(WriteThrottle {
            enabled: true,
            capacity: 1,
            refill_per_second: 0.5,
        });
        assert_eq!(buckets.take("s", now), Ok(0));
        assert_eq!(buckets.take("s", now), Err(Duration::from_secs(2)));
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(2500)), 3);
    }
}
