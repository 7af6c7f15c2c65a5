//! Bearer secrets: random tokens handed out once, stored only as hashes.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh secret with a readable prefix (`ses_`, `key_`), 256 random bits.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Random bits for a one-time code.
pub fn random_u64() -> u64 {
    rand::rngs::OsRng.next_u64()
}
