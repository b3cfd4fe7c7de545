//! The one `reqwest::Client` aksctl uses for ARM, Entra (through azure_identity) and cloud discovery.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

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
///
/// Server certificates are checked by [`LazySystemRoots`]: what reqwest's own rustls set-up does (the platform
/// verifier with the extra roots added), except that the system store is loaded only when a server's chain does
/// not already end at one of the extra roots. Loading and parsing the system store was a third of
/// `aks get-credentials` against a server the bundle names (the emulator, a TLS-inspecting proxy). For the same
/// reason `SSL_CERT_FILE`, often a whole system bundle of ~150 certificates (~220 KB), is opened and read up to its
/// first certificate at once, but read to the end and parsed only when a chain does not end at a
/// `REQUESTS_CA_BUNDLE` root.
pub fn http_client(user_agent: &str) -> Result<reqwest::Client, ArmError> {
    let bundles = read_bundles(|name| std::env::var_os(name))?;
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = LazySystemRoots::new(bundles, provider.clone())?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| http_config_error(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // What reqwest offers with its `http2` feature.
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .user_agent(user_agent)
        .connect_timeout(CONNECT_TIMEOUT)
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|source| ArmError::Config(ConfigError::HttpClient { source }))
}

fn http_config_error(reason: String) -> ArmError {
    ArmError::Config(ConfigError::TlsSetup { reason })
}

/// A server certificate verifier equal to rustls-platform-verifier's with extra roots, that reads the system store
/// only when it is needed.
///
/// A chain that ends at an extra root is accepted by a WebPKI verifier of the extra roots alone (the platform
/// verifier on Linux is WebPKI over the system roots plus the extra ones, so it would accept the chain too): first
/// the roots parsed at once (`REQUESTS_CA_BUNDLE`), then the deferred ones (`SSL_CERT_FILE`), parsed on first use.
/// Anything else goes to the platform verifier, built on first use, whose answer (and error) is final.
#[derive(Debug)]
struct LazySystemRoots {
    provider: Arc<CryptoProvider>,
    first: Vec<CertificateDer<'static>>,
    first_only: Option<Arc<WebPkiServerVerifier>>,
    deferred: Vec<DeferredBundle>,
    /// The deferred bundles' certificates and a verifier of them alone (`None` when there are none).
    deferred_only: OnceLock<Result<DeferredRoots, rustls::Error>>,
    platform: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, rustls::Error>>,
}

#[derive(Debug)]
struct DeferredRoots {
    certificates: Vec<CertificateDer<'static>>,
    verifier: Option<Arc<WebPkiServerVerifier>>,
}

impl LazySystemRoots {
    fn new(bundles: Bundles, provider: Arc<CryptoProvider>) -> Result<Self, ArmError> {
        let first_only = roots_verifier(&bundles.first, &provider)
            .map_err(|error| http_config_error(error.to_string()))?;
        Ok(Self {
            provider,
            first: bundles.first,
            first_only,
            deferred: bundles.deferred,
            deferred_only: OnceLock::new(),
            platform: OnceLock::new(),
        })
    }

    fn deferred(&self) -> Result<&DeferredRoots, rustls::Error> {
        let built = self.deferred_only.get_or_init(|| {
            let mut certificates = Vec::new();
            for bundle in &self.deferred {
                certificates.extend(
                    bundle
                        .parse()
                        .map_err(|error| rustls::Error::General(format!("{error}")))?,
                );
            }
            let verifier = roots_verifier(&certificates, &self.provider)?;
            Ok(DeferredRoots {
                certificates,
                verifier,
            })
        });
        built.as_ref().map_err(Clone::clone)
    }

    fn platform(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        let deferred = self.deferred()?;
        let built = self.platform.get_or_init(|| {
            tracing::debug!("loading the system's root certificates");
            let extra: Vec<_> = self
                .first
                .iter()
                .chain(&deferred.certificates)
                .cloned()
                .collect();
            let verifier = if extra.is_empty() {
                rustls_platform_verifier::Verifier::new(self.provider.clone())
            } else {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    extra,
                    self.provider.clone(),
                )
            };
            verifier.map(Arc::new)
        });
        built.as_deref().map_err(Clone::clone)
    }
}

/// A WebPKI verifier of these roots alone (`None` for no roots).
fn roots_verifier(
    roots: &[CertificateDer<'static>],
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<WebPkiServerVerifier>>, rustls::Error> {
    if roots.is_empty() {
        return Ok(None);
    }
    let mut store = rustls::RootCertStore::empty();
    let (_, ignored) = store.add_parsable_certificates(roots.iter().cloned());
    if ignored > 0 {
        tracing::debug!(
            ignored,
            "extra CA certificates that are not usable trust anchors"
        );
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map(Some)
        .map_err(|error| rustls::Error::General(error.to_string()))
}

impl ServerCertVerifier for LazySystemRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(first_only) = &self.first_only
            && let Ok(verified) = first_only.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        {
            return Ok(verified);
        }
        if let Some(deferred_only) = &self.deferred()?.verifier
            && let Ok(verified) = deferred_only.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        {
            return Ok(verified);
        }
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The variable whose bundle is checked at once but read whole and parsed on first need (see [`http_client`]).
const DEFERRED_BUNDLE_VARIABLE: &str = "SSL_CERT_FILE";

/// The extra roots: parsed ones, and bundles read but not parsed yet.
#[derive(Debug, Default)]
struct Bundles {
    first: Vec<CertificateDer<'static>>,
    deferred: Vec<DeferredBundle>,
}

/// A PEM bundle opened and read up to its first certificate header, so that a missing or unreadable file, or one
/// with no certificate, is an error at once; the rest is read and every certificate parsed on first need.
#[derive(Debug)]
struct DeferredBundle {
    variable: &'static str,
    path: PathBuf,
    file: File,
    /// What was read at once: the file's bytes up to and including its first certificate header.
    start: Vec<u8>,
}

/// How much of a deferred bundle is read at a time while looking for its first certificate header.
const DEFERRED_CHUNK: u64 = 8 * 1024;

impl DeferredBundle {
    fn open(variable: &'static str, path: PathBuf) -> Result<DeferredBundle, ConfigError> {
        let unreadable = |error: std::io::Error| cannot_read(variable, &path, &error);
        let file = File::open(&path).map_err(unreadable)?;
        let mut start = Vec::new();
        loop {
            // A header may straddle two reads.
            let unsearched = start.len().saturating_sub(PEM_CERTIFICATE.len() - 1);
            let read = (&file)
                .take(DEFERRED_CHUNK)
                .read_to_end(&mut start)
                .map_err(unreadable)?;
            if contains_certificate_header(&start[unsearched..]) {
                return Ok(DeferredBundle {
                    variable,
                    path,
                    file,
                    start,
                });
            }
            if read == 0 {
                return Err(no_certificate(variable, &path));
            }
        }
    }

    fn parse(&self) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
        let mut pem = self.start.clone();
        (&self.file)
            .read_to_end(&mut pem)
            .map_err(|error| cannot_read(self.variable, &self.path, &error))?;
        parse_bundle(self.variable, &self.path, &pem)
    }
}

fn contains_certificate_header(bytes: &[u8]) -> bool {
    bytes
        .windows(PEM_CERTIFICATE.len())
        .any(|window| window == PEM_CERTIFICATE)
}

fn cannot_read(variable: &'static str, path: &Path, error: &std::io::Error) -> ConfigError {
    ConfigError::CaBundle {
        variable,
        path: path.to_path_buf(),
        reason: format!("cannot read the CA bundle: {error}"),
    }
}

/// The bundles named by [`CA_BUNDLE_VARIABLES`] (empty values are ignored): all but
/// [`DEFERRED_BUNDLE_VARIABLE`]'s read and parsed now, that one only checked to hold a PEM certificate.
fn read_bundles(env: impl Fn(&str) -> Option<OsString>) -> Result<Bundles, ConfigError> {
    let mut bundles = Bundles::default();
    for variable in CA_BUNDLE_VARIABLES {
        let Some(value) = env(variable).filter(|value| !value.is_empty()) else {
            continue;
        };
        let path = PathBuf::from(value);
        if variable == DEFERRED_BUNDLE_VARIABLE {
            bundles.deferred.push(DeferredBundle::open(variable, path)?);
        } else {
            let pem = std::fs::read(&path).map_err(|error| cannot_read(variable, &path, &error))?;
            bundles.first.extend(parse_bundle(variable, &path, &pem)?);
        }
    }
    Ok(bundles)
}

const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

fn no_certificate(variable: &'static str, path: &Path) -> ConfigError {
    ConfigError::CaBundle {
        variable,
        path: path.to_path_buf(),
        reason: "the CA bundle contains no PEM certificate".into(),
    }
}

fn parse_bundle(
    variable: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ConfigError::CaBundle {
            variable,
            path: path.to_path_buf(),
            reason: format!("not a PEM CA bundle: {error}"),
        })?;
    if certificates.is_empty() {
        return Err(no_certificate(variable, path));
    }
    tracing::debug!(variable, path = %path.display(), certificates = certificates.len(), "trusting extra CA bundle");
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The certificates of every bundle named by [`CA_BUNDLE_VARIABLES`], all parsed (what [`http_client`] trusts).
    fn extra_roots(
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
        let bundles = read_bundles(env)?;
        let mut roots = bundles.first;
        for bundle in &bundles.deferred {
            roots.extend(bundle.parse()?);
        }
        Ok(roots)
    }

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

    /// A CA named `ca_name` and a `localhost` server certificate it issued, as DER.
    fn ca_and_leaf(ca_name: &str) -> (CertificateDer<'static>, CertificateDer<'static>) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        (ca.der().clone(), leaf.der().clone())
    }

    #[test]
    fn system_roots_are_loaded_only_for_a_chain_the_extra_roots_do_not_anchor() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (ca, leaf) = ca_and_leaf("aksctl bundle CA");
        let (_, stranger) = ca_and_leaf("aksctl unknown CA");
        let bundles = Bundles {
            first: vec![ca],
            deferred: Vec::new(),
        };
        let verifier = LazySystemRoots::new(bundles, provider).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let now = UnixTime::now();

        verifier
            .verify_server_cert(&leaf, &[], &name, &[], now)
            .unwrap();
        assert!(
            verifier.platform.get().is_none(),
            "the system store was read"
        );

        // Wrong name for the bundle's chain, and a chain of an unknown CA: the platform verifier decides.
        let other = ServerName::try_from("example.com").unwrap();
        let error = verifier
            .verify_server_cert(&leaf, &[], &other, &[], now)
            .unwrap_err();
        assert!(
            matches!(error, rustls::Error::InvalidCertificate(_)),
            "{error:?}"
        );
        assert!(verifier.platform.get().is_some());
        let error = verifier
            .verify_server_cert(&stranger, &[], &name, &[], now)
            .unwrap_err();
        assert!(
            matches!(
                error,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
            ),
            "{error:?}"
        );
    }

    #[test]
    fn ssl_cert_file_is_parsed_only_for_a_chain_requests_ca_bundle_does_not_anchor() {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (first_ca, first_leaf) = ca_and_leaf("aksctl REQUESTS_CA_BUNDLE CA");
        let (later_ca, later_leaf) = ca_and_leaf("aksctl SSL_CERT_FILE CA");
        let temp = tempfile::tempdir().unwrap();
        let later = temp.path().join("later.pem");
        std::fs::write(&later, pem_of(&later_ca)).unwrap();
        let first = temp.path().join("first.pem");
        std::fs::write(&first, pem_of(&first_ca)).unwrap();
        let bundles = read_bundles(|name| match name {
            "REQUESTS_CA_BUNDLE" => Some(first.clone().into()),
            "SSL_CERT_FILE" => Some(later.clone().into()),
            _ => None,
        })
        .unwrap();
        assert_eq!((bundles.first.len(), bundles.deferred.len()), (1, 1));
        let verifier = LazySystemRoots::new(bundles, provider).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let now = UnixTime::now();

        verifier
            .verify_server_cert(&first_leaf, &[], &name, &[], now)
            .unwrap();
        assert!(
            verifier.deferred_only.get().is_none(),
            "SSL_CERT_FILE was parsed"
        );
        verifier
            .verify_server_cert(&later_leaf, &[], &name, &[], now)
            .unwrap();
        assert!(verifier.deferred_only.get().is_some());
        assert!(
            verifier.platform.get().is_none(),
            "the system store was read"
        );
    }

    #[test]
    fn a_broken_ssl_cert_file_is_an_error_naming_it_when_it_is_needed() {
        let temp = tempfile::tempdir().unwrap();
        let none = temp.path().join("none.pem");
        std::fs::write(&none, "no certificates here\n").unwrap();
        let error = read_bundles(|name| (name == "SSL_CERT_FILE").then(|| none.clone().into()))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("SSL_CERT_FILE="), "{error}");
        assert!(error.contains("no PEM certificate"), "{error}");

        let broken = temp.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let bundles =
            read_bundles(|name| (name == "SSL_CERT_FILE").then(|| broken.clone().into())).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = LazySystemRoots::new(bundles, provider).unwrap();
        let (_, leaf) = ca_and_leaf("aksctl unknown CA");
        let name = ServerName::try_from("localhost").unwrap();
        let error = verifier
            .verify_server_cert(&leaf, &[], &name, &[], UnixTime::now())
            .unwrap_err()
            .to_string();
        assert!(error.contains("SSL_CERT_FILE="), "{error}");
        assert!(error.contains("broken.pem"), "{error}");
    }

    #[test]
    fn ssl_cert_file_is_read_up_to_its_first_certificate_until_it_is_needed() {
        let temp = tempfile::tempdir().unwrap();
        let certificates: Vec<_> = (0..40).map(|_| ca_pem()).collect();
        let bundle = temp.path().join("system.pem");
        std::fs::write(&bundle, certificates.concat()).unwrap();
        let size = std::fs::metadata(&bundle).unwrap().len();
        assert!(size > 2 * DEFERRED_CHUNK, "{size}");
        let deferred = DeferredBundle::open("SSL_CERT_FILE", bundle).unwrap();
        assert_eq!(deferred.start.len() as u64, DEFERRED_CHUNK);
        assert_eq!(deferred.parse().unwrap().len(), 40);

        // Comments before the first certificate, its header across two reads or several reads in.
        let comment_line = "# a comment line of a bundle written by hand\n";
        for before in [
            DEFERRED_CHUNK as usize - 10,
            DEFERRED_CHUNK as usize,
            3 * DEFERRED_CHUNK as usize + 5,
        ] {
            let mut comments: String = comment_line.chars().cycle().take(before - 1).collect();
            comments.push('\n');
            let path = temp.path().join(format!("commented-{before}.pem"));
            std::fs::write(&path, format!("{comments}{}{}", ca_pem(), ca_pem())).unwrap();
            let deferred = DeferredBundle::open("SSL_CERT_FILE", path).unwrap();
            assert!(deferred.start.len() > before, "{before}");
            assert_eq!(deferred.parse().unwrap().len(), 2, "{before}");
        }
        let long = temp.path().join("comments-only.pem");
        std::fs::write(&long, comment_line.repeat(1000)).unwrap();
        let error = DeferredBundle::open("SSL_CERT_FILE", long)
            .unwrap_err()
            .to_string();
        assert!(error.contains("no PEM certificate"), "{error}");
    }

    fn pem_of(certificate: &CertificateDer<'_>) -> String {
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD.encode(certificate.as_ref());
        let lines: Vec<_> = body
            .as_bytes()
            .chunks(64)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn client_builds_with_extra_roots() {
        let client = http_client("aksctl/test");
        assert!(client.is_ok(), "{:?}", client.err());
    }
}
