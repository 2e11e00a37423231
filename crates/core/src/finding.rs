//! What every `eks-authlog.finding/v1` line shares, whichever command writes it (`access` for
//! the access configuration, `fleet` for the logs of many clusters): the stable id and the
//! `--fail-on` rule.

use crate::access::Severity;

/// A finding's stable id, 16 hex digits: the first 64 bits of SHA-256 over `parts`, each
/// followed by a NUL byte, then `tail` (when given) with no separator. Callers hash what
/// identifies the finding (where it is, its kind, whom it is about), never what changes from
/// run to run (counts, times, line numbers), so the same finding keeps its id.
pub fn stable_id(parts: &[&str], tail: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    if let Some(tail) = tail {
        h.update(tail.as_bytes());
    }
    let d = h.finalize();
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `--fail-on NAME` matches a finding: `any`, the finding's kind, its family (fleet
/// findings of failure classes have one), or a severity, which matches that severity and
/// above (`medium` fails on medium and high).
pub fn fails_on(name: &str, kind: &str, family: Option<&str>, severity: Severity) -> bool {
    name == "any"
        || name == kind
        || family == Some(name)
        || Severity::ALL
            .iter()
            .find(|s| s.name() == name)
            .is_some_and(|&s| severity >= s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_16_hex_digits_and_separate_their_parts() {
        let id = stable_id(&["a", "b"], None);
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, stable_id(&["a", "b"], None));
        assert_ne!(id, stable_id(&["ab", ""], None));
        assert_ne!(id, stable_id(&["a", "b"], Some("x")));
    }

    #[test]
    fn fail_on_matches_kind_family_severity_and_any() {
        let high = Severity::High;
        assert!(fails_on("any", "k", None, Severity::Low));
        assert!(fails_on("k", "k", None, Severity::Low));
        assert!(!fails_on("j", "k", None, high));
        assert!(fails_on(
            "mapping",
            "identity_not_mapped",
            Some("mapping"),
            Severity::Low
        ));
        assert!(fails_on("medium", "k", None, high));
        assert!(!fails_on("high", "k", None, Severity::Medium));
    }
}
