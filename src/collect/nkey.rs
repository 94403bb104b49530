//! NATS credentials: a user's nkey seed (`SU…`, an Ed25519 seed in NATS's base32
//! encoding with a CRC-16 check) and, in a `.creds` file, the user's JWT. The server
//! sends a nonce in its INFO; the client signs it with the seed. Seeds and JWTs are
//! registered as secrets as soon as they are read.

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;

/// NATS's key kinds (the first base32 letter of an encoded key).
pub const OPERATOR: u8 = 14 << 3; // 'O'
pub const ACCOUNT: u8 = 0; // 'A'
pub const USER: u8 = 20 << 3; // 'U'
const SEED: u8 = 18 << 3; // 'S'

/// What a `.creds` file (or a bare seed) holds.
pub struct Credentials {
    /// The user JWT, when the file has one (operator mode); else nkey auth.
    pub jwt: Option<String>,
    pub key: Ed25519KeyPair,
}

impl Credentials {
    /// `text` is a `.creds` file's content, a bare `SU…` seed, or the path of a file
    /// holding either.
    pub fn load(text: &str) -> Result<Credentials, String> {
        // Never echo `text` in an error: it may be a secret that is not quite right.
        let t = text.trim();
        let content = if t.contains("-----BEGIN") || (t.starts_with("SU") && !t.contains('/')) {
            t.to_string()
        } else if t.contains(char::is_whitespace) || t.starts_with("eyJ") {
            return Err("not a path, and not a .creds file or an nkey seed: give the path of a .creds file, its whole content (with its -----BEGIN lines), or a bare seed (SU…)".into());
        } else {
            crate::fileread::read(std::path::Path::new(t), crate::fileread::Kind::Credentials)
                .map_err(|e| {
                    format!("the credentials file (the path given) {e}; a .creds file's content or a bare seed (SU…) also works")
                })?
        };
        let jwt = armored(&content, "JWT");
        let seed = armored(&content, "SEED")
            .or_else(|| Some(content.trim().to_string()).filter(|s| s.starts_with("SU")))
            .ok_or("the credentials hold no user nkey seed (SU…)")?;
        crate::redact::register(&seed);
        if let Some(j) = &jwt {
            crate::redact::register(j);
        }
        let raw = match decode(&seed) {
            Some((USER, raw)) => raw,
            _ => return Err("the user nkey seed is not valid".into()),
        };
        let key = Ed25519KeyPair::from_seed_unchecked(&raw)
            .map_err(|_| "the user nkey seed is not an Ed25519 seed")?;
        Ok(Credentials { jwt, key })
    }

    /// The public key, encoded as NATS shows it (`U…`).
    pub fn public(&self) -> String {
        encode(&[USER], self.key.public_key().as_ref())
    }

    /// The nonce's signature, base64url without padding (as the server expects).
    pub fn sign(&self, nonce: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.key.sign(nonce.as_bytes()))
    }
}

/// The body of `-----BEGIN … <kind>-----` … `------END …------` in a `.creds` file.
fn armored(content: &str, kind: &str) -> Option<String> {
    let mut lines = content.lines().map(str::trim);
    lines.find(|l| l.starts_with("-----BEGIN") && l.contains(kind))?;
    lines
        .find(|l| !l.is_empty())
        .filter(|l| !l.starts_with("---"))
        .map(str::to_string)
}

/// A seed for `kind` from 32 raw bytes (NATS's layout: two prefix bytes, then the
/// seed, then the CRC). For tests that mint keys.
pub fn encode_seed(kind: u8, raw: &[u8; 32]) -> String {
    encode(&[SEED | (kind >> 5), (kind & 31) << 3], raw)
}

/// The public key of a seed of any kind, and the key pair to sign with.
pub fn keypair(seed: &str) -> Option<(String, Ed25519KeyPair)> {
    let (kind, raw) = decode(seed)?;
    let key = Ed25519KeyPair::from_seed_unchecked(&raw).ok()?;
    Some((encode(&[kind], key.public_key().as_ref()), key))
}

fn encode(prefix: &[u8], body: &[u8]) -> String {
    let mut bytes = [prefix, body].concat();
    let crc = crc16(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    base32_encode(&bytes)
}

/// An encoded seed's kind (USER, ACCOUNT, …) and its 32 raw bytes, or None when it is
/// not a seed or the check does not match.
fn decode(seed: &str) -> Option<(u8, Vec<u8>)> {
    let bytes = base32_decode(seed)?;
    if bytes.len() != 2 + 32 + 2 {
        return None;
    }
    let (data, crc) = bytes.split_at(bytes.len() - 2);
    if crc16(data).to_le_bytes() != crc || data[0] & 0xf8 != SEED {
        return None;
    }
    let kind = ((data[0] & 7) << 5) | ((data[1] & 0xf8) >> 3);
    Some((kind, data[2..].to_vec()))
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(bytes: &[u8]) -> String {
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// CRC-16/XMODEM, NATS's check on encoded keys.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_round_trips_and_a_corrupted_one_is_refused() {
        let seed = encode_seed(USER, &[7; 32]);
        assert!(seed.starts_with("SU"), "{seed}");
        let creds = Credentials::load(&seed).unwrap();
        assert!(creds.public().starts_with('U'));
        assert_eq!(keypair(&seed).unwrap().0, creds.public());
        let mut bad = seed.clone().into_bytes();
        bad[10] = if bad[10] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(Credentials::load(&bad).is_err());
        // An account seed is not a user's.
        assert!(Credentials::load(&encode_seed(ACCOUNT, &[7; 32])).is_err());
    }

    /// The published NATS nkeys test vector (the same in every client library).
    #[test]
    fn the_published_test_vector() {
        let c = Credentials::load("SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU")
            .unwrap();
        assert_eq!(
            c.public(),
            "UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L"
        );
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c.sign("PXoWU7zWAMt75FY"))
            .unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(sig),
            "ZaAiVDgB5CeYoXoQ7cBCmq+ZllzUnGUoDVb8C7PilWvCs8XKfUchAUhz2P4BYAF++Dg3w05CqyQFRDiGL6LrDw=="
        );
    }

    #[test]
    fn a_creds_file_gives_the_jwt_and_the_seed() {
        let seed = encode_seed(USER, &[9; 32]);
        let file = format!(
            "-----BEGIN NATS USER JWT-----\neyJhbGc.eyJzdWIi.c2ln\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\n\
             -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        );
        let creds = Credentials::load(&file).unwrap();
        assert_eq!(creds.jwt.as_deref(), Some("eyJhbGc.eyJzdWIi.c2ln"));
        assert_eq!(creds.public(), keypair(&seed).unwrap().0);
        assert!(!creds.sign("nonce").contains(['=', '+', '/']));
    }
}
