//! Long-running operations (docs/arm-aks-api.md, "Long-running operations"): follow `Azure-AsyncOperation`, else
//! `Location`, else the resource's `provisioningState`.

use std::fmt;
use std::time::{Duration, Instant};

use aks_model::{ArmErrorDetail, AsyncOperationStatus, OperationState};
use reqwest::Method;
use url::Url;

use crate::ArmError;
use crate::client::{ArmClient, ArmResponse, decode, retry_after};

/// The wait between status polls when the answer names none (az's 30 s; ARM's guidance is 60 s).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);

/// Where a long-running operation stands after one poll.
#[derive(Clone, Debug, PartialEq)]
pub enum PollStatus {
    /// Still running: the status string the service reported and the time since the operation started.
    InProgress {
        /// `InProgress`, `Creating`, `Updating`, `Deleting`, ...
        status: String,
        /// Time since the first request.
        elapsed: Duration,
    },
    /// Done; for PUT the final resource is available from [`Poller::wait`].
    Succeeded,
    /// Ended `Failed`, with the service's error.
    Failed(ArmErrorDetail),
    /// Ended `Canceled`, with the service's error.
    Canceled(ArmErrorDetail),
}

impl PollStatus {
    /// Whether this ends the operation.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, PollStatus::InProgress { .. })
    }
}

/// How the poller learns the state.
#[derive(Clone, Debug)]
enum Mode {
    AsyncOperation(Url),
    Location(Url),
    Resource,
}

/// The terminal outcome, once known.
#[derive(Clone, Debug)]
enum Outcome {
    Succeeded(Option<serde_json::Value>),
    Failed(ArmErrorDetail),
    Canceled(ArmErrorDetail),
}

/// An ARM long-running operation that can be awaited ([`Poller::wait`]) or observed step by step
/// ([`Poller::poll`], [`Poller::wait_with`]).
///
/// The first status poll happens at once (like azure-core); later ones wait `retry-after-ms` (or
/// `x-ms-retry-after-ms`) if the last answer has it, else its `Retry-After` seconds, else 30 s. `Succeeded` → a
/// final GET of the resource URL for PUT/PATCH (nothing for DELETE); `Failed`/`Canceled` →
/// [`ArmError::OperationFailed`] with the error code and message.
pub struct Poller {
    client: ArmClient,
    method: Method,
    resource_url: Url,
    initial: ArmResponse,
    mode: Mode,
    started: Instant,
    polls: u32,
    delay: Duration,
    outcome: Option<Outcome>,
}

impl fmt::Debug for Poller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poller")
            .field("method", &self.method)
            .field("resource_url", &self.resource_url.as_str())
            .field("mode", &self.mode)
            .field("polls", &self.polls)
            .field("done", &self.outcome.is_some())
            .finish_non_exhaustive()
    }
}

fn header_url(response: &ArmResponse, name: &str, base: &Url) -> Option<Url> {
    let value = response.header(name)?.trim();
    if value.is_empty() {
        return None;
    }
    base.join(value).ok()
}

/// The longest wait between two polls, whatever the server's `Retry-After` says (a huge value must not turn
/// into a hang).
pub const MAX_POLL_DELAY: Duration = Duration::from_secs(60);

/// The wait before the next poll: the answer's retry headers (at most [`MAX_POLL_DELAY`]), else
/// [`DEFAULT_POLL_INTERVAL`].
pub(crate) fn poll_delay(headers: &reqwest::header::HeaderMap) -> Duration {
    retry_after(headers)
        .unwrap_or(DEFAULT_POLL_INTERVAL)
        .min(MAX_POLL_DELAY)
}

fn provisioning_state(body: &serde_json::Value) -> Option<&str> {
    body.get("properties")?.get("provisioningState")?.as_str()
}

fn provisioning_error(body: &serde_json::Value, state: &str) -> ArmErrorDetail {
    body.get("properties")
        .and_then(|properties| properties.get("status"))
        .and_then(|status| status.get("provisioningError"))
        .and_then(|error| serde_json::from_value::<ArmErrorDetail>(error.clone()).ok())
        .filter(|error| !error.code.is_empty())
        .unwrap_or_else(|| ArmErrorDetail {
            code: state.to_owned(),
            message: format!("The resource's provisioningState is {state}."),
            ..ArmErrorDetail::default()
        })
}

impl Poller {
    /// Wrap the first answer of a long-running `method` on `resource_url`.
    pub fn new(
        client: ArmClient,
        method: Method,
        resource_url: Url,
        initial: ArmResponse,
    ) -> Poller {
        let writes = method == Method::PUT || method == Method::PATCH;
        let mut outcome = None;
        let mode = if let Some(url) = header_url(&initial, "azure-asyncoperation", &resource_url) {
            Mode::AsyncOperation(url)
        } else if let Some(url) = header_url(&initial, "location", &resource_url) {
            Mode::Location(url)
        } else if writes {
            let state = provisioning_state(&initial.body).unwrap_or("Succeeded");
            match OperationState::parse(state) {
                OperationState::InProgress => {}
                OperationState::Succeeded => {
                    outcome = Some(Outcome::Succeeded(Some(initial.body.clone())))
                }
                OperationState::Failed => {
                    outcome = Some(Outcome::Failed(provisioning_error(&initial.body, state)))
                }
                OperationState::Canceled => {
                    outcome = Some(Outcome::Canceled(provisioning_error(&initial.body, state)))
                }
            }
            Mode::Resource
        } else {
            if initial.status != 202 {
                outcome = Some(Outcome::Succeeded(None));
            }
            Mode::Resource
        };
        tracing::debug!(%method, url = %resource_url, ?mode, done = outcome.is_some(), "long-running operation started");
        Poller {
            client,
            method,
            resource_url,
            initial,
            mode,
            started: Instant::now(),
            polls: 0,
            delay: DEFAULT_POLL_INTERVAL,
            outcome,
        }
    }

    /// The first answer (200/201/202), e.g. for `--no-wait`.
    pub fn initial(&self) -> &ArmResponse {
        &self.initial
    }

    /// The resource the operation is about (with its api-version).
    pub fn resource_url(&self) -> &Url {
        &self.resource_url
    }

    /// Whether the operation has ended.
    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    /// The wait before the next poll (after the first, which is immediate).
    pub fn next_delay(&self) -> Duration {
        if self.polls == 0 {
            Duration::ZERO
        } else {
            self.delay
        }
    }

    fn status_of(outcome: &Outcome) -> PollStatus {
        match outcome {
            Outcome::Succeeded(_) => PollStatus::Succeeded,
            Outcome::Failed(error) => PollStatus::Failed(error.clone()),
            Outcome::Canceled(error) => PollStatus::Canceled(error.clone()),
        }
    }

    fn finish(&mut self, outcome: Outcome) -> PollStatus {
        let status = Self::status_of(&outcome);
        tracing::debug!(url = %self.resource_url, ?status, polls = self.polls, "long-running operation ended");
        self.outcome = Some(outcome);
        status
    }

    fn in_progress(&self, status: &str) -> PollStatus {
        PollStatus::InProgress {
            status: if status.is_empty() {
                "InProgress".into()
            } else {
                status.to_owned()
            },
            elapsed: self.started.elapsed(),
        }
    }

    async fn succeeded(&mut self, last: Option<serde_json::Value>) -> Result<PollStatus, ArmError> {
        let value = if self.method == Method::PUT || self.method == Method::PATCH {
            let response = self
                .client
                .send(Method::GET, self.resource_url.clone(), None)
                .await?;
            Some(response.body)
        } else if self.method == Method::DELETE {
            None
        } else {
            last.filter(|body| !body.is_null())
        };
        Ok(self.finish(Outcome::Succeeded(value)))
    }

    /// One step: sleep the due delay (not before the first poll), ask for the status, and report it. After the
    /// end, answers the terminal status again without a request.
    pub async fn poll(&mut self) -> Result<PollStatus, ArmError> {
        if let Some(outcome) = &self.outcome {
            return Ok(Self::status_of(outcome));
        }
        let delay = self.next_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.polls += 1;
        match self.mode.clone() {
            Mode::AsyncOperation(url) => {
                let response = self.client.send(Method::GET, url.clone(), None).await?;
                self.delay = poll_delay(&response.headers);
                let status: AsyncOperationStatus = decode(&url, response.body)?;
                let failure = |status: &AsyncOperationStatus| {
                    status
                        .error
                        .clone()
                        .filter(|error| !error.code.is_empty() || !error.message.is_empty())
                        .unwrap_or_else(|| ArmErrorDetail {
                            code: status.status.clone(),
                            message: format!("The operation ended with status {}.", status.status),
                            ..ArmErrorDetail::default()
                        })
                };
                match status.state() {
                    OperationState::InProgress => Ok(self.in_progress(&status.status)),
                    OperationState::Succeeded => self.succeeded(None).await,
                    OperationState::Failed => Ok(self.finish(Outcome::Failed(failure(&status)))),
                    OperationState::Canceled => {
                        Ok(self.finish(Outcome::Canceled(failure(&status))))
                    }
                }
            }
            Mode::Location(url) => {
                let response = self.client.send(Method::GET, url, None).await?;
                self.delay = poll_delay(&response.headers);
                if response.status == 202 {
                    Ok(self.in_progress("InProgress"))
                } else {
                    self.succeeded(Some(response.body)).await
                }
            }
            Mode::Resource => {
                let result = self
                    .client
                    .send(Method::GET, self.resource_url.clone(), None)
                    .await;
                let response = match result {
                    Err(error) if self.method == Method::DELETE && error.is_not_found() => {
                        return Ok(self.finish(Outcome::Succeeded(None)));
                    }
                    other => other?,
                };
                self.delay = poll_delay(&response.headers);
                let state = provisioning_state(&response.body)
                    .unwrap_or("Succeeded")
                    .to_owned();
                match OperationState::parse(&state) {
                    OperationState::InProgress => Ok(self.in_progress(&state)),
                    OperationState::Succeeded if self.method == Method::DELETE => {
                        // The resource still exists in a terminal state: keep waiting for it to go away.
                        Ok(self.in_progress("Deleting"))
                    }
                    OperationState::Succeeded => {
                        Ok(self.finish(Outcome::Succeeded(Some(response.body))))
                    }
                    OperationState::Failed => Ok(
                        self.finish(Outcome::Failed(provisioning_error(&response.body, &state)))
                    ),
                    OperationState::Canceled => Ok(self.finish(Outcome::Canceled(
                        provisioning_error(&response.body, &state),
                    ))),
                }
            }
        }
    }

    /// Poll until the operation ends; the final resource body for PUT/PATCH, `None` for DELETE.
    pub async fn wait(self) -> Result<Option<serde_json::Value>, ArmError> {
        self.wait_with(&mut |_| {}).await
    }

    /// [`Poller::wait`], calling `on_progress` after every poll (terminal statuses included).
    pub async fn wait_with(
        mut self,
        on_progress: &mut (dyn FnMut(&PollStatus) + Send),
    ) -> Result<Option<serde_json::Value>, ArmError> {
        loop {
            let status = self.poll().await?;
            on_progress(&status);
            match status {
                PollStatus::InProgress { .. } => continue,
                PollStatus::Succeeded => {
                    return Ok(match self.outcome.take() {
                        Some(Outcome::Succeeded(value)) => value,
                        _ => None,
                    });
                }
                PollStatus::Failed(error) => return Err(operation_failed("Failed", error)),
                PollStatus::Canceled(error) => return Err(operation_failed("Canceled", error)),
            }
        }
    }
}

fn operation_failed(status: &str, error: ArmErrorDetail) -> ArmError {
    ArmError::OperationFailed {
        status: status.to_owned(),
        code: if error.code.is_empty() {
            status.to_owned()
        } else {
            error.code
        },
        message: error.message,
    }
}
