//! Merging the states of consecutive pieces of input.
//!
//! Every accumulator of the analysis implements [`Merge`] beside its fields, so a piece of
//! input read on another thread joins the whole the way one pass would have left it. Merges
//! are ordered: `later` is the state of the input that follows `self`'s. Each implementation
//! destructures `later` field by field, so a field added without a rule for merging it does
//! not compile, rather than making the report depend on `--threads`.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hash};

/// State that can absorb the state of the input that follows it.
pub trait Merge {
    /// Appends `later`, the state of the input right after this one's. Merging every piece
    /// in input order gives the state of one pass over the whole.
    fn merge(&mut self, later: Self);
}

/// Counters add.
impl Merge for u64 {
    #[inline]
    fn merge(&mut self, later: u64) {
        *self += later;
    }
}

/// Keys of either side, with the values of shared keys merged.
impl<K: Ord, V: Merge + Default> Merge for BTreeMap<K, V> {
    fn merge(&mut self, later: Self) {
        for (k, v) in later {
            self.entry(k).or_default().merge(v);
        }
    }
}

/// Keys of either side, with the values of shared keys merged.
impl<K: Hash + Eq, V: Merge + Default, S: BuildHasher> Merge for hashbrown::HashMap<K, V, S> {
    fn merge(&mut self, later: Self) {
        for (k, v) in later {
            self.entry(k).or_default().merge(v);
        }
    }
}

/// Keys of either side, with the values of shared keys merged.
impl<K: Hash + Eq, V: Merge + Default, S: BuildHasher> Merge
    for std::collections::HashMap<K, V, S>
{
    fn merge(&mut self, later: Self) {
        for (k, v) in later {
            self.entry(k).or_default().merge(v);
        }
    }
}

/// The union.
impl<T: Ord> Merge for BTreeSet<T> {
    fn merge(&mut self, later: Self) {
        self.extend(later);
    }
}

/// Element-wise, for fixed tables of counters.
impl<T: Merge, const N: usize> Merge for [T; N] {
    fn merge(&mut self, later: Self) {
        for (a, b) in self.iter_mut().zip(later) {
            a.merge(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_merge_their_shared_keys_and_keep_the_others() {
        let mut a = BTreeMap::from([("x", 1u64), ("y", 2)]);
        Merge::merge(&mut a, BTreeMap::from([("y", 3), ("z", 4)]));
        assert_eq!(a, BTreeMap::from([("x", 1), ("y", 5), ("z", 4)]));
        let mut h = std::collections::HashMap::from([("k", BTreeSet::from([1]))]);
        h.merge(std::collections::HashMap::from([(
            "k",
            BTreeSet::from([2]),
        )]));
        assert_eq!(h["k"], BTreeSet::from([1, 2]));
        let mut t = [1u64, 2];
        t.merge([10, 20]);
        assert_eq!(t, [11, 22]);
    }
}
