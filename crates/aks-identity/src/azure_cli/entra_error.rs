//! Entra's error answers from the token endpoint (`error`, `error_description`, `error_codes`, `suberror`,
//! `claims`, trace ids), read into owned strings: real descriptions carry escapes (`\r\n` before the trace and
//! correlation ids), which a borrowed `&str` cannot hold. See
//! <https://learn.microsoft.com/entra/identity-platform/reference-error-codes>.

use serde::Deserialize;

/// The JSON body of a refusal.
#[derive(Clone, Debug, Default, Deserialize)]
struct Body {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<i64>,
    #[serde(default)]
    suberror: Option<String>,
    #[serde(default)]
    claims: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

/// Entra refused a token request. Displays as the description's first line (`AADSTSnnnnn: message`); the rest
/// of the description (trace and correlation ids) is kept in [`EntraError::description`] for `--debug`.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct EntraError {
    /// HTTP status.
    pub status: u16,
    /// OAuth `error` (`invalid_grant`, `interaction_required`, …).
    pub error: String,
    /// The first line of `error_description` (else `error`).
    pub message: String,
    /// The whole `error_description`.
    pub description: String,
    /// `error_codes` (the AADSTS numbers).
    pub error_codes: Vec<i64>,
    /// `suberror` (`basic_action`, `token_expired`, …).
    pub suberror: Option<String>,
    /// A claims challenge to send back through an interactive sign-in.
    pub claims: Option<String>,
    /// `trace_id`.
    pub trace_id: Option<String>,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
}

impl EntraError {
    /// The refusal in `body`, when it is Entra's JSON error shape.
    pub fn from_body(status: u16, body: &[u8]) -> Option<EntraError> {
        let body: Body = serde_json::from_slice(body).ok()?;
        let description = body.error_description.unwrap_or_default();
        let first_line = description.lines().next().unwrap_or_default().trim();
        Some(EntraError {
            status,
            message: if first_line.is_empty() {
                body.error.clone()
            } else {
                first_line.to_string()
            },
            error: body.error,
            description,
            error_codes: body.error_codes,
            suberror: body.suberror.filter(|suberror| !suberror.is_empty()),
            claims: body.claims.filter(|claims| !claims.is_empty()),
            trace_id: body.trace_id,
            correlation_id: body.correlation_id,
        })
    }

    /// Whether `code` (e.g. 700082) is among the AADSTS codes.
    pub fn has_code(&self, code: i64) -> bool {
        self.error_codes.contains(&code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_the_message_and_escapes_are_fine() {
        let body = br#"{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\u00a0The token was issued on 2026-01-01.\r\nTrace ID: 1f\r\nCorrelation ID: 2e\r\nTimestamp: 2026-12-06 10:00:00Z","error_codes":[700082],"suberror":"bad_token","claims":"{\"access_token\":{\"capolids\":{\"essential\":true}}}","trace_id":"1f","correlation_id":"2e"}"#;
        let error = EntraError::from_body(400, body).unwrap();
        assert_eq!(
            error.to_string(),
            "AADSTS700082: The refresh token has expired due to inactivity.\u{a0}The token was issued on 2026-01-01."
        );
        assert!(error.description.contains("Correlation ID: 2e"));
        assert!(error.has_code(700082));
        assert_eq!(error.suberror.as_deref(), Some("bad_token"));
        assert_eq!(
            error.claims.as_deref(),
            Some("{\"access_token\":{\"capolids\":{\"essential\":true}}}")
        );
        assert!(EntraError::from_body(500, b"<html>").is_none());
        assert_eq!(
            EntraError::from_body(400, br#"{"error":"x"}"#)
                .unwrap()
                .to_string(),
            "x"
        );
    }
}
