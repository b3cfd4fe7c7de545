//! Certificate client assertions (docs/entra-protocols.md, "Client credentials"; docs/kubelogin.md, "Flags and
//! environment", `--client-certificate`): a PEM file or a PKCS#12 (PFX) file holding an RSA private key and its
//! certificate, and an RS256 JWT with the `x5t` thumbprint, signed with aws-lc-rs (no openssl).
//!
//! With [`SendChain::Yes`] the header also carries `x5c`, the certificate chain for Entra's Subject Name/Issuer
//! (SNI) trust: standard-base64 DER, the key's certificate first, then every other certificate of the file in
//! file order, as MSAL Go's `NewCredFromCert` orders them when azidentity's `SendCertificateChain` is set.
//! kubelogin's `spn` mode always sets it (`clientcertcredential.go`; its `--legacy` ADAL path sends `x5c` too);
//! azidentity's EnvironmentCredential only with `AZURE_CLIENT_SEND_CERTIFICATE_CHAIN=1`/`true`. The thumbprint
//! header stays `x5t` (SHA-1) with RS256, as MSAL Go's RS256 assertions have it (its newest releases sign PS256
//! with `x5t#S256`; Entra accepts both).
//!
//! As kubelogin's `readCertificate` does, the certificate used is the one whose public key is the private key's,
//! the PEM file must be unencrypted (kubelogin and azidentity ignore the password for PEM; an `ENCRYPTED PRIVATE
//! KEY` is refused with a hint), and a PFX file is opened with the password (empty when none is given). Unlike
//! kubelogin, a PFX file is recognised by its content rather than a `.pfx` suffix, and OpenSSL 3's default
//! AES/SHA-256 PFX files are read as well as the legacy 3DES/RC2 ones Go's `x/crypto/pkcs12` reads.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use time::OffsetDateTime;

use crate::secret::Secret;

/// How long an assertion is valid.
const ASSERTION_LIFETIME: time::Duration = time::Duration::minutes(10);

/// The `rsaEncryption` algorithm of a PKCS#8 key.
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// Whether a client assertion carries the certificate chain (`x5c`) besides the thumbprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendChain {
    /// `x5t` only (azidentity's default).
    No,
    /// `x5t` and `x5c` with every certificate of the file (azidentity's `SendCertificateChain`).
    Yes,
    /// `x5t` and `x5c` with the key's certificate only: kubelogin's `spn` mode sets `SendCertificateChain` but
    /// hands azidentity only the certificate that matches the key.
    Leaf,
}

/// A certificate file that cannot be used: the file and what is wrong with it, never the password or the key.
#[derive(Debug, thiserror::Error)]
#[error("client certificate {}: {reason}", path.display())]
pub struct CertificateError {
    /// The certificate file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// A loaded client certificate: the signing key, the SHA-1 thumbprint of its certificate, and the chain.
pub struct ClientCertificate {
    path: PathBuf,
    key: Arc<RsaKeyPair>,
    x5t: String,
    /// `x5c`: standard-base64 DER certificates, the key's own first, then the file's others in file order.
    x5c: Vec<String>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("path", &self.path)
            .field("x5t", &self.x5t)
            .field("chain_length", &self.x5c.len())
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

/// Whether `certificate` (DER) carries `public_key` (the DER `RSAPublicKey` of a key pair): the certificate's
/// subjectPublicKeyInfo holds exactly those bytes in its BIT STRING, and no other part of a certificate can.
fn certifies(certificate: &[u8], public_key: &[u8]) -> bool {
    !public_key.is_empty()
        && certificate
            .windows(public_key.len())
            .any(|window| window == public_key)
}

/// The signing key and the certificates with the key's own first (the others keep their order), as MSAL Go's
/// `NewCredFromCert` builds `x5c`; kubelogin's "unable to find a matching public certificate" when none is the
/// key's.
fn pair(key: RsaKeyPair, certificates: &[Vec<u8>]) -> Result<(RsaKeyPair, Vec<&[u8]>), String> {
    if certificates.is_empty() {
        return Err("no certificate in the file".into());
    }
    let public_key = key.public_key().as_ref().to_vec();
    match certificates
        .iter()
        .position(|certificate| certifies(certificate, &public_key))
    {
        Some(index) => {
            let leaf = certificates[index].as_slice();
            let mut chain = vec![leaf];
            chain.extend(
                certificates
                    .iter()
                    .map(Vec::as_slice)
                    .filter(|certificate| *certificate != leaf),
            );
            Ok((key, chain))
        }
        None => Err(
            "no certificate in the file matches the private key (kubelogin: unable to find a matching public \
             certificate)"
                .into(),
        ),
    }
}

impl ClientCertificate {
    /// The certificate's SHA-1 thumbprint (`x5t`, base64url): public, and new whenever the certificate is.
    pub fn thumbprint(&self) -> &str {
        &self.x5t
    }

    /// Load a certificate file: PEM (an RSA `PRIVATE KEY` or `RSA PRIVATE KEY` block and the certificate), or
    /// PKCS#12/PFX opened with `password` (none = the empty password). The password is not used for PEM files,
    /// as in kubelogin. Errors name the file and never contain the password or the key.
    pub(crate) fn load(
        path: &Path,
        password: Option<&Secret>,
    ) -> Result<ClientCertificate, CertificateError> {
        let bad = |reason: String| CertificateError {
            path: path.to_owned(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|error| bad(format!("cannot read it: {error}")))?;
        let text = String::from_utf8_lossy(&bytes);
        if text.contains("-----BEGIN ") {
            return Self::from_pem(path, &text).map_err(bad);
        }
        if bytes.first() == Some(&0x30) {
            return Self::from_pkcs12(path, &bytes, password).map_err(bad);
        }
        Err(bad(
            "neither a PEM file (-----BEGIN ...) nor a PKCS#12 (PFX) file".into(),
        ))
    }

    fn from_pem(path: &Path, text: &str) -> Result<ClientCertificate, String> {
        let mut key = None;
        let mut certificates = Vec::new();
        for (label, der) in pem_blocks(text) {
            let der =
                der.map_err(|error| format!("invalid base64 in the {label} block: {error}"))?;
            match label.as_str() {
                "CERTIFICATE" => certificates.push(der),
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
                        "the private key is encrypted (ENCRYPTED PRIVATE KEY); like kubelogin, aksctl reads only \
                         unencrypted PEM keys and uses the certificate password for PFX files only\nhint: decrypt \
                         it with `openssl pkey -in key.pem -out plain.pem`, or package key and certificate as a \
                         password-protected PFX with `openssl pkcs12 -export -inkey key.pem -in cert.pem -out \
                         cert.pfx`"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        let key = key.ok_or("no private key (PRIVATE KEY or RSA PRIVATE KEY block) in the file")?;
        if certificates.is_empty() {
            return Err("no CERTIFICATE block in the file".into());
        }
        let (key, chain) = pair(key, &certificates)?;
        Ok(Self::new(path, key, &chain))
    }

    fn from_pkcs12(
        path: &Path,
        bytes: &[u8],
        password: Option<&Secret>,
    ) -> Result<ClientCertificate, String> {
        use p12_keystore::error::Error as Pkcs12Error;
        let given = password.is_some_and(|password| !password.expose().is_empty());
        let wrong_password = || {
            if given {
                "cannot open the PKCS#12 (PFX) file: the password is wrong (decryption password incorrect)"
                    .to_owned()
            } else {
                "cannot open the PKCS#12 (PFX) file: it is protected by a password and none was given\nhint: pass \
                 it with --client-certificate-password, AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE_PASSWORD or \
                 AZURE_CLIENT_CERTIFICATE_PASSWORD"
                    .to_owned()
            }
        };
        let secret = password.map(Secret::expose).unwrap_or_default();
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, secret).map_err(|error| {
            // The error never carries the password or key material; say which of the two failures it is.
            match error {
                Pkcs12Error::MacError(_) | Pkcs12Error::UnpadError => wrong_password(),
                Pkcs12Error::DerError(_) | Pkcs12Error::InvalidVersion => {
                    format!("not a valid PKCS#12 (PFX) file: {error}")
                }
                Pkcs12Error::UnsupportedEncryptionScheme | Pkcs12Error::UnsupportedMacAlgorithm => {
                    format!("the PKCS#12 (PFX) file uses an algorithm aksctl cannot read: {error}")
                }
                other => format!(
                    "cannot open the PKCS#12 (PFX) file (a wrong password, or a damaged file): {other}"
                ),
            }
        })?;
        let certificates: Vec<Vec<u8>> = archive
            .certs
            .iter()
            .map(|bag| bag.cert.as_der().to_vec())
            .collect();
        if archive.keys.is_empty() {
            return Err("no private key in the PKCS#12 (PFX) file".into());
        }
        let mut last_error = String::new();
        for bag in &archive.keys {
            if bag.key.oid().to_string() != RSA_ENCRYPTION {
                last_error = format!(
                    "the private key is not an RSA key (algorithm {}); Entra client assertions are signed with RS256",
                    bag.key.oid()
                );
                continue;
            }
            let key = RsaKeyPair::from_pkcs8(bag.key.as_der())
                .map_err(|error| format!("the private key is not a usable RSA key: {error}"))?;
            match pair(key, &certificates) {
                Ok((key, chain)) => return Ok(Self::new(path, key, &chain)),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// `chain`: the key's certificate first (see [`pair`]).
    fn new(path: &Path, key: RsaKeyPair, chain: &[&[u8]]) -> ClientCertificate {
        let thumbprint =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, chain[0]);
        ClientCertificate {
            path: path.to_owned(),
            key: Arc::new(key),
            x5t: URL_SAFE_NO_PAD.encode(thumbprint.as_ref()),
            x5c: chain
                .iter()
                .map(|certificate| STANDARD.encode(certificate))
                .collect(),
        }
    }

    /// The JOSE header of an assertion: RS256, `x5t`, and the chain (or the leaf) as `x5c` when asked.
    fn header(&self, send_chain: SendChain) -> serde_json::Value {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t});
        match send_chain {
            SendChain::No => {}
            SendChain::Yes => header["x5c"] = serde_json::json!(self.x5c),
            SendChain::Leaf => header["x5c"] = serde_json::json!(self.x5c[..1]),
        }
        header
    }

    /// A signed client assertion for `client_id` at the token endpoint `audience`.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: OffsetDateTime,
        send_chain: SendChain,
    ) -> Result<String, String> {
        let header = self.header(send_chain);
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
        let jwt = certificate
            .assertion("client-1", audience, now, SendChain::No)
            .unwrap();
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
        assert!(
            header.get("x5c").is_none(),
            "no chain unless asked: {header}"
        );
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

    /// A PKCS#12 file of `pem`'s key and certificate (`test_pem`), protected by `password` with `algorithm`.
    fn test_pfx(
        pem: &str,
        password: &str,
        algorithm: p12_keystore::EncryptionAlgorithm,
    ) -> Vec<u8> {
        let blocks = pem_blocks(pem);
        let der = |label: &str| {
            blocks
                .iter()
                .find(|(found, _)| found == label)
                .map(|(_, der)| der.clone().unwrap())
                .unwrap()
        };
        let chain = p12_keystore::PrivateKeyChain::new(
            b"key-1".to_vec(),
            p12_keystore::PrivateKey::from_der(&der("PRIVATE KEY")).unwrap(),
            [p12_keystore::Certificate::from_der(&der("CERTIFICATE")).unwrap()],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "aksctl",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        store
            .writer(password)
            .encryption_algorithm(algorithm)
            .write()
            .unwrap()
    }

    #[test]
    fn pfx_files_open_with_their_password_in_modern_and_legacy_encryption() {
        let temp = tempfile::tempdir().unwrap();
        let (pem, der) = test_pem();
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        let x5t = URL_SAFE_NO_PAD.encode(sha1.as_ref());
        for (name, password, algorithm) in [
            (
                "aes.pfx",
                "s3cret-pw",
                p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            ),
            (
                "legacy.p12",
                "s3cret-pw",
                p12_keystore::EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc,
            ),
            (
                "empty.pfx",
                "",
                p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256,
            ),
        ] {
            let path = temp.path().join(name);
            std::fs::write(&path, test_pfx(&pem, password, algorithm)).unwrap();
            let given = (!password.is_empty()).then(|| Secret::new(password));
            let certificate = ClientCertificate::load(&path, given.as_ref()).unwrap();
            assert_eq!(certificate.x5t, x5t, "{name}");
            assert!(
                certificate
                    .assertion(
                        "c",
                        "https://a/t/oauth2/v2.0/token",
                        OffsetDateTime::now_utc(),
                        SendChain::Yes
                    )
                    .is_ok()
            );

            // A wrong password names the file and never shows the password.
            let error = ClientCertificate::load(&path, Some(&Secret::new("not-it-7")))
                .unwrap_err()
                .to_string();
            assert!(error.contains(name), "{error}");
            assert!(error.contains("password is wrong"), "{error}");
            assert!(!error.contains("not-it-7") && !error.contains("s3cret-pw"));
        }
        // A protected file opened without a password says that one is needed.
        let error = ClientCertificate::load(&temp.path().join("aes.pfx"), None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("none was given"), "{error}");
        assert!(error.contains("--client-certificate-password"), "{error}");
    }

    /// A CA (PEM certificate, DER) and a leaf it issued: (leaf key + certificate PEM, leaf DER).
    fn test_chain() -> ((String, Vec<u8>), (String, Vec<u8>)) {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "aksctl test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let mut leaf_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "aksctl-sni");
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        (
            (ca.pem(), ca.der().to_vec()),
            (
                format!("{}{}", leaf_key.serialize_pem(), leaf.pem()),
                leaf.der().to_vec(),
            ),
        )
    }

    /// The decoded JOSE header of an assertion.
    fn header_of(jwt: &str) -> serde_json::Value {
        let header = jwt.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
    }

    /// The `x5c` of a header as DER certificates (standard base64, as RFC 7515 §4.1.6 and MSAL write it).
    fn x5c_of(header: &serde_json::Value) -> Vec<Vec<u8>> {
        header["x5c"]
            .as_array()
            .unwrap_or_else(|| panic!("no x5c: {header}"))
            .iter()
            .map(|item| STANDARD.decode(item.as_str().unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn with_the_chain_x5c_is_the_leaf_first_then_the_file_s_other_certificates() {
        let ((ca_pem, ca_der), (leaf_pem, leaf_der)) = test_chain();
        let sha1 =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &leaf_der);
        let now = OffsetDateTime::now_utc();
        // The CA before the key and the leaf (and the leaf twice): x5c is still leaf, CA.
        let leaf_certificate = &leaf_pem[leaf_pem.find("-----BEGIN CERTIFICATE-----").unwrap()..];
        let file = format!("{ca_pem}{leaf_pem}{leaf_certificate}");
        let certificate = ClientCertificate::from_pem(Path::new("chain.pem"), &file).unwrap();
        assert!(format!("{certificate:?}").contains("chain_length: 2"));

        let jwt = certificate
            .assertion(
                "client-1",
                "https://a/t/oauth2/v2.0/token",
                now,
                SendChain::Yes,
            )
            .unwrap();
        let header = header_of(&jwt);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1.as_ref()));
        assert!(header.get("x5t#S256").is_none(), "{header}");
        assert_eq!(x5c_of(&header), vec![leaf_der.clone(), ca_der.clone()]);
        let parts: Vec<&str> = jwt.split('.').collect();
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            KeyPair::public_key(&*certificate.key).as_ref(),
        )
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
        )
        .unwrap();

        // Without the chain the header is what it was: x5t only.
        let jwt = certificate
            .assertion(
                "client-1",
                "https://a/t/oauth2/v2.0/token",
                now,
                SendChain::No,
            )
            .unwrap();
        let header = header_of(&jwt);
        assert!(header.get("x5c").is_none(), "{header}");
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1.as_ref()));

        // A lone self-signed certificate: x5c holds just it.
        let (pem, der) = test_pem();
        let certificate = ClientCertificate::from_pem(Path::new("one.pem"), &pem).unwrap();
        let jwt = certificate
            .assertion("c", "https://a/t/oauth2/v2.0/token", now, SendChain::Yes)
            .unwrap();
        assert_eq!(x5c_of(&header_of(&jwt)), vec![der]);
    }

    #[test]
    fn a_pfx_with_its_ca_sends_both_in_x5c() {
        let ((_, ca_der), (leaf_pem, leaf_der)) = test_chain();
        let blocks = pem_blocks(&leaf_pem);
        let key = blocks
            .iter()
            .find(|(label, _)| label == "PRIVATE KEY")
            .map(|(_, der)| der.clone().unwrap())
            .unwrap();
        // The CA first in the bag, as some exporters write it.
        let chain = p12_keystore::PrivateKeyChain::new(
            b"key-1".to_vec(),
            p12_keystore::PrivateKey::from_der(&key).unwrap(),
            [
                p12_keystore::Certificate::from_der(&ca_der).unwrap(),
                p12_keystore::Certificate::from_der(&leaf_der).unwrap(),
            ],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "aksctl",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        let temp = tempfile::tempdir().unwrap();
        let path = temp.path().join("chain.pfx");
        std::fs::write(&path, store.writer("pw-1").write().unwrap()).unwrap();
        let certificate = ClientCertificate::load(&path, Some(&Secret::new("pw-1"))).unwrap();
        let jwt = certificate
            .assertion(
                "c",
                "https://a/t/oauth2/v2.0/token",
                OffsetDateTime::now_utc(),
                SendChain::Yes,
            )
            .unwrap();
        let header = header_of(&jwt);
        assert_eq!(x5c_of(&header), vec![leaf_der.clone(), ca_der]);
        let sha1 =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &leaf_der);
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1.as_ref()));
    }

    #[test]
    fn pfx_passwords_stay_out_of_debug() {
        let spec = crate::credential::CredentialSpec::ClientCertificate {
            tenant_id: "t".into(),
            client_id: "c".into(),
            path: PathBuf::from("/x/cert.pfx"),
            password: Some(Secret::new("pfx-secret-1")),
            send_certificate_chain: true,
        };
        let debug = format!("{spec:?}");
        assert!(
            !debug.contains("pfx-secret-1") && debug.contains("cert.pfx"),
            "{debug}"
        );
    }

    #[test]
    fn the_certificate_is_the_one_matching_the_key() {
        // A CA certificate first, then the key's own (as in a file with a chain in the wrong order).
        let (pem, der) = test_pem();
        let (other, _) = test_pem();
        let other_certificate = &other[other.find("-----BEGIN CERTIFICATE-----").unwrap()..];
        let reordered = format!("{other_certificate}{pem}");
        let certificate = ClientCertificate::from_pem(Path::new("c.pem"), &reordered).unwrap();
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        assert_eq!(certificate.x5t, URL_SAFE_NO_PAD.encode(sha1.as_ref()));

        // Only someone else's certificate: kubelogin's "unable to find a matching public certificate".
        let key = &pem[..pem.find("-----BEGIN CERTIFICATE-----").unwrap()];
        let mismatched = format!("{key}{other_certificate}");
        let error = ClientCertificate::from_pem(Path::new("c.pem"), &mismatched).unwrap_err();
        assert!(error.contains("matches the private key"), "{error}");
    }

    #[test]
    fn junk_encrypted_pem_and_incomplete_pem_files_are_explained() {
        let temp = tempfile::tempdir().unwrap();
        let pfx = temp.path().join("cert.pfx");
        std::fs::write(&pfx, [0x30, 0x82, 0x01, 0x02, 0xff]).unwrap();
        let error = ClientCertificate::load(&pfx, None).unwrap_err().to_string();
        assert!(
            error.contains("not a valid PKCS#12 (PFX) file") && error.contains("cert.pfx"),
            "{error}"
        );
        let text = temp.path().join("cert.txt");
        std::fs::write(&text, "hello").unwrap();
        let error = ClientCertificate::load(&text, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("neither a PEM file"), "{error}");

        let encrypted = temp.path().join("enc.pem");
        std::fs::write(
            &encrypted,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let error = ClientCertificate::load(&encrypted, Some(&Secret::new("pw-9")))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("client certificate {}: ", encrypted.display())),
            "{error}"
        );
        assert!(error.contains("ENCRYPTED PRIVATE KEY") && error.contains("hint: "));
        assert!(!error.contains("pw-9"));

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
