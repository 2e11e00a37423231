//! Line splitting: the fast raw path and the line engine every line-shaped format rides on.
//!
//! The reader keeps one large buffer, reads straight into it, hands every run of complete
//! lines to a callback as one slice, and moves only the unfinished tail to the front before
//! the next read. Lines are found with `memchr` and pushed as borrowed `&[u8]`: nothing is
//! allocated per line and nothing is UTF-8 validated (the parser counts invalid UTF-8).

use std::io::{ErrorKind, Read};
use std::ops::Range;

use super::{Ctx, Error, LineSink};

/// Buffer size of the raw path. Large enough that the per-read overhead (one syscall, one
/// `memrchr`, one tail move) vanishes against the per-line work.
pub const RAW_BUFFER: usize = 8 << 20;

/// Buffer size of the JSON/CSV/S3 line readers, whose per-line work dominates.
pub(crate) const LINE_BUFFER: usize = 1 << 20;

/// Strips one trailing `\r` (CRLF files).
#[inline]
pub(crate) fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Iterates over the lines of `buf` as `(offset, line)` where `line` excludes its `\n` but
/// keeps any `\r`. A final line without `\n` is included; a trailing `\n` does not make an
/// extra empty line.
pub(crate) fn lines(buf: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut start = 0;
    let mut newlines = memchr::memchr_iter(b'\n', buf);
    std::iter::from_fn(move || {
        if start >= buf.len() {
            return None;
        }
        let s = start;
        let end = newlines.next().unwrap_or(buf.len());
        start = end + 1;
        Some((s, &buf[s..end]))
    })
}

/// Number of lines in `buf` as [`split_lines`] counts them: one per `\n`, plus one for a
/// final line that has no `\n`.
pub fn count_lines(buf: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', buf).count() as u64;
    n + u64::from(!buf.is_empty() && buf.last() != Some(&b'\n'))
}

/// Pushes every line of an in-memory buffer into `sink` as raw text, numbering them from
/// `start_line` (1-based), with pasted damage repaired (see [`super::repair`]).
///
/// A trailing `\r` is stripped. Empty lines are pushed too, so every line read can be
/// accounted for and [`Loc::line`](super::Loc::line) is the physical line number; a hard-wrapped record or a
/// pretty-printed JSON object is pushed once, at its first line, with the lines it joined in
/// [`Envelope::joined`](super::Envelope::joined). Returns the number of physical lines in `buf` (equal to
/// [`count_lines`]), so the next buffer starts at `start_line + returned`.
pub fn split_lines<S: LineSink + ?Sized>(
    buf: &[u8],
    start_line: u64,
    input: &str,
    sink: &mut S,
) -> u64 {
    super::repair::split_repaired(buf, start_line, input, sink)
}

/// Splits `buf` into at most `n` contiguous ranges of roughly equal size, each ending just
/// after a `\n` (except possibly the last, which ends at `buf.len()`), for reading one big
/// buffer on several threads. The ranges cover `buf` exactly, in order; none is empty.
/// `n == 0` is treated as 1.
pub fn chunk_boundaries(buf: &[u8], n: usize) -> Vec<Range<usize>> {
    let n = n.max(1);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 1..n {
        // `i * len / n` without overflow on huge buffers.
        let target = (buf.len() / n) * i + (buf.len() % n) * i / n;
        let from = target.max(start);
        if from >= buf.len() {
            break;
        }
        match memchr::memchr(b'\n', &buf[from..]) {
            Some(nl) => {
                let end = super::repair::record_end(buf, from + nl + 1);
                if end >= buf.len() {
                    break;
                }
                out.push(start..end);
                start = end;
            }
            None => break,
        }
    }
    if start < buf.len() {
        out.push(start..buf.len());
    }
    out
}

/// Most bytes of one line a JSON, CSV or S3-export reader takes (a whole
/// `filter-log-events` page may be one NDJSON line: the API returns at most 1 MB of events
/// per call, <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html>).
/// A longer line is an error naming it; buffers never grow past this.
pub(crate) const MAX_LINE: usize = 64 << 20;

/// Reads `reader` to the end into a reusable buffer of `capacity` bytes and calls
/// `f(region, first_line)` for each run of complete lines. `region` ends with `\n`, except
/// the final one at end of input. `f` returns how many lines it consumed, which must be
/// [`count_lines`]`(region)`; the engine does not count them itself to avoid a second pass.
///
/// A line longer than `max_line` bytes is cut: its first `max_line + 1` bytes are handed on
/// (so the consumer sees that it is too long) and the rest up to its newline is read and
/// dropped, so one huge line (a gzip bomb of zeros) never grows the buffer past about
/// `max_line`. With `records`, a region ends before the last line that starts a record,
/// so that the continuation lines of a hard-wrapped record stay with it (see
/// [`super::repair::record_cut`]).
pub(crate) fn for_each_region<R, F>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    capacity: usize,
    max_line: usize,
    records: bool,
    mut f: F,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    F: FnMut(&[u8], u64) -> Result<u64, Error>,
{
    const ROOM: usize = 64 << 10;
    let mut buf = vec![0u8; capacity.max(1)];
    let mut len = 0;
    let mut next_line = 1;
    // Inside a line that was cut at `max_line`: drop bytes up to its newline.
    let mut skipping = false;
    loop {
        if len == buf.len() || (skipping && buf.len() - len < ROOM) {
            // One line longer than the buffer (but not than `max_line`): grow rather than
            // split it.
            let grown = (buf.len() * 2).max(len + ROOM);
            buf.resize(grown, 0);
        }
        let mut n = match reader.read(&mut buf[len..]) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(ctx.io(e)),
        };
        if n == 0 {
            if len > 0 {
                f(&buf[..len], next_line)?;
            }
            return Ok(());
        }
        if skipping {
            match memchr::memchr(b'\n', &buf[len..len + n]) {
                None => continue,
                Some(p) => {
                    buf.copy_within(len + p..len + n, len);
                    n -= p;
                    skipping = false;
                }
            }
        }
        let scanned = len;
        len += n;
        // Only the new bytes can hold the newline that completes what was carried.
        if let Some(nl) = memchr::memrchr(b'\n', &buf[scanned..len]) {
            let whole = scanned + nl + 1;
            let end = if records {
                super::repair::record_cut(&buf[..whole])
            } else {
                whole
            };
            next_line += f(&buf[..end], next_line)?;
            buf.copy_within(end..len, 0);
            len -= end;
        }
        let line_start = memchr::memrchr(b'\n', &buf[..len]).map_or(0, |p| p + 1);
        if len - line_start > max_line {
            len = line_start + max_line + 1;
            skipping = true;
        }
    }
}

/// Reads `reader` as plain lines (the `Raw` format) into `sink`.
pub(crate) fn read_raw<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    capacity: usize,
    sink: &mut S,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    let max = super::repair::MAX_RECORD;
    for_each_region(ctx, reader, capacity, max, true, |region, first| {
        Ok(split_lines(region, first, ctx.input, sink))
    })
}

/// Calls `f(line, line_number)` for every line of `reader`, `\r` stripped, empty lines skipped
/// (but counted). For the line-shaped wrappers (Docker, S3 export, NDJSON, CSV). A line
/// longer than [`MAX_LINE`] is an error naming it.
pub(crate) fn for_each_line<R, F>(ctx: &Ctx<'_>, reader: &mut R, mut f: F) -> Result<(), Error>
where
    R: Read + ?Sized,
    F: FnMut(&[u8], u64) -> Result<(), Error>,
{
    for_each_region(
        ctx,
        reader,
        LINE_BUFFER,
        MAX_LINE,
        false,
        |region, first| {
            let mut line = first;
            for (_, text) in lines(region) {
                let text = strip_cr(text);
                if text.len() > MAX_LINE {
                    return Err(Error::LineTooLong {
                        input: ctx.input.to_owned(),
                        line,
                        max: MAX_LINE,
                    });
                }
                if !text.is_empty() {
                    f(text, line)?;
                }
                line += 1;
            }
            Ok(line - first)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Envelope, Loc};

    #[test]
    fn lines_iterates_like_split_without_trailing_empty() {
        let got: Vec<_> = lines(b"a\n\nbc\r\nd").map(|(_, l)| l).collect();
        assert_eq!(got, vec![&b"a"[..], b"", b"bc\r", b"d"]);
        assert_eq!(lines(b"a\n").count(), 1);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
    }

    #[test]
    fn count_lines_matches_split_lines() {
        for buf in [&b""[..], b"\n", b"a", b"a\n", b"a\nb", b"\n\n\nx\r\n"] {
            let mut n = 0;
            let got = split_lines(
                buf,
                1,
                "t",
                &mut |_: &[u8], _: &Envelope<'_>, _: Loc<'_>| n += 1,
            );
            assert_eq!(got, count_lines(buf), "{buf:?}");
        }
    }

    #[test]
    fn chunks_cover_buffer_and_end_at_newlines() {
        let buf = b"line one\nline two\nthree\nfour four four\nfive\nsix\nseven".repeat(7);
        for n in 0..40 {
            let chunks = chunk_boundaries(&buf, n);
            assert!(chunks.len() <= n.max(1), "n={n}");
            let mut at = 0;
            for (i, c) in chunks.iter().enumerate() {
                assert_eq!(c.start, at);
                assert!(c.end > c.start);
                if i + 1 < chunks.len() {
                    assert_eq!(buf[c.end - 1], b'\n');
                }
                at = c.end;
            }
            assert_eq!(at, buf.len());
        }
        assert!(chunk_boundaries(b"", 4).is_empty());
        assert_eq!(chunk_boundaries(b"no newline at all", 4), vec![0..17]);
        // Several chunks really happen on a buffer with many lines.
        assert_eq!(chunk_boundaries(&buf, 4).len(), 4);
    }
}
