//! Details of a failed STS `GetCallerIdentity` call, read out of the decoded `error` text.
//!
//! This module owns scanning (aws-iam-authenticator `pkg/token/token.go`,
//! `tokenVerifier.Verify`): the HTTP status from `expected 200, got NNN`, the endpoint
//! region from `on <region|global> endpoint`, and `Code`, `Message`,
//! `Type` and `RequestId` from the STS error body (`{"Error":{"Code":…},"RequestId":…}`, or
//! the XML form, accepted defensively). It does not decide the failure class; `classify`
//! does. Scanning is by hand on borrowed slices because it runs on every denied line and
//! the body may be cut or followed by nothing; nothing here can panic on odd input.

use crate::bytes;

/// What could be read from an STS failure. Every field is optional because each server
/// version logs a different subset (no body before v0.5.0, no region before v0.6.28).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct StsFailure<'a> {
    /// HTTP status STS answered with (`expected 200, got 403` → 403).
    pub status: Option<u16>,
    /// The endpoint region (`us-west-2`), or `global` for `sts.amazonaws.com` (v0.6.28+).
    pub region: Option<&'a str>,
    /// The raw response body, after `Body: ` (or the whole throttled text).
    pub body: Option<&'a str>,
    /// `Error.Code`, e.g. `InvalidClientTokenId`.
    pub code: Option<&'a str>,
    /// `Error.Message`, still JSON-escaped (STS messages rarely contain escapes).
    pub message: Option<&'a str>,
    /// `Error.Type`: `Sender` or `Receiver`.
    #[serde(rename = "type")]
    pub error_type: Option<&'a str>,
    /// `RequestId`: what AWS Support asks for.
    pub request_id: Option<&'a str>,
}

impl<'a> StsFailure<'a> {
    /// Scans an STS failure text: either the detail after `sts getCallerIdentity failed: `
    /// (`error from AWS (expected 200, got 403) on us-west-2 endpoint. Body: {…}`,
    /// `error during GET: … on global endpoint`) or a bare body (the throttled form).
    pub fn parse(text: &'a str) -> StsFailure<'a> {
        let (head, body) = match bytes::find(text.as_bytes(), b". Body: ") {
            Some(i) => (&text[..i], Some(&text[i + ". Body: ".len()..])),
            None if looks_like_body(text) => ("", Some(text)),
            None => (text, None),
        };
        let mut out = StsFailure {
            status: status(head),
            region: region(head),
            body,
            ..StsFailure::default()
        };
        if let Some(body) = body {
            out.code = field(body, "Code");
            out.message = field(body, "Message");
            out.error_type = field(body, "Type");
            out.request_id = field(body, "RequestId");
        }
        out
    }

    /// Whether the status is a 5xx (STS-side failure).
    pub fn is_server_error(&self) -> bool {
        matches!(self.status, Some(500..=599))
    }
}

fn looks_like_body(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with('{') || t.starts_with('<')
}

/// Reads `NNN` after `got ` in `expected 200, got NNN`.
fn status(head: &str) -> Option<u16> {
    let i = bytes::find(head.as_bytes(), b"expected 200, got ")?;
    let digits = &head.as_bytes()[i + "expected 200, got ".len()..];
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 3 {
        return None;
    }
    std::str::from_utf8(&digits[..n]).ok()?.parse().ok()
}

/// Reads `<region>` from a trailing ` on <region> endpoint` (v0.6.28+, `pkg/token/token.go`,
/// `tokenVerifier.Verify`). The suffix is at the very end of the text before `. Body:`, so a
/// cause that happens to contain ` on ` elsewhere does not confuse it.
fn region(head: &str) -> Option<&str> {
    let before = head.trim_end().strip_suffix(" endpoint")?;
    let i = before.rfind(" on ")?;
    let region = &before[i + " on ".len()..];
    let ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(region)
}

/// Finds `"<name>":"<value>"` (JSON, whitespace after the colon allowed) or
/// `<name>value</name>` (XML) and returns the raw value.
fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    json_field(body, name).or_else(|| xml_field(body, name))
}

fn json_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let bytes = body.as_bytes();
    let mut from = 0;
    while let Some(rel) = find_quoted_key(&bytes[from..], name) {
        let key_start = from + rel;
        let mut i = key_start + name.len() + 2;
        from = key_start + 1;
        // A key inside a JSON string would be preceded by an escaping backslash.
        if key_start > 0 && bytes[key_start - 1] == b'\\' {
            continue;
        }
        i = skip_ws(bytes, i);
        if bytes.get(i) != Some(&b':') {
            continue;
        }
        i = skip_ws(bytes, i + 1);
        if bytes.get(i) != Some(&b'"') {
            continue;
        }
        let start = i + 1;
        let mut j = start;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b'"' => return body.get(start..j),
                _ => j += 1,
            }
        }
        // Unterminated (a cut line): give what there is rather than nothing.
        return body.get(start..);
    }
    None
}

fn find_quoted_key(hay: &[u8], name: &str) -> Option<usize> {
    let mut from = 0;
    loop {
        let i = from + bytes::find(&hay[from..], name.as_bytes())?;
        let quoted_before = i > 0 && hay[i - 1] == b'"';
        let quoted_after = hay.get(i + name.len()) == Some(&b'"');
        if quoted_before && quoted_after {
            return Some(i - 1);
        }
        from = i + 1;
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
        i += 1;
    }
    i
}

fn xml_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let bytes = body.as_bytes();
    let mut from = 0;
    loop {
        let rel = bytes::find(&bytes[from..], name.as_bytes())?;
        let i = from + rel;
        from = i + 1;
        let open = i > 0 && bytes[i - 1] == b'<' && bytes.get(i + name.len()) == Some(&b'>');
        if !open {
            continue;
        }
        let start = i + name.len() + 1;
        let end = bytes::find(&bytes[start..], b"</")?;
        return body.get(start..start + end);
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn public_invalid_client_token_line() {
        // Public EKS line, decoded (AWS re:Post
        // knowledge-center/eks-api-server-unauthorized-error).
        let f = StsFailure::parse(
            r#"error from AWS (expected 200, got 403). Body: {"Error":{"Code":"InvalidClientTokenId","Message":"The security token included in the request is invalid.","Type":"Sender"},"RequestId":"a9068247-f1ab-47ef-b1b1-cda46a27be0e"}"#,
        );
        assert_eq!(f.status, Some(403));
        assert_eq!(f.region, None);
        assert_eq!(f.code, Some("InvalidClientTokenId"));
        assert_eq!(
            f.message,
            Some("The security token included in the request is invalid.")
        );
        assert_eq!(f.error_type, Some("Sender"));
        assert_eq!(f.request_id, Some("a9068247-f1ab-47ef-b1b1-cda46a27be0e"));
    }

    #[rstest]
    #[case("error from AWS (expected 200, got 403)", Some(403), None)]
    #[case(
        "error from AWS (expected 200, got 503) on us-west-2 endpoint. Body: {}",
        Some(503),
        Some("us-west-2")
    )]
    #[case(
        "error from AWS (expected 200, got 307) on global endpoint",
        Some(307),
        Some("global")
    )]
    #[case(
        "error during GET: context deadline exceeded (Client.Timeout exceeded while awaiting headers) on us-west-2 endpoint",
        None,
        Some("us-west-2")
    )]
    #[case(
        "error during GET: dial tcp: lookup sts.amazonaws.com: no such host",
        None,
        None
    )]
    #[case("error from AWS (expected 200, got ", None, None)]
    #[case("error from AWS (expected 200, got 40000)", None, None)]
    fn status_and_region(
        #[case] text: &str,
        #[case] status: Option<u16>,
        #[case] region: Option<&str>,
    ) {
        let f = StsFailure::parse(text);
        assert_eq!((f.status, f.region), (status, region));
    }

    #[test]
    fn throttled_bare_body() {
        let f = StsFailure::parse(
            r#"{"Error":{"Code":"Throttling","Message":"Rate exceeded","Type":"Sender"},"RequestId":"00000000-0000-0000-0000-000000000000"}"#,
        );
        assert_eq!(f.code, Some("Throttling"));
        assert_eq!(f.message, Some("Rate exceeded"));
        assert_eq!(f.request_id, Some("00000000-0000-0000-0000-000000000000"));
    }

    #[test]
    fn message_with_escaped_quote_and_key_text() {
        let f = StsFailure::parse(
            r#"x. Body: {"Error":{"Message":"say \"Code\": no","Code" : "AccessDenied"},"RequestId":"r-1"}"#,
        );
        assert_eq!(f.code, Some("AccessDenied"));
        assert_eq!(f.message, Some(r#"say \"Code\": no"#));
        assert_eq!(f.request_id, Some("r-1"));
    }

    #[test]
    fn xml_body() {
        let f = StsFailure::parse(
            "error from AWS (expected 200, got 403). Body: <ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Signature expired: 20260115T090000Z is now earlier than 20260115T091500Z (20260115T093000Z - 15 min.)</Message></Error><RequestId>r-2</RequestId></ErrorResponse>",
        );
        assert_eq!(f.code, Some("SignatureDoesNotMatch"));
        assert_eq!(f.error_type, Some("Sender"));
        assert!(f.message.unwrap().starts_with("Signature expired:"));
        assert_eq!(f.request_id, Some("r-2"));
    }

    #[test]
    fn cut_body_keeps_what_there_is() {
        let f = StsFailure::parse(
            r#"error from AWS (expected 200, got 403). Body: {"Error":{"Code":"ExpiredTo"#,
        );
        assert_eq!(f.code, Some("ExpiredTo"));
        assert_eq!(f.message, None);
    }

    #[test]
    fn empty_and_garbage() {
        assert_eq!(StsFailure::parse(""), StsFailure::default());
        let f = StsFailure::parse("{\"Code\"\"Code\":\"");
        assert_eq!(f.code, Some(""));
    }
}
