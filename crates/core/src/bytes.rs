//! Substring search for the short texts of one log line.

/// The first index of `needle` in `hay`.
///
/// `memchr::memmem::find` builds a searcher (needle analysis, SIMD prefilter) on every call,
/// which costs more than searching one error message of a few hundred bytes: profiles showed
/// the set-up alone at several percent of `report`. This looks for the needle's first byte
/// with `memchr` and compares the rest in place. The needles here are fixed phrases without
/// self-repeating prefixes, so the search stays linear in practice.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    let mut at = 0;
    while let Some(p) = hay.get(at..).and_then(|h| memchr::memchr(first, h)) {
        let i = at + p;
        if hay.get(i + 1..).is_some_and(|h| h.starts_with(rest)) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn finds_the_first_occurrence() {
        assert_eq!(find(b"a. Body: x. Body: y", b". Body: "), Some(1));
        assert_eq!(find(b"aab", b"ab"), Some(1));
        assert_eq!(find(b"abc", b""), Some(0));
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(find(b"ab", b"abc"), None);
        assert_eq!(find(b"xxab", b"ab"), Some(2));
    }

    proptest! {
        #[test]
        fn agrees_with_memmem(hay in "[ab. ]{0,40}", needle in "[ab. ]{0,4}") {
            prop_assert_eq!(
                find(hay.as_bytes(), needle.as_bytes()),
                memchr::memmem::find(hay.as_bytes(), needle.as_bytes())
            );
        }
    }
}
