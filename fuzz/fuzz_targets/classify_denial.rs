//! Fuzzes the classifier on arbitrary error texts and ARNs: it must never panic.
#![no_main]

use eks_authlog_core::classify::{Arn, classify_denial};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = classify_denial(s);
        if let Ok(a) = Arn::parse(s) {
            let _ = a.canonical();
            let _ = a.strip_path();
        }
    }
});
