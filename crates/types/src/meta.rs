//! What every stored object carries: an ID and a version for optimistic concurrency.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// Bookkeeping the store maintains on every object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Log index of the write that last changed the object. An update must name the version it
    /// read; the store refuses it if the object changed in between.
    pub version: u64,
    /// Unix milliseconds of creation.
    pub created_at_ms: i64,
    /// Unix milliseconds of the last change.
    pub updated_at_ms: i64,
}

/// A new random object ID: 25 lowercase base-36 characters, like SwarmKit's.
pub fn new_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..25)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Wall-clock time in unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_25_base36_chars_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 25);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }
}
