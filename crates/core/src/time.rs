//! Timestamps, to and from epoch milliseconds: the one place that reads them.
//!
//! Forms met: RFC 3339 in `time="…"`, Docker `time` and the export-to-S3 prefix, and the
//! Logs Insights `@timestamp` forms (`YYYY-MM-DD HH:MM:SS.mmm` UTC on AWS, epoch
//! milliseconds as a string in moto). Hand-written rather than chrono because it runs once
//! per line and only ever needs "bytes → epoch ms", and because detection needs "how many
//! bytes did the timestamp take". Formatting, which runs once per report value, uses chrono.

use std::cell::Cell;

use chrono::{DateTime, SecondsFormat, Utc};

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian), after H. Hinnant's
/// `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `n` ASCII digits at `b[at..]` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

std::thread_local! {
    /// The last date [`date`] read and its day number: a log's lines share their date for a
    /// day at a time, so most lines skip the calendar arithmetic.
    static LAST_DATE: Cell<([u8; 10], i64)> = const { Cell::new(([0; 10], 0)) };
}

/// `YYYY-MM-DD` at the start of `b` as days since 1970-01-01, validated.
fn date(b: &[u8]) -> Option<i64> {
    let key = *b.first_chunk::<10>()?;
    let (last, days) = LAST_DATE.get();
    if key == last {
        return Some(days);
    }
    let y = i64::from(digits(b, 0, 4)?);
    let mo = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    if b[4] != b'-' || b[7] != b'-' || !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo)
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    LAST_DATE.set((key, days));
    Some(days)
}

/// `YYYY-MM-DD?HH:MM:SS[.fraction]` where `?` is one of `seps`; returns (epoch ms in UTC,
/// bytes used).
fn date_time(b: &[u8], seps: &[u8]) -> Option<(i64, usize)> {
    let days = date(b)?;
    let h = digits(b, 11, 2)?;
    let mi = digits(b, 14, 2)?;
    let s = digits(b, 17, 2)?;
    if !seps.contains(&b[10]) || b[13] != b':' || b[16] != b':' || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut pos = 19;
    let mut frac_ms = 0i64;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            if pos - start < 3 {
                frac_ms = frac_ms * 10 + i64::from(b[pos] - b'0');
            }
            pos += 1;
        }
        match pos - start {
            0 => return None,
            1 => frac_ms *= 100,
            2 => frac_ms *= 10,
            _ => {}
        }
    }
    let secs = days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    Some((secs * 1000 + frac_ms, pos))
}

/// Parses an RFC 3339 timestamp at the start of `b` (`2026-01-15T09:30:00.123Z`,
/// `2019-05-10T18:02:37.123456789+02:00`, …) and returns its epoch milliseconds (fraction
/// truncated to ms) and the number of bytes it took. Bytes after it are not looked at.
pub fn rfc3339_prefix(b: &[u8]) -> Option<(i64, usize)> {
    let (ms, mut pos) = date_time(b, b"Tt")?;
    let offset_min = match *b.get(pos)? {
        b'Z' | b'z' => {
            pos += 1;
            0
        }
        sign @ (b'+' | b'-') => {
            let oh = digits(b, pos + 1, 2)?;
            let om = digits(b, pos + 4, 2)?;
            if b[pos + 3] != b':' || oh > 23 || om > 59 {
                return None;
            }
            pos += 6;
            let m = i64::from(oh * 60 + om);
            if sign == b'+' { m } else { -m }
        }
        _ => return None,
    };
    Some((ms - offset_min * 60_000, pos))
}

/// Parses a whole RFC 3339 timestamp to epoch milliseconds.
pub fn rfc3339(s: &str) -> Option<i64> {
    rfc3339_prefix(s.as_bytes()).and_then(|(ms, n)| (n == s.len()).then_some(ms))
}

/// Parses any timestamp we meet to epoch milliseconds: RFC 3339, a Logs Insights
/// `@timestamp` (`YYYY-MM-DD HH:MM:SS.mmm`, UTC, as AWS returns it; the fraction is
/// optional), or an epoch-milliseconds integer (as moto returns it).
pub fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    // The byte after the date tells the forms apart, so each line's time is read once.
    match s.as_bytes().get(10) {
        Some(b'T' | b't') => rfc3339(s),
        Some(b' ') => match date_time(s.as_bytes(), b" ") {
            Some((ms, n)) if n == s.len() => Some(ms),
            _ => None,
        },
        _ if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

/// Formats epoch milliseconds as RFC 3339 UTC with second resolution (or milliseconds when
/// the value has them), the form every report uses.
pub fn format_ms(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) if ms % 1000 == 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(format_ms(1_628_676_583_000), "2021-08-11T10:09:43Z");
        assert_eq!(format_ms(1_628_676_583_120), "2021-08-11T10:09:43.120Z");
    }

    proptest! {
        #[test]
        fn agrees_with_chrono(secs in 0i64..4_102_444_800, ms in 0i64..1000) {
            let t = DateTime::<Utc>::from_timestamp_millis(secs * 1000 + ms).unwrap();
            let text = t.to_rfc3339_opts(SecondsFormat::Millis, true);
            prop_assert_eq!(parse_timestamp_ms(&text), Some(secs * 1000 + ms));
            prop_assert_eq!(parse_timestamp_ms(&format_ms(secs * 1000 + ms)), Some(secs * 1000 + ms));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_timestamp_ms(&s);
            let _ = rfc3339_prefix(s.as_bytes());
        }
    }

    #[test]
    fn rfc3339_forms() {
        // 2026-01-15T09:30:00Z = 1768469400 s (checked with `date -ud @1768469400`).
        assert_eq!(rfc3339("2026-01-15T09:30:00Z"), Some(1_768_469_400_000));
        assert_eq!(rfc3339("2026-01-15T09:30:00.123Z"), Some(1_768_469_400_123));
        assert_eq!(rfc3339("2026-01-15T09:30:00.1Z"), Some(1_768_469_400_100));
        assert_eq!(
            rfc3339("2026-01-15T09:30:00.123456789Z"),
            Some(1_768_469_400_123)
        );
        assert_eq!(
            rfc3339("2026-01-15T11:30:00.123+02:00"),
            Some(1_768_469_400_123)
        );
        assert_eq!(
            rfc3339("2026-01-15T04:00:00-05:30"),
            Some(1_768_469_400_000)
        );
        assert_eq!(rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(rfc3339("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
    }

    #[test]
    fn rfc3339_rejects() {
        for bad in [
            "",
            "2026-01-15",
            "2026-01-15T09:30:00",
            "2026-01-15 09:30:00Z",
            "2026-13-15T09:30:00Z",
            "2023-02-29T09:30:00Z",
            "2026-01-15T24:30:00Z",
            "2026-01-15T09:30:00.Z",
            "2026-01-15T09:30:00+0200",
            "2026-01-15T09:30:00Zjunk",
            "２026-01-15T09:30:00Z",
        ] {
            assert_eq!(rfc3339(bad), None, "{bad:?}");
        }
        assert_eq!(
            rfc3339_prefix(b"2026-01-15T09:30:00Z time=x"),
            Some((1_768_469_400_000, 20))
        );
    }

    #[test]
    fn insights_forms() {
        assert_eq!(
            parse_timestamp_ms("2026-11-22 03:53:32.520"),
            Some(1_795_319_612_520)
        );
        assert_eq!(parse_timestamp_ms("1795319612520"), Some(1_795_319_612_520));
        assert_eq!(
            parse_timestamp_ms("2026-11-22 03:53:32"),
            Some(1_795_319_612_000)
        );
        assert_eq!(
            parse_timestamp_ms("2026-11-22T03:53:32.520Z"),
            Some(1_795_319_612_520)
        );
        assert_eq!(parse_timestamp_ms("yesterday"), None);
        assert_eq!(parse_timestamp_ms(""), None);
    }
}
