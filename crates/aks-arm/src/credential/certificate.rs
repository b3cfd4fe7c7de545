//! Certificate client assertions (arm-aks-api.md §10.1): a PEM file with the private key and the certificate,
//! an RS256 JWT with the `x5t` thumbprint, signed with aws-lc-rs (no openssl).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use time::OffsetDateTime;

use super::CredentialError;

/// How long an assertion is valid.
const ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(10);

/// A loaded client certificate: the signing key and the SHA-1 thumbprint of the leaf certificate.
pub(crate) struct ClientCertificate {
    path: PathBuf,
    key: Arc<RsaKeyPair>,
    x5t: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("path", &self.path)
            .field("x5t", &self.x5t)
            .finish_non_exhaustive()
    }
}

/// The PEM blocks of a file: (label, DER bytes).
fn pem_blocks(text: &str) -> Vec<(String, Result<Vec<u8>, base64::DecodeError>)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_owned();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..body_end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        blocks.push((label, STANDARD.decode(body)));
        rest = &body_start[body_end + end_marker.len()..];
    }
    blocks
}

impl ClientCertificate {
    /// Load a PEM file holding an RSA private key (`PRIVATE KEY` or `RSA PRIVATE KEY`) and the certificate.
    pub(crate) fn load(path: &Path) -> Result<ClientCertificate, CredentialError> {
        let bad = |reason: String| CredentialError::Certificate {
            path: path.to_owned(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|error| bad(format!("cannot read it: {error}")))?;
        let text = String::from_utf8_lossy(&bytes);
        if !text.contains("-----BEGIN ") {
            return Err(bad(
                "not a PEM file; PKCS#12 (PFX) certificates are not supported yet\nhint: convert it with \
                 `openssl pkcs12 -in cert.pfx -out cert.pem -nodes`"
                    .into(),
            ));
        }
        Self::from_pem(path, &text).map_err(bad)
    }

    fn from_pem(path: &Path, text: &str) -> Result<ClientCertificate, String> {
        let mut key = None;
        let mut certificate = None;
        for (label, der) in pem_blocks(text) {
            let der =
                der.map_err(|error| format!("invalid base64 in the {label} block: {error}"))?;
            match label.as_str() {
                "CERTIFICATE" if certificate.is_none() => certificate = Some(der),
                "PRIVATE KEY" if key.is_none() => {
                    key = Some(RsaKeyPair::from_pkcs8(&der).map_err(|error| {
                        format!("the private key is not a usable RSA key: {error}")
                    })?)
                }
                "RSA PRIVATE KEY" if key.is_none() => {
                    key = Some(RsaKeyPair::from_der(&der).map_err(|error| {
                        format!("the private key is not a usable RSA key: {error}")
                    })?)
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(
                        "encrypted private keys are not supported\nhint: decrypt it with \
                                `openssl pkey -in key.pem -out plain.pem`"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        let key = key.ok_or("no private key (PRIVATE KEY or RSA PRIVATE KEY block) in the file")?;
        let certificate = certificate.ok_or("no CERTIFICATE block in the file")?;
        let thumbprint =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &certificate);
        Ok(ClientCertificate {
            path: path.to_owned(),
            key: Arc::new(key),
            x5t: URL_SAFE_NO_PAD.encode(thumbprint.as_ref()),
        })
    }

    /// A signed client assertion for `client_id` at the token endpoint `audience`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
    ) -> Result<String, String> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        let issued = now.unix_timestamp();
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": issued,
            "iat": issued,
            "exp": (now + ASSERTION_LIFETIME).unix_timestamp(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the client assertion failed".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// azure_identity's [`ClientAssertion`](azure_identity::ClientAssertion) backed by a certificate.
#[derive(Debug)]
pub(crate) struct CertificateAssertion {
    pub(crate) certificate: Arc<ClientCertificate>,
    pub(crate) client_id: String,
    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub(crate) audience: String,
}

#[async_trait]
impl azure_identity::ClientAssertion for CertificateAssertion {
    async fn secret(
        &self,
        _options: Option<azure_core::http::ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.certificate
            .assertion(&self.client_id, &self.audience, OffsetDateTime::now_utc())
            .map_err(|message| {
                azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, message)
            })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PEM file with an RSA key (PKCS#8) and a self-signed certificate, as `az ad sp create-for-rbac --create-cert`
    /// writes it; also the certificate DER.
    pub(crate) fn test_pem() -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["aksctl-test".into()]).unwrap();
        let certificate = params.self_signed(&key).unwrap();
        (
            format!("{}{}", key.serialize_pem(), certificate.pem()),
            certificate.der().to_vec(),
        )
    }

    #[test]
    fn assertion_is_rs256_with_x5t_and_entra_claims() {
        let (pem, der) = test_pem();
        let certificate = ClientCertificate::from_pem(Path::new("cert.pem"), &pem).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let audience = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token";
        let jwt = certificate.assertion("client-1", audience, now).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
        };
        let header = decode(parts[0]);
        let claims = decode(parts[1]);
        assert_eq!(header["alg"], "RS256");
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1.as_ref()));
        assert_eq!(claims["aud"], audience);
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        assert_eq!(claims["nbf"], 1_800_000_000);
        assert_eq!(claims["exp"], 1_800_000_600);
        assert!(claims["jti"].as_str().unwrap().len() >= 32);

        // The signature verifies with the certificate's public key.
        let verifier = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            aws_lc_rs::signature::KeyPair::public_key(&*certificate.key).as_ref(),
        );
        verifier
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
        assert!(!format!("{certificate:?}").contains("PRIVATE"));
    }

    #[test]
    fn pfx_and_incomplete_pem_files_are_explained() {
        let temp = tempfile::tempdir().unwrap();
        let pfx = temp.path().join("cert.pfx");
        std::fs::write(&pfx, [0x30, 0x82, 0x01, 0x02, 0xff]).unwrap();
        let error = ClientCertificate::load(&pfx).unwrap_err().to_string();
        assert!(
            error.contains("PFX") && error.contains("cert.pfx"),
            "{error}"
        );

        let (pem, _) = test_pem();
        let key_only: String = pem
            .split("-----BEGIN CERTIFICATE-----")
            .next()
            .unwrap()
            .into();
        let error = ClientCertificate::from_pem(Path::new("k.pem"), &key_only).unwrap_err();
        assert!(error.contains("CERTIFICATE"), "{error}");
    }
}
