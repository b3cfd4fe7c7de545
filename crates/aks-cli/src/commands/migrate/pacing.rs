//! Write pacing per subscription (docs/arm-aks-api.md, "Throttling"): ARM's write budget is a token bucket per
//! subscription, so the workers of one subscription share a gate. While `x-ms-ratelimit-remaining-subscription-writes`
//! shows plenty of budget, writes pass at once; once it runs low the gate hands out one slot per refill interval, so
//! writes leave at ARM's refill rate, one after the other. A 429 that outlived the client's own `Retry-After` retries
//! closes the gate for a while and widens the slots; successes narrow them again.
//!
//! The gate must hand out *slots*, not open for everyone at once: a first version closed it for a refill interval
//! after each write, and every worker waiting behind it then wrote together, ran into 429s and the doubling pauses
//! after them, and ran a 500-cluster fleet at 2.5× the throttle-bound minimum.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The header ARM reports the remaining write budget in.
pub(super) const REMAINING_WRITES: &str = "x-ms-ratelimit-remaining-subscription-writes";
/// The slot spacing while the budget is low: ARM refills 10 writes per second per subscription.
const PACE: Duration = Duration::from_millis(100);
/// The widest slot spacing after repeated 429s.
const MAX_PACE: Duration = Duration::from_secs(2);
/// The first pause after a 429 the client gave up on (ARM's write `Retry-After` is about a second).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause after repeated 429s.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct GateState {
    /// No write before this instant (after a 429).
    open_at: Instant,
    /// The next free slot while paced.
    next_slot: Instant,
    /// Whether writes take slots (the budget ran low or ARM said 429).
    paced: bool,
    /// The slot spacing while paced.
    pace: Duration,
    /// The pause after the next 429.
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
        let now = Instant::now();
        WriteGate {
            low_water,
            state: Mutex::new(GateState {
                open_at: now,
                next_slot: now,
                paced: false,
                pace: PACE,
                backoff: FIRST_BACKOFF,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Take the next slot (at once while the budget is ample); returns the instant the write may go.
    fn reserve(&self, now: Instant) -> Instant {
        let mut state = self.lock();
        let mut slot = now.max(state.open_at);
        if state.paced {
            slot = slot.max(state.next_slot);
            state.next_slot = slot + state.pace;
        }
        slot
    }

    /// Wait for this write's slot.
    pub(super) async fn pass(&self) {
        let slot = self.reserve(Instant::now());
        tokio::time::sleep_until(slot).await;
    }

    /// A write went through and ARM reported `remaining` writes left (when it did): reset the 429 backoff, and
    /// pace writes while the budget is below the reserve. Returns whether writes are paced.
    pub(super) fn succeeded(&self, remaining: Option<u64>) -> bool {
        let mut state = self.lock();
        state.backoff = FIRST_BACKOFF;
        match remaining {
            Some(remaining) if remaining < self.low_water => state.paced = true,
            // Well above the reserve again (the bucket refilled): no pacing.
            Some(remaining) if remaining >= self.low_water.saturating_mul(2) => {
                state.paced = false;
                state.pace = PACE;
            }
            // In between: keep pacing, and narrow slots that 429s widened.
            Some(_) => state.pace = state.pace.mul_f64(0.9).max(PACE),
            None => {}
        }
        state.paced
    }

    /// ARM kept answering 429: close the gate for the current backoff (doubling it) and pace the writes after
    /// it in wider slots. Returns the pause.
    pub(super) fn throttled(&self) -> Duration {
        let mut state = self.lock();
        let pause = state.backoff;
        state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
        state.pace = (state.pace * 2).min(MAX_PACE);
        state.paced = true;
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
    fn ample_budget_passes_at_once_and_a_low_one_hands_out_spaced_slots() {
        let gates = WriteGates::new(4);
        let gate = gates.of("SUB");
        assert!(Arc::ptr_eq(&gate, &gates.of("sub")));
        let now = Instant::now();
        assert_eq!(gate.reserve(now), now);
        assert_eq!(gate.reserve(now), now, "not paced: no slots");
        assert!(!gate.succeeded(Some(10)));
        assert!(!gate.succeeded(None));
        assert!(gate.succeeded(Some(3)), "below the reserve: paced");
        let now = Instant::now();
        let slots: Vec<Instant> = (0..5).map(|_| gate.reserve(now)).collect();
        assert_eq!(slots[0], now);
        for pair in slots.windows(2) {
            assert_eq!(
                pair[1] - pair[0],
                PACE,
                "one write per refill interval, never together"
            );
        }
        assert!(
            gate.succeeded(Some(5)),
            "between reserve and twice the reserve: still paced"
        );
        assert!(!gate.succeeded(Some(8)), "refilled: no pacing");
        let later = Instant::now();
        assert_eq!(gate.reserve(later), later);
    }

    #[test]
    fn throttling_closes_the_gate_then_paces_in_wider_slots() {
        let gate = WriteGates::new(4).of("sub");
        assert_eq!(gate.throttled(), Duration::from_secs(1));
        assert_eq!(gate.throttled(), Duration::from_secs(2));
        let now = Instant::now();
        let first = gate.reserve(now);
        assert!(
            first - now > Duration::from_millis(1500),
            "{:?}",
            first - now
        );
        assert_eq!(
            gate.reserve(now) - first,
            PACE * 4,
            "two 429s: slots four times as wide"
        );
        assert!(gate.succeeded(Some(6)));
        assert_eq!(
            gate.throttled(),
            Duration::from_secs(1),
            "success resets the backoff"
        );
        for _ in 0..40 {
            gate.succeeded(Some(6));
        }
        assert_eq!(
            gate.lock().pace,
            PACE,
            "successes narrow the slots back to the refill interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_writers_leave_one_slot_apart() {
        let gate = WriteGates::new(4).of("sub");
        gate.succeeded(Some(0));
        let start = Instant::now();
        let mut passed = Vec::new();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let gate = gate.clone();
            tasks.spawn(async move {
                gate.pass().await;
                Instant::now()
            });
        }
        while let Some(at) = tasks.join_next().await {
            passed.push(at.unwrap() - start);
        }
        passed.sort();
        assert_eq!(passed.last().copied(), Some(PACE * 7), "{passed:?}");
        for pair in passed.windows(2) {
            assert_eq!(pair[1] - pair[0], PACE, "{passed:?}");
        }
    }
}
