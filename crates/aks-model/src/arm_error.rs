use serde::{Deserialize, Serialize};

use crate::Extra;

/// The ARM error envelope `{"error": {...}}` (common-types `ErrorResponse`, docs/arm-aks-api.md "Errors").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmErrorBody {
    /// The error.
    pub error: ArmErrorDetail,
}

/// One ARM error: `code` and `message` are required, the rest optional.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ArmErrorDetail {
    /// PascalCase error code, e.g. `ResourceNotFound`.
    #[serde(default)]
    pub code: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// The property path the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ArmErrorDetail>,
    /// Unmodelled fields (`additionalInfo`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ArmErrorBody {
    /// An error body with a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ArmErrorBody {
            error: ArmErrorDetail {
                code: code.into(),
                message: message.into(),
                ..ArmErrorDetail::default()
            },
        }
    }

    /// The same with a `target` property path.
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.error.target = Some(target.into());
        self
    }
}
