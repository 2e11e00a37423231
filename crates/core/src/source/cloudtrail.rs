//! CloudTrail documents as inputs: a trail's S3 object (`{"Records": [ … ]}`, usually
//! `.json.gz`; CloudTrail User Guide, "CloudTrail log file examples") and what `aws cloudtrail
//! lookup-events` prints (`{"Events": [{"EventId": …, "CloudTrailEvent": "<the event as a JSON
//! string>"}, …]}`; CloudTrail API Reference, `LookupEvents`). Several documents may follow
//! each other (concatenated pages).
//!
//! Each event becomes one record (its JSON text) for the sink, numbered from 1 in the order
//! read, and `pipeline::Feed` recognises it as CloudTrail ([`crate::cloudtrail`]). A
//! `lookup-events` item without a `CloudTrailEvent` string is pushed as it is, so it is
//! counted as a record that did not parse rather than dropped.

use std::io::Read;

use serde_json::Value;

use super::lines::MAX_LINE;
use super::{Ctx, Envelope, Error, LineSink, Loc};

/// Reads every document of `reader` and pushes each CloudTrail event in it.
pub(crate) fn read_cloudtrail<R, S>(
    ctx: &Ctx<'_>,
    reader: &mut R,
    sink: &mut S,
) -> Result<(), Error>
where
    R: Read + ?Sized,
    S: LineSink + ?Sized,
{
    // Trail objects and lookup-events pages are small (CloudTrail delivers a file about
    // every 5 minutes; a page holds at most 50 events): the whole input is read at once, up
    // to the limit every JSON reader here has.
    let mut text = Vec::new();
    reader
        .take(MAX_LINE as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|e| ctx.io(e))?;
    if text.len() > MAX_LINE {
        return Err(Error::LineTooLong {
            input: ctx.input.to_owned(),
            line: 1,
            max: MAX_LINE,
        });
    }
    let mut record = 0u64;
    let mut push = |text: &str, sink: &mut S| {
        record += 1;
        sink.line_str(
            text,
            &Envelope::default(),
            Loc {
                input: ctx.input,
                line: record,
            },
        );
    };
    for doc in serde_json::Deserializer::from_slice(&text).into_iter::<Value>() {
        let doc = doc.map_err(|e| Error::json(ctx.input, 1, e))?;
        if let Some(records) = doc.get("Records").and_then(Value::as_array) {
            for r in records {
                push(&r.to_string(), sink);
            }
        }
        let events = doc.get("Events").and_then(Value::as_array);
        for e in events.into_iter().flatten() {
            match e.get("CloudTrailEvent").and_then(Value::as_str) {
                Some(event) => push(event, sink),
                None => push(&e.to_string(), sink),
            }
        }
        if events.is_none() && !doc.get("Records").is_some_and(Value::is_array) {
            return Err(Error::UnknownShape {
                input: ctx.input.to_owned(),
            });
        }
    }
    Ok(())
}
