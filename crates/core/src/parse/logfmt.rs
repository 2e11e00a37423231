//! The logrus `TextFormatter` grammar, as nom 8 parsers.
//!
//! Each rule is the function of the same name, built from nom combinators; the rules marked
//! *scan* are primitive parsers (a byte search) that the combinators call like any other.
//!
//! ```text
//! start        := &logfmt_head | &tty_head
//!               | prefix_to(" time=\"") | prefix_to(" level=") | tty_prefix
//! logfmt_head  := "time=\"" | "level="
//! tty_head     := tty_level '[' any
//! tty_level    := "INFO" | "WARN" | "ERRO" | "DEBU" | "TRAC" | "FATA" | "PANI"
//!
//! logfmt       := 1*( spaces pair ) spaces [ trailing ]
//! tty          := tty_level '[' tty_time ']' [ ' ' ] tty_message pairs
//! pairs        := *( spaces pair ) spaces [ trailing ]
//! pair         := key '=' value
//! value        := bare_value | quoted_value
//! bare_value   := !'"' till_space                       ; may be empty (`session= `)
//! quoted_value := '"' quoted_text ( EOL | '"' value_end )  ; EOL: the line was cut
//! trailing     := 1*any                                 ; stray text, handed back trimmed
//!
//! key          := 1*( any byte except ' ' '=' )          ; scan
//! till_space   := *( any byte except ' ' )               ; scan
//! quoted_text  := *( '\' any | any byte except '"' '\' ) ; scan
//! value_end    := &( ' ' | EOL )                          ; scan
//! spaces       := *' '                                    ; scan
//! tty_time     := *( any byte except ']' )
//! tty_message  := the text before the first word glued to '=' ; scan
//! prefix_to(s) := the text before the first `s`, and its leading space ; scan
//! tty_prefix   := the shortest text ending in ' ' that a tty_head follows ; scan
//! ```
//!
//! `start` only finds where the logrus part begins (and in which layout); the caller then
//! runs `logfmt` or `tty` on the rest. The logfmt grammar is logrus's own
//! (`text_formatter.go`, `appendKeyValue` and `needsQuoting`): values outside its safe set are
//! written with Go's `strconv.Quote`, so a quoted value ends at the first unescaped `"` and a
//! closing quote must be followed by a space or the end of the line (`a="x"y` is not logrus).
//!
//! The rules are generic over the nom error type: tests ask for
//! `nom_language::error::VerboseError` to see which rule gave up, while the hot path uses
//! `nom::error::Error`, whose input (the text left where parsing stopped) becomes the byte
//! offset of a [`ParseError`](super::ParseError). They run in complete mode
//! ([`Parser::parse_complete`]): a line is all there is.
//!
//! Every scan ends at one of a few ASCII bytes (space, `=`, `"`, `\`), so [`find`] looks for
//! them 16 bytes at a time instead of calling `memchr` per token: authenticator values are
//! mostly 4 to 90 bytes long, where a function call and SIMD set-up per value cost more than
//! the scan itself. Splitting at an ASCII byte always lands on a `char` boundary.

use std::marker::PhantomData;

use nom::{
    Check, Complete, Emit, Mode, OutputM, OutputMode, PResult, Parser,
    branch::alt,
    bytes::{tag, take_till},
    character::{anychar, char},
    combinator::{self, opt, peek, rest, verify},
    error::{ErrorKind, ParseError},
    sequence::{delimited, preceded, terminated},
};

use super::record::{Field, Form, Level, Value};

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

/// A scan: a byte search, written by hand, that splits its input into what it matched and the
/// rest, or names why it matched nothing.
trait Scanner<'a> {
    type Output;
    fn scan(&mut self, i: &'a str) -> Result<(&'a str, Self::Output), ErrorKind>;
}

/// A [`Scanner`] as a primitive nom parser. This is what nom does for a parser written as a
/// function, but with an `#[inline(always)]` [`Parser::process`] on both sides, so the per-pair
/// rules compile to straight-line code around [`find`] instead of a call per rule.
struct Scan<S, E> {
    scanner: S,
    error: PhantomData<fn() -> E>,
}

/// [`Scan`] over `scanner`.
#[inline(always)]
fn scan<'a, S: Scanner<'a>, E: ParseError<&'a str>>(scanner: S) -> Scan<S, E> {
    Scan {
        scanner,
        error: PhantomData,
    }
}

impl<'a, S: Scanner<'a>, E: ParseError<&'a str>> Parser<&'a str> for Scan<S, E> {
    type Output = S::Output;
    type Error = E;

    #[inline(always)]
    fn process<OM: OutputMode>(&mut self, i: &'a str) -> PResult<OM, &'a str, S::Output, E> {
        match self.scanner.scan(i) {
            Ok((rest, o)) => Ok((rest, OM::Output::bind(|| o))),
            Err(kind) => Err(nom::Err::Error(OM::Error::bind(|| {
                E::from_error_kind(i, kind)
            }))),
        }
    }
}

/// `start`: where the logrus part of a line begins and in which layout. The output is the
/// text before it (a `kubectl logs --prefix`, stern or console prefix; empty when there is
/// none); the rest of the input is the logrus part.
pub(super) fn start<'a, E: ParseError<&'a str>>()
-> impl Parser<&'a str, Output = (&'a str, Form), Error = E> {
    alt((
        combinator::value(("", Form::Logfmt), peek(logfmt_head())),
        combinator::value(("", Form::Tty), peek(tty_head())),
        // Something was put in front of the line: look for the first logrus marker after a
        // space, `time` first.
        prefix_to(" time=\"").map(|p| (p, Form::Logfmt)),
        prefix_to(" level=").map(|p| (p, Form::Logfmt)),
        tty_prefix().map(|p| (p, Form::Tty)),
    ))
}

/// `logfmt_head`: the first key of a logrus line in text layout.
fn logfmt_head<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = &'a str, Error = E> {
    alt((tag("time=\""), tag("level=")))
}

/// `tty_head`: `WARN[` and friends, followed by at least one byte.
fn tty_head<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = char, Error = E> {
    preceded((tty_level(), char('[')), peek(anychar))
}

/// `tty_level`: the four-letter level of the TTY layout (logrus `TextFormatter` prints
/// `strings.ToUpper(level.String())[0:4]`).
fn tty_level<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = Level, Error = E> {
    alt((
        combinator::value(Level::Info, tag("INFO")),
        combinator::value(Level::Warning, tag("WARN")),
        combinator::value(Level::Error, tag("ERRO")),
        combinator::value(Level::Debug, tag("DEBU")),
        combinator::value(Level::Trace, tag("TRAC")),
        combinator::value(Level::Fatal, tag("FATA")),
        combinator::value(Level::Panic, tag("PANI")),
    ))
}

/// `prefix_to(s)` (scan): the text before the first `s` plus `s`'s leading space, which is
/// where the logrus part starts. `s` starts with a space.
fn prefix_to<'a, E: ParseError<&'a str>>(
    s: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = E> {
    struct PrefixTo(&'static str);
    impl<'a> Scanner<'a> for PrefixTo {
        type Output = &'a str;
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, &'a str), ErrorKind> {
            match crate::bytes::find(i.as_bytes(), self.0.as_bytes()) {
                Some(p) => Ok((&i[p + 1..], &i[..p + 1])),
                None => Err(ErrorKind::TakeUntil),
            }
        }
    }
    scan(PrefixTo(s))
}

/// `tty_prefix` (scan): the shortest text ending in a space that a [`tty_head`] follows.
fn tty_prefix<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = &'a str, Error = E> {
    struct TtyPrefix;
    impl<'a> Scanner<'a> for TtyPrefix {
        type Output = &'a str;
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, &'a str), ErrorKind> {
            let mut head = tty_head::<()>();
            let mut from = 0;
            while let Some(p) = memchr::memchr(b' ', &i.as_bytes()[from..]) {
                let at = from + p + 1;
                if head.process::<Verdict>(&i[at..]).is_ok() {
                    return Ok((&i[at..], &i[..at]));
                }
                from = at;
            }
            Err(ErrorKind::TakeUntil)
        }
    }
    scan(TtyPrefix)
}

/// Runs a parser for its verdict only: no output and no error value is built.
type Verdict = OutputM<Check, Check, Complete>;

/// What a run of pairs left after the last pair.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Tail<'a> {
    /// Text that is not a pair (stray trailing text).
    pub trailing: Option<&'a str>,
    /// The last value was cut (no closing quote).
    pub truncated: bool,
}

/// `logfmt`: a logrus line in text layout, at least one pair. Each pair is handed to `push`
/// as it is read.
#[inline]
pub(super) fn logfmt<'a, E: ParseError<&'a str>>(
    push: impl FnMut(Field<'a>),
) -> impl Parser<&'a str, Output = Tail<'a>, Error = E> {
    Pairs {
        min: 1,
        push,
        error: PhantomData,
    }
}

/// `tty`: `WARN[2019-04-27T20:00:09Z] access denied                 client="…" error="…"`;
/// logrus pads the message to 44 columns and the data pairs follow it. The output is the
/// level, the time and the message (both may be empty); data pairs go to `push`.
#[inline]
pub(super) fn tty<'a, E: ParseError<&'a str>>(
    push: impl FnMut(Field<'a>),
) -> impl Parser<&'a str, Output = (Level, &'a str, &'a str, Tail<'a>), Error = E> {
    (
        tty_level(),
        delimited(char('['), tty_time(), char(']')),
        preceded(opt(char(' ')), tty_message()),
        pairs(push),
    )
}

/// `tty_time`: the text between the brackets.
fn tty_time<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = &'a str, Error = E> {
    take_till(|c| c == ']')
}

/// `tty_message` (scan): the message, up to the start of the first word directly followed by
/// `=` (a key), trimmed. `InstanceId = i-…` has a space before `=`, so it is not a key; a quote
/// before any key means the message is all there is.
fn tty_message<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = &'a str, Error = E> {
    struct TtyMessage;
    impl<'a> Scanner<'a> for TtyMessage {
        type Output = &'a str;
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, &'a str), ErrorKind> {
            let b = i.as_bytes();
            let mut word_start = 0;
            let mut end = i.len();
            for (at, &c) in b.iter().enumerate() {
                match c {
                    b' ' => word_start = at + 1,
                    b'=' if at > word_start && (word_start == 0 || b[word_start - 1] == b' ') => {
                        end = word_start;
                        break;
                    }
                    b'"' => break,
                    _ => {}
                }
            }
            Ok((&i[end..], i[..end].trim_end()))
        }
    }
    scan(TtyMessage)
}

/// `pairs`: space-separated pairs, each handed to `push` as it is read (no intermediate
/// collection), then any stray text. Never fails: a token that is not a pair ends the run and
/// comes back as trailing text.
#[inline]
pub(super) fn pairs<'a, E: ParseError<&'a str>>(
    push: impl FnMut(Field<'a>),
) -> impl Parser<&'a str, Output = Tail<'a>, Error = E> {
    Pairs {
        min: 0,
        push,
        error: PhantomData,
    }
}

/// `min.. ( spaces pair ) spaces [ trailing ]`, the parser behind [`pairs`] and [`logfmt`].
///
/// This is nom's `fold(min.., preceded(spaces, pair), …)` followed by
/// `preceded(spaces, opt(trailing))`, written as one parser so that `push` is called directly
/// from the loop and the cut-value flag needs no accumulator closure.
struct Pairs<F, E> {
    min: usize,
    push: F,
    error: PhantomData<fn() -> E>,
}

impl<'a, E, F> Parser<&'a str> for Pairs<F, E>
where
    E: ParseError<&'a str>,
    F: FnMut(Field<'a>),
{
    type Output = Tail<'a>;
    type Error = E;

    #[inline(always)]
    fn process<OM: OutputMode>(&mut self, mut i: &'a str) -> PResult<OM, &'a str, Tail<'a>, E> {
        let mut spaces = spaces::<E>();
        let mut pair = pair();
        let mut count = 0;
        let mut truncated = false;
        loop {
            // `spaces` never fails. At the end of the line no pair can follow, so once `min`
            // pairs are read the loop stops there without running `pair` to its error.
            (i, ()) = spaces.process::<OutputM<Emit, OM::Error, OM::Incomplete>>(i)?;
            if i.is_empty() && count >= self.min {
                break;
            }
            match pair.process::<OutputM<Emit, OM::Error, OM::Incomplete>>(i) {
                // Every pair consumes at least its key and `=`, so the loop ends.
                Ok((rest, (field, closed))) => {
                    (self.push)(field);
                    truncated |= !closed;
                    count += 1;
                    i = rest;
                }
                Err(nom::Err::Error(e)) if count < self.min => return Err(nom::Err::Error(e)),
                Err(nom::Err::Error(_)) => break,
                Err(e) => return Err(e),
            }
        }
        // `i` is past the spaces already.
        let (i, trailing) =
            opt(trailing()).process::<OutputM<Emit, OM::Error, OM::Incomplete>>(i)?;
        Ok((
            i,
            OM::Output::bind(|| Tail {
                trailing,
                truncated,
            }),
        ))
    }
}

/// `pair`: one `key=value`. The flag is `false` when the value was cut short.
#[inline(always)]
pub(super) fn pair<'a, E: ParseError<&'a str>>()
-> impl Parser<&'a str, Output = (Field<'a>, bool), Error = E> {
    (terminated(key(), byte(b'=')), value()).map(|(k, (v, closed))| ((k, v), closed))
}

/// `value`: either form, chosen by its first byte; the flag is `false` when a quoted value
/// has no closing quote.
///
/// This is `alt((bare_value, quoted_value))` with the choice made up front: `bare_value`
/// starts with `!'"'`, so the first byte alone says which branch can match, and peeking at it
/// once saves running (and building the error of) the branch that cannot.
#[inline(always)]
fn value<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = (Value<'a>, bool), Error = E>
{
    if_byte(
        b'"',
        quoted_value(),
        till_space().map(|v| (Value::Bare(v), true)),
    )
}

/// `bare_value`: an unquoted value, up to the next space; may be empty (`session= userid=…`).
#[cfg(test)]
pub(super) fn bare_value<'a, E: ParseError<&'a str>>()
-> impl Parser<&'a str, Output = Value<'a>, Error = E> {
    preceded(combinator::not(byte(b'"')), till_space()).map(Value::Bare)
}

/// `quoted_value`: a Go-quoted value. The output's flag is `false` when the closing quote is
/// missing: the line was cut (CloudWatch's event size limit), and the value runs to the end
/// of the line.
#[inline(always)]
pub(super) fn quoted_value<'a, E: ParseError<&'a str>>()
-> impl Parser<&'a str, Output = (Value<'a>, bool), Error = E> {
    preceded(
        byte(b'"'),
        (quoted_text(), terminated(closing_quote(), value_end())),
    )
    .map(|((raw, escaped), closed)| (Value::Quoted { raw, escaped }, closed))
}

/// `if_byte(c, then, otherwise)`: `then` if the input starts with the ASCII byte `c`, else
/// `otherwise`; the byte is only looked at, not consumed. A one-byte `dispatch`: an `alt` of
/// two branches whose first bytes cannot overlap.
#[inline(always)]
fn if_byte<'a, P, Q>(c: u8, then: P, otherwise: Q) -> IfByte<P, Q>
where
    P: Parser<&'a str>,
    Q: Parser<&'a str, Output = P::Output, Error = P::Error>,
{
    debug_assert!(c.is_ascii());
    IfByte { c, then, otherwise }
}

/// The parser behind [`if_byte`].
struct IfByte<P, Q> {
    c: u8,
    then: P,
    otherwise: Q,
}

impl<'a, P, Q> Parser<&'a str> for IfByte<P, Q>
where
    P: Parser<&'a str>,
    Q: Parser<&'a str, Output = P::Output, Error = P::Error>,
{
    type Output = P::Output;
    type Error = P::Error;

    #[inline(always)]
    fn process<OM: OutputMode>(
        &mut self,
        i: &'a str,
    ) -> PResult<OM, &'a str, Self::Output, Self::Error> {
        if i.as_bytes().first() == Some(&self.c) {
            self.then.process::<OM>(i)
        } else {
            self.otherwise.process::<OM>(i)
        }
    }
}

/// `closing_quote` (scan): after a quoted value's text, its closing `"` (`true`) or the end
/// of the line (`false`: the value was cut). `quoted_text` stops only at one of the two, so
/// this is `alt((value(false, eof), value(true, '"')))` in one byte test.
#[inline(always)]
fn closing_quote<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = bool, Error = E> {
    struct ClosingQuote;
    impl<'a> Scanner<'a> for ClosingQuote {
        type Output = bool;
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, bool), ErrorKind> {
            match i.strip_prefix('"') {
                Some(rest) => Ok((rest, true)),
                None if i.is_empty() => Ok((i, false)),
                None => Err(ErrorKind::Char),
            }
        }
    }
    scan(ClosingQuote)
}

/// `byte(c)` (scan): the ASCII byte `c`. nom's `char` decodes a UTF-8 character first; the
/// per-pair delimiters are all ASCII, so one byte compare does.
#[inline(always)]
fn byte<'a, E: ParseError<&'a str>>(c: u8) -> impl Parser<&'a str, Output = (), Error = E> {
    struct Byte(u8);
    impl<'a> Scanner<'a> for Byte {
        type Output = ();
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, ()), ErrorKind> {
            // `strip_prefix` with an ASCII `char` is one byte compare, and it knows that
            // splitting after a whole `char` needs no boundary check.
            match i.strip_prefix(char::from(self.0)) {
                Some(rest) => Ok((rest, ())),
                None => Err(ErrorKind::Char),
            }
        }
    }
    debug_assert!(c.is_ascii());
    scan(Byte(c))
}

/// `spaces` (scan): logrus writes one space between pairs; more is hand-edited input.
#[inline(always)]
fn spaces<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = (), Error = E> {
    struct Spaces;
    impl<'a> Scanner<'a> for Spaces {
        type Output = ();
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, ()), ErrorKind> {
            let mut rest = i;
            while let Some(r) = rest.strip_prefix(' ') {
                rest = r;
            }
            Ok((rest, ()))
        }
    }
    scan(Spaces)
}

/// `value_end` (scan): a space or the end of the line follows, not consumed.
#[inline(always)]
fn value_end<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = (), Error = E> {
    struct ValueEnd;
    impl<'a> Scanner<'a> for ValueEnd {
        type Output = ();
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, ()), ErrorKind> {
            match i.as_bytes().first() {
                None | Some(b' ') => Ok((i, ())),
                Some(_) => Err(ErrorKind::Space),
            }
        }
    }
    scan(ValueEnd)
}

/// `trailing`: whatever is left, trimmed.
fn trailing<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = &'a str, Error = E> {
    verify(rest, |s: &str| !s.is_empty()).map(str::trim_end)
}

/// `key` (scan): one or more bytes up to `=` or a space.
#[inline(always)]
pub(super) fn key<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = &'a str, Error = E>
{
    struct Key;
    impl<'a> Scanner<'a> for Key {
        type Output = &'a str;
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, &'a str), ErrorKind> {
            match find(i.as_bytes(), b' ', b'=') {
                0 => Err(ErrorKind::TakeTill1),
                n => {
                    let (key, rest) = i.split_at(n);
                    Ok((rest, key))
                }
            }
        }
    }
    scan(Key)
}

/// `till_space` (scan): everything up to the next space or the end; may be empty.
#[inline(always)]
fn till_space<'a, E: ParseError<&'a str>>() -> impl Parser<&'a str, Output = &'a str, Error = E> {
    struct TillSpace;
    impl<'a> Scanner<'a> for TillSpace {
        type Output = &'a str;
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, &'a str), ErrorKind> {
            let (value, rest) = i.split_at(find(i.as_bytes(), b' ', b' '));
            Ok((rest, value))
        }
    }
    scan(TillSpace)
}

/// `quoted_text` (scan): the body of a quoted value, up to its closing quote (not consumed)
/// or the end of the line; the flag says whether it contains a backslash. A backslash
/// escapes the next byte, whatever it is, so `\"` stays inside the value.
#[inline(always)]
fn quoted_text<'a, E: ParseError<&'a str>>()
-> impl Parser<&'a str, Output = (&'a str, bool), Error = E> {
    struct QuotedText;
    impl<'a> Scanner<'a> for QuotedText {
        type Output = (&'a str, bool);
        #[inline(always)]
        fn scan(&mut self, i: &'a str) -> Result<(&'a str, (&'a str, bool)), ErrorKind> {
            let bytes = i.as_bytes();
            let mut pos = 0;
            let mut escaped = false;
            loop {
                pos += find(&bytes[pos..], b'"', b'\\');
                match bytes.get(pos) {
                    Some(b'"') => {
                        let (text, rest) = i.split_at(pos);
                        return Ok((rest, (text, escaped)));
                    }
                    Some(_) => {
                        escaped = true;
                        pos += 2;
                        if pos >= bytes.len() {
                            return Ok(("", (i, escaped)));
                        }
                    }
                    None => return Ok(("", (i, escaped))),
                }
            }
        }
    }
    scan(QuotedText)
}

#[cfg(test)]
mod tests {
    use nom_language::error::VerboseError;

    use nom::IResult;

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
        let r: R<&str> = key().parse_complete("level=info");
        assert_eq!(r.unwrap(), ("=info", "level"));
        let r: R<&str> = key().parse_complete("=x");
        assert!(r.is_err(), "a key cannot be empty");
    }

    #[test]
    fn bare_value_may_be_empty() {
        let r: R<Value> = bare_value().parse_complete(" userid=AIDA");
        assert_eq!(r.unwrap(), (" userid=AIDA", Value::Bare("")));
        let r: R<Value> = bare_value().parse_complete("alice@example.com next");
        assert_eq!(r.unwrap(), (" next", Value::Bare("alice@example.com")));
    }

    #[test]
    fn quoted_value_keeps_escaped_quotes_and_equals() {
        let r: R<(Value, bool)> = quoted_value().parse_complete(r#""a \"b\" = c" rest"#);
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
        let r: R<(Value, bool)> = quoted_value().parse_complete(r#""127.0.0.1:51326""#);
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
        let r: R<(Value, bool)> = quoted_value().parse_complete(r#""content is {\"mapRoles"#);
        let (rest, (v, closed)) = r.unwrap();
        assert_eq!(rest, "");
        assert!(!closed);
        assert_eq!(v.raw(), r#"content is {\"mapRoles"#);
        // A backslash as the very last byte must not step past the end.
        let r: R<(Value, bool)> = quoted_value().parse_complete(r#""cut here\"#);
        assert!(!r.unwrap().1.1);
    }

    #[test]
    fn pair_reads_both_value_forms() {
        let r: R<(Field, bool)> = pair().parse_complete("method=POST path=/authenticate");
        assert_eq!(
            r.unwrap(),
            (
                " path=/authenticate",
                (("method", Value::Bare("POST")), true)
            )
        );
        let r: R<(Field, bool)> = pair().parse_complete(r#"groups="[system:masters]""#);
        let (_, ((k, v), _)) = r.unwrap();
        assert_eq!((k, v.raw()), ("groups", "[system:masters]"));
    }

    #[test]
    fn pair_rejects_text_glued_to_a_closing_quote() {
        let r: R<(Field, bool)> = pair().parse_complete(r#"a="x"y"#);
        assert!(r.is_err());
    }

    #[test]
    fn pairs_collects_in_order_and_keeps_duplicates() {
        let mut out = Vec::new();
        let r: R<Tail> = pairs(|f| out.push(f)).parse_complete("a=1 b=\"two\" a=3");
        assert_eq!(r.unwrap().1, Tail::default());
        let keys: Vec<_> = out.iter().map(|(k, v)| (*k, v.raw())).collect();
        assert_eq!(keys, [("a", "1"), ("b", "two"), ("a", "3")]);
    }

    #[test]
    fn pairs_hands_back_stray_trailing_text() {
        let mut out = Vec::new();
        let r: R<Tail> = pairs(|f| out.push(f)).parse_complete("a=1 b=2 stray words  ");
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
        let r: R<Tail> = pairs(|f| out.push(f)).parse_complete(r#"a=1 msg="cut"#);
        assert!(r.unwrap().1.truncated);
        assert_eq!(out[1].1.raw(), "cut");
    }

    #[test]
    fn start_finds_the_logrus_part_and_its_layout() {
        let cases = [
            (
                r#"time="t" level=info"#,
                "",
                Form::Logfmt,
                r#"time="t" level=info"#,
            ),
            ("level=info msg=x", "", Form::Logfmt, "level=info msg=x"),
            ("INFO[0042] started", "", Form::Tty, "INFO[0042] started"),
            (
                r#"pod/auth-1 time="t" level=info"#,
                "pod/auth-1 ",
                Form::Logfmt,
                r#"time="t" level=info"#,
            ),
            (
                "[pod] a level=warning",
                "[pod] a ",
                Form::Logfmt,
                "level=warning",
            ),
            (
                "2024-01-01 WARN[0001] x",
                "2024-01-01 ",
                Form::Tty,
                "WARN[0001] x",
            ),
        ];
        for (line, prefix, form, rest) in cases {
            let r: R<(&str, Form)> = start().parse_complete(line);
            assert_eq!(r.unwrap(), (rest, (prefix, form)), "{line}");
        }
        // `INFO[` must be followed by something, and an unknown level is not a head.
        for line in ["INFO[", "NOTE[0042] x", "no markers here", "xlevel=info"] {
            let r: R<(&str, Form)> = start().parse_complete(line);
            assert!(r.is_err(), "{line}");
        }
    }

    #[test]
    fn tty_message_ends_at_the_first_key() {
        let cases = [
            ("access denied      client=x", "access denied", "client=x"),
            // `InstanceId = i-1` has a space before `=`: still message.
            (
                "found InstanceId = i-1 arn=a",
                "found InstanceId = i-1",
                "arn=a",
            ),
            // A quote before any key: the message is all there is.
            (r#"said "a=b" x=1"#, r#"said "a=b" x=1"#, ""),
            ("just words", "just words", ""),
            ("a=1", "", "a=1"),
            ("", "", ""),
        ];
        for (input, msg, rest) in cases {
            let r: R<&str> = tty_message().parse_complete(input);
            assert_eq!(r.unwrap(), (rest, msg), "{input}");
        }
    }

    #[test]
    fn tty_reads_level_time_message_and_pairs() {
        // logrus TextFormatter without FullTimestamp: seconds since start in the brackets.
        let mut out = Vec::new();
        let r: R<(Level, &str, &str, Tail)> =
            tty(|f| out.push(f)).parse_complete("INFO[0042] message key=value");
        let (rest, (level, time, msg, tail)) = r.unwrap();
        assert_eq!(
            (rest, level, time, msg),
            ("", Level::Info, "0042", "message")
        );
        assert_eq!(tail, Tail::default());
        assert_eq!(out, [("key", Value::Bare("value"))]);

        // Empty time and message, stray text after the pairs.
        let mut out = Vec::new();
        let r: R<(Level, &str, &str, Tail)> =
            tty(|f| out.push(f)).parse_complete("ERRO[] a=1 oops");
        let (_, (level, time, msg, tail)) = r.unwrap();
        assert_eq!((level, time, msg), (Level::Error, "", ""));
        assert_eq!(tail.trailing, Some("oops"));
        assert_eq!(out.len(), 1);

        // No closing `]`.
        let r: R<(Level, &str, &str, Tail)> = tty(|_| {}).parse_complete("WARN[0042 x=1");
        assert!(r.is_err());
    }

    #[test]
    fn logfmt_needs_one_pair_and_says_where_the_first_one_broke() {
        let r: R<Tail> = logfmt(|_| {}).parse_complete("level=info");
        assert_eq!(r.unwrap(), ("", Tail::default()));
        let r: IResult<&str, Tail, nom::error::Error<&str>> =
            logfmt(|_| {}).parse_complete(r#"msg="x"y"#);
        match r {
            Err(nom::Err::Error(e)) => assert_eq!(e.input, "y"),
            other => panic!("{other:?}"),
        }
        let r: IResult<&str, Tail, nom::error::Error<&str>> = logfmt(|_| {}).parse_complete("=x");
        match r {
            Err(nom::Err::Error(e)) => assert_eq!(e.input, "=x"),
            other => panic!("{other:?}"),
        }
    }
}
