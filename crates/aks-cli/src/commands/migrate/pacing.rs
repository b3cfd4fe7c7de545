//! Write pacing per subscription (docs/arm-aks-api.md, "Throttling"): ARM's write budget is a token bucket per
//! subscription, so the workers of one subscription share a gate that mirrors the bucket. Each write takes a token
//! from the mirror when it passes; each accepted PUT resets the mirror to the
//! `x-ms-ratelimit-remaining-subscription-writes` ARM reported, less the writes that passed after that PUT; in
//! between the mirror refills at ARM's rate. A write
//! passes at once while the mirror holds more than a token in reserve, otherwise it waits for the refill, so writes
//! leave at ARM's refill rate, one after the other, and the bucket is spent down to the reserve. A 429 that outlived
//! the client's own `Retry-After` retries empties the mirror, closes the gate for a while and slows the refill it
//! assumes; successes bring the rate back.
//!
//! Two earlier versions lost time. The first closed the gate for a refill interval after each write, and every
//! worker waiting behind it then wrote together, ran into 429s and the doubling pauses after them (a 500-cluster
//! fleet at 2.5× the throttle-bound minimum). The second handed out slots one refill interval apart once fewer than
//! ten writes were left: the waiting workers reserved their slots seconds ahead, and the writes left in the bucket
//! when pacing began were never spent (up to ten: up to 1 s at ARM's 10 writes a second). Waiters now pass one at
//! a time (first come, first served), and each decides when it may go from the mirror as it is then.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The header ARM reports the remaining write budget in.
pub(super) const REMAINING_WRITES: &str = "x-ms-ratelimit-remaining-subscription-writes";
/// The time ARM takes to refill one write: 10 writes per second per subscription.
const PACE: Duration = Duration::from_millis(100);
/// The slowest refill assumed after repeated 429s.
const MAX_PACE: Duration = Duration::from_secs(2);
/// The first pause after a 429 the client gave up on (ARM's write `Retry-After` is about a second).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause after repeated 429s.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Writes the gate leaves in ARM's bucket: a write passes while the mirror holds more than this, so a write that
/// reaches ARM a little out of order still finds a token.
const RESERVE: f64 = 1.0;

/// The mirror of one subscription's bucket, and the 429 backoff.
#[derive(Debug)]
struct GateState {
    /// Tokens believed in ARM's bucket at `at`, less the writes that passed since; `None` until ARM reports its
    /// budget (writes pass at once until then).
    tokens: Option<f64>,
    /// When `tokens` was last brought up to date.
    at: Instant,
    /// The most writes ARM reported left (plus the write it answered): the bucket holds no more (and at least the
    /// reserve and one write, so that a write always gets through in the end).
    capacity: f64,
    /// Writes passed so far; a write's number tells which writes passed after it.
    passed: u64,
    /// No write before this instant (after a 429).
    open_at: Instant,
    /// The time one token takes to refill.
    pace: Duration,
    /// The pause after the next 429.
    backoff: Duration,
}

impl GateState {
    /// Bring the mirror up to `now`: the refill since the last update, up to the bucket's size.
    fn refill(&mut self, now: Instant) {
        if let Some(tokens) = self.tokens {
            let refilled =
                now.saturating_duration_since(self.at).as_secs_f64() / self.pace.as_secs_f64();
            self.tokens = Some((tokens + refilled).min(self.capacity.max(RESERVE + 1.0)));
        }
        self.at = now;
    }

    /// When the next write may pass, seen at `now`.
    fn next_pass(&mut self, now: Instant) -> Instant {
        self.refill(now);
        let ready = match self.tokens {
            Some(tokens) if tokens < RESERVE + 1.0 => {
                now + self.pace.mul_f64(RESERVE + 1.0 - tokens)
            }
            _ => now,
        };
        ready.max(self.open_at)
    }

    /// A write passes at `now`: it takes a token; returns its number.
    fn take(&mut self, now: Instant) -> u64 {
        self.refill(now);
        if let Some(tokens) = self.tokens.as_mut() {
            *tokens -= 1.0;
        }
        self.passed += 1;
        self.passed
    }
}

/// The write gate of one subscription.
#[derive(Debug)]
pub(super) struct WriteGate {
    state: Mutex<GateState>,
    /// Waiters pass one at a time, in the order they came (tokio's mutex is fair).
    turn: tokio::sync::Mutex<()>,
}

impl WriteGate {
    fn new() -> WriteGate {
        let now = Instant::now();
        WriteGate {
            state: Mutex::new(GateState {
                tokens: None,
                at: now,
                capacity: 0.0,
                passed: 0,
                open_at: now,
                pace: PACE,
                backoff: FIRST_BACKOFF,
            }),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Wait for this write's turn; returns its number (for [`WriteGate::succeeded`]).
    pub(super) async fn pass(&self) -> u64 {
        let _turn = self.turn.lock().await;
        loop {
            let now = Instant::now();
            let ready = self.lock().next_pass(now);
            if ready <= now {
                return self.lock().take(now);
            }
            // An answer that arrives meanwhile may change the mirror: look again when woken.
            tokio::time::sleep_until(ready).await;
        }
    }

    /// Write number `write` went through and ARM reported `remaining` writes left (when it did): reset the 429
    /// backoff, bring the refill rate back, and set the mirror to `remaining` less the writes that passed after
    /// this one. Returns whether the budget is down to the reserve (writes wait for the refill).
    pub(super) fn succeeded(&self, write: u64, remaining: Option<u64>) -> bool {
        let mut state = self.lock();
        state.backoff = FIRST_BACKOFF;
        state.pace = state.pace.mul_f64(0.9).max(PACE);
        let now = Instant::now();
        if let Some(remaining) = remaining {
            let remaining = remaining as f64;
            state.capacity = state.capacity.max(remaining + 1.0);
            let after = state.passed.saturating_sub(write) as f64;
            state.tokens = Some(remaining - after);
            state.at = now;
        }
        state.refill(now);
        state.tokens.is_some_and(|tokens| tokens < RESERVE + 1.0)
    }

    /// ARM kept answering 429: empty the mirror, close the gate for the current backoff (doubling it) and assume a
    /// refill half as fast. Returns the pause.
    pub(super) fn throttled(&self) -> Duration {
        let mut state = self.lock();
        let now = Instant::now();
        let pause = state.backoff;
        state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
        state.pace = (state.pace * 2).min(MAX_PACE);
        state.tokens = Some(0.0);
        state.at = now;
        state.open_at = state.open_at.max(now + pause);
        pause
    }
}

/// The gates of every subscription.
#[derive(Debug, Default)]
pub(super) struct WriteGates {
    gates: Mutex<HashMap<String, Arc<WriteGate>>>,
}

impl WriteGates {
    /// The gate of a subscription.
    pub(super) fn of(&self, subscription: &str) -> Arc<WriteGate> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        gates
            .entry(subscription.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(WriteGate::new()))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pass `count` writes one after the other; the instants they passed, from `start`.
    async fn pass_all(gate: &WriteGate, count: usize, start: Instant) -> Vec<Duration> {
        let mut passed = Vec::new();
        for _ in 0..count {
            gate.pass().await;
            passed.push(Instant::now() - start);
        }
        passed
    }

    #[tokio::test(start_paused = true)]
    async fn writes_pass_at_once_until_arm_reports_its_budget() {
        let gates = WriteGates::default();
        let gate = gates.of("SUB");
        assert!(Arc::ptr_eq(&gate, &gates.of("sub")));
        let start = Instant::now();
        assert_eq!(pass_all(&gate, 50, start).await, vec![Duration::ZERO; 50]);
        assert_eq!(gate.pass().await, 51, "writes are numbered");
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_is_spent_down_to_the_reserve_then_writes_leave_at_the_refill_rate() {
        let gate = WriteGates::default().of("sub");
        let start = Instant::now();
        let first = gate.pass().await;
        assert!(
            !gate.succeeded(first, Some(6)),
            "6 left: not yet at the reserve"
        );
        let passed = pass_all(&gate, 8, start).await;
        // 6 in the bucket, 1 kept in reserve: 5 pass at once; then one per refill interval.
        assert_eq!(passed[..5], [Duration::ZERO; 5]);
        assert_eq!(passed[5..], [PACE, PACE * 2, PACE * 3], "{passed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_counts_the_writes_that_passed_after_it() {
        let gate = WriteGates::default().of("sub");
        let early = gate.pass().await;
        for _ in 0..3 {
            gate.pass().await;
        }
        // The early write's answer: 5 left then, and 3 writes have passed since.
        assert!(
            !gate.succeeded(early, Some(5)),
            "5 - 3 = 2 left: one more passes before the reserve"
        );
        let start = Instant::now();
        assert_eq!(pass_all(&gate, 2, start).await, [Duration::ZERO, PACE]);
        // A later answer that shows more (the bucket refilled faster than assumed) raises the mirror again.
        let last = gate.pass().await;
        assert!(!gate.succeeded(last, Some(10)));
        let start = Instant::now();
        assert_eq!(pass_all(&gate, 9, start).await, [Duration::ZERO; 9]);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_writers_leave_one_refill_interval_apart_in_arrival_order() {
        let gate = WriteGates::default().of("sub");
        let write = gate.pass().await;
        gate.succeeded(write, Some(0));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let gate = gate.clone();
            tasks.spawn(async move { (gate.pass().await, Instant::now() - start) });
        }
        let mut passed = Vec::new();
        while let Some(done) = tasks.join_next().await {
            passed.push(done.unwrap());
        }
        passed.sort();
        // The mirror is at 0 and keeps 1 in reserve: the first waits two refills, then one each.
        let expected: Vec<(u64, Duration)> = (0..8u32)
            .map(|i| (u64::from(i) + 2, PACE * (i + 2)))
            .collect();
        assert_eq!(passed, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn the_mirror_never_holds_more_than_the_bucket() {
        let gate = WriteGates::default().of("sub");
        let write = gate.pass().await;
        gate.succeeded(write, Some(3));
        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        // A bucket of 4 (3 left after a write): 3 pass at once after a minute, not 600.
        let passed = pass_all(&gate, 4, start).await;
        assert_eq!(
            passed,
            [Duration::ZERO, Duration::ZERO, Duration::ZERO, PACE]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_closes_the_gate_then_assumes_a_slower_refill_until_writes_succeed() {
        let gate = WriteGates::default().of("sub");
        assert_eq!(gate.throttled(), Duration::from_secs(1));
        assert_eq!(gate.throttled(), Duration::from_secs(2));
        let start = Instant::now();
        let passed = pass_all(&gate, 2, start).await;
        assert_eq!(passed[0], Duration::from_secs(2), "closed for the pause");
        assert_eq!(
            passed[1] - passed[0],
            PACE * 4,
            "two 429s: a refill four times as slow"
        );
        let write = gate.pass().await;
        gate.succeeded(write, Some(6));
        assert_eq!(
            gate.throttled(),
            Duration::from_secs(1),
            "success resets the backoff"
        );
        for _ in 0..40 {
            gate.succeeded(write, Some(6));
        }
        assert_eq!(
            gate.lock().pace,
            PACE,
            "successes bring the refill rate back"
        );
    }
}
