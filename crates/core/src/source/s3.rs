//! CloudWatch Logs export-to-S3 objects: `<RFC 3339 timestamp> <message>` per line (the
//! objects are gzip; decompression happens before this reader).

use std::io::Read;

use super::lines::for_each_line;
use super::{Ctx, Envelope, Error, LineSink, Loc};
use crate::time::rfc3339_prefix;

/// Reads export-to-S3 lines: the leading timestamp goes to the envelope, the rest is the
/// line. A line without the prefix is passed on whole, with no timestamp, rather than
/// dropped. [`Loc::line`] is the physical line number.
pub(crate) fn read_s3_export<R, S>(ctx: &Ctx<'_>, reader: &mut R, sink: &mut S) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    for_each_line(ctx, reader, |text, line| {
        let loc = Loc {
            input: ctx.input,
            line,
        };
        match rfc3339_prefix(text) {
            Some((ms, n)) if text.get(n) == Some(&b' ') => {
                let envelope = Envelope {
                    timestamp_ms: Some(ms),
                    ..Envelope::default()
                };
                sink.line(&text[n + 1..], &envelope, loc);
            }
            _ => sink.line(text, &Envelope::default(), loc),
        }
        Ok(())
    })
}
