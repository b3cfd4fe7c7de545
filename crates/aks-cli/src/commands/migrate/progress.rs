//! Fleet progress on stderr: on a terminal, one bar per in-flight cluster under an overall bar (indicatif);
//! otherwise plain timestamped lines, one per step that matters (docs/style.md, habit 8: stdout carries only data).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::journal::now;

enum Mode {
    Bars {
        multi: MultiProgress,
        overall: ProgressBar,
        clusters: Mutex<HashMap<String, ProgressBar>>,
    },
    Lines,
    Quiet,
}

/// Progress of one run.
pub(super) struct Progress {
    mode: Mode,
    total: u64,
    done: AtomicU64,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Progress {
    /// Bars when `terminal`, lines otherwise, nothing when `quiet`; `done` of `total` clusters are finished.
    pub(super) fn new(total: u64, done: u64, terminal: bool, quiet: bool) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if terminal {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(total));
            overall.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} clusters [{elapsed_precise}] {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            overall.set_prefix("migrate");
            overall.set_position(done);
            overall.enable_steady_tick(Duration::from_millis(200));
            Mode::Bars {
                multi,
                overall,
                clusters: Mutex::new(HashMap::new()),
            }
        } else {
            Mode::Lines
        };
        Progress {
            mode,
            total,
            done: AtomicU64::new(done),
        }
    }

    fn line(&self, label: &str, message: &str) {
        let done = self.done.load(Ordering::Relaxed);
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "{} [{done}/{}] {label}: {message}",
            now(),
            self.total
        );
    }

    /// A step of a cluster. `notable` steps also get a line when there are no bars.
    pub(super) fn step(&self, label: &str, message: &str, notable: bool) {
        match &self.mode {
            Mode::Bars {
                multi, clusters, ..
            } => {
                let mut clusters = clusters.lock().unwrap_or_else(|p| p.into_inner());
                let bar = clusters.entry(label.to_string()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(
                        ProgressStyle::with_template("  {spinner} {prefix}: {msg} [{elapsed}]")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    bar.set_prefix(label.to_string());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar
                });
                bar.set_message(message.to_string());
            }
            Mode::Lines if notable => self.line(label, message),
            Mode::Lines | Mode::Quiet => {}
        }
    }

    /// A cluster is finished (`migrated`, `skipped: …`, `failed: …`).
    pub(super) fn finished(&self, label: &str, message: &str) {
        self.done.fetch_add(1, Ordering::Relaxed);
        match &self.mode {
            Mode::Bars {
                multi,
                overall,
                clusters,
            } => {
                if let Some(bar) = clusters
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(label)
                {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                overall.inc(1);
                let _ = multi.println(format!("{label}: {message}"));
            }
            Mode::Lines => self.line(label, message),
            Mode::Quiet => {}
        }
    }

    /// A message for the whole run (a line, or printed above the bars).
    pub(super) fn note(&self, message: &str) {
        match &self.mode {
            Mode::Bars { multi, .. } => {
                let _ = multi.println(message);
            }
            Mode::Lines => {
                let mut stderr = std::io::stderr().lock();
                let _ = writeln!(stderr, "{} {message}", now());
            }
            Mode::Quiet => {}
        }
    }

    /// Remove the bars.
    pub(super) fn close(&self) {
        if let Mode::Bars {
            multi,
            overall,
            clusters,
        } = &self.mode
        {
            for (_, bar) in clusters.lock().unwrap_or_else(|p| p.into_inner()).drain() {
                bar.finish_and_clear();
            }
            overall.finish_and_clear();
            let _ = multi.clear();
        }
    }
}
