//! Which keys may sign an app's certificate assertion: the certificates registered for it, and Subject Name/Issuer
//! (SNI) trust through the assertion's `x5c` chain.
//!
//! * Without `x5c` the assertion must verify with a registered certificate's key. When none does and the
//!   thumbprint header (`x5t` SHA-1, or `x5t#S256`) names no registered certificate, the refusal is Entra's
//!   AADSTS700027 "The certificate with identifier used to sign the client assertion is not registered on
//!   application" with that thumbprint.
//! * With `x5c` (standard-base64 DER, leaf first: azidentity's `SendCertificateChain`, which kubelogin's `spn` mode
//!   sets) the leaf must be the certificate the thumbprint header names and its key must have signed the assertion.
//!   The leaf is then accepted when it is registered, or when the app trusts a subject name (management API
//!   `POST /_emulator/apps/{id}/trusted-subjects`) equal to the leaf's subject and the leaf chains to that
//!   subject's CA: each certificate's issuer name is the next one's subject and its RSA PKCS#1 v1.5
//!   (SHA-256/384/512) signature verifies with the next one's key, through the other `x5c` certificates if needed.
//!   Validity periods, key usages and revocation are not checked.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::pki::pem_blocks;
use crate::pki::x509::Certificate;
use crate::state::ServicePrincipal;

/// `CN=name, O=org`: the attributes of a subject as configured (RFC 4514 style, any order, `+` not supported).
pub(crate) fn parse_subject(subject: &str) -> Option<Vec<(String, String)>> {
    let mut attributes = Vec::new();
    for part in subject.split(',') {
        let (name, value) = part.split_once('=')?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            return None;
        }
        let name = match name.to_ascii_uppercase().as_str() {
            "EMAILADDRESS" => "E".to_string(),
            "S" => "ST".to_string(),
            upper => upper.to_string(),
        };
        attributes.push((name, value.to_string()));
    }
    (!attributes.is_empty()).then_some(attributes)
}

/// Render attributes as `CN=a, O=b`.
pub(crate) fn render(attributes: &[(String, String)]) -> String {
    attributes
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same attributes, whatever their order.
fn same_subject(left: &[(String, String)], right: &[(String, String)]) -> bool {
    let mut left = left.to_vec();
    let mut right = right.to_vec();
    left.sort();
    right.sort();
    left == right
}

/// A thumbprint header's bytes: base64url as RFC 7515 says, or standard base64 as MSAL Go writes it, padded or
/// not.
fn thumbprint_bytes(value: &str) -> Option<Vec<u8>> {
    let normalized: String = value
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(normalized).ok()
}

fn sha1(der: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .to_vec()
}

fn sha256(der: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
        .as_ref()
        .to_vec()
}

/// Whether the thumbprint headers present name `der` (`x5t`: SHA-1, `x5t#S256`: SHA-256). `None` when the
/// header has neither.
fn names(header: &jsonwebtoken::Header, der: &[u8]) -> Option<bool> {
    let sha1_ok = header
        .x5t
        .as_deref()
        .map(|value| thumbprint_bytes(value) == Some(sha1(der)));
    let sha256_ok = header
        .x5t_s256
        .as_deref()
        .map(|value| thumbprint_bytes(value) == Some(sha256(der)));
    match (sha1_ok, sha256_ok) {
        (None, None) => None,
        (one, other) => Some(one.unwrap_or(true) && other.unwrap_or(true)),
    }
}

/// Why an assertion's certificate is refused: an AADSTS code and its description.
pub(crate) struct Refusal {
    pub code: u32,
    pub description: String,
}

/// AADSTS700027 as Entra words it when the assertion's certificate is not one of the app's.
fn not_registered(app_id: &str, thumbprint: &str) -> Refusal {
    Refusal {
        code: 700027,
        description: format!(
            "The certificate with identifier used to sign the client assertion is not registered on application. \
             [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the \
             Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'. \
             Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the \
             corresponding service endpoint and \
             https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a \
             query request URL, such as 'https://graph.microsoft.com/beta/applications/{app_id}'.]"
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

/// The thumbprint the client named, upper-case hex as Entra shows it (SHA-1 when `x5t` is given).
fn named_thumbprint(header: &jsonwebtoken::Header) -> String {
    header
        .x5t
        .as_deref()
        .or(header.x5t_s256.as_deref())
        .and_then(thumbprint_bytes)
        .map(|bytes| hex(&bytes))
        .unwrap_or_default()
}

/// The DER of the app's registered certificates.
fn registered(principal: &ServicePrincipal) -> Vec<Vec<u8>> {
    principal
        .certificates
        .iter()
        .filter_map(|pem| pem_blocks(pem, "CERTIFICATE").into_iter().next())
        .collect()
}

/// The RSA keys an assertion with this header may be verified with, or why none may.
///
/// Without `x5c`: every registered certificate's key (the signature decides, whatever the thumbprint says, so
/// clients that send a thumbprint Entra would not check still work). With `x5c`: the leaf's key, when the leaf is
/// the certificate the thumbprint header names and is registered or trusted by subject name and issuer.
pub(crate) fn signing_keys(
    principal: &ServicePrincipal,
    header: &jsonwebtoken::Header,
) -> Result<Vec<Vec<u8>>, Refusal> {
    let registered = registered(principal);
    let Some(x5c) = &header.x5c else {
        return Ok(registered
            .iter()
            .filter_map(|der| {
                Certificate::parse(der)?
                    .rsa_public_key()
                    .map(<[u8]>::to_vec)
            })
            .collect());
    };
    let malformed = |reason: &str| Refusal {
        code: 50027,
        description: format!("JWT token is invalid or malformed: {reason}."),
    };
    let chain: Vec<Vec<u8>> = x5c
        .iter()
        .map(|item| STANDARD.decode(item))
        .collect::<Result<_, _>>()
        .map_err(|_| malformed("x5c holds an item that is not standard base64"))?;
    let certificates: Vec<Certificate<'_>> = chain
        .iter()
        .map(|der| Certificate::parse(der))
        .collect::<Option<_>>()
        .ok_or_else(|| malformed("x5c holds an item that is not an X.509 certificate"))?;
    let Some(leaf) = certificates.first() else {
        return Err(malformed("x5c is empty"));
    };
    if names(header, leaf.der) == Some(false) {
        return Err(Refusal {
            code: 700027,
            description:
                "Client assertion failed signature validation. [Reason - The thumbprint in the \
                          assertion header is not the thumbprint of the first certificate of x5c.]"
                    .into(),
        });
    }
    let Some(key) = leaf.rsa_public_key() else {
        return Err(Refusal {
            code: 700027,
            description: "Client assertion failed signature validation. [Reason - The first certificate of x5c \
                          has no RSA key.]"
                .into(),
        });
    };
    let trusted = registered.iter().any(|der| der == leaf.der)
        || principal
            .trusted_subjects
            .iter()
            .any(|trusted| trusted_by(trusted, &certificates));
    if trusted {
        Ok(vec![key.to_vec()])
    } else {
        Err(not_registered(&principal.app_id, &hex(&sha1(leaf.der))))
    }
}

/// Whether `trusted` (a subject name and its CA) accepts the chain `x5c`: the leaf has that subject and chains to
/// the CA, directly or through the other certificates of `x5c`.
fn trusted_by(trusted: &crate::state::TrustedSubject, x5c: &[Certificate<'_>]) -> bool {
    let Some(expected) = parse_subject(&trusted.subject) else {
        return false;
    };
    let leaf = &x5c[0];
    if !leaf
        .subject_attributes()
        .is_some_and(|actual| same_subject(&actual, &expected))
    {
        return false;
    }
    let Some(ca_der) = pem_blocks(&trusted.issuer_ca_pem, "CERTIFICATE")
        .into_iter()
        .next()
    else {
        return false;
    };
    let Some(ca) = Certificate::parse(&ca_der) else {
        return false;
    };
    let mut current = leaf;
    // Each step moves to a different certificate of x5c, so the walk ends.
    for _ in 0..x5c.len() {
        if current.issued_by(&ca) {
            return true;
        }
        match x5c[1..]
            .iter()
            .find(|candidate| candidate.der != current.der && current.issued_by(candidate))
        {
            Some(next) => current = next,
            None => return false,
        }
    }
    false
}

/// When an assertion without `x5c` verified with none of the registered keys: Entra's "not registered" refusal
/// when its thumbprint header names no registered certificate, else `None` (a bad signature).
pub(crate) fn unregistered_thumbprint(
    principal: &ServicePrincipal,
    header: &jsonwebtoken::Header,
) -> Option<Refusal> {
    if header.x5c.is_some() {
        return None;
    }
    let registered = registered(principal);
    let known = registered
        .iter()
        .any(|der| names(header, der) == Some(true));
    let named = header.x5t.is_some() || header.x5t_s256.is_some();
    (named && !known).then(|| not_registered(&principal.app_id, &named_thumbprint(header)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA and a leaf it issued (subject `CN=leaf-1, O=Contoso`), and a self-signed stranger with the same
    /// subject: DER each.
    fn certificates() -> (Vec<u8>, String, Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_params = || {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "leaf-1");
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationName, "Contoso");
            params
        };
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let leaf = leaf_params().signed_by(&key, &ca).unwrap();
        let stranger = leaf_params().self_signed(&key).unwrap();
        (
            ca.der().to_vec(),
            ca.pem(),
            leaf.der().to_vec(),
            stranger.der().to_vec(),
        )
    }

    #[test]
    fn leaves_chain_to_their_ca_and_subjects_match_in_any_order() {
        let (ca_der, ca_pem, leaf_der, stranger_der) = certificates();
        let ca = Certificate::parse(&ca_der).unwrap();
        let leaf = Certificate::parse(&leaf_der).unwrap();
        let stranger = Certificate::parse(&stranger_der).unwrap();
        assert!(leaf.issued_by(&ca));
        assert!(!stranger.issued_by(&ca));
        assert!(!ca.issued_by(&leaf));
        assert_eq!(
            render(&leaf.subject_attributes().unwrap()),
            "CN=leaf-1, O=Contoso"
        );
        assert_eq!(render(&ca.subject_attributes().unwrap()), "CN=Test CA");
        let trusted = crate::state::TrustedSubject {
            subject: "o=Contoso,CN=leaf-1".into(),
            issuer_ca_pem: ca_pem.clone(),
        };
        assert!(trusted_by(
            &trusted,
            &[Certificate::parse(&leaf_der).unwrap()]
        ));
        // The leaf through a chain that lists the CA too.
        assert!(trusted_by(
            &trusted,
            &[
                Certificate::parse(&leaf_der).unwrap(),
                Certificate::parse(&ca_der).unwrap()
            ]
        ));
        assert!(!trusted_by(
            &trusted,
            &[Certificate::parse(&stranger_der).unwrap()]
        ));
        let other_subject = crate::state::TrustedSubject {
            subject: "CN=leaf-2".into(),
            issuer_ca_pem: ca_pem,
        };
        assert!(!trusted_by(
            &other_subject,
            &[Certificate::parse(&leaf_der).unwrap()]
        ));
    }

    #[test]
    fn thumbprints_are_read_in_either_base64_alphabet() {
        let bytes = [0xfb, 0xff, 0x01];
        assert_eq!(thumbprint_bytes("-_8B"), Some(bytes.to_vec()));
        assert_eq!(thumbprint_bytes("+/8B"), Some(bytes.to_vec()));
        assert_eq!(thumbprint_bytes("+/8B=="), Some(bytes.to_vec()));
        assert_eq!(parse_subject("CN=a, emailAddress=x@y").unwrap()[1].0, "E");
        assert!(parse_subject("CN").is_none() && parse_subject("").is_none());
    }
}
