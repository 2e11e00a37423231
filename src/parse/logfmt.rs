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
//! path uses nom's cheapest one. Quoted values are scanned with `memchr`, which is what makes
//! the parser fast on long `error=` values.

use nom::{
    IResult, Parser,
    character::complete::char,
    error::{ErrorKind, ParseError},
};

use super::record::{Field, Value};

/// A key: one or more bytes up to `=` or a space.
///
/// Scanned byte by byte rather than with `take_till1`, which decodes `char`s: keys are short
/// ASCII words and this runs a dozen times per line. Both stop bytes are ASCII, so the split
/// is always on a char boundary.
pub(super) fn key<'a, E: ParseError<&'a str>>(i: &'a str) -> IResult<&'a str, &'a str, E> {
    let n = i
        .bytes()
        .position(|c| c == b' ' || c == b'=')
        .unwrap_or(i.len());
    if n == 0 {
        return Err(nom::Err::Error(E::from_error_kind(i, ErrorKind::TakeTill1)));
    }
    Ok((&i[n..], &i[..n]))
}

/// An unquoted value: everything up to the next space; may be empty (`session= userid=…`).
pub(super) fn bare_value<'a, E: ParseError<&'a str>>(i: &'a str) -> IResult<&'a str, Value<'a>, E> {
    let n = memchr::memchr(b' ', i.as_bytes()).unwrap_or(i.len());
    Ok((&i[n..], Value::Bare(&i[..n])))
}

/// A quoted value. The output's flag is `false` when the closing quote is missing: the line
/// was cut (CloudWatch's event size limit), and the value runs to the end of the line.
pub(super) fn quoted_value<'a, E: ParseError<&'a str>>(
    i: &'a str,
) -> IResult<&'a str, (Value<'a>, bool), E> {
    let (body, _) = char('"').parse(i)?;
    let bytes = body.as_bytes();
    let mut pos = 0;
    let mut escaped = false;
    loop {
        match memchr::memchr2(b'"', b'\\', &bytes[pos..]) {
            Some(off) if bytes[pos + off] == b'"' => {
                let end = pos + off;
                let value = Value::Quoted {
                    raw: &body[..end],
                    escaped,
                };
                return Ok((&body[end + 1..], (value, true)));
            }
            Some(off) => {
                // A backslash escapes the next byte, whatever it is; stepping over it keeps
                // `\"` inside the value.
                escaped = true;
                pos += off + 2;
                if pos >= bytes.len() {
                    return Ok(("", (Value::Quoted { raw: body, escaped }, false)));
                }
            }
            None => return Ok(("", (Value::Quoted { raw: body, escaped }, false))),
        }
    }
}

/// One `key=value` pair. The flag is `false` when the value was cut short.
pub(super) fn pair<'a, E: ParseError<&'a str>>(
    i: &'a str,
) -> IResult<&'a str, (Field<'a>, bool), E> {
    let (rest, k) = key(i)?;
    let (rest, _) = char('=').parse(rest)?;
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
        i = &i[i.bytes().take_while(|&c| c == b' ').count()..];
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
