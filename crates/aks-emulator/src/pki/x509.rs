//! The parts of X.509 certificates (RFC 5280) the emulator reads: signed bytes, signature, issuer and subject
//! names and the RSA public key, borrowed from the DER.

use super::der_element;

/// `sha256WithRSAEncryption`, `sha384WithRSAEncryption`, `sha512WithRSAEncryption` (RFC 4055): OID contents.
const RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
/// `rsaEncryption` (RFC 8017): OID contents.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The parts of an X.509 certificate (RFC 5280 §4.1) the trust checks need, borrowed from its DER.
pub(crate) struct Certificate<'a> {
    pub(crate) der: &'a [u8],
    /// `tbsCertificate`, the whole element (the signed bytes).
    tbs: &'a [u8],
    /// The OID contents of `signatureAlgorithm`.
    signature_algorithm: &'a [u8],
    /// `signatureValue` without the unused-bits octet.
    signature: &'a [u8],
    /// `issuer` and `subject`, whole `Name` elements.
    issuer: &'a [u8],
    subject: &'a [u8],
    /// The PKCS#1 `RSAPublicKey` DER of `subjectPublicKeyInfo`, when the key is RSA.
    rsa_public_key: Option<&'a [u8]>,
}

/// A DER element: (tag, the whole element with tag and length, its contents, what follows it).
type Element<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// The element at the start of `input`.
fn element(input: &[u8]) -> Option<Element<'_>> {
    let (tag, contents, rest) = der_element(input)?;
    Some((tag, &input[..input.len() - rest.len()], contents, rest))
}

impl<'a> Certificate<'a> {
    /// Parse a DER certificate; `None` when it is not one.
    pub(crate) fn parse(der: &'a [u8]) -> Option<Certificate<'a>> {
        let (0x30, _, certificate, _) = element(der)? else {
            return None;
        };
        let (0x30, tbs, tbs_contents, rest) = element(certificate)? else {
            return None;
        };
        let (0x30, _, algorithm, rest) = element(rest)? else {
            return None;
        };
        let (0x06, _, signature_algorithm, _) = element(algorithm)? else {
            return None;
        };
        let (0x03, _, bits, _) = element(rest)? else {
            return None;
        };
        let (0, signature) = bits.split_first()? else {
            return None;
        };
        let mut fields = tbs_contents;
        if fields.first() == Some(&0xa0) {
            fields = element(fields)?.3;
        }
        // serialNumber, signature
        for _ in 0..2 {
            fields = element(fields)?.3;
        }
        let (0x30, issuer, _, rest) = element(fields)? else {
            return None;
        };
        let rest = element(rest)?.3; // validity
        let (0x30, subject, _, rest) = element(rest)? else {
            return None;
        };
        let (0x30, _, spki, _) = element(rest)? else {
            return None;
        };
        let (0x30, _, key_algorithm, after) = element(spki)? else {
            return None;
        };
        let rsa_public_key = match (element(key_algorithm), element(after)) {
            (Some((0x06, _, RSA_ENCRYPTION, _)), Some((0x03, _, key_bits, _))) => {
                match key_bits.split_first() {
                    Some((0, key)) => Some(key),
                    _ => None,
                }
            }
            _ => None,
        };
        Some(Certificate {
            der,
            tbs,
            signature_algorithm,
            signature,
            issuer,
            subject,
            rsa_public_key,
        })
    }

    /// The PKCS#1 `RSAPublicKey` DER of the certificate's key, when it is RSA.
    pub(crate) fn rsa_public_key(&self) -> Option<&'a [u8]> {
        self.rsa_public_key
    }

    /// The subject's attributes in certificate order: (`CN`, `O`, `OU`, ... or a dotted OID, value).
    pub(crate) fn subject_attributes(&self) -> Option<Vec<(String, String)>> {
        name_attributes(self.subject)
    }

    /// Whether `issuer` issued this certificate: its subject is this certificate's issuer name and its RSA key
    /// verifies this certificate's signature.
    pub(crate) fn issued_by(&self, issuer: &Certificate<'_>) -> bool {
        use aws_lc_rs::signature;
        let algorithm: &dyn signature::VerificationAlgorithm = match self.signature_algorithm {
            RSA_SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            RSA_SHA384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            RSA_SHA512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            _ => return false,
        };
        let Some(key) = issuer.rsa_public_key else {
            return false;
        };
        self.issuer == issuer.subject
            && signature::UnparsedPublicKey::new(algorithm, key)
                .verify(self.tbs, self.signature)
                .is_ok()
    }
}

/// The attributes of a DER `Name` (RDNSequence), in order.
fn name_attributes(name: &[u8]) -> Option<Vec<(String, String)>> {
    let (0x30, _, mut rdns, _) = element(name)? else {
        return None;
    };
    let mut attributes = Vec::new();
    while !rdns.is_empty() {
        let (0x31, _, mut set, rest) = element(rdns)? else {
            return None;
        };
        rdns = rest;
        while !set.is_empty() {
            let (0x30, _, pair, rest) = element(set)? else {
                return None;
            };
            set = rest;
            let (0x06, _, oid, value) = element(pair)? else {
                return None;
            };
            let (tag, _, text, _) = element(value)?;
            let text = match tag {
                // BMPString: UTF-16BE.
                0x1e => String::from_utf16_lossy(
                    &text
                        .chunks(2)
                        .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
                        .collect::<Vec<_>>(),
                ),
                _ => String::from_utf8_lossy(text).into_owned(),
            };
            attributes.push((attribute_name(oid), text));
        }
    }
    Some(attributes)
}

/// The short name of an attribute type (RFC 4514 §3, plus `E` for emailAddress as Windows writes it), or its
/// dotted OID.
fn attribute_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x09] => "STREET".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "E".into(),
        _ => dotted(oid),
    }
}

fn dotted(oid: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value: u64 = 0;
    for byte in oid {
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            if parts.is_empty() {
                let first = (value / 40).min(2);
                parts.push(first.to_string());
                parts.push((value - first * 40).to_string());
            } else {
                parts.push(value.to_string());
            }
            value = 0;
        }
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_identifiers_are_written_dotted() {
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
    }
}
