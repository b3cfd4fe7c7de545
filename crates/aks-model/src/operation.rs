use serde::{Deserialize, Serialize};

use crate::{ArmErrorDetail, Extra};

/// The async-operation status resource behind an `Azure-AsyncOperation` URL
/// (docs/arm-aks-api.md, "Long-running operations").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AsyncOperationStatus {
    /// Full id, optional (AKS omits it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The operation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `InProgress`, `Succeeded`, `Failed`, `Canceled`, or an RP-specific running state.
    #[serde(default)]
    pub status: String,
    /// RFC 3339 start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// RFC 3339 end time, once terminal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Present when `Failed` or `Canceled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ArmErrorDetail>,
    /// Unmodelled fields (`percentComplete`, `properties`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Where an operation stands, from a `status` or `provisioningState` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    /// Still running (any non-terminal value).
    InProgress,
    /// Terminal success.
    Succeeded,
    /// Terminal failure.
    Failed,
    /// Terminal cancellation.
    Canceled,
}

impl OperationState {
    /// Classify a status string; terminal values are matched case-insensitively, anything else is running.
    pub fn parse(status: &str) -> Self {
        if status.eq_ignore_ascii_case("Succeeded") {
            OperationState::Succeeded
        } else if status.eq_ignore_ascii_case("Failed") {
            OperationState::Failed
        } else if status.eq_ignore_ascii_case("Canceled")
            || status.eq_ignore_ascii_case("Cancelled")
        {
            OperationState::Canceled
        } else {
            OperationState::InProgress
        }
    }

    /// Whether this state ends the operation.
    pub fn is_terminal(self) -> bool {
        self != OperationState::InProgress
    }
}

impl AsyncOperationStatus {
    /// The parsed state of this status resource.
    pub fn state(&self) -> OperationState {
        OperationState::parse(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_are_case_insensitive_and_others_run() {
        assert_eq!(
            OperationState::parse("succeeded"),
            OperationState::Succeeded
        );
        assert_eq!(OperationState::parse("Failed"), OperationState::Failed);
        assert_eq!(OperationState::parse("Canceled"), OperationState::Canceled);
        assert_eq!(
            OperationState::parse("Updating"),
            OperationState::InProgress
        );
        assert!(!OperationState::parse("InProgress").is_terminal());
    }
}
