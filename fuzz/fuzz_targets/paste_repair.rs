//! Fuzzes the paste repairer (the raw reader's line splitting): arbitrary bytes must never
//! panic, and every physical line must be accounted for: records pushed plus the lines they
//! joined equal the lines of the input, numbered without gaps.
#![no_main]

use eks_authlog_core::source::{self, Envelope, Loc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (mut records, mut joined, mut next) = (0u64, 0u64, 1u64);
    let n = source::split_lines(data, 1, "fuzz", &mut |_: &[u8], e: &Envelope<'_>, l: Loc<'_>| {
        assert_eq!(l.line, next, "records are numbered by their first physical line");
        records += 1;
        joined += u64::from(e.joined);
        next += 1 + u64::from(e.joined);
    });
    assert_eq!(n, source::count_lines(data));
    assert_eq!(records + joined, n, "a physical line was lost");
});
