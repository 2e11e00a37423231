//! Pairing `STS response` lines with the grant or denial that follows them in time.
//!
//! The authenticator logs `STS response` after STS accepted a token and before mapping, then
//! `access granted` or `access denied` for the same HTTP request, in the same log stream
//! with the same `client` (aws-iam-authenticator `pkg/server/server.go`,
//! `authenticateEndpoint`; `docs/authenticator-log.md#correlation`). On one key (stream and
//! client), in time order, a grant or denial pairs with the event right before it when that
//! is a response; a later request on a reused port finds nothing open, so it is never paired
//! with a stale response.
//!
//! Inputs do not always come in time order: `aws logs get-query-results` and the Logs
//! Insights console return newest first, exports get concatenated out of order, streams
//! interleave. The [`Correlator`] therefore places events in time, not in read order:
//!
//! * **Direction.** The first [`SORT_WINDOW`] events of an input (all of it, when shorter)
//!   are held before anything is settled; the majority of adjacent time comparisons among
//!   them says whether the input runs oldest first or newest first. Events at equal times
//!   (logrus `time=` has whole seconds) then count as in read order, or in the reverse of
//!   read order for a newest-first input. The envelope's millisecond `@timestamp`, when the
//!   input has one, orders events within a second first.
//! * **Sort window.** Events are settled in the input's direction through a window of
//!   [`SORT_WINDOW`] events: an event that arrives in order is appended to a queue and costs
//!   no sort; one that arrives out of order goes into a heap (O(log n)), and the window's next
//!   event is the smaller of the two fronts. One page of query results (at most 10,000 rows)
//!   always fits.
//! * **Beyond the window.** An event that arrives after an event on its own key that comes
//!   after it in time has been settled is counted ([`Correlator::beyond_window`]) and
//!   never paired: a denial among them keeps its base class, and no settled pair changes.
//!
//! Chunks of one input are analysed in parallel, and pairing needs the events in read order:
//! a chunk's analyzer only *collects* its correlation events (a [`Correlator::collecting`]
//! one), and the analyzer it merges into, in input order, settles them. The result is the
//! one of reading the input in one pass, whatever the number of threads.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
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

/// Correlation events (responses, grants, denials) an input's sort window holds: the events
/// read before the direction is decided, and how far an event may arrive out of time order
/// and still be placed exactly. A Logs Insights page has at most 10,000 rows
/// (`GetQueryResults`, `limit`), so a page always fits whatever its order. About 80 bytes an
/// event.
pub const SORT_WINDOW: usize = 10_000;

/// When an event happened: its own time (`time=`, else the envelope's), then the envelope's
/// millisecond timestamp (CloudWatch `@timestamp`), which orders events within one of
/// `time=`'s whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct When {
    /// Epoch ms of the event's time.
    pub time: i64,
    /// Epoch ms of the envelope's timestamp, or `time` again.
    pub fine: i64,
}

/// Which way an input runs in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Oldest first (a log file, `filter-log-events`, `sort @timestamp asc`).
    OldestFirst,
    /// Newest first (`get-query-results` and the console's CSV with `sort @timestamp desc`).
    NewestFirst,
}

/// What a correlation event is. `P` is what a denial needs done once its pairing is known.
#[derive(Debug)]
pub enum Role<P> {
    /// `STS response`.
    Response(Sts),
    /// `access granted`.
    Grant,
    /// `access denied`.
    Denial(P),
}

/// An event as read, before its input's direction is known.
#[derive(Debug)]
struct Arrived<P> {
    key: Key,
    when: Option<When>,
    role: Role<P>,
}

/// Processing order: time in the input's direction, then arrival.
type Order = (i64, i64, u64);

/// An event in the sort window.
#[derive(Debug)]
struct Placed<P> {
    order: Order,
    key: Key,
    when: When,
    role: Role<P>,
}

/// An event that arrived out of order, in the window's heap: ordered by [`Placed::order`]
/// alone (unique: it ends with the event's sequence number).
#[derive(Debug)]
struct Late<P>(Placed<P>);

impl<P> PartialEq for Late<P> {
    fn eq(&self, other: &Self) -> bool {
        self.0.order == other.0.order
    }
}

impl<P> Eq for Late<P> {}

impl<P> PartialOrd for Late<P> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<P> Ord for Late<P> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.order.cmp(&other.0.order)
    }
}

/// What the last settled event on a key leaves for the next one.
#[derive(Debug)]
enum Last<P> {
    /// Oldest first: a response, for the grant or denial after it.
    Response(Sts),
    /// Nothing to pair with.
    Closed,
    /// Newest first: a denial, waiting for the response before it in time.
    Waiting(P),
}

#[derive(Debug)]
struct KeyState<P> {
    last: Last<P>,
    /// Where the last settled event was, to tell a late event.
    order: Order,
    when: When,
    dir: Direction,
}

/// Places correlation events in time and pairs them; see the module documentation. Settled
/// denials, with their response if they have one, are handed back by [`Correlator::settled`].
#[derive(Debug)]
pub struct Correlator<P> {
    /// Only collect: a chunk's events, settled by the analyzer the chunk merges into.
    collecting: bool,
    /// The window's size.
    size: usize,
    /// The current input's events in arrival order, until its direction is decided.
    arrived: Vec<Arrived<P>>,
    /// The current input's direction, once decided.
    dir: Option<Direction>,
    /// The sort window: the events that arrived in processing order, appended in O(1)…
    window: VecDeque<Placed<P>>,
    /// …and those that arrived out of it, in a heap (O(log n) each: a concatenation of
    /// exports, where thousands arrive out of order, stays linear-logarithmic). The window's
    /// next event is the smaller of the two fronts.
    late: BinaryHeap<Reverse<Late<P>>>,
    /// Where the last event that left the window was.
    popped: Option<Order>,
    /// The current input's latest time, for an event without one (it stays where it was read).
    carry: Option<When>,
    /// Events placed so far (all inputs).
    seq: u64,
    keys: HashMap<Key, KeyState<P>>,
    beyond_window: u64,
    done: Vec<(P, Option<Sts>)>,
}

impl<P> Default for Correlator<P> {
    fn default() -> Correlator<P> {
        Correlator::with_window(SORT_WINDOW)
    }
}

impl<P> Correlator<P> {
    /// A correlator that settles events, with a window of `size` events (at least 1).
    pub fn with_window(size: usize) -> Correlator<P> {
        Correlator {
            collecting: false,
            size: size.max(1),
            arrived: Vec::new(),
            dir: None,
            window: VecDeque::new(),
            late: BinaryHeap::new(),
            popped: None,
            carry: None,
            seq: 0,
            keys: HashMap::default(),
            beyond_window: 0,
            done: Vec::new(),
        }
    }

    /// A correlator that only collects, for a chunk that merges into another analyzer.
    pub fn collecting() -> Correlator<P> {
        Correlator {
            collecting: true,
            ..Correlator::default()
        }
    }

    /// Events that arrived after a later event on their key had been settled (never paired).
    pub fn beyond_window(&self) -> u64 {
        self.beyond_window
    }

    /// The current input's direction, once decided.
    pub fn direction(&self) -> Option<Direction> {
        self.dir
    }

    /// Denials settled since the last call, with their response (if paired).
    pub fn settled(&mut self) -> &mut Vec<(P, Option<Sts>)> {
        &mut self.done
    }

    /// Takes one event, in read order.
    #[inline]
    pub fn push(&mut self, key: Key, when: Option<When>, role: Role<P>) {
        let Some(dir) = self.dir else {
            self.arrived.push(Arrived { key, when, role });
            if !self.collecting && self.arrived.len() > self.size {
                self.decide();
                self.drain_to(self.size);
            }
            return;
        };
        let when = self.resolve(when);
        let order = order(dir, when, self.seq);
        self.seq += 1;
        let p = Placed {
            order,
            key,
            when,
            role,
        };
        if self.popped.is_some_and(|o| order < o) {
            // Before everything still in the window: settle it now (late if its key moved on).
            self.settle(p);
            return;
        }
        match self.window.back() {
            Some(b) if b.order > order => self.late.push(Reverse(Late(p))),
            _ => self.window.push_back(p),
        }
        if self.window_len() > self.size {
            self.drain_to(self.size);
        }
    }

    /// Ends the current input: settles its window. The next input decides its own direction;
    /// pairs on a key still join across inputs that run the same way.
    pub fn end_input(&mut self) {
        if self.collecting {
            return;
        }
        if self.dir.is_none() {
            self.decide();
        }
        self.drain_to(0);
        self.dir = None;
        self.popped = None;
        self.carry = None;
    }

    /// Ends the last input: denials still waiting for a response have none.
    pub fn finish(&mut self) {
        self.end_input();
        for (_, s) in self.keys.drain() {
            if let Last::Waiting(d) = s.last {
                self.done.push((d, None));
            }
        }
    }

    /// Whether anything was settled here (a collecting correlator never settles).
    fn started(&self) -> bool {
        self.dir.is_some() || !self.keys.is_empty() || self.seq > 0
    }

    /// Appends the events of the correlator of the input (or chunk) that follows this one.
    /// A correlator that had settled events on its own is finished first and its events are
    /// not re-read: its pairs were made without this side's events.
    pub fn append(&mut self, mut later: Correlator<P>) {
        if later.started() {
            later.finish();
            self.done.append(&mut later.done);
        } else {
            for a in later.arrived {
                self.push(a.key, a.when, a.role);
            }
        }
        self.beyond_window += later.beyond_window;
    }

    fn resolve(&mut self, when: Option<When>) -> When {
        match when {
            Some(w) => {
                self.carry = Some(w);
                w
            }
            None => self.carry.unwrap_or(When {
                time: i64::MIN,
                fine: i64::MIN,
            }),
        }
    }

    /// Decides the direction from the events held, and sorts them into the window.
    fn decide(&mut self) {
        let (mut up, mut down) = (0u64, 0u64);
        let mut prev: Option<When> = None;
        for a in &self.arrived {
            if let Some(w) = a.when {
                match prev.map(|p| w.cmp(&p)) {
                    Some(std::cmp::Ordering::Greater) => up += 1,
                    Some(std::cmp::Ordering::Less) => down += 1,
                    _ => {}
                }
                prev = Some(w);
            }
        }
        let dir = if down > up {
            Direction::NewestFirst
        } else {
            Direction::OldestFirst
        };
        self.dir = Some(dir);
        let arrived = std::mem::take(&mut self.arrived);
        let sorted = self.window.is_empty() && self.late.is_empty();
        for a in arrived {
            let when = self.resolve(a.when);
            let order = order(dir, when, self.seq);
            self.seq += 1;
            self.window.push_back(Placed {
                order,
                key: a.key,
                when,
                role: a.role,
            });
        }
        debug_assert!(
            sorted,
            "the window is empty while the direction is undecided"
        );
        self.window
            .make_contiguous()
            .sort_unstable_by_key(|p| p.order);
    }

    fn window_len(&self) -> usize {
        self.window.len() + self.late.len()
    }

    /// The window's next event in processing order.
    fn pop_window(&mut self) -> Option<Placed<P>> {
        let late_first = match (self.window.front(), self.late.peek()) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(Reverse(Late(b)))) => b.order < a.order,
        };
        if late_first {
            self.late.pop().map(|Reverse(Late(p))| p)
        } else {
            self.window.pop_front()
        }
    }

    fn drain_to(&mut self, len: usize) {
        while self.window_len() > len {
            let Some(p) = self.pop_window() else {
                return;
            };
            self.popped = Some(p.order);
            self.settle(p);
        }
    }

    /// Settles one event on its key, in processing order.
    fn settle(&mut self, p: Placed<P>) {
        let Some(dir) = self.dir else {
            return;
        };
        let s = match self.keys.entry(p.key) {
            Entry::Vacant(v) => {
                let last = match p.role {
                    Role::Response(sts) if dir == Direction::OldestFirst => Last::Response(sts),
                    Role::Response(_) | Role::Grant => Last::Closed,
                    Role::Denial(d) if dir == Direction::NewestFirst => Last::Waiting(d),
                    Role::Denial(d) => {
                        self.done.push((d, None));
                        Last::Closed
                    }
                };
                v.insert(KeyState {
                    last,
                    order: p.order,
                    when: p.when,
                    dir,
                });
                return;
            }
            Entry::Occupied(o) => o.into_mut(),
        };
        let late = if s.dir == dir {
            p.order < s.order
        } else {
            // Across inputs that run different ways, only the times compare.
            match dir {
                Direction::OldestFirst => p.when < s.when,
                Direction::NewestFirst => p.when > s.when,
            }
        };
        if late {
            self.beyond_window += 1;
            if let Role::Denial(d) = p.role {
                self.done.push((d, None));
            }
            return;
        }
        let prev = std::mem::replace(&mut s.last, Last::Closed);
        s.last = match dir {
            Direction::OldestFirst => {
                let open = match prev {
                    Last::Response(sts) => Some(sts),
                    Last::Waiting(d) => {
                        // Left by a newest-first input: its response is not in this one.
                        self.done.push((d, None));
                        None
                    }
                    Last::Closed => None,
                };
                match p.role {
                    Role::Response(sts) => Last::Response(sts),
                    Role::Grant => Last::Closed,
                    Role::Denial(d) => {
                        self.done.push((d, open));
                        Last::Closed
                    }
                }
            }
            Direction::NewestFirst => {
                // The event settled before this one on the key is the next one in time.
                let waiting = match prev {
                    Last::Waiting(d) => Some(d),
                    Last::Response(_) | Last::Closed => None,
                };
                match p.role {
                    Role::Response(sts) => {
                        if let Some(d) = waiting {
                            self.done.push((d, Some(sts)));
                        }
                        Last::Closed
                    }
                    Role::Grant => {
                        if let Some(d) = waiting {
                            self.done.push((d, None));
                        }
                        Last::Closed
                    }
                    Role::Denial(d) => {
                        if let Some(w) = waiting {
                            self.done.push((w, None));
                        }
                        Last::Waiting(d)
                    }
                }
            }
        };
        s.order = p.order;
        s.when = p.when;
        s.dir = dir;
    }
}

/// Where an event goes in processing order. Newest first maps times through `!` (which
/// reverses their order without overflow); arrival breaks ties either way.
fn order(dir: Direction, when: When, seq: u64) -> Order {
    match dir {
        Direction::OldestFirst => (when.time, when.fine, seq),
        Direction::NewestFirst => (!when.time, !when.fine, seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sts(session: &str) -> Sts {
        Sts::new([None, Some(session), None, None])
    }

    fn at(s: i64) -> Option<When> {
        Some(When {
            time: s * 1000,
            fine: s * 1000,
        })
    }

    /// Pushes `(key, second, event)` in order and returns the settled denials (by name) with
    /// the session of their response.
    fn run(
        c: &mut Correlator<&'static str>,
        events: &[(Key, i64, Role<&'static str>)],
    ) -> Vec<(&'static str, Option<String>)> {
        for (k, t, r) in events {
            let r = match r {
                Role::Response(s) => Role::Response(s.clone()),
                Role::Grant => Role::Grant,
                Role::Denial(d) => Role::Denial(*d),
            };
            c.push(*k, at(*t), r);
        }
        c.finish();
        let mut got: Vec<_> = c
            .settled()
            .drain(..)
            .map(|(d, s)| (d, s.and_then(|s| s.session().map(str::to_owned))))
            .collect();
        got.sort();
        got
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
    fn keys_differ_by_stream_and_client() {
        assert_ne!(key("a", "127.0.0.1:1"), key("b", "127.0.0.1:1"));
        assert_ne!(key("a", "127.0.0.1:1"), key("a", "127.0.0.1:2"));
        assert_ne!(key("ab", "c"), key("a", "bc"));
    }

    #[test]
    fn a_response_pairs_with_the_next_event_in_time_only() {
        let k = key("authenticator-1", "127.0.0.1:1");
        let events = [
            (k, 1, Role::Response(sts("i-0123456789abcdef0"))),
            (k, 2, Role::Denial("first")),
            // A reused port must not find the old response.
            (k, 3, Role::Denial("second")),
        ];
        let want = [
            ("first", Some("i-0123456789abcdef0".to_owned())),
            ("second", None),
        ];
        assert_eq!(run(&mut Correlator::default(), &events), want);
        // The same events newest first pair the same way.
        let mut reversed: Vec<_> = events.into_iter().collect();
        reversed.reverse();
        let mut c = Correlator::default();
        assert_eq!(run(&mut c, &reversed), want);
    }

    #[test]
    fn equal_times_follow_the_direction_of_the_input() {
        let k = key("s", "c");
        let other = key("s", "d");
        // Newest first, the response and its denial in one second: in read order the denial
        // comes first. Other keys' times show which way the input runs.
        let newest_first = [
            (other, 9, Role::Grant),
            (other, 8, Role::Grant),
            (k, 5, Role::Denial("d")),
            (k, 5, Role::Response(sts("i-1"))),
            (other, 2, Role::Grant),
        ];
        let mut c = Correlator::default();
        assert_eq!(run(&mut c, &newest_first), [("d", Some("i-1".to_owned()))]);
        // Oldest first, the same read order means the denial came before the response.
        let oldest_first = [
            (other, 1, Role::Grant),
            (other, 2, Role::Grant),
            (k, 5, Role::Denial("d")),
            (k, 5, Role::Response(sts("i-1"))),
            (other, 9, Role::Grant),
        ];
        let mut c = Correlator::default();
        assert_eq!(run(&mut c, &oldest_first), [("d", None)]);
        assert_eq!(c.beyond_window(), 0);
    }

    #[test]
    fn the_window_sorts_what_arrives_out_of_order_and_counts_what_is_too_late() {
        let k = key("s", "c");
        let filler = key("s", "f");
        // A window of 4: the response arrives 3 events after its denial (fits).
        let mut c = Correlator::with_window(4);
        let events = [
            (filler, 1, Role::Grant),
            (filler, 2, Role::Grant),
            (filler, 3, Role::Grant),
            (filler, 4, Role::Grant),
            (filler, 5, Role::Grant),
            (k, 11, Role::Denial("d")),
            (filler, 12, Role::Grant),
            (filler, 13, Role::Grant),
            (k, 10, Role::Response(sts("i-1"))),
            (filler, 14, Role::Grant),
        ];
        assert_eq!(run(&mut c, &events), [("d", Some("i-1".to_owned()))]);
        assert_eq!(c.beyond_window(), 0);
        // Now it arrives after the denial left the window: counted, and the denial is not
        // paired with anything else.
        let mut c = Correlator::with_window(2);
        let events = [
            (filler, 1, Role::Grant),
            (filler, 2, Role::Grant),
            (filler, 3, Role::Grant),
            (k, 11, Role::Denial("d")),
            (filler, 12, Role::Grant),
            (filler, 13, Role::Grant),
            (filler, 14, Role::Grant),
            (k, 10, Role::Response(sts("i-1"))),
            (filler, 15, Role::Grant),
        ];
        assert_eq!(run(&mut c, &events), [("d", None)]);
        assert_eq!(c.beyond_window(), 1);
    }

    #[test]
    fn an_event_late_for_the_window_but_not_for_its_key_still_pairs() {
        let k = key("s", "c");
        let filler = key("s", "f");
        // Another key's events moved the window on, but nothing on `k` was settled after 10.
        let mut c = Correlator::with_window(2);
        let events = [
            (filler, 1, Role::Grant),
            (filler, 2, Role::Grant),
            (filler, 30, Role::Grant),
            (filler, 31, Role::Grant),
            (filler, 32, Role::Grant),
            (k, 10, Role::Response(sts("i-1"))),
            (k, 11, Role::Denial("d")),
            (filler, 33, Role::Grant),
        ];
        assert_eq!(run(&mut c, &events), [("d", Some("i-1".to_owned()))]);
        assert_eq!(c.beyond_window(), 0);
    }

    #[test]
    fn collected_events_settle_where_they_are_appended() {
        let k = key("s", "c");
        let mut first = Correlator::default();
        first.push(k, at(1), Role::Response(sts("from-first")));
        let mut second = Correlator::collecting();
        second.push(k, at(2), Role::Denial("d"));
        second.finish();
        assert!(
            second.settled().is_empty(),
            "a collecting correlator settles nothing"
        );
        first.append(second);
        first.finish();
        let got: Vec<_> = first.settled().drain(..).collect();
        assert_eq!(got, [("d", Some(sts("from-first")))]);
    }
}
