//! Fuzzes the line parser and everything an event derives from it: arbitrary bytes must
//! never panic, and a parsed record must decode every value.
#![no_main]

use eks_authlog_core::event::Event;
use eks_authlog_core::source::{Envelope, Loc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = Event::parse(data, Envelope::default(), Loc { input: "fuzz", line: 1 }) {
        let _ = e.msg();
        for (_, v) in e.record.fields() {
            let _ = v.decoded();
        }
        let _ = e.groups();
    }
});
