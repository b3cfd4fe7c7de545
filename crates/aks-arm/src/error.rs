//! [`ArmError`]: what went wrong talking to ARM, and az's way of printing it.

use crate::config::ConfigError;
use aks_identity::credential::CredentialError;

/// Everything an ARM call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ArmError {
    /// ARM (or the resource provider) answered with a non-2xx status.
    #[error("{method} {url}: HTTP {status} ({code}) {message}")]
    Service {
        /// HTTP method of the failed request.
        method: String,
        /// The URL that was called.
        url: String,
        /// HTTP status.
        status: u16,
        /// The ARM error code (`ResourceNotFound`, ...), or the HTTP reason for non-JSON bodies.
        code: String,
        /// The error message (for non-JSON bodies: the body text, truncated to 1 KiB).
        message: String,
        /// The property path the error is about, when ARM names one.
        target: Option<String>,
        /// ARM's `x-ms-request-id`, else the `x-ms-client-request-id` we sent.
        request_id: Option<String>,
    },
    /// ARM's Conditional Access claims challenge (`401`, `WWW-Authenticate: … error="insufficient_claims",
    /// claims="…"`): the token lacks claims (MFA, an authentication context) that only an interactive sign-in
    /// can add. Reported with the decoded challenge and the Azure CLI's sign-in commands, never retried.
    #[error(
        "{method} {url}: HTTP 401 (insufficient_claims) the access token lacks claims a Conditional Access \
         policy requires; claims challenge: {claims}\nRun the command below to authenticate interactively; \
         additional arguments may be added as needed:\n{login_command}"
    )]
    ClaimsChallenge {
        /// HTTP method of the failed request.
        method: String,
        /// The URL that was called.
        url: String,
        /// The decoded challenge (JSON).
        claims: String,
        /// `az logout` and the `az login … --claims-challenge` line that satisfies it.
        login_command: String,
    },
    /// A long-running operation ended `Failed` or `Canceled` (docs/arm-aks-api.md, "Long-running operations").
    #[error("operation {status}: ({code}) {message}")]
    OperationFailed {
        /// `Failed` or `Canceled`.
        status: String,
        /// The error code from the operation status.
        code: String,
        /// The error message from the operation status.
        message: String,
    },
    /// The request never got an HTTP answer (DNS, connect, TLS, reset, ...).
    #[error("{method} {url}: {}{}", error_chain(source), certificate_hint(source))]
    Transport {
        /// HTTP method.
        method: String,
        /// The URL that was called.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer whose body is not the JSON we expected.
    #[error("invalid JSON from {url}: {source}")]
    Decode {
        /// The URL that answered.
        url: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// No token could be acquired.
    #[error(transparent)]
    Credential(#[from] CredentialError),
    /// Reading or writing aksctl's configuration failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Cloud endpoint discovery failed.
    #[error("cloud metadata from {url}: {reason}")]
    Cloud {
        /// The metadata URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

impl ArmError {
    /// az's text for service and operation errors: `(Code) Message\nCode: Code\nMessage: Message` (+ `\nTarget: …`),
    /// the azure-core ODataV4 format (docs/az-behaviour.md, "Logging, errors and exit codes"); others:
    /// [`Display`](std::fmt::Display).
    pub fn az_text(&self) -> String {
        match self {
            ArmError::Service {
                code,
                message,
                target,
                ..
            } => odata_text(code, message, target.as_deref()),
            ArmError::OperationFailed { code, message, .. } => odata_text(code, message, None),
            other => other.to_string(),
        }
    }

    /// Whether ARM answered 404 (ResourceNotFound, ResourceGroupNotFound, NotFound, ...): the CLI exits 3 like az.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ArmError::Service { status: 404, .. })
    }

    /// The ARM error code of a service or operation error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Service { code, .. } | ArmError::OperationFailed { code, .. } => Some(code),
            _ => None,
        }
    }
}

fn odata_text(code: &str, message: &str, target: Option<&str>) -> String {
    let mut text = format!("({code}) {message}\nCode: {code}\nMessage: {message}");
    if let Some(target) = target {
        text.push_str("\nTarget: ");
        text.push_str(target);
    }
    text
}

pub use aks_identity::error_chain;

/// Whether an error chain is about a TLS certificate (not worth retrying, worth a hint).
pub(crate) fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let chain = error_chain(error).to_ascii_lowercase();
    chain.contains("certificate")
        || chain.contains("unknownissuer")
        || chain.contains("badsignature")
}

fn certificate_hint(error: &reqwest::Error) -> &'static str {
    if is_certificate_error(error) {
        "\nhint: if a proxy or private CA signs this endpoint, point REQUESTS_CA_BUNDLE or SSL_CERT_FILE at a PEM \
         bundle that contains its CA certificate"
    } else {
        ""
    }
}

/// At most 1 KiB of text, cut at a character boundary, with `…` when cut.
pub(crate) fn truncate_text(text: &str) -> String {
    const LIMIT: usize = 1024;
    let text = text.trim();
    if text.len() <= LIMIT {
        return text.to_owned();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Code, message and target of an error body: the ARM envelope `{"error": {"code", "message", "target"}}`, a bare
/// `{"code", "message"}` object (any key case), or an Entra body `{"error": "...", "error_description": "..."}`.
/// Anything else: the HTTP reason and the body text (truncated to 1 KiB).
pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> (String, String, Option<String>) {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("Unknown")
        .to_owned();
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(serde_json::Value::Object(object)) = parsed {
        let get = |object: &serde_json::Map<String, serde_json::Value>, key: &str| {
            object
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .map(|(_, value)| value.clone())
        };
        let string = |value: Option<serde_json::Value>| match value {
            Some(serde_json::Value::String(text)) => Some(text),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        match get(&object, "error") {
            Some(serde_json::Value::Object(inner)) => {
                let code = string(get(&inner, "code")).unwrap_or_else(|| reason.clone());
                let message = string(get(&inner, "message")).unwrap_or_default();
                let target = string(get(&inner, "target"));
                return (code, message, target);
            }
            Some(serde_json::Value::String(code)) => {
                let message = string(get(&object, "error_description")).unwrap_or_default();
                return (code, message, None);
            }
            _ => {}
        }
        if let Some(code) = string(get(&object, "code")) {
            let message = string(get(&object, "message")).unwrap_or_default();
            let target = string(get(&object, "target"));
            return (code, message, target);
        }
    }
    let text = truncate_text(&String::from_utf8_lossy(body));
    let message = if text.is_empty() {
        format!("Operation returned an invalid status '{reason}'")
    } else {
        text
    };
    (reason, message, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(code: &str, message: &str, status: u16) -> ArmError {
        ArmError::Service {
            method: "GET".into(),
            url: "https://arm/x".into(),
            status,
            code: code.into(),
            message: message.into(),
            target: None,
            request_id: Some("r".into()),
        }
    }

    #[test]
    fn az_text_matches_azure_core_format() {
        let error = service("ResourceNotFound", "managedClusters/nope not found", 404);
        assert_eq!(
            error.az_text(),
            "(ResourceNotFound) managedClusters/nope not found\nCode: ResourceNotFound\nMessage: managedClusters/nope not found"
        );
        assert!(error.is_not_found());
        assert!(!service("Conflict", "x", 409).is_not_found());
        let failed = ArmError::OperationFailed {
            status: "Failed".into(),
            code: "CreateVMSSAgentPoolFailed".into(),
            message: "boom".into(),
        };
        assert_eq!(
            failed.az_text(),
            "(CreateVMSSAgentPoolFailed) boom\nCode: CreateVMSSAgentPoolFailed\nMessage: boom"
        );
    }

    #[test]
    fn error_bodies_of_every_shape_are_understood() {
        let arm = br#"{"error":{"code":"PropertyChangeNotAllowed","message":"Changing property 'aadProfile.managed' is not allowed.","target":"aadProfile.managed"}}"#;
        assert_eq!(
            parse_error_body(400, arm),
            (
                "PropertyChangeNotAllowed".into(),
                "Changing property 'aadProfile.managed' is not allowed.".into(),
                Some("aadProfile.managed".into())
            )
        );
        let entra = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#;
        assert_eq!(
            parse_error_body(401, entra),
            (
                "invalid_client".into(),
                "AADSTS7000215: Invalid client secret provided.".into(),
                None
            )
        );
        let bare = br#"{"Code":"NotFound","Message":"nope"}"#;
        assert_eq!(
            parse_error_body(404, bare),
            ("NotFound".into(), "nope".into(), None)
        );
        let html = b"<html>bad gateway</html>";
        assert_eq!(
            parse_error_body(502, html),
            (
                "Bad Gateway".into(),
                "<html>bad gateway</html>".into(),
                None
            )
        );
        let (code, message, _) = parse_error_body(500, &vec![b'x'; 5000]);
        assert_eq!(code, "Internal Server Error");
        assert_eq!(message.chars().count(), 1025);
        let (_, message, _) = parse_error_body(503, b"");
        assert_eq!(
            message,
            "Operation returned an invalid status 'Service Unavailable'"
        );
    }
}
