//! The one `reqwest::Client` aksctl uses for ARM, Entra (through azure_identity) and cloud discovery.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::ArmError;
use crate::config::ConfigError;

/// Environment variables naming extra PEM CA bundles, in the order they are read.
pub const CA_BUNDLE_VARIABLES: [&str; 2] = ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"];

/// How long to wait for a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The reqwest client: rustls, the system roots **plus** the PEM bundles named by `REQUESTS_CA_BUNDLE` and
/// `SSL_CERT_FILE` (both may be set; a missing or unreadable file is an error naming the variable and path),
/// `HTTPS_PROXY`/`NO_PROXY` (reqwest's system proxy), the given user agent (e.g. `aksctl/0.1.0`) and a 10 s
/// connect timeout.
pub fn http_client(user_agent: &str) -> Result<reqwest::Client, ArmError> {
    let roots = extra_roots(|name| std::env::var_os(name))?;
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(CONNECT_TIMEOUT)
        .tls_certs_merge(roots)
        .build()
        .map_err(|source| ArmError::Config(ConfigError::HttpClient { source }))
}

/// The certificates of every bundle named by [`CA_BUNDLE_VARIABLES`] (empty values are ignored).
pub(crate) fn extra_roots(
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let mut roots = Vec::new();
    for variable in CA_BUNDLE_VARIABLES {
        let Some(value) = env(variable).filter(|value| !value.is_empty()) else {
            continue;
        };
        let path = PathBuf::from(value);
        let bad = |reason: String| ConfigError::CaBundle {
            variable,
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(&path)
            .map_err(|error| bad(format!("cannot read the CA bundle: {error}")))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
            bad(format!(
                "not a PEM CA bundle: {}",
                crate::error::error_chain(&error)
            ))
        })?;
        if certificates.is_empty() {
            return Err(bad("the CA bundle contains no PEM certificate".into()));
        }
        tracing::debug!(variable, path = %path.display(), certificates = certificates.len(), "trusting extra CA bundle");
        roots.extend(certificates);
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn both_bundles_are_read_and_errors_name_variable_and_path() {
        let temp = tempfile::tempdir().unwrap();
        let one = temp.path().join("one.pem");
        let two = temp.path().join("two.pem");
        std::fs::write(&one, ca_pem()).unwrap();
        std::fs::write(&two, format!("{}{}", ca_pem(), ca_pem())).unwrap();
        let roots = extra_roots(|name| match name {
            "REQUESTS_CA_BUNDLE" => Some(one.clone().into()),
            "SSL_CERT_FILE" => Some(two.clone().into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(roots.len(), 3);

        let missing = temp.path().join("missing.pem");
        let error = extra_roots(|name| (name == "SSL_CERT_FILE").then(|| missing.clone().into()))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("SSL_CERT_FILE="), "{error}");
        assert!(error.contains("missing.pem"), "{error}");

        let empty = temp.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").unwrap();
        let error =
            extra_roots(|name| (name == "REQUESTS_CA_BUNDLE").then(|| empty.clone().into()))
                .unwrap_err()
                .to_string();
        assert!(error.contains("REQUESTS_CA_BUNDLE"), "{error}");
        assert!(extra_roots(|_| Some(OsString::new())).unwrap().is_empty());
    }

    #[test]
    fn client_builds_with_extra_roots() {
        let client = http_client("aksctl/test");
        assert!(client.is_ok(), "{:?}", client.err());
    }
}
