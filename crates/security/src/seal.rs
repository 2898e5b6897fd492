//! Sealing secrets at rest: a secret's data is stored in the Raft log and snapshots only as
//! AES-256-GCM ciphertext under the cluster's data key (ring's AEAD, a random 96-bit nonce per
//! seal, stored in front of the ciphertext). Only the leader opens it, to send a node the
//! secrets of the tasks that node runs.
//!
//! Threat model: the data key lives in the cluster object, which the managers replicate and
//! keep on disk too, so this keeps a secret's bytes out of every file, backup and log a
//! manager writes, not from someone who can read a manager's whole state directory. Docker
//! without autolock is the same (its key sits beside the node's TLS key); encrypting the key
//! itself with an unlock key is autolock's job.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use types::Redacted;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the cluster's data key is not a 32-byte hex key")]
    BadKey,
    #[error("sealed data is damaged or was sealed with another key")]
    Open,
    #[error("the system's random generator failed")]
    Random,
}

/// A new random 256-bit data key, hex encoded.
pub fn new_data_key() -> Result<Redacted, SealError> {
    let mut key = [0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| SealError::Random)?;
    Ok(Redacted::new(hex(&key)))
}

/// `nonce || ciphertext || tag`.
pub fn seal(key: &Redacted, plain: &[u8]) -> Result<Vec<u8>, SealError> {
    let key = aead_key(key)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError::Random)?;
    let mut sealed = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::empty(),
        &mut sealed,
    )
    .map_err(|_| SealError::Random)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

pub fn open(key: &Redacted, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
    let key = aead_key(key)?;
    if sealed.len() < NONCE_LEN {
        return Err(SealError::Open);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
    let mut body = body.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::empty(), &mut body)
        .map_err(|_| SealError::Open)?;
    Ok(plain.to_vec())
}

fn aead_key(key: &Redacted) -> Result<LessSafeKey, SealError> {
    let bytes = unhex(key.expose()).ok_or(SealError::BadKey)?;
    let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| SealError::BadKey)?;
    Ok(LessSafeKey::new(key))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_its_key_and_holds_no_plain_bytes() {
        let key = new_data_key().unwrap();
        let plain = b"correct horse battery staple";
        let a = seal(&key, plain).unwrap();
        let b = seal(&key, plain).unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.windows(plain.len()).any(|w| w == plain));
        assert_eq!(open(&key, &a).unwrap(), plain);
        let other = new_data_key().unwrap();
        assert_eq!(open(&other, &a), Err(SealError::Open));
        let mut damaged = a.clone();
        damaged[20] ^= 1;
        assert_eq!(open(&key, &damaged), Err(SealError::Open));
        assert_eq!(open(&key, &a[..5]), Err(SealError::Open));
        assert_eq!(seal(&Redacted::new("short"), plain), Err(SealError::BadKey));
    }
}
