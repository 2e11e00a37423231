//! The logrus `TextFormatter` grammar, as nom parsers.
//!
//! ```text
//! pair   := key '=' value
//! key    := 1*( any byte except ' ' '=' )
//! value  := '"' *( '\' any | any-but-'"'-or-'\' ) '"'   ; Go-quoted
//!         | *( any byte except ' ' )                    ; bare, may be empty
//! pairs  := pair *( 1*' ' pair )
//! ```
//!
//! The combinators are private to `parse`, small, and named after the rule they implement.
//! They are generic over the nom error type so tests can ask for verbose errors while the hot
//! path uses nom's cheapest one.
//!
//! Every rule ends at one of four ASCII bytes (space, `=`, `"`, `\`), so the scans look for
//! them eight bytes at a time in a `u64` ([`find`]) instead of calling `memchr` per token:
//! authenticator values are mostly 4 to 90 bytes long, where a function call and SIMD set-up
//! per value cost more than the scan itself. Splitting at an ASCII byte always lands on a
//! `char` boundary.

use nom::{
    IResult,
    error::{ErrorKind, ParseError},
};

use super::record::{Field, Value};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `word` that equals `c`. Bytes above a match may be flagged
/// spuriously (a borrow ripples up), but the lowest flagged byte is always a true match,
/// which is all [`find`] uses.
#[inline(always)]
fn matches(word: u64, c: u8) -> u64 {
    let x = word ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Index of the first byte of `b` that is `a` or `c`, or `b.len()`.
///
/// On x86-64, SSE2 (part of the base instruction set, so no feature detection) compares 16
/// bytes per step; the final partial block is read as the last 16 bytes of `b`, with the
/// bytes already searched masked off, so only inputs shorter than 16 bytes fall back to words.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn find(b: &[u8], a: u8, c: u8) -> usize {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    if b.len() < 16 {
        return find_words(b, a, c);
    }
    let (va, vc) = (set_splat_i8_m128i(a as i8), set_splat_i8_m128i(c as i8));
    let hits = |block: &[u8; 16]| {
        let v = load_unaligned_m128i(block);
        move_mask_i8_m128i(bitor_m128i(
            cmp_eq_mask_i8_m128i(v, va),
            cmp_eq_mask_i8_m128i(v, vc),
        )) as u32
    };
    let mut i = 0;
    while let Some(block) = b.get(i..).and_then(|r| r.first_chunk::<16>()) {
        let m = hits(block);
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    // The last 16 bytes, less the ones the loop already searched.
    let start = b.len() - 16;
    match b.get(start..).and_then(|r| r.first_chunk::<16>()) {
        Some(block) if i < b.len() => {
            let m = hits(block) >> (i - start);
            if m != 0 {
                i + m.trailing_zeros() as usize
            } else {
                b.len()
            }
        }
        _ => b.len(),
    }
}

/// Index of the first byte of `b` that is `a` or `c`, or `b.len()`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(super) fn find(b: &[u8], a: u8, c: u8) -> usize {
    find_words(b, a, c)
}

/// [`find`], eight bytes at a time in a `u64`.
#[inline(always)]
fn find_words(b: &[u8], a: u8, c: u8) -> usize {
    let mut i = 0;
    while let Some(chunk) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let word = u64::from_le_bytes(*chunk);
        let m = matches(word, a) | matches(word, c);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&x) = b.get(i) {
        if x == a || x == c {
            return i;
        }
        i += 1;
    }
    b.len()
}

/// A key: one or more bytes up to `=` or a space.
#[inline(always)]
pub(super) fn key<'a, E: ParseError<&'a str>>(i: &'a str) -> IResult<&'a str, &'a str, E> {
    let n = find(i.as_bytes(), b' ', b'=');
    if n == 0 {
        return Err(nom::Err::Error(E::from_error_kind(i, ErrorKind::TakeTill1)));
    }
    Ok((&i[n..], &i[..n]))
}

/// An unquoted value: everything up to the next space; may be empty (`session= userid=…`).
#[inline(always)]
pub(super) fn bare_value<'a, E: ParseError<&'a str>>(i: &'a str) -> IResult<&'a str, Value<'a>, E> {
    let n = find(i.as_bytes(), b' ', b' ');
    Ok((&i[n..], Value::Bare(&i[..n])))
}

/// A quoted value. The output's flag is `false` when the closing quote is missing: the line
/// was cut (CloudWatch's event size limit), and the value runs to the end of the line.
#[inline(always)]
pub(super) fn quoted_value<'a, E: ParseError<&'a str>>(
    i: &'a str,
) -> IResult<&'a str, (Value<'a>, bool), E> {
    let Some(body) = i.strip_prefix('"') else {
        return Err(nom::Err::Error(E::from_error_kind(i, ErrorKind::Char)));
    };
    let bytes = body.as_bytes();
    let mut pos = 0;
    let mut escaped = false;
    loop {
        pos += find(&bytes[pos..], b'"', b'\\');
        match bytes.get(pos) {
            Some(b'"') => {
                let value = Value::Quoted {
                    raw: &body[..pos],
                    escaped,
                };
                return Ok((&body[pos + 1..], (value, true)));
            }
            Some(_) => {
                // A backslash escapes the next byte, whatever it is; stepping over it keeps
                // `\"` inside the value.
                escaped = true;
                pos += 2;
                if pos >= bytes.len() {
                    return Ok(("", (Value::Quoted { raw: body, escaped }, false)));
                }
            }
            None => return Ok(("", (Value::Quoted { raw: body, escaped }, false))),
        }
    }
}

/// One `key=value` pair. The flag is `false` when the value was cut short.
#[inline(always)]
pub(super) fn pair<'a, E: ParseError<&'a str>>(
    i: &'a str,
) -> IResult<&'a str, (Field<'a>, bool), E> {
    let (rest, k) = key(i)?;
    let Some(rest) = rest.strip_prefix('=') else {
        return Err(nom::Err::Error(E::from_error_kind(rest, ErrorKind::Char)));
    };
    if rest.starts_with('"') {
        let (rest, (v, closed)) = quoted_value(rest)?;
        // A closing quote must end the value: `a="x"y` is not logrus output.
        if closed && !(rest.is_empty() || rest.starts_with(' ')) {
            return Err(nom::Err::Error(E::from_error_kind(rest, ErrorKind::Space)));
        }
        Ok((rest, ((k, v), closed)))
    } else {
        let (rest, v) = bare_value(rest)?;
        Ok((rest, ((k, v), true)))
    }
}

/// What [`pairs`] found after the last pair.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tail<'a> {
    /// Text that is not a pair (stray trailing text).
    pub trailing: Option<&'a str>,
    /// The last value was cut (no closing quote).
    pub truncated: bool,
}

/// Space-separated pairs until the end of the line, each handed to `push` as it is read (the
/// caller decides where it goes: no intermediate collection, no `Extend` machinery per pair).
/// Stops (without failing) at the first token that is not a pair and hands it back as
/// trailing text.
#[inline]
pub(super) fn pairs<'a, E: ParseError<&'a str>>(
    mut i: &'a str,
    mut push: impl FnMut(Field<'a>),
) -> IResult<&'a str, Tail<'a>, E> {
    loop {
        // Logrus writes one space between pairs; anything else is hand-edited input.
        while let Some(rest) = i.strip_prefix(' ') {
            i = rest;
        }
        if i.is_empty() {
            return Ok((i, Tail::default()));
        }
        match pair::<E>(i) {
            Ok((rest, (field, closed))) => {
                push(field);
                if !closed {
                    return Ok((
                        rest,
                        Tail {
                            trailing: None,
                            truncated: true,
                        },
                    ));
                }
                i = rest;
            }
            Err(nom::Err::Error(_)) => {
                return Ok((
                    "",
                    Tail {
                        trailing: Some(i.trim_end()),
                        truncated: false,
                    },
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use nom_language::error::VerboseError;

    use super::*;

    type R<'a, O> = IResult<&'a str, O, VerboseError<&'a str>>;

    #[test]
    fn find_agrees_with_a_byte_loop_at_every_length_and_offset() {
        // Every length around the 8- and 16-byte steps, the match at every position (or
        // none), with the other needle and look-alike bytes around it.
        for len in 0..70 {
            for at in 0..=len {
                for (needle, noise) in [(b'"', b'\\'), (b' ', b'='), (b'=', b'"')] {
                    let mut b = vec![b'a'; len];
                    for (i, x) in b.iter_mut().enumerate() {
                        if i % 7 == 3 {
                            *x = needle ^ 1; // one bit off a match
                        }
                    }
                    if at < len {
                        b[at] = needle;
                    }
                    let want = b.iter().position(|&x| x == needle || x == noise);
                    assert_eq!(
                        find(&b, needle, noise),
                        want.unwrap_or(len),
                        "len {len} at {at}"
                    );
                    assert_eq!(find_words(&b, needle, noise), want.unwrap_or(len));
                }
            }
        }
        // High bytes (UTF-8 continuation) never match an ASCII needle.
        let text = "é".repeat(20) + "\"";
        assert_eq!(find(text.as_bytes(), b'"', b'\\'), 40);
    }

    #[test]
    fn key_stops_at_equals_and_space() {
        let r: R<&str> = key("level=info");
        assert_eq!(r.unwrap(), ("=info", "level"));
        let r: R<&str> = key("=x");
        assert!(r.is_err(), "a key cannot be empty");
    }

    #[test]
    fn bare_value_may_be_empty() {
        let r: R<Value> = bare_value(" userid=AIDA");
        assert_eq!(r.unwrap(), (" userid=AIDA", Value::Bare("")));
        let r: R<Value> = bare_value("alice@example.com next");
        assert_eq!(r.unwrap(), (" next", Value::Bare("alice@example.com")));
    }

    #[test]
    fn quoted_value_keeps_escaped_quotes_and_equals() {
        let r: R<(Value, bool)> = quoted_value(r#""a \"b\" = c" rest"#);
        let (rest, (v, closed)) = r.unwrap();
        assert_eq!(rest, " rest");
        assert!(closed);
        assert_eq!(
            v,
            Value::Quoted {
                raw: r#"a \"b\" = c"#,
                escaped: true
            }
        );
        assert_eq!(v.decoded(), r#"a "b" = c"#);
    }

    #[test]
    fn quoted_value_without_escapes_is_not_marked_escaped() {
        let r: R<(Value, bool)> = quoted_value(r#""127.0.0.1:51326""#);
        assert_eq!(
            r.unwrap().1,
            (
                Value::Quoted {
                    raw: "127.0.0.1:51326",
                    escaped: false
                },
                true
            )
        );
    }

    #[test]
    fn quoted_value_tolerates_a_missing_close_quote() {
        let r: R<(Value, bool)> = quoted_value(r#""content is {\"mapRoles"#);
        let (rest, (v, closed)) = r.unwrap();
        assert_eq!(rest, "");
        assert!(!closed);
        assert_eq!(v.raw(), r#"content is {\"mapRoles"#);
        // A backslash as the very last byte must not step past the end.
        let r: R<(Value, bool)> = quoted_value(r#""cut here\"#);
        assert!(!r.unwrap().1.1);
    }

    #[test]
    fn pair_reads_both_value_forms() {
        let r: R<(Field, bool)> = pair("method=POST path=/authenticate");
        assert_eq!(
            r.unwrap(),
            (
                " path=/authenticate",
                (("method", Value::Bare("POST")), true)
            )
        );
        let r: R<(Field, bool)> = pair(r#"groups="[system:masters]""#);
        let (_, ((k, v), _)) = r.unwrap();
        assert_eq!((k, v.raw()), ("groups", "[system:masters]"));
    }

    #[test]
    fn pair_rejects_text_glued_to_a_closing_quote() {
        let r: R<(Field, bool)> = pair(r#"a="x"y"#);
        assert!(r.is_err());
    }

    #[test]
    fn pairs_collects_in_order_and_keeps_duplicates() {
        let mut out = Vec::new();
        let r: R<Tail> = pairs("a=1 b=\"two\" a=3", |f| out.push(f));
        assert_eq!(r.unwrap().1, Tail::default());
        let keys: Vec<_> = out.iter().map(|(k, v)| (*k, v.raw())).collect();
        assert_eq!(keys, [("a", "1"), ("b", "two"), ("a", "3")]);
    }

    #[test]
    fn pairs_hands_back_stray_trailing_text() {
        let mut out = Vec::new();
        let r: R<Tail> = pairs("a=1 b=2 stray words  ", |f| out.push(f));
        assert_eq!(
            r.unwrap().1,
            Tail {
                trailing: Some("stray words"),
                truncated: false
            }
        );
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn pairs_reports_truncation() {
        let mut out = Vec::new();
        let r: R<Tail> = pairs(r#"a=1 msg="cut"#, |f| out.push(f));
        assert!(r.unwrap().1.truncated);
        assert_eq!(out[1].1.raw(), "cut");
    }
}
