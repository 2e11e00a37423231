//! Pairing `STS response` lines with the grant or denial that follows them.
//!
//! The authenticator logs `STS response` after STS accepted a token and before mapping, then
//! `access granted` or `access denied` for the same HTTP request, in the same log stream
//! with the same `client` (aws-iam-authenticator `pkg/server/server.go`,
//! `authenticateEndpoint`; `docs/authenticator-log.md#correlation`). A response stays
//! *open* until the next grant or denial on its key consumes it; a later request on a reused
//! port finds nothing open, so it is never paired with a stale response.
//!
//! Chunks of one input are analysed in parallel, so a denial at the head of a chunk may
//! belong to a response at the tail of the previous chunk. Each chunk therefore remembers
//! which keys it touched and which of its denials came before any event on their key; the
//! in-order merge resolves those against the previous chunks' open responses. The result is
//! the same as reading the input in one pass, whatever the number of threads.

use std::hash::BuildHasher;

use hashbrown::hash_map::Entry;

use super::HashMap;

/// An open `STS response`: its four values (`arn`, `session`, `userid`, `accesskeyid`,
/// decoded) in one allocation. Responses are about half of all lines and most are consumed
/// by a grant that never looks at them, so storing four `String`s each cost ~15 % of
/// `report`; this is one `malloc` and one `free`. `report::wire` builds the output form
/// from it when a denial or `events` needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sts {
    /// The present values, concatenated.
    text: Box<str>,
    /// End of each value in `text`; [`ABSENT`] for an absent value (a sentinel rather than
    /// `Option`, to keep the correlation map's entries small).
    ends: [u32; 4],
}

/// An absent value's end.
const ABSENT: u32 = u32::MAX;

impl Default for Sts {
    fn default() -> Sts {
        Sts {
            text: Box::default(),
            ends: [ABSENT; 4],
        }
    }
}

impl Sts {
    /// Packs the four values. A value that does not fit the `u32` offsets (a line of about
    /// 4 GiB) is dropped rather than wrapped.
    pub fn new(values: [Option<&str>; 4]) -> Sts {
        let len = values.iter().flatten().map(|v| v.len()).sum();
        let mut text = String::with_capacity(len);
        let mut ends = [ABSENT; 4];
        for (end, v) in ends.iter_mut().zip(values) {
            if let Some(v) = v {
                let e = match u32::try_from(text.len() + v.len()) {
                    Ok(e) if e != ABSENT => e,
                    _ => break,
                };
                text.push_str(v);
                *end = e;
            }
        }
        Sts {
            text: text.into_boxed_str(),
            ends,
        }
    }

    fn get(&self, i: usize) -> Option<&str> {
        let end = self.ends[i];
        if end == ABSENT {
            return None;
        }
        let start = self.ends[..i]
            .iter()
            .rev()
            .find(|&&e| e != ABSENT)
            .map_or(0, |&e| e as usize);
        let end = end as usize;
        self.text.get(start..end)
    }

    /// `session=`.
    pub fn session(&self) -> Option<&str> {
        self.get(1)
    }

    /// `userid=`.
    pub fn userid(&self) -> Option<&str> {
        self.get(2)
    }

    /// `arn=` (the raw STS ARN).
    pub fn arn(&self) -> Option<&str> {
        self.get(0)
    }

    /// `accesskeyid=`.
    pub fn accesskeyid(&self) -> Option<&str> {
        self.get(3)
    }
}

/// A correlation key: a hash of (stream or input name, client).
pub type Key = u64;

/// Builds a key. A word-at-a-time hash (it runs on every grant, denial and STS response;
/// byte-wise FNV was 4 % of `report`); a collision only costs one mis-paired request.
pub fn key(stream: &str, client: &str) -> Key {
    rustc_hash::FxBuildHasher.hash_one((stream, client))
}

/// Every key this chunk has seen, with its open `STS response` if one is waiting. One map
/// rather than an open map plus a seen set: each response and each grant or denial costs
/// one hash lookup instead of two.
#[derive(Debug, Default)]
pub struct Correlator {
    keys: HashMap<Key, Option<Sts>>,
}

/// What looking up a grant's or denial's key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Pairing {
    /// The open response for this request.
    Paired(Sts),
    /// The key had events earlier in this chunk, none open: definitely unpaired.
    Unpaired,
    /// First event on this key in the chunk: an earlier chunk may hold its response.
    Head,
}

impl Correlator {
    /// Records an `STS response`.
    pub fn open(&mut self, key: Key, sts: Sts) {
        self.keys.insert(key, Some(sts));
    }

    /// Consumes the open response for a grant or denial on `key`.
    pub fn take(&mut self, key: Key) -> Pairing {
        match self.keys.entry(key) {
            Entry::Occupied(mut o) => match o.get_mut().take() {
                Some(sts) => Pairing::Paired(sts),
                None => Pairing::Unpaired,
            },
            Entry::Vacant(v) => {
                v.insert(None);
                Pairing::Head
            }
        }
    }

    /// Appends the chunk that follows this one. `resolve` is called for each of `next`'s
    /// head keys, in order, with the response this side left open for it (consumed).
    pub fn append(
        &mut self,
        next: Correlator,
        heads: &[Key],
        mut resolve: impl FnMut(usize, Option<Sts>),
    ) {
        for (i, k) in heads.iter().enumerate() {
            resolve(i, self.keys.get_mut(k).and_then(Option::take));
        }
        // Every key the next chunk touched either consumed or superseded what was open here:
        // its state (open or not) is the next chunk's.
        self.keys.extend(next.keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(session: &str) -> Sts {
        Sts::new([None, Some(session), None, None])
    }

    #[test]
    fn a_packed_response_gives_back_each_value() {
        let s = Sts::new([
            Some("arn:aws:sts::1:assumed-role/Dev/alice"),
            Some(""),
            None,
            Some("ASIA1"),
        ]);
        assert_eq!(s.arn(), Some("arn:aws:sts::1:assumed-role/Dev/alice"));
        assert_eq!(s.session(), Some(""));
        assert_eq!(s.userid(), None);
        assert_eq!(s.accesskeyid(), Some("ASIA1"));
        let d = Sts::default();
        assert_eq!(
            (d.arn(), d.session(), d.userid(), d.accesskeyid()),
            (None, None, None, None)
        );
    }

    #[test]
    fn a_response_pairs_with_the_next_event_only() {
        let mut c = Correlator::default();
        let k = key("authenticator-1", "127.0.0.1:1");
        c.open(k, sts("i-0123456789abcdef0"));
        assert_eq!(c.take(k), Pairing::Paired(sts("i-0123456789abcdef0")));
        assert_eq!(
            c.take(k),
            Pairing::Unpaired,
            "a reused port must not find the old response"
        );
    }

    #[test]
    fn keys_differ_by_stream_and_client() {
        assert_ne!(key("a", "127.0.0.1:1"), key("b", "127.0.0.1:1"));
        assert_ne!(key("a", "127.0.0.1:1"), key("a", "127.0.0.1:2"));
        assert_ne!(key("ab", "c"), key("a", "bc"));
    }

    #[test]
    fn a_head_resolves_against_the_previous_chunk() {
        let k = key("s", "c");
        let other = key("s", "d");
        let mut first = Correlator::default();
        first.open(k, sts("from-first"));
        first.open(other, sts("superseded"));
        let mut second = Correlator::default();
        assert_eq!(second.take(k), Pairing::Head);
        second.open(other, sts("newer"));
        let mut got = Vec::new();
        first.append(second, &[k], |i, s| got.push((i, s)));
        assert_eq!(got, [(0, Some(sts("from-first")))]);
        let mut third = Correlator::default();
        assert_eq!(third.take(other), Pairing::Head);
        let mut got = Vec::new();
        first.append(third, &[other], |_, s| got.push(s));
        assert_eq!(
            got,
            [Some(sts("newer"))],
            "the newer response wins over the superseded one"
        );
    }
}
