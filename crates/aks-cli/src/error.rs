//! The CLI's error type and the outcome the binary turns into an exit code.

use aks_arm::ArmError;
use aks_model::validation::ValidationError;
use thiserror::Error;

/// How a command ended; the binary maps it to az's exit codes (0, 1, 2, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the command failed.
    Failure,
    /// Exit 2: the command line could not be parsed.
    Usage,
    /// Exit 3: ARM answered 404 (ResourceNotFound, ResourceGroupNotFound).
    NotFound,
}

/// Everything a command can fail with.
#[derive(Debug, Error)]
pub enum CliError {
    /// An ARM or credential error (boxed: ARM errors carry URLs and messages).
    #[error(transparent)]
    Arm(Box<ArmError>),
    /// A value the user typed is invalid.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A failure with az's message (az's `CLIError` family: exit 1).
    #[error("{0}")]
    Message(String),
    /// A usage error detected after parsing (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A "resource not found" answer from a service other than ARM, with az's message (exit 3, as az's show
    /// commands do for Microsoft Graph 404s).
    #[error("{0}")]
    NotFound(String),
    /// A local file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
}

impl From<ArmError> for CliError {
    fn from(error: ArmError) -> Self {
        CliError::Arm(Box::new(error))
    }
}

impl From<aks_arm::config::ConfigError> for CliError {
    fn from(error: aks_arm::config::ConfigError) -> Self {
        CliError::Arm(Box::new(error.into()))
    }
}

impl From<aks_identity::credential::CredentialError> for CliError {
    fn from(error: aks_identity::credential::CredentialError) -> Self {
        CliError::Arm(Box::new(error.into()))
    }
}

impl CliError {
    /// A plain failure message.
    pub fn message(text: impl Into<String>) -> Self {
        CliError::Message(text.into())
    }

    /// The outcome this error ends the command with. Every kind is named here (no wildcard arm), so a new kind
    /// does not compile until its exit code is decided.
    pub fn outcome(&self) -> Outcome {
        match self {
            CliError::Arm(error) if error.is_not_found() => Outcome::NotFound,
            CliError::Usage(_) => Outcome::Usage,
            CliError::NotFound(_) => Outcome::NotFound,
            CliError::Arm(_)
            | CliError::Validation(_)
            | CliError::Message(_)
            | CliError::Io { .. } => Outcome::Failure,
        }
    }

    /// The text printed after `ERROR: `.
    pub fn display_text(&self) -> String {
        match self {
            CliError::Arm(error) => error.az_text(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16) -> CliError {
        ArmError::Service {
            method: "GET".into(),
            url: "https://127.0.0.1/x".into(),
            status,
            code: "Code".into(),
            message: "message".into(),
            target: None,
            request_id: None,
        }
        .into()
    }

    #[test]
    fn each_error_kind_has_az_exit_outcome() {
        let io = CliError::Io {
            action: "read",
            path: "/nowhere".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let validation = CliError::from(aks_model::validation::guid("--x", "nope").unwrap_err());
        let cases = [
            (service(404), Outcome::NotFound),
            (service(500), Outcome::Failure),
            (CliError::Usage("u".into()), Outcome::Usage),
            (CliError::NotFound("n".into()), Outcome::NotFound),
            (CliError::message("m"), Outcome::Failure),
            (validation, Outcome::Failure),
            (io, Outcome::Failure),
        ];
        for (error, outcome) in cases {
            assert_eq!(error.outcome(), outcome, "{error}");
        }
    }
}
