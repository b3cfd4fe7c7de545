//! ARM's write budget as data: a token bucket per subscription, and its configuration. The answers (`429`, the
//! `x-ms-ratelimit-remaining-subscription-writes` header) are made by `arm::throttle`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The write budget of each subscription (docs/arm-aks-api.md: ARM's regional buckets hold 200 writes and refill
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
    }
}
