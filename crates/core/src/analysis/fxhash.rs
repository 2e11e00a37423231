//! A fast, deterministic hasher for the analysis maps (the rustc-hash / FxHash scheme).
//!
//! The analysis does a few hash-map lookups per line, keyed by ARNs, usernames and
//! correlation keys; SipHash's setup and per-byte cost were several percent of `report`'s
//! time. Keys come from log files the user chose to read, and one worst-case input could at
//! most slow a local run down, so resistance to hash flooding is not worth that price here.
//! Determinism is a bonus: nothing in the output depends on map order (it is sorted), but
//! profiles are reproducible.

use hashbrown::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// rustc-hash v2's multiplier.
const K: u64 = 0xf135_7aea_2e62_a9c5;

/// The hasher: multiply-add over 8-byte words.
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = self.0.wrapping_add(word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The high bits are the well-mixed ones; hashbrown takes its control bits from the top
        // and its bucket index from the bottom.
        self.0.rotate_left(26)
    }
}

/// `BuildHasher` for [`FxHasher`].
pub type FxBuild = BuildHasherDefault<FxHasher>;
/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, FxBuild>;
/// A `HashSet` with [`FxHasher`].
pub type FxHashSet<K> = HashSet<K, FxBuild>;

/// Hashes bytes to a well-mixed 64-bit value (for the correlation key).
pub fn hash_bytes(parts: &[&[u8]]) -> u64 {
    let mut h = FxHasher::default();
    for p in parts {
        h.write(p);
        h.write_u8(0xff);
    }
    // A final avalanche (murmur3's fmix64), because the key is used as a hash itself.
    let mut x = h.0;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}
