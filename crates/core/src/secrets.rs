//! Credentials that log texts can quote, and how they are masked under every output. A
//! bottom layer: the analysis masks its examples, the renderers their fields.

use std::borrow::Cow;

/// What a masked credential or secret value is replaced with.
pub const MASK: &str = "<masked>";

/// Masks the credentials an error text can quote, under every output: the
/// `X-Amz-Security-Token` and `X-Amz-Signature` of a pre-signed STS URL (Go's HTTP client
/// prints the whole URL when the call fails) and a `k8s-aws-v1.` bearer token, which is such
/// a URL in base64. Borrows the text when there is none.
pub fn mask_credentials(text: &str) -> Cow<'_, str> {
    const MARKERS: [&str; 3] = ["X-Amz-Security-Token=", "X-Amz-Signature=", "k8s-aws-v1."];
    let has = |t: &str| MARKERS.iter().any(|m| t.contains(m)) || contains_ci_marker(t);
    if !has(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for m in MARKERS {
            if rest.len() >= m.len()
                && rest.is_char_boundary(m.len())
                && rest[..m.len()].eq_ignore_ascii_case(m)
            {
                out.push_str(&rest[..m.len()]);
                let after = &rest[m.len()..];
                // Up to the end of the parameter (URL) or the token (base64url).
                let n = after
                    .find(|c: char| {
                        !(c.is_ascii_alphanumeric() || "%-_.~+/=".contains(c)) || c == '&'
                    })
                    .unwrap_or(after.len());
                if n > 0 {
                    out.push_str(MASK);
                }
                rest = &after[n..];
                continue 'scan;
            }
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The markers in another case (`x-amz-security-token=`, as some clients lower-case them).
fn contains_ci_marker(t: &str) -> bool {
    t.contains("x-amz-") || t.contains("X-AMZ-")
}
