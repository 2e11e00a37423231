//! Timestamps as they appear in authenticator lines and their envelopes, to epoch milliseconds.
//!
//! Hand-written because it runs on every line: RFC 3339 (`2021-08-11T10:09:43Z`, with optional
//! fraction and offset) and the Logs Insights form (`2021-08-11 10:09:43.000`, UTC).

use chrono::{DateTime, SecondsFormat, Utc};

/// Parses RFC 3339 or `YYYY-MM-DD HH:MM:SS[.fff]` (UTC) to epoch milliseconds.
pub fn parse_timestamp_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[10] != b'T' && b[10] != b't' && b[10] != b' ' {
        return None;
    }
    let year = digits(&b[0..4])? as i64;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut millis = 0i64;
    if let [b'.', frac @ ..] = rest {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut scaled = 0i64;
        for (k, c) in frac[..n].iter().take(3).enumerate() {
            scaled += i64::from(c - b'0') * [100, 10, 1][k];
        }
        millis = scaled;
        rest = &frac[n..];
    }
    let offset_minutes: i64 = match rest {
        [] if b[10] == b' ' => 0,
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])? as i64;
            let m = digits(&[*m1, *m2])? as i64;
            let total = h * 60 + m;
            if *sign == b'+' { total } else { -total }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_minutes * 60;
    Some(secs * 1000 + millis)
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

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reads_the_forms_we_meet() {
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp_ms("2021-08-11T10:09:43Z"),
            Some(1_628_676_583_000)
        );
        assert_eq!(
            parse_timestamp_ms("2021-08-11 10:09:43.120"),
            Some(1_628_676_583_120)
        );
        assert_eq!(
            parse_timestamp_ms("2021-08-11T12:09:43+02:00"),
            Some(1_628_676_583_000)
        );
        assert_eq!(
            parse_timestamp_ms("2021-08-11T10:09:43.5Z"),
            Some(1_628_676_583_500)
        );
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "2021-08-11",
            "2021-13-01T00:00:00Z",
            "2021-02-30T00:00:00Z",
            "2021-08-11T10:09:43",
            "2021-08-11T10:09:43.Z",
            "abcd-ef-ghTij:kl:mnZ",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad}");
        }
    }

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
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_timestamp_ms(&s);
        }
    }
}
