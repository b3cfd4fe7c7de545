//! `--ssh-key-value`, `--generate-ssh-keys`, `--no-ssh-key` as az resolves them (az-cli-aks.md §1.2).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

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

/// Generate an RSA-2048 key pair: PKCS#8 PEM private key (0600) and an OpenSSH public key line.
fn generate(private_path: &Path, public_path: &Path) -> Result<String, CliError> {
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
    let public_line = format!("ssh-rsa {} aksctl", STANDARD.encode(&blob));
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
    if let Some(dir) = private_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| CliError::Io {
                action: "creating",
                path: dir.display().to_string(),
                source,
            })?;
    }
    let write = |path: &Path, mode: u32, text: &str| -> Result<(), CliError> {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|source| CliError::Io {
                action: "writing",
                path: path.display().to_string(),
                source,
            })
    };
    write(private_path, 0o600, &pem)?;
    write(public_path, 0o644, &format!("{public_line}\n"))?;
    Ok(public_line)
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
        return Ok(Some(content.trim().to_string()));
    }
    if let Some(literal) = value
        && is_valid_ssh_rsa_public_key(literal)
    {
        return Ok(Some(literal.trim().to_string()));
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
        let key = generate(&private_path, &path)?;
        printer.warning(&format!(
            "SSH key files '{}' and '{}' have been generated under ~/.ssh to allow SSH access to the VM. If using machines without permanent storage like Azure Cloud Shell without an attached file share, back up your keys to a safe location",
            private_path.display(),
            path.display()
        ));
        return Ok(Some(key));
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
        let dir = std::env::temp_dir().join(format!("aksctl-ssh-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let public = generate(&dir.join("id_rsa"), &dir.join("id_rsa.pub")).unwrap();
        assert!(is_valid_ssh_rsa_public_key(&public), "{public}");
        let mode = fs::metadata(dir.join("id_rsa")).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        assert!(
            fs::read_to_string(dir.join("id_rsa"))
                .unwrap()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        fs::remove_dir_all(&dir).unwrap();
        assert!(!is_valid_ssh_rsa_public_key(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
        ));
        assert!(!is_valid_ssh_rsa_public_key("not a key"));
    }
}
