//! Join tokens: `SWMTKN-1-<CA digest>-<secret>`, as docker's.
//!
//! The digest (50 base-36 characters) is the SHA-256 of the cluster's root CA certificate: a
//! joining node pins the CA with it, so it sends its secret only to a manager whose CA matches.
//! The secret (25 base-36 characters, about 128 random bits) is what admission checks. Both the
//! daemon (first tokens at cluster creation) and `RotateJoinToken` call [`new_join_token`].

use rand::Rng;
use sha2::{Digest, Sha256};

const PREFIX: &str = "SWMTKN-1-";
const DIGEST_LEN: usize = 50;
const SECRET_LEN: usize = 25;
const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A fresh token for the cluster whose CA has digest `ca_digest` (see [`ca_digest`]); two calls
/// never return the same token.
pub fn new_join_token(ca_digest: &str) -> String {
    let mut rng = rand::rng();
    let secret: String = (0..SECRET_LEN)
        .map(|_| BASE36[rng.random_range(0..BASE36.len())] as char)
        .collect();
    format!("{PREFIX}{ca_digest}-{secret}")
}

/// The digest part every token of a cluster shares: SHA-256 of its CA certificate (DER).
pub fn ca_digest(ca_cert_der: &[u8]) -> String {
    base36(&Sha256::digest(ca_cert_der), DIGEST_LEN)
}

/// Whether `token` is one of the cluster's current tokens, compared in constant time so the
/// time a refusal takes says nothing about how much of the secret was right.
pub fn token_matches(token: &str, current: &str) -> bool {
    let (a, b) = (token.as_bytes(), current.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The two parts of a well-formed token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedJoinToken<'a> {
    pub digest: &'a str,
    pub secret: &'a str,
}

/// Splits a token into its parts, or says what is wrong with its shape.
pub fn parse_join_token(token: &str) -> Result<ParsedJoinToken<'_>, String> {
    let rest = token
        .strip_prefix(PREFIX)
        .ok_or_else(|| format!("join token must start with `{PREFIX}`"))?;
    let (digest, secret) = rest
        .split_once('-')
        .ok_or("join token must be SWMTKN-1-<CA digest>-<secret>")?;
    let is_base36 = |s: &str| s.bytes().all(|b| BASE36.contains(&b));
    if digest.len() != DIGEST_LEN || !is_base36(digest) {
        return Err(format!(
            "join token CA digest must be {DIGEST_LEN} base-36 characters"
        ));
    }
    if secret.len() != SECRET_LEN || !is_base36(secret) {
        return Err(format!(
            "join token secret must be {SECRET_LEN} base-36 characters"
        ));
    }
    Ok(ParsedJoinToken { digest, secret })
}

/// Big-endian bytes as base-36, left-padded with zeros to `width` digits.
fn base36(bytes: &[u8], width: usize) -> String {
    let mut number = bytes.to_vec();
    let mut digits = Vec::new();
    while number.iter().any(|&b| b != 0) {
        // Long division of the whole number by 36, keeping the remainder as the next digit.
        let mut rem = 0u32;
        for b in number.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 36) as u8;
            rem = cur % 36;
        }
        digits.push(BASE36[rem as usize]);
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).expect("base36 digits are ascii")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_docker_shape_and_differ() {
        let digest = ca_digest(b"cluster-1 CA");
        let a = new_join_token(&digest);
        let b = new_join_token(&digest);
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + DIGEST_LEN + 1 + SECRET_LEN);
        let pa = parse_join_token(&a).unwrap();
        let pb = parse_join_token(&b).unwrap();
        assert_eq!(pa.digest, pb.digest, "same cluster, same digest");
        assert_eq!(pa.digest, digest);
        assert_ne!(ca_digest(b"cluster-1 CA"), ca_digest(b"cluster-2 CA"));
        assert!(token_matches(&a, &a.clone()));
        assert!(!token_matches(&a, &b));
        assert!(!token_matches(&a, &a[..a.len() - 1]));
    }

    #[test]
    fn base36_matches_known_values() {
        assert_eq!(base36(&[0], 3), "000");
        assert_eq!(base36(&[35], 1), "z");
        assert_eq!(base36(&[1, 0], 1), "74"); // 256 = 7*36 + 4
                                              // 2^256 - 1 needs exactly 50 base-36 digits.
        assert_eq!(base36(&[0xff; 32], 0).len(), 50);
    }

    #[test]
    fn malformed_tokens_are_explained() {
        assert!(parse_join_token("SWMTKN-2-x-y")
            .unwrap_err()
            .contains("start with"));
        assert!(parse_join_token("SWMTKN-1-abc")
            .unwrap_err()
            .contains("<secret>"));
        let short = format!("SWMTKN-1-{}-abc", "0".repeat(50));
        assert!(parse_join_token(&short).unwrap_err().contains("secret"));
    }
}
