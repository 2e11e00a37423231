//! The parsed form of one logrus line: [`Record`] and its borrowed [`Value`]s.
//!
//! Everything here borrows from the input line. A value is decoded (Go-unquoted) only when
//! somebody asks for it and only when it actually contains an escape, so the common case
//! allocates nothing.

use std::borrow::Cow;

use smallvec::SmallVec;

/// One value as it appears on the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// An unquoted value (logrus's safe set, or empty).
    Bare(&'a str),
    /// A quoted value; `raw` is the text between the quotes, still escaped.
    Quoted {
        /// The text between the quotes, escapes not yet decoded.
        raw: &'a str,
        /// Whether `raw` contains a backslash, so decoding must allocate.
        escaped: bool,
    },
}

impl<'a> Value<'a> {
    /// The text as written on the line (without the surrounding quotes).
    #[inline]
    pub fn raw(&self) -> &'a str {
        match *self {
            Value::Bare(s) => s,
            Value::Quoted { raw, .. } => raw,
        }
    }

    /// The decoded value: borrowed unless it contains Go escapes.
    #[inline]
    pub fn decoded(&self) -> Cow<'a, str> {
        match *self {
            Value::Bare(s) => Cow::Borrowed(s),
            Value::Quoted {
                raw,
                escaped: false,
            } => Cow::Borrowed(raw),
            Value::Quoted { raw, escaped: true } => Cow::Owned(unquote(raw)),
        }
    }

    /// Whether the decoded value equals `s`, without allocating when it has no escapes.
    pub fn eq_str(&self, s: &str) -> bool {
        match *self {
            Value::Bare(v)
            | Value::Quoted {
                raw: v,
                escaped: false,
            } => v == s,
            Value::Quoted { raw, escaped: true } => unquote(raw) == s,
        }
    }
}

/// Decodes the Go escapes that `strconv.Quote` writes (and the rest that `strconv.Unquote`
/// accepts). `\xNN` and octal escapes are bytes, so the bytes are reassembled first and then
/// decoded as UTF-8, lossily: the log is evidence and we keep what can be kept.
pub fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let Some(off) = memchr::memchr(b'\\', &bytes[i..]) else {
            out.extend_from_slice(&bytes[i..]);
            break;
        };
        out.extend_from_slice(&bytes[i..i + off]);
        i += off + 1;
        let Some(&c) = bytes.get(i) else {
            // A lone trailing backslash (a cut line): keep it as written.
            out.push(b'\\');
            break;
        };
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'\\' | b'"' | b'\'' => out.push(c),
            b'x' => match hex_value(bytes.get(i..i + 2)) {
                Some(v) => {
                    out.push(v as u8);
                    i += 2;
                }
                None => out.extend_from_slice(b"\\x"),
            },
            b'u' | b'U' => {
                let n = if c == b'u' { 4 } else { 8 };
                match hex_value(bytes.get(i..i + n)).and_then(char::from_u32) {
                    Some(ch) => {
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += n;
                    }
                    None => {
                        out.push(b'\\');
                        out.push(c);
                    }
                }
            }
            b'0'..=b'7' => {
                // Go accepts `\NNN` octal (three digits, value < 256).
                let oct = bytes
                    .get(i - 1..i + 2)
                    .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
                match oct.map(|d| d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'))) {
                    Some(v) if v < 256 => {
                        out.push(v as u8);
                        i += 2;
                    }
                    _ => {
                        out.push(b'\\');
                        out.push(c);
                    }
                }
            }
            other => {
                // Not a Go escape: keep both bytes rather than guess.
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

fn hex_value(digits: Option<&[u8]>) -> Option<u32> {
    let digits = digits?;
    digits
        .iter()
        .try_fold(0u32, |acc, &b| Some(acc * 16 + (b as char).to_digit(16)?))
}

/// Log level, as logrus names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `trace`
    Trace,
    /// `debug`
    Debug,
    /// `info`
    Info,
    /// `warning` (logrus prints `Warn()` as `warning`)
    Warning,
    /// `error`
    Error,
    /// `fatal`
    Fatal,
    /// `panic`
    Panic,
}

impl Level {
    /// Parses the text form (`level=` value) or the four-letter TTY form (`WARN`).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "info" | "INFO" => Level::Info,
            "warning" | "warn" | "WARN" => Level::Warning,
            "error" | "ERRO" => Level::Error,
            "debug" | "DEBU" => Level::Debug,
            "trace" | "TRAC" => Level::Trace,
            "fatal" | "FATA" => Level::Fatal,
            "panic" | "PANI" => Level::Panic,
            _ => return None,
        })
    }

    /// The logrus text form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
            Level::Panic => "panic",
        }
    }
}

/// Which logrus layout the line used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// `time="…" level=… msg="…" k=v …` (what EKS ships).
    Logfmt,
    /// `WARN[2019-04-27T20:00:09Z] message   k=v …` (run by hand in a terminal).
    Tty,
}

/// One key/value pair, in line order.
pub type Field<'a> = (&'a str, Value<'a>);

/// Inline capacity for fields: authenticator request lines carry at most about fifteen.
const INLINE_FIELDS: usize = 16;

/// The data keys the analysis reads. They are indexed while the line is parsed, so looking
/// one up is a load instead of a scan over a dozen keys with a string compare each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Known {
    /// `arn=`
    Arn,
    /// `username=`
    Username,
    /// `client=`
    Client,
    /// `error=`
    Error,
    /// `session=`
    Session,
    /// `userid=`
    Userid,
    /// `accesskeyid=`
    Accesskeyid,
    /// `accountid=`
    Accountid,
    /// `stsendpoint=`
    Stsendpoint,
    /// `sts=` (older EKS builds)
    Sts,
    /// `uid=`
    Uid,
    /// `role=` (mapping lines)
    Role,
    /// `user=` (mapping lines)
    User,
    /// `groups=`
    Groups,
}

impl Known {
    const COUNT: usize = 14;

    /// The known key spelled `key`, if any.
    #[inline]
    pub fn of(key: &str) -> Option<Known> {
        // Byte-string patterns compile to a switch on the length, then a few word compares.
        Some(match key.as_bytes() {
            b"arn" => Known::Arn,
            b"username" => Known::Username,
            b"client" => Known::Client,
            b"error" => Known::Error,
            b"session" => Known::Session,
            b"userid" => Known::Userid,
            b"accesskeyid" => Known::Accesskeyid,
            b"accountid" => Known::Accountid,
            b"stsendpoint" => Known::Stsendpoint,
            b"sts" => Known::Sts,
            b"uid" => Known::Uid,
            b"role" => Known::Role,
            b"user" => Known::User,
            b"groups" => Known::Groups,
            _ => return None,
        })
    }
}

/// One parsed logrus line. Borrows from the line; duplicate keys are kept in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Which layout the line used.
    pub form: Form,
    /// Text before the logrus part (a `kubectl logs --prefix`, stern or console prefix).
    pub prefix: Option<&'a str>,
    /// The `time` value as written (RFC 3339 in practice).
    pub time: Option<&'a str>,
    /// The level, when it was recognised.
    pub level: Option<Level>,
    /// The message.
    pub msg: Option<Value<'a>>,
    /// Every key/value pair after the fixed keys, in line order.
    fields: SmallVec<[Field<'a>; INLINE_FIELDS]>,
    /// For each [`Known`] key, 1 + the index in `fields` of its first pair, or 0.
    known: [u32; Known::COUNT],
    /// Stray text after the last pair that is not a pair.
    pub trailing: Option<&'a str>,
    /// The last quoted value had no closing quote (an event cut at the size limit).
    pub truncated: bool,
}

impl<'a> Record<'a> {
    /// A record with nothing in it, to parse into.
    #[inline]
    pub fn empty() -> Record<'a> {
        Record {
            form: Form::Logfmt,
            prefix: None,
            time: None,
            level: None,
            msg: None,
            fields: SmallVec::new(),
            known: [0; Known::COUNT],
            trailing: None,
            truncated: false,
        }
    }

    /// Empties the record, keeping the fields' storage.
    #[inline]
    pub fn clear(&mut self) {
        self.form = Form::Logfmt;
        self.prefix = None;
        self.time = None;
        self.level = None;
        self.msg = None;
        self.fields.clear();
        self.known = [0; Known::COUNT];
        self.trailing = None;
        self.truncated = false;
    }

    /// Appends a data pair, indexing it if its key is [`Known`] and not seen yet.
    #[inline(always)]
    pub fn push(&mut self, key: &'a str, value: Value<'a>) {
        if let Some(k) = Known::of(key) {
            let slot = &mut self.known[k as usize];
            if *slot == 0 {
                // Past u32::MAX pairs the index saturates and `get` falls back to a scan.
                *slot = u32::try_from(self.fields.len() + 1).unwrap_or(u32::MAX);
            }
        }
        self.fields.push((key, value));
    }

    /// Every data pair after the fixed keys, in line order.
    #[inline]
    pub fn fields(&self) -> &[Field<'a>] {
        &self.fields
    }

    /// The first value for a known key among the data fields.
    #[inline]
    pub fn known(&self, key: Known) -> Option<&Value<'a>> {
        match self.known[key as usize] {
            0 => None,
            u32::MAX => self.scan(key_name(key)),
            i => self.fields.get(i as usize - 1).map(|(_, v)| v),
        }
    }

    /// The first value for `key` among the data fields.
    #[inline]
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match Known::of(key) {
            Some(k) => self.known(k),
            None => self.scan(key),
        }
    }

    fn scan(&self, key: &str) -> Option<&Value<'a>> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The message's text as written (escapes not decoded), or "" when there is none.
    pub fn msg_raw(&self) -> &'a str {
        self.msg.map_or("", |m| m.raw())
    }
}

fn key_name(k: Known) -> &'static str {
    match k {
        Known::Arn => "arn",
        Known::Username => "username",
        Known::Client => "client",
        Known::Error => "error",
        Known::Session => "session",
        Known::Userid => "userid",
        Known::Accesskeyid => "accesskeyid",
        Known::Accountid => "accountid",
        Known::Stsendpoint => "stsendpoint",
        Known::Sts => "sts",
        Known::Uid => "uid",
        Known::Role => "role",
        Known::User => "user",
        Known::Groups => "groups",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_decodes_go_escapes() {
        assert_eq!(unquote(r#"a\"b\\c"#), "a\"b\\c");
        assert_eq!(unquote(r"x\n\ty\r"), "x\n\ty\r");
        assert_eq!(unquote(r"\a\b\f\v"), "\u{7}\u{8}\u{c}\u{b}");
        assert_eq!(unquote(r"caf\u00e9 \U0001F600"), "café 😀");
        assert_eq!(unquote(r"\x41\x42"), "AB");
        assert_eq!(unquote(r"\101"), "A");
    }

    #[test]
    fn unquote_reassembles_bytes_then_decodes_utf8() {
        // Go writes invalid UTF-8 byte by byte; a valid sequence split into \x escapes
        // must come back as the character.
        assert_eq!(unquote(r"\xc3\xa9"), "é");
        assert_eq!(unquote(r"\xff!"), "\u{fffd}!");
    }

    #[test]
    fn unquote_keeps_what_it_cannot_decode() {
        assert_eq!(unquote(r"end\"), "end\\");
        assert_eq!(unquote(r"\xZZ"), "\\xZZ");
        assert_eq!(unquote(r"\q"), "\\q");
        assert_eq!(unquote(r"\uD800"), "\\uD800");
    }

    #[test]
    fn value_decodes_only_when_escaped() {
        let v = Value::Quoted {
            raw: "plain text",
            escaped: false,
        };
        assert!(matches!(v.decoded(), Cow::Borrowed("plain text")));
        let v = Value::Quoted {
            raw: r#"say \"hi\""#,
            escaped: true,
        };
        assert_eq!(v.decoded(), "say \"hi\"");
        assert!(v.eq_str("say \"hi\""));
        assert!(Value::Bare("x").eq_str("x"));
    }

    #[test]
    fn level_reads_text_and_tty_forms() {
        assert_eq!(Level::parse("warning"), Some(Level::Warning));
        assert_eq!(Level::parse("WARN"), Some(Level::Warning));
        assert_eq!(Level::parse("ERRO"), Some(Level::Error));
        assert_eq!(Level::parse("loud"), None);
        assert_eq!(Level::Warning.as_str(), "warning");
    }
}
