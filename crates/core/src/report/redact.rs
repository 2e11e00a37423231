//! `--redact`: stable pseudonyms for account ids, access key ids, IAM unique ids, role
//! session names and e-mail addresses, so output can be pasted into a ticket.
//!
//! Redaction runs on the rendered text, line by line, as the last step before the output:
//! whatever a renderer prints (ARNs, error texts, remedies, JSON), an identifier cannot slip
//! through a field that was forgotten. A pseudonym is a short hash of the value, the same for
//! the same value in every run, so reports can still be compared. Set
//! `EKS_AUTHLOG_REDACT_KEY` to key the hash: without a key, a 12-digit account id could be
//! recovered by trying every number.

use std::io::{self, Write};

/// Replaces identifiers in text with stable pseudonyms.
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    key: Vec<u8>,
}

const KEY_PREFIXES: [&str; 10] = [
    "AKIA", "ASIA", "AROA", "AIDA", "AGPA", "ANPA", "ANVA", "AIPA", "APKA", "ABIA",
];

impl Redactor {
    /// A redactor keyed with `key` (may be empty).
    pub fn new(key: &[u8]) -> Redactor {
        Redactor { key: key.to_vec() }
    }

    fn tag(&self, value: &str) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.key.iter().chain([0u8].iter()).chain(value.as_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{:06x}", h >> 40)
    }

    /// Redacts one piece of text.
    pub fn redact(&self, text: &str) -> String {
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let word = |c: u8| c.is_ascii_alphanumeric();
        while i < b.len() {
            let boundary = i == 0 || !word(b[i - 1]);
            // 12-digit account ids.
            if boundary && b[i].is_ascii_digit() {
                let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 12 && !b.get(i + n).copied().is_some_and(word) {
                    out.push_str(&format!("acct-{}", self.tag(&text[i..i + n])));
                    i += n;
                    continue;
                }
                out.push_str(&text[i..i + n]);
                i += n;
                continue;
            }
            // Access key ids and IAM unique ids: a known prefix and 12+ upper-case letters or digits.
            if boundary
                && b.len() - i >= 16
                && KEY_PREFIXES
                    .iter()
                    .any(|p| b[i..].starts_with(p.as_bytes()))
            {
                let n = b[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                    .count();
                if n >= 16
                    && !b
                        .get(i + n)
                        .copied()
                        .is_some_and(|c| c.is_ascii_lowercase())
                {
                    out.push_str(&format!(
                        "{}-{}",
                        &text[i..i + 4],
                        self.tag(&text[i..i + n])
                    ));
                    i += n;
                    continue;
                }
            }
            // EC2 instance ids: the session names of node roles, also quoted in EC2 errors.
            if boundary && b[i..].starts_with(b"i-") {
                let n = b[i + 2..]
                    .iter()
                    .take_while(|c| c.is_ascii_hexdigit())
                    .count();
                if (n == 8 || n == 17) && !b.get(i + 2 + n).copied().is_some_and(word) {
                    out.push_str(&format!("i-{}", self.tag(&text[i..i + 2 + n])));
                    i += 2 + n;
                    continue;
                }
            }
            // Role session names: `assumed-role/<role>/<session>` and `session=<session>`.
            for marker in ["assumed-role/", "session=", "\"session\":\""] {
                if b[i..].starts_with(marker.as_bytes()) {
                    let start = i + marker.len();
                    let session_from = if marker == "assumed-role/" {
                        match text[start..].find(['/', '"', ' ']) {
                            Some(p) if b[start + p] == b'/' => start + p + 1,
                            _ => break,
                        }
                    } else {
                        start
                    };
                    let n = text[session_from..]
                        .find(['"', ' ', ',', '\n', '\\'])
                        .unwrap_or(text.len() - session_from);
                    out.push_str(&text[i..session_from]);
                    if n > 0 {
                        out.push_str(&format!(
                            "session-{}",
                            self.tag(&text[session_from..session_from + n])
                        ));
                    }
                    i = session_from + n;
                    break;
                }
            }
            if i >= b.len() {
                break;
            }
            // E-mail addresses (SSO session names): redact the local part and domain.
            if b[i] == b'@' && i > 0 && word(b[i - 1]) {
                let start = out
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || "._+-".contains(c)))
                    .map_or(0, |p| p + 1);
                let domain = text[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || ".-".contains(c)))
                    .unwrap_or(text.len() - i - 1);
                if domain > 0 && text[i + 1..i + 1 + domain].contains('.') {
                    let local = out[start..].to_owned();
                    out.truncate(start);
                    out.push_str(&format!(
                        "user-{}@example.invalid",
                        self.tag(&format!("{local}@{}", &text[i + 1..i + 1 + domain]))
                    ));
                    i += 1 + domain;
                    continue;
                }
            }
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
        out
    }
}

/// A writer that redacts each complete line before passing it on.
pub struct RedactingWriter<W: Write> {
    inner: W,
    redactor: Redactor,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, redactor: Redactor) -> RedactingWriter<W> {
        RedactingWriter {
            inner,
            redactor,
            pending: Vec::new(),
        }
    }

    fn drain_lines(&mut self, all: bool) -> io::Result<()> {
        while let Some(p) = memchr::memchr(b'\n', &self.pending)
            .or((all && !self.pending.is_empty()).then(|| self.pending.len() - 1))
        {
            let line: Vec<u8> = self.pending.drain(..=p).collect();
            let text = String::from_utf8_lossy(&line);
            self.inner
                .write_all(self.redactor.redact(&text).as_bytes())?;
        }
        Ok(())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.drain_lines(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain_lines(true)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_accounts_keys_sessions_and_emails() {
        let r = Redactor::new(b"");
        let line = r#"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com accesskeyid=ASIAEXAMPLEEXAMPLE12 userid=AROAEXAMPLEEXAMPLE123 session=i-0123456789abcdef0 node i-0fedcba9876543210: denied"#;
        let out = r.redact(line);
        for secret in [
            "111122223333",
            "alice",
            "example.com",
            "ASIAEXAMPLEEXAMPLE12",
            "AROAEXAMPLEEXAMPLE123",
            "i-0123456789abcdef0",
            "i-0fedcba9876543210",
        ] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
        assert!(out.contains("arn:aws:sts::acct-"));
        assert!(
            out.contains("accesskeyid=ASIA-"),
            "the key type stays visible: {out}"
        );
        assert!(
            out.contains("AWSReservedSSO_Admin_0123456789abcdef/session-"),
            "role names stay: {out}"
        );
    }

    #[test]
    fn pseudonyms_are_stable_and_keyed() {
        let a = Redactor::new(b"");
        assert_eq!(a.redact("111122223333"), a.redact("111122223333"));
        assert_ne!(a.redact("111122223333"), a.redact("444455556666"));
        assert_ne!(
            a.redact("111122223333"),
            Redactor::new(b"k").redact("111122223333")
        );
    }

    #[test]
    fn leaves_other_numbers_and_text_alone() {
        let r = Redactor::new(b"");
        let text = "port 127.0.0.1:51326 count 1234567890123 time 2026-01-15T09:30:00Z café";
        assert_eq!(r.redact(text), text);
    }

    #[test]
    fn json_session_fields_are_redacted() {
        let r = Redactor::new(b"");
        let out = r.redact(r#"{"session":"EKSGetTokenAuth","userid":"AIDAEXAMPLEEXAMPLE789"}"#);
        assert!(
            !out.contains("EKSGetTokenAuth") && !out.contains("EXAMPLE789"),
            "{out}"
        );
    }

    #[test]
    fn the_writer_redacts_line_by_line() {
        let mut buf = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut buf, Redactor::new(b""));
            w.write_all(b"acct 1111222").unwrap();
            w.write_all(b"23333\nnext").unwrap();
            w.flush().unwrap();
        }
        let s = String::from_utf8(buf).unwrap();
        assert!(s.starts_with("acct acct-") && s.ends_with("\nnext"), "{s}");
    }
}
