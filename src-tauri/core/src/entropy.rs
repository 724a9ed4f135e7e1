//! Randomness, injected like the clock ([`crate::clock`]): payment, product, webhook and display
//! ids, keys and pairing codes all come from an [`Entropy`], so a test can make them reproducible
//! and production draws them from the operating system's generator.

use std::sync::Mutex;

use rand::{rngs::StdRng, RngCore, SeedableRng};

/// A source of random bytes.
pub trait Entropy: Send + Sync + std::fmt::Debug {
    /// Fills `bytes` with random ones.
    fn fill(&self, bytes: &mut [u8]);
}

/// The operating system's generator (seeded from it, cryptographically secure).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEntropy;

impl Entropy for SystemEntropy {
    fn fill(&self, bytes: &mut [u8]) {
        rand::rng().fill_bytes(bytes);
    }
}

/// The same bytes for the same seed: for tests that want reproducible ids.
#[derive(Debug)]
pub struct SeededEntropy(Mutex<StdRng>);

impl SeededEntropy {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, bytes: &mut [u8]) {
        self.0.lock().expect("entropy lock").fill_bytes(bytes);
    }
}

/// `prefix` and `N` random bytes from `entropy` in lowercase hex: the shape of every id the app
/// makes (`pay_`, `prod_`, `ctr_`, …).
pub(crate) fn hex_id<const N: usize>(prefix: &str, entropy: &dyn Entropy) -> String {
    format!("{prefix}{}", hex::encode(bytes::<N>(entropy)))
}

/// Whether `s` is `prefix` and `2 × bytes` lowercase hex digits (an id made by [`hex_id`]).
pub(crate) fn is_hex_id(s: &str, prefix: &str, bytes: usize) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| {
        h.len() == 2 * bytes
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `N` random bytes from `entropy`.
pub fn bytes<const N: usize>(entropy: &dyn Entropy) -> [u8; N] {
    let mut out = [0u8; N];
    entropy.fill(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_source_repeats_itself_and_the_system_one_does_not() {
        let (a, b) = (SeededEntropy::new(7), SeededEntropy::new(7));
        assert_eq!(bytes::<16>(&a), bytes::<16>(&b));
        assert_ne!(bytes::<16>(&SystemEntropy), bytes::<16>(&SystemEntropy));
    }
}
