//! `--ssh-key-value`, `--generate-ssh-keys`, `--no-ssh-key` as az resolves them (docs/az-behaviour.md, "aks create").

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::CliError;
use crate::output::Printer;
use crate::paths::{expand_user, home};

const INVALID_KEY: &str = "The SSH key provided is not a valid RSA public key. Provide the contents of a valid SSH public key (for example, '~/.ssh/id_rsa.pub'), specify a path to a public key file, or add --generate-ssh-keys as a parameter to create a new key pair.";

/// Whether `text` is an OpenSSH `ssh-rsa` public key line.
pub fn is_valid_ssh_rsa_public_key(text: &str) -> bool {
    let mut fields = text.split_whitespace();
    let (Some("ssh-rsa"), Some(blob)) = (fields.next(), fields.next()) else {
        return false;
    };
    let Ok(bytes) = STANDARD.decode(blob) else {
        return false;
    };
    bytes.len() > 11 && bytes[..4] == [0, 0, 0, 7] && &bytes[4..11] == b"ssh-rsa"
}

fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn ssh_mpint(out: &mut Vec<u8>, big_endian: &[u8]) {
    if big_endian.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = vec![0u8];
        padded.extend_from_slice(big_endian);
        ssh_string(out, &padded);
    } else {
        ssh_string(out, big_endian);
    }
}

/// How long a process that lost the race to create the key pair waits for the winner's public key file.
const PAIR_WAIT: Duration = Duration::from_secs(10);

/// A new RSA-2048 key pair: the PKCS#8 PEM private key, and the OpenSSH public key line as az writes it
/// (`ssh-rsa <base64>`, no comment, no line break: `cryptography`'s `PublicFormat.OpenSSH`).
fn new_key_pair() -> Result<(String, String), CliError> {
    let key = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| CliError::message("cannot generate an RSA key pair"))?;
    let public = key.public_key();
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-rsa");
    ssh_mpint(
        &mut blob,
        public.exponent().big_endian_without_leading_zero(),
    );
    ssh_mpint(
        &mut blob,
        public.modulus().big_endian_without_leading_zero(),
    );
    let public_line = format!("ssh-rsa {}", STANDARD.encode(&blob));
    let der = key
        .as_der()
        .map_err(|_| CliError::message("cannot encode the generated RSA key"))?;
    let body = STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok((pem, public_line))
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.display().to_string();
    move |source| CliError::Io {
        action,
        path,
        source,
    }
}

/// Makes `path` hold `text` with `mode`, complete or not at all, unless it already exists: the text goes to a
/// temporary file beside it, which is then linked to `path` exclusively. `false` when `path` already existed.
fn publish_exclusively(path: &Path, text: &str, mode: u32) -> Result<bool, CliError> {
    let directory = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = tempfile::Builder::new()
        .prefix(".aksctl-key.")
        .tempfile_in(directory)
        .map_err(io_error("writing", path))?;
    temporary
        .write_all(text.as_bytes())
        .and_then(|()| fs::set_permissions(temporary.path(), fs::Permissions::from_mode(mode)))
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(io_error("writing", path))?;
    match temporary.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(io_error("writing", path)(error.error)),
    }
}

/// What [`generate_or_join`] did.
enum KeyPairSource {
    /// This process created both files; the public key line it wrote.
    Generated(String),
    /// Another process (a parallel `aks create --generate-ssh-keys`) created them; the public key file as read.
    Joined(String),
}

/// Generates a key pair into `private_path` (0600) and `public_path` (0644), or, when another process got there
/// first, waits for its complete pair and uses it. Each file appears complete or not at all, and only the process
/// that created the private key writes the public one, so every caller ends up with the pair that is on disk.
fn generate_or_join(private_path: &Path, public_path: &Path) -> Result<KeyPairSource, CliError> {
    if let Some(dir) = private_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error("creating", dir))?;
    }
    let (pem, public_line) = new_key_pair()?;
    if publish_exclusively(private_path, &pem, 0o600)?
        && publish_exclusively(public_path, &public_line, 0o644)?
    {
        return Ok(KeyPairSource::Generated(public_line));
    }
    wait_for_public_key(private_path, public_path, PAIR_WAIT).map(KeyPairSource::Joined)
}

/// The winner's public key file as read, once it exists and holds a valid key; a clear error after `wait`.
fn wait_for_public_key(
    private_path: &Path,
    public_path: &Path,
    wait: Duration,
) -> Result<String, CliError> {
    let started = Instant::now();
    loop {
        match fs::read_to_string(public_path) {
            Ok(content) if is_valid_ssh_rsa_public_key(content.trim()) => return Ok(content),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error("reading", public_path)(error)),
        }
        if started.elapsed() >= wait {
            return Err(CliError::message(format!(
                "{} exists but {} did not appear (or hold a valid ssh-rsa key) within {}s: another aksctl may have stopped while generating the key pair.\nhint: pass --ssh-key-value with a public key, or move {} away to generate a new pair",
                private_path.display(),
                public_path.display(),
                wait.as_secs_f64(),
                private_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The public key to put in `linuxProfile`, or `None` to create the cluster without one.
pub fn resolve_key(
    no_ssh_key: bool,
    value: Option<&str>,
    generate_keys: bool,
    printer: &Printer,
) -> Result<Option<String>, CliError> {
    if no_ssh_key {
        return Ok(None);
    }
    let default_path = home().join(".ssh").join("id_rsa.pub");
    let path = value
        .map(expand_user)
        .unwrap_or_else(|| default_path.clone());
    if path.is_file() {
        tracing::info!("Use existing SSH public key file: {}", path.display());
        let content = fs::read_to_string(&path).map_err(|source| CliError::Io {
            action: "reading",
            path: path.display().to_string(),
            source,
        })?;
        if !is_valid_ssh_rsa_public_key(content.trim()) {
            return Err(CliError::message(INVALID_KEY));
        }
        // az sends the file's content as read (a trailing line break included).
        return Ok(Some(content));
    }
    if let Some(literal) = value
        && is_valid_ssh_rsa_public_key(literal)
    {
        return Ok(Some(literal.to_string()));
    }
    if generate_keys {
        let text = path.to_string_lossy().to_string();
        let private_path = match text
            .strip_suffix(".pub")
            .or_else(|| text.strip_suffix(".PUB"))
        {
            Some(stem) => PathBuf::from(stem),
            None => PathBuf::from(format!("{text}.private")),
        };
        return match generate_or_join(&private_path, &path)? {
            KeyPairSource::Generated(key) => {
                printer.warning(&format!(
                    "SSH key files '{}' and '{}' have been generated under ~/.ssh to allow SSH access to the VM. If using machines without permanent storage like Azure Cloud Shell without an attached file share, back up your keys to a safe location",
                    private_path.display(),
                    path.display()
                ));
                Ok(Some(key))
            }
            KeyPairSource::Joined(key) => {
                printer.warning(&format!(
                    "Public SSH key file '{}' already exists in the directory: '{}'. New SSH key files will not be generated.",
                    path.display(),
                    path.parent().unwrap_or(Path::new("")).display()
                ));
                Ok(Some(key))
            }
        };
    }
    if value.is_none() {
        return Ok(None);
    }
    Err(CliError::message(INVALID_KEY))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_valid_openssh_rsa() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (dir.path().join("id_rsa"), dir.path().join("id_rsa.pub"));
        let KeyPairSource::Generated(line) = generate_or_join(&private, &public).unwrap() else {
            panic!("the first process generates");
        };
        assert!(is_valid_ssh_rsa_public_key(&line), "{line}");
        // The file holds exactly what is sent, as az writes it: `ssh-rsa <base64>`, nothing else.
        assert_eq!(fs::read_to_string(&public).unwrap(), line);
        assert_eq!(line.split(' ').count(), 2);
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&private), 0o600);
        assert_eq!(mode(&public), 0o644);
        assert!(
            fs::read_to_string(&private)
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        // A second process joins the pair on disk instead of failing on the existing files.
        let KeyPairSource::Joined(joined) = generate_or_join(&private, &public).unwrap() else {
            panic!("the second process joins");
        };
        assert_eq!(joined, line);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
        assert!(!is_valid_ssh_rsa_public_key(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
        ));
        // A private key whose public key never comes (a writer that died): a bounded wait and a clear error.
        fs::remove_file(&public).unwrap();
        let error = wait_for_public_key(&private, &public, Duration::from_millis(100))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "{} exists but {} did not appear",
                private.display(),
                public.display()
            )),
            "{error}"
        );
        assert!(error.contains("within 0.1s"), "{error}");
        assert!(error.contains("hint: pass --ssh-key-value"), "{error}");
        assert!(!is_valid_ssh_rsa_public_key("not a key"));
    }
}
