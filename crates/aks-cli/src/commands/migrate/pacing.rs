//! Write pacing per subscription (arm-aks-api.md §7): ARM's write budget is a token bucket per subscription, so
//! the workers of one subscription share a gate. A write waits at the gate; the gate closes for a while when
//! `x-ms-ratelimit-remaining-subscription-writes` runs low (slowing down before ARM says no) and, after a 429
//! that outlived the client's own `Retry-After` retries, for an exponentially growing pause.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The header ARM reports the remaining write budget in.
pub(super) const REMAINING_WRITES: &str = "x-ms-ratelimit-remaining-subscription-writes";
/// The spacing per write missing from the reserve: ARM refills 10 writes per second per subscription.
const PACE: Duration = Duration::from_millis(100);
/// The first pause after a 429 the client gave up on.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// The longest pause after repeated 429s.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How long to hold writes back when `remaining` writes are left and the gate keeps a reserve of `low_water`:
/// below the reserve, one refill interval per write, so writes go out at ARM's refill rate. (Pausing one interval
/// per *missing* write, as a first version did, ran a 500-cluster fleet at 2.5× the throttle-bound minimum.)
pub(super) fn pause_for(remaining: u64, low_water: u64) -> Duration {
    if remaining >= low_water {
        return Duration::ZERO;
    }
    PACE
}

#[derive(Debug)]
struct GateState {
    open_at: Instant,
    backoff: Duration,
}

/// The write gate of one subscription.
#[derive(Debug)]
pub(super) struct WriteGate {
    low_water: u64,
    state: Mutex<GateState>,
}

impl WriteGate {
    fn new(low_water: u64) -> WriteGate {
        WriteGate {
            low_water,
            state: Mutex::new(GateState {
                open_at: Instant::now(),
                backoff: FIRST_BACKOFF,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Wait until the gate is open.
    pub(super) async fn pass(&self) {
        loop {
            let open_at = self.lock().open_at;
            if open_at <= Instant::now() {
                return;
            }
            tokio::time::sleep_until(open_at).await;
        }
    }

    /// A write went through and ARM reported `remaining` writes left (when it did): relax the 429 backoff and
    /// close the gate for a moment when the budget runs low. Returns the pause.
    pub(super) fn succeeded(&self, remaining: Option<u64>) -> Duration {
        let mut state = self.lock();
        state.backoff = FIRST_BACKOFF;
        let pause = remaining
            .map(|remaining| pause_for(remaining, self.low_water))
            .unwrap_or_default();
        let until = Instant::now() + pause;
        if until > state.open_at {
            state.open_at = until;
        }
        pause
    }

    /// ARM kept answering 429: close the gate for the current backoff (doubling it). Returns the pause.
    pub(super) fn throttled(&self) -> Duration {
        let mut state = self.lock();
        let pause = state.backoff;
        state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
        let until = Instant::now() + pause;
        if until > state.open_at {
            state.open_at = until;
        }
        pause
    }
}

/// The gates of every subscription.
#[derive(Debug)]
pub(super) struct WriteGates {
    low_water: u64,
    gates: Mutex<HashMap<String, Arc<WriteGate>>>,
}

impl WriteGates {
    /// Gates that slow down when fewer than `low_water` writes are left.
    pub(super) fn new(low_water: u64) -> WriteGates {
        WriteGates {
            low_water,
            gates: Mutex::new(HashMap::new()),
        }
    }

    /// The gate of a subscription.
    pub(super) fn of(&self, subscription: &str) -> Arc<WriteGate> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        gates
            .entry(subscription.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(WriteGate::new(self.low_water)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_as_the_budget_shrinks() {
        assert_eq!(pause_for(10, 8), Duration::ZERO);
        assert_eq!(pause_for(8, 8), Duration::ZERO);
        assert_eq!(pause_for(4, 8), PACE);
        assert_eq!(pause_for(0, 8), PACE);
        assert_eq!(pause_for(0, 0), Duration::ZERO);
    }

    #[test]
    fn throttling_closes_the_gate_with_a_doubling_backoff() {
        let gates = WriteGates::new(4);
        let gate = gates.of("SUB");
        assert!(Arc::ptr_eq(&gate, &gates.of("sub")));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let start = std::time::Instant::now();
        runtime.block_on(gate.pass());
        assert!(start.elapsed() < Duration::from_millis(100));
        assert_eq!(gate.throttled(), Duration::from_secs(2));
        assert_eq!(gate.throttled(), Duration::from_secs(4));
        let closed_for = gate.lock().open_at - Instant::now();
        assert!(closed_for > Duration::from_secs(3), "{closed_for:?}");
        assert_eq!(gate.succeeded(Some(0)), PACE);
        assert_eq!(
            gate.throttled(),
            Duration::from_secs(2),
            "success resets the backoff"
        );
        assert_eq!(gate.succeeded(None), Duration::ZERO);
    }
}
