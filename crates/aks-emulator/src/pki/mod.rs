//! Keys and certificates: the emulator's CA and server certificate, each cluster's own CA, admin client
//! certificates, and the RSA key that signs access tokens (docs/rust-dependencies.md).
//!
//! A CA is stored as its key PEM, certificate PEM and common name. The issuer used to sign new leaves is
//! rebuilt from deterministic parameters (distinguished name, key usages, key-id method) and the stored key,
//! so certificates issued after a restart chain to the CA certificate written before it.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::EmulatorError;

pub(crate) mod x509;

/// A certificate authority that can be persisted and restored.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct CaMaterial {
    /// The CA's common name (part of the deterministic issuer parameters).
    pub common_name: String,
    /// PKCS#8 PEM of the CA key. Secret.
    pub key_pem: String,
    /// PEM of the self-signed CA certificate.
    pub cert_pem: String,
}

impl std::fmt::Debug for CaMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaMaterial")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

/// A leaf certificate and its key, both PEM.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct LeafMaterial {
    /// PEM certificate.
    pub cert_pem: String,
    /// PKCS#8 PEM key. Secret.
    pub key_pem: String,
}

impl std::fmt::Debug for LeafMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafMaterial").finish_non_exhaustive()
    }
}

fn cert_error(what: &str) -> impl FnOnce(rcgen::Error) -> EmulatorError + '_ {
    move |source| EmulatorError::Certificate {
        what: what.to_string(),
        source,
    }
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, "aksctl local cloud emulator");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

fn validity(params: &mut CertificateParams) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
}

/// Make a new self-signed CA (ECDSA P-256).
pub(crate) fn new_ca(common_name: &str) -> Result<CaMaterial, EmulatorError> {
    let key = KeyPair::generate().map_err(cert_error("a CA key"))?;
    let mut params = ca_params(common_name);
    validity(&mut params);
    let cert = params
        .self_signed(&key)
        .map_err(cert_error("a CA certificate"))?;
    Ok(CaMaterial {
        common_name: common_name.to_string(),
        key_pem: key.serialize_pem(),
        cert_pem: cert.pem(),
    })
}

fn issuer(ca: &CaMaterial) -> Result<Issuer<'static, KeyPair>, EmulatorError> {
    let key = KeyPair::from_pem(&ca.key_pem).map_err(cert_error("the CA key (from PEM)"))?;
    Ok(Issuer::new(ca_params(&ca.common_name), key))
}

/// A TLS server certificate for `127.0.0.1` and `localhost` (plus `extra_names`), signed by `ca`.
pub(crate) fn server_leaf(
    ca: &CaMaterial,
    extra_names: &[String],
) -> Result<LeafMaterial, EmulatorError> {
    let mut names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    names.extend(extra_names.iter().cloned());
    let mut params =
        CertificateParams::new(names).map_err(cert_error("server certificate names"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params);
    sign_leaf(ca, params, "a server certificate")
}

/// A TLS client certificate (`CN=common_name, O=organization`) signed by `ca`: the admin kubeconfig user.
pub(crate) fn client_leaf(
    ca: &CaMaterial,
    common_name: &str,
    organization: &str,
) -> Result<LeafMaterial, EmulatorError> {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::OrganizationName, organization);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params);
    sign_leaf(ca, params, "a client certificate")
}

fn sign_leaf(
    ca: &CaMaterial,
    params: CertificateParams,
    what: &str,
) -> Result<LeafMaterial, EmulatorError> {
    let issuer = issuer(ca)?;
    let key = KeyPair::generate().map_err(cert_error(what))?;
    let cert = params.signed_by(&key, &issuer).map_err(cert_error(what))?;
    Ok(LeafMaterial {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A new RSA-2048 key (PKCS#8 PEM) for RS256 token signatures.
pub(crate) fn new_rsa_key() -> Result<String, EmulatorError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .map_err(cert_error("the RSA token signing key"))?;
    Ok(key.serialize_pem())
}

/// A self-signed RSA-2048 client certificate (`CN=common_name`) and its PKCS#8 key: the credential of a
/// certificate-based service principal, whose key signs RS256 client assertions.
pub(crate) fn self_signed_rsa_client(common_name: &str) -> Result<LeafMaterial, EmulatorError> {
    let what = "a client-assertion certificate";
    let key = KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).map_err(cert_error(what))?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut params);
    let cert = params.self_signed(&key).map_err(cert_error(what))?;
    Ok(LeafMaterial {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// One DER element: (tag, content, what follows it).
pub(crate) fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (length, header) = if first < 0x80 {
        (first, 2)
    } else {
        let count = first & 0x7f;
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for index in 0..count {
            length = (length << 8) | *input.get(2 + index)? as usize;
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    if end > input.len() {
        return None;
    }
    Some((tag, &input[header..end], &input[end..]))
}

/// The PKCS#1 `RSAPublicKey` DER of the first certificate in a PEM text, or `None` when there is no certificate
/// or its key is not RSA.
pub(crate) fn rsa_public_key_of_certificate(pem: &str) -> Option<Vec<u8>> {
    let der = pem_blocks(pem, "CERTIFICATE").into_iter().next()?;
    x509::Certificate::parse(&der)?
        .rsa_public_key()
        .map(<[u8]>::to_vec)
}

/// The DER of every `label` block of a PEM text.
pub(crate) fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        let body: String = after[..stop].split_whitespace().collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
            blocks.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    blocks
}

/// DER certificates in a PEM text.
pub(crate) fn certificates_der(pem: &str) -> Vec<CertificateDer<'static>> {
    pem_blocks(pem, "CERTIFICATE")
        .into_iter()
        .map(CertificateDer::from)
        .collect()
}

/// The first PKCS#8 key in a PEM text.
fn private_key_der(pem: &str) -> Option<PrivateKeyDer<'static>> {
    pem_blocks(pem, "PRIVATE KEY")
        .into_iter()
        .next()
        .map(|der| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)))
}

/// A rustls server configuration (aws-lc-rs provider, ALPN h2 + http/1.1) presenting `leaf` + `ca`.
/// With `client_ca`, client certificates signed by it are verified when offered (anonymous clients are allowed).
pub(crate) fn server_tls_config(
    what: &str,
    leaf: &LeafMaterial,
    ca: &CaMaterial,
    client_ca: Option<&CaMaterial>,
) -> Result<Arc<rustls::ServerConfig>, EmulatorError> {
    let tls_error = |source: rustls::Error| EmulatorError::Tls {
        what: what.to_string(),
        source,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let builder = match client_ca {
        Some(client_ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates_der(&client_ca.cert_pem) {
                roots.add(cert).map_err(tls_error)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|error| tls_error(rustls::Error::General(error.to_string())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut chain = certificates_der(&leaf.cert_pem);
    chain.extend(certificates_der(&ca.cert_pem));
    let key = private_key_der(&leaf.key_pem).ok_or_else(|| {
        tls_error(rustls::Error::General(
            "the server key PEM holds no PKCS#8 key".into(),
        ))
    })?;
    let mut config = builder.with_single_cert(chain, key).map_err(tls_error)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_chain_to_a_restored_ca() {
        let ca = new_ca("test CA").unwrap();
        let restored: CaMaterial =
            serde_json::from_str(&serde_json::to_string(&ca).unwrap()).unwrap();
        let leaf = server_leaf(&restored, &[]).unwrap();
        assert_eq!(certificates_der(&leaf.cert_pem).len(), 1);
        let config = server_tls_config("test", &leaf, &restored, Some(&ca)).unwrap();
        assert_eq!(config.alpn_protocols.len(), 2);
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }

    #[test]
    fn rsa_public_key_of_a_certificate_verifies_its_signatures() {
        let client = self_signed_rsa_client("test").unwrap();
        let public = rsa_public_key_of_certificate(&client.cert_pem).unwrap();
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000u64});
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_rsa_pem(client.key_pem.as_bytes()).unwrap(),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_rsa_der(&public),
            &validation,
        )
        .unwrap();
        // An ECDSA certificate has no RSA key; garbage has no certificate.
        let ca = new_ca("ec").unwrap();
        assert!(rsa_public_key_of_certificate(&ca.cert_pem).is_none());
        assert!(rsa_public_key_of_certificate("not a pem").is_none());
    }
}
