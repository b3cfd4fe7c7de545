//! The ExecCredential that `kubelogin get-token` prints, and kubectl's `KUBERNETES_EXEC_INFO`
//! (docs/kubelogin.md, "ExecCredential output").

use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// The variable kubectl sets for exec plugins.
pub const KUBERNETES_EXEC_INFO: &str = "KUBERNETES_EXEC_INFO";

/// An `apiVersion` of the client authentication API that kubelogin answers with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ExecCredentialVersion {
    /// `client.authentication.k8s.io/v1`.
    V1,
    /// `client.authentication.k8s.io/v1beta1` (the default).
    #[default]
    V1Beta1,
}

impl ExecCredentialVersion {
    /// The full `apiVersion` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecCredentialVersion::V1 => "client.authentication.k8s.io/v1",
            ExecCredentialVersion::V1Beta1 => "client.authentication.k8s.io/v1beta1",
        }
    }
}

impl fmt::Display for ExecCredentialVersion {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Why `KUBERNETES_EXEC_INFO` was refused; the messages are kubelogin's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecInfoError {
    /// The variable is not JSON of an ExecCredential.
    #[error("cannot unmarshal {value:?} to ExecCredential: {detail}")]
    Malformed {
        /// The variable's value.
        value: String,
        /// The JSON parser's message.
        detail: String,
    },
    /// The `apiVersion` is neither v1 nor v1beta1.
    #[error("api version: {api_version} is not supported")]
    UnsupportedApiVersion {
        /// The `apiVersion` kubectl sent.
        api_version: String,
    },
}

#[derive(Deserialize)]
struct ExecInfo {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
}

/// The output version asked for by `KUBERNETES_EXEC_INFO` (pass the variable's value, `None` when unset).
///
/// Unset, empty, or JSON with an empty or missing `apiVersion` → v1beta1; v1 or v1beta1 → the same; any other
/// version → [`ExecInfoError::UnsupportedApiVersion`]; invalid JSON → [`ExecInfoError::Malformed`].
/// `spec.interactive` and `spec.cluster` are ignored, as kubelogin ignores them.
pub fn parse_exec_info(value: Option<&str>) -> Result<ExecCredentialVersion, ExecInfoError> {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return Ok(ExecCredentialVersion::V1Beta1);
    };
    let info: ExecInfo = serde_json::from_str(value).map_err(|error| ExecInfoError::Malformed {
        value: value.to_owned(),
        detail: error.to_string(),
    })?;
    match info.api_version.as_deref().unwrap_or_default() {
        "" => Ok(ExecCredentialVersion::V1Beta1),
        "client.authentication.k8s.io/v1beta1" => Ok(ExecCredentialVersion::V1Beta1),
        "client.authentication.k8s.io/v1" => Ok(ExecCredentialVersion::V1),
        other => Err(ExecInfoError::UnsupportedApiVersion {
            api_version: other.to_owned(),
        }),
    }
}

/// The credential `kubelogin get-token` writes to stdout. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct ExecCredential {
    /// The answer's `apiVersion` (from [`parse_exec_info`]).
    pub api_version: ExecCredentialVersion,
    /// The access token (or signed PoP token).
    pub token: String,
    /// The token's expiry; written in UTC at second precision.
    pub expiration: Option<OffsetDateTime>,
}

impl fmt::Debug for ExecCredential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ExecCredential")
            .field("api_version", &self.api_version)
            .field(
                "token",
                &format_args!("<redacted, {} chars>", self.token.len()),
            )
            .field("expiration", &self.expiration)
            .finish()
    }
}

const RFC3339_SECONDS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// `metav1.Time`'s JSON form: RFC 3339 in UTC, whole seconds.
pub fn format_expiration(instant: OffsetDateTime) -> String {
    let utc = instant.to_offset(time::UtcOffset::UTC);
    utc.format(RFC3339_SECONDS)
        .expect("years 0..=9999 format; ExecCredential expiries are near now")
}

#[derive(Serialize)]
struct Wire<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    spec: WireSpec,
    status: WireStatus<'a>,
}

#[derive(Serialize)]
struct WireSpec {
    interactive: bool,
}

#[derive(Serialize)]
struct WireStatus<'a> {
    #[serde(
        rename = "expirationTimestamp",
        skip_serializing_if = "Option::is_none"
    )]
    expiration_timestamp: Option<String>,
    #[serde(skip_serializing_if = "str::is_empty")]
    token: &'a str,
}

impl ExecCredential {
    /// A credential in the default version (v1beta1).
    pub fn new(token: impl Into<String>, expiration: OffsetDateTime) -> Self {
        ExecCredential {
            api_version: ExecCredentialVersion::default(),
            token: token.into(),
            expiration: Some(expiration),
        }
    }

    /// The exact stdout of kubelogin: one line of JSON from Go's `json.Encoder` and a trailing `\n`, e.g.
    /// `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false},"status":{"expirationTimestamp":"2026-03-05T15:42:37Z","token":"…"}}`.
    /// `spec` is always `{"interactive":false}`; an empty token and a missing expiry are left out (Go's
    /// `omitempty`); `<`, `>`, `&`, U+2028 and U+2029 are escaped as Go does.
    pub fn to_json_line(&self) -> String {
        let wire = Wire {
            kind: "ExecCredential",
            api_version: self.api_version.as_str(),
            spec: WireSpec { interactive: false },
            status: WireStatus {
                expiration_timestamp: self.expiration.map(format_expiration),
                token: &self.token,
            },
        };
        let json = serde_json::to_string(&wire).expect("strings and booleans always serialize");
        let mut line = go_html_escape(&json);
        line.push('\n');
        line
    }
}

/// Go's `json.Encoder` escaping on top of serde_json's (they only occur inside strings here).
fn go_html_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for character in json.chars() {
        match character {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn default_output_is_v1beta1_with_kubelogin_field_order() {
        let credential = ExecCredential::new("eyJ0.abc-_", datetime!(2026-03-05 15:42:37.789 UTC));
        assert_eq!(
            credential.to_json_line(),
            "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"spec\":{\"interactive\":false},\"status\":{\"expirationTimestamp\":\"2026-03-05T15:42:37Z\",\"token\":\"eyJ0.abc-_\"}}\n"
        );
    }

    #[test]
    fn expiration_is_converted_to_utc() {
        assert_eq!(
            format_expiration(datetime!(2026-03-05 17:42:37 +02:00)),
            "2026-03-05T15:42:37Z"
        );
    }

    #[test]
    fn v1_output_and_go_escaping() {
        let credential = ExecCredential {
            api_version: ExecCredentialVersion::V1,
            token: "a<b>&c".into(),
            expiration: None,
        };
        assert_eq!(
            credential.to_json_line(),
            "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":false},\"status\":{\"token\":\"a\\u003cb\\u003e\\u0026c\"}}\n"
        );
    }

    #[test]
    fn exec_info_versions() {
        assert_eq!(parse_exec_info(None), Ok(ExecCredentialVersion::V1Beta1));
        assert_eq!(
            parse_exec_info(Some("")),
            Ok(ExecCredentialVersion::V1Beta1)
        );
        assert_eq!(
            parse_exec_info(Some(
                r#"{"kind":"ExecCredential","apiVersion":"","spec":{}}"#
            )),
            Ok(ExecCredentialVersion::V1Beta1)
        );
        assert_eq!(
            parse_exec_info(Some(
                r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}"#
            )),
            Ok(ExecCredentialVersion::V1)
        );
        assert_eq!(
            parse_exec_info(Some(
                r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://x"}}}"#
            )),
            Ok(ExecCredentialVersion::V1Beta1)
        );
    }

    #[test]
    fn unknown_exec_info_version_is_named() {
        let error = parse_exec_info(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "api version: client.authentication.k8s.io/v1alpha1 is not supported"
        );
    }

    #[test]
    fn malformed_exec_info_is_an_error() {
        let error = parse_exec_info(Some("{not json")).unwrap_err();
        assert!(matches!(error, ExecInfoError::Malformed { .. }));
        assert!(
            error
                .to_string()
                .starts_with("cannot unmarshal \"{not json\" to ExecCredential: "),
            "{error}"
        );
        assert!(matches!(
            parse_exec_info(Some(r#"{"apiVersion":1}"#)),
            Err(ExecInfoError::Malformed { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let credential = ExecCredential::new(
            "super-secret-access-token",
            datetime!(2026-03-05 15:42:37 UTC),
        );
        let text = format!("{credential:?}");
        assert!(!text.contains("super-secret-access-token"), "{text}");
        assert!(text.contains("redacted"));
        let text = format!("{credential:#?}");
        assert!(!text.contains("super-secret-access-token"), "{text}");
    }
}
