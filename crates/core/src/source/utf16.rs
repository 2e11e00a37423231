//! UTF-16 input (LE or BE), decoded to UTF-8 as a stream.
//!
//! Windows tools write UTF-16: PowerShell 5's `>` and `Out-File`, Notepad's "Unicode". We
//! decode with std's [`char::decode_utf16`] rather than a crate: it is the whole job
//! (surrogate pairs, and U+FFFD for an unpaired surrogate), and `encoding_rs` would add a
//! large table-driven dependency for one encoding.

use std::io::{self, Read};

/// Bytes read from the inner reader per refill.
const CHUNK: usize = 64 << 10;

/// Reads UTF-16 from `inner` and yields UTF-8.
pub(crate) struct Decoder<R> {
    inner: R,
    big_endian: bool,
    /// Undecoded bytes carried over: an odd byte, or a high surrogate awaiting its pair.
    carry: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    eof: bool,
}

impl<R: Read> Decoder<R> {
    pub(crate) fn new(inner: R, big_endian: bool) -> Self {
        Decoder {
            inner,
            big_endian,
            carry: Vec::new(),
            out: Vec::new(),
            at: 0,
            eof: false,
        }
    }

    /// Decodes the next chunk into `out`. Returns false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.out.clear();
        self.at = 0;
        while self.out.is_empty() {
            if self.eof {
                return Ok(false);
            }
            let mut raw = std::mem::take(&mut self.carry);
            let had = raw.len();
            raw.resize(had + CHUNK, 0);
            let n = loop {
                match self.inner.read(&mut raw[had..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            raw.truncate(had + n);
            self.eof = n == 0;
            let units_len = raw.len() / 2;
            let unit = |i: usize| {
                let b = [raw[2 * i], raw[2 * i + 1]];
                if self.big_endian {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            };
            // Keep a trailing high surrogate (and an odd byte) for the next chunk, unless the
            // input ended: then it is decoded as U+FFFD.
            let mut take = units_len;
            if !self.eof && take > 0 && (0xD800..0xDC00).contains(&unit(take - 1)) {
                take -= 1;
            }
            let units = (0..take).map(unit);
            let mut tmp = [0u8; 4];
            for c in char::decode_utf16(units) {
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                self.out
                    .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
            if self.eof && raw.len() % 2 == 1 {
                self.out.extend_from_slice("\u{FFFD}".as_bytes());
            } else {
                self.carry = raw[take * 2..].to_vec();
            }
        }
        Ok(true)
    }
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], big_endian: bool) -> String {
        let mut s = String::new();
        Decoder::new(bytes, big_endian)
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    fn encode(s: &str, big_endian: bool) -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| {
                if big_endian {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn decodes_both_byte_orders_and_surrogate_pairs() {
        let text = "time=\"2022-12-28T15:37:19Z\" msg=\"caf\u{e9} \u{1F600}\"\r\n";
        assert_eq!(decode(&encode(text, false), false), text);
        assert_eq!(decode(&encode(text, true), true), text);
    }

    #[test]
    fn a_surrogate_pair_split_across_chunks_survives() {
        // Put the pair's high half as the last unit of the first chunk.
        let mut s = "a".repeat(CHUNK / 2 - 1);
        s.push('\u{1F600}');
        assert_eq!(decode(&encode(&s, false), false), s);
    }

    #[test]
    fn unpaired_surrogates_and_an_odd_byte_become_replacement_characters() {
        let bytes = [0x00, 0xD8, b'a', 0x00, b'b'];
        assert_eq!(decode(&bytes, false), "\u{FFFD}a\u{FFFD}");
    }
}
