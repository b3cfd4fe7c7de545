//! Which cluster starts next: each subscription runs up to `--concurrency` clusters at once, from its own queue
//! in plan order, and the subscriptions take turns (docs/arm-aks-api.md, "Throttling": ARM's write budget is a
//! token bucket per subscription).
//!
//! One queue for the whole fleet, `--concurrency` clusters at a time, kept every worker on the first subscriptions
//! of the plan: their write gates paced the workers while the budgets of the subscriptions behind them stood
//! unused. With a queue and a limit per subscription every budget is spent from the start, and a subscription
//! whose budget runs low slows only its own clusters.

use std::collections::{HashMap, VecDeque};

/// The clusters still to start, by subscription, and how many of each subscription run.
#[derive(Debug)]
pub(super) struct Schedule<T> {
    /// Per subscription (in order of first appearance): its waiting items and how many of its items run.
    lanes: Vec<Lane<T>>,
    /// Lower-cased subscription id → index in `lanes`.
    index: HashMap<String, usize>,
    /// The lane the next search starts at (so that subscriptions take turns).
    turn: usize,
    /// Items of one subscription run at the same time.
    per_subscription: usize,
}

#[derive(Debug)]
struct Lane<T> {
    waiting: VecDeque<T>,
    running: usize,
}

impl<T> Schedule<T> {
    /// `items` with their subscription ids, in plan order; at most `per_subscription` (at least 1) of one
    /// subscription run at once.
    pub(super) fn new(
        items: impl IntoIterator<Item = (String, T)>,
        per_subscription: usize,
    ) -> Schedule<T> {
        let mut schedule = Schedule {
            lanes: Vec::new(),
            index: HashMap::new(),
            turn: 0,
            per_subscription: per_subscription.max(1),
        };
        for (subscription, item) in items {
            let lanes = &mut schedule.lanes;
            let lane = *schedule
                .index
                .entry(subscription.to_ascii_lowercase())
                .or_insert_with(|| {
                    lanes.push(Lane {
                        waiting: VecDeque::new(),
                        running: 0,
                    });
                    lanes.len() - 1
                });
            schedule.lanes[lane].waiting.push_back(item);
        }
        schedule
    }

    /// The next item that may start (counted as running), taking the subscriptions in turn; `None` when every
    /// subscription with waiting items is at its limit, or nothing waits.
    pub(super) fn next(&mut self) -> Option<T> {
        let count = self.lanes.len();
        for step in 0..count {
            let at = (self.turn + step) % count;
            let lane = &mut self.lanes[at];
            if lane.running < self.per_subscription
                && let Some(item) = lane.waiting.pop_front()
            {
                lane.running += 1;
                self.turn = (at + 1) % count;
                return Some(item);
            }
        }
        None
    }

    /// An item of `subscription` finished.
    pub(super) fn finished(&mut self, subscription: &str) {
        if let Some(&lane) = self.index.get(&subscription.to_ascii_lowercase()) {
            let lane = &mut self.lanes[lane];
            lane.running = lane.running.saturating_sub(1);
        }
    }

    /// Whether nothing waits.
    #[cfg(test)]
    fn is_drained(&self) -> bool {
        self.lanes.iter().all(|lane| lane.waiting.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Vec<(String, String)> {
        // The plan lists each subscription's clusters together, as discovery finds them.
        ["A", "A", "A", "A", "b", "b", "b", "C"]
            .iter()
            .enumerate()
            .map(|(index, subscription)| {
                (subscription.to_string(), format!("{subscription}{index}"))
            })
            .collect()
    }

    fn start_all(schedule: &mut Schedule<String>) -> Vec<String> {
        std::iter::from_fn(|| schedule.next()).collect()
    }

    #[test]
    fn every_subscription_starts_at_once_up_to_its_own_limit() {
        let mut schedule = Schedule::new(plan(), 2);
        assert_eq!(start_all(&mut schedule), ["A0", "b4", "C7", "A1", "b5"]);
        schedule.finished("a");
        assert_eq!(
            start_all(&mut schedule),
            ["A2"],
            "a finished cluster frees a slot of its own subscription only"
        );
        schedule.finished("C");
        assert_eq!(
            start_all(&mut schedule),
            Vec::<String>::new(),
            "C has nothing left"
        );
        schedule.finished("B");
        schedule.finished("A");
        assert_eq!(start_all(&mut schedule), ["b6", "A3"]);
        assert!(schedule.is_drained());
    }

    #[test]
    fn each_subscription_keeps_plan_order_and_nothing_is_lost_or_started_twice() {
        let mut schedule = Schedule::new(plan(), 1);
        let mut started = Vec::new();
        let mut running: Vec<String> = Vec::new();
        loop {
            running.extend(start_all(&mut schedule));
            if running.is_empty() {
                break;
            }
            let done = running.remove(0);
            schedule.finished(&done[..1]);
            started.push(done);
        }
        let mut sorted = started.clone();
        sorted.sort();
        let mut expected: Vec<String> = plan().into_iter().map(|(_, item)| item).collect();
        expected.sort();
        assert_eq!(sorted, expected);
        for subscription in ["A", "b", "C"] {
            let order: Vec<&String> = started
                .iter()
                .filter(|item| item.starts_with(subscription))
                .collect();
            let mut in_plan = order.clone();
            in_plan.sort_by_key(|item| item[1..].parse::<usize>().unwrap());
            assert_eq!(order, in_plan, "{subscription}");
        }
    }

    #[test]
    fn a_limit_of_zero_still_runs_one_at_a_time() {
        let mut schedule = Schedule::new(plan(), 0);
        assert_eq!(start_all(&mut schedule), ["A0", "b4", "C7"]);
    }
}
