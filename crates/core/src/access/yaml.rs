//! A small YAML tree with line numbers, read the way Go's `gopkg.in/yaml.v2` reads it.
//!
//! This module owns the YAML layer under the aws-auth reader: it turns text into [`Node`]s
//! (with the 1-based line each starts on), resolves plain scalars with yaml.v2's YAML 1.1
//! rules, and words syntax errors the way yaml.v2 does. It does not know what aws-auth is.
//!
//! The events come from `saphyr-parser`, a maintained pure-Rust YAML 1.2 parser that reports
//! a span for every event (`serde_yaml` is archived, `serde_yml` is deprecated, and
//! `yaml-rust2`'s maintainers moved on to saphyr). Where yaml.v2 differs and the difference
//! changes what the authenticator does, we emulate yaml.v2 on top:
//!
//! * plain `yes`/`no`/`on`/`off`/`y`/`n` (any of yaml.v2's spellings) are booleans, and
//!   `0x1F`, `0o17`, `1_000` are numbers (yaml.v2 `resolve.go`, `resolve`);
//! * error texts are libyaml's, which yaml.v2 ports: the parser's `problem` without its
//!   `context`, prefixed `yaml: line N: ` (yaml.v2 `decode.go`, `parser.fail`). yaml.v2 adds 1
//!   to the 0-based mark line for scanner errors only, so parser errors ("did not find
//!   expected key") name the line *before* the offending one, as the authenticator logs them.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

/// One YAML node and the 1-based line (within the parsed text) it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// 1-based line of the node's first character.
    pub line: usize,
    /// What the node is.
    pub value: Value,
}

/// The shape of a [`Node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar and how it was written.
    Scalar {
        /// The scalar's text after YAML unescaping and folding.
        text: String,
        /// Whether it was written plain (unquoted, not a block scalar); only plain scalars
        /// resolve to booleans, numbers and null.
        plain: bool,
        /// Whether it was a literal block scalar (`|`), whose content lines map one to one
        /// onto the lines of the file.
        literal: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
}

/// What yaml.v2 resolves a scalar to (yaml.v2 `resolve.go`, `resolve`), as JSON names it when
/// `sigs.k8s.io/yaml` converts the document (`encoding/json` type-error wording).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// A YAML 1.1 boolean.
    Bool,
    /// An integer or float.
    Number,
    /// Anything else.
    String,
    /// A sequence.
    Array,
    /// A mapping.
    Object,
}

impl Kind {
    /// The word `encoding/json` uses in `cannot unmarshal <word> into …`.
    pub const fn json_word(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "bool",
            Kind::Number => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

impl Node {
    /// How yaml.v2 resolves this node.
    pub fn kind(&self) -> Kind {
        match &self.value {
            Value::Seq(_) => Kind::Array,
            Value::Map(_) => Kind::Object,
            Value::Scalar { text, plain, .. } => {
                if *plain {
                    resolve_plain(text)
                } else {
                    Kind::String
                }
            }
        }
    }

    /// The scalar text, if this is a scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value under `key` (exact match) if this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_scalar() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The mapping's pairs, or an empty slice.
    pub fn pairs(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(pairs) => pairs,
            _ => &[],
        }
    }
}

/// yaml.v2's resolution of a plain scalar (yaml.v2 `resolve.go`: `resolveMapList`, the
/// `strconv.ParseInt(plain, 0, 64)` and `yamlStyleFloat` checks).
pub fn resolve_plain(text: &str) -> Kind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Kind::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" | "n"
        | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Kind::Bool;
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Kind::Number,
        _ => {}
    }
    if is_go_int(&text.replace('_', "")) || is_yaml_float(text) {
        Kind::Number
    } else {
        Kind::String
    }
}

/// `strconv.ParseInt(s, 0, 64)` syntax: optional sign, then `0x`/`0o`/`0b`/leading-`0`
/// octal or decimal digits (range is ignored: a too-large number is still not a string).
fn is_go_int(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = s.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix))
}

/// yaml.v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exp_ok
}

/// A YAML syntax error, worded and numbered as yaml.v2 reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The line yaml.v2 names (see the module docs for its off-by-one on parser errors);
    /// `None` when yaml.v2 would name none.
    pub reported_line: Option<usize>,
    /// The 1-based line where the problem really is.
    pub line: usize,
    /// libyaml's problem text, e.g. `did not find expected key`.
    pub problem: String,
}

impl SyntaxError {
    /// The text yaml.v2 returns: `yaml: line 2: found a tab character that violates indentation`.
    pub fn go_text(&self) -> String {
        match self.reported_line {
            Some(l) => format!("yaml: line {l}: {}", self.problem),
            None => format!("yaml: {}", self.problem),
        }
    }
}

/// Parses the first document of `text` (yaml.v2 `Unmarshal` reads only the first). An empty
/// document is `Ok(None)`.
pub fn parse(text: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    let mut seen_document = false;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| translate(text, &e))?;
        let line = span.start.line().max(1);
        match event {
            Event::DocumentStart(_) => {
                if seen_document {
                    break;
                }
                seen_document = true;
            }
            Event::DocumentEnd | Event::StreamEnd => {
                if builder.root.is_some() {
                    break;
                }
            }
            Event::StreamStart | Event::Nothing => {}
            Event::Alias(id) => {
                // Expanding aliases copies nodes; bound the copies so that a "billion laughs"
                // document fails as yaml.v2 fails it (decode.go, `allowedAliasRatio`) instead
                // of exhausting memory.
                builder.expanded += builder.anchors.get(&id).map_or(1, |(_, size)| *size);
                if builder.expanded > MAX_ALIAS_NODES {
                    return Err(SyntaxError {
                        reported_line: None,
                        line,
                        problem: "document contains excessive aliasing".to_owned(),
                    });
                }
                let node = builder
                    .anchors
                    .get(&id)
                    .map(|(n, _)| n.clone())
                    .unwrap_or(Node {
                        line,
                        value: Value::Scalar {
                            text: String::new(),
                            plain: true,
                            literal: false,
                        },
                    });
                builder.push(node, 0);
            }
            Event::Scalar(text, style, anchor, _tag) => {
                // saphyr's span of a block scalar starts at its first content line, which for
                // a literal block is where the section's line 1 sits in the file.
                let literal = matches!(style, ScalarStyle::Literal);
                let node = Node {
                    line,
                    value: Value::Scalar {
                        text: Cow::into_owned(text),
                        plain: matches!(style, ScalarStyle::Plain),
                        literal,
                    },
                };
                builder.push(node, anchor);
            }
            Event::SequenceStart(anchor, _) => builder.open(line, Value::Seq(Vec::new()), anchor),
            Event::MappingStart(anchor, _) => builder.open(line, Value::Map(Vec::new()), anchor),
            Event::SequenceEnd | Event::MappingEnd => builder.close(),
        }
    }
    Ok(builder.root)
}

#[derive(Default)]
struct Builder {
    /// Open collections, each with its anchor id and (for mappings) a pending key.
    stack: Vec<(Node, usize, Option<Node>)>,
    root: Option<Node>,
    /// Anchored nodes and their sizes in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied by alias expansion so far.
    expanded: usize,
}

impl Builder {
    fn open(&mut self, line: usize, value: Value, anchor: usize) {
        self.stack.push((Node { line, value }, anchor, None));
    }

    fn close(&mut self) {
        if let Some((node, anchor, _)) = self.stack.pop() {
            self.push(node, anchor);
        }
    }

    fn push(&mut self, node: Node, anchor: usize) {
        if anchor != 0 {
            let size = node_count(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let Some((parent, _, pending)) = self.stack.last_mut() else {
            self.root.get_or_insert(node);
            return;
        };
        match &mut parent.value {
            Value::Seq(items) => items.push(node),
            Value::Map(pairs) => match pending.take() {
                Some(key) => pairs.push((key, node)),
                None => *pending = Some(node),
            },
            Value::Scalar { .. } => {}
        }
    }
}

/// Alias expansion beyond this many nodes is refused (aws-auth documents have hundreds).
const MAX_ALIAS_NODES: usize = 100_000;

/// How many nodes `node` holds, itself included (iteratively: depth is the parser's to bound).
fn node_count(node: &Node) -> usize {
    let mut count = 0;
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        count += 1;
        match &n.value {
            Value::Seq(items) => stack.extend(items),
            Value::Map(pairs) => {
                for (k, v) in pairs {
                    stack.push(k);
                    stack.push(v);
                }
            }
            Value::Scalar { .. } => {}
        }
    }
    count
}

/// Rewords a saphyr error as yaml.v2 (libyaml) words it.
fn translate(text: &str, e: &ScanError) -> SyntaxError {
    let info = e.info();
    let mark_line = e.marker().line().max(1);
    // libyaml's "while parsing …" errors come from the parser; yaml.v2 reports their 0-based
    // mark line (no +1), and no line at all for line 0 (decode.go, parser.fail).
    if let Some(rest) = info.strip_prefix("while parsing ") {
        let problem = rest.split_once(", ").map_or(rest, |(_, p)| p).to_owned();
        let zero_based = mark_line - 1;
        return SyntaxError {
            reported_line: (zero_based > 0).then_some(zero_based),
            line: mark_line,
            problem,
        };
    }
    if info.contains("tab") {
        // libyaml rejects a tab where indentation is expected: on the continuation line of
        // a plain scalar ("found a tab character that violates indentation",
        // yaml_parser_scan_plain_scalar) or at the start of a line in block context, where
        // no token may start with it ("found character that cannot start any token",
        // yaml_parser_fetch_next_token). Both are scanner errors: 1-based lines.
        let tab_line = first_leading_tab_line(text, mark_line).unwrap_or(mark_line);
        let problem = if info.contains("plain scalar") {
            "found a tab character that violates indentation"
        } else {
            "found character that cannot start any token"
        };
        return scanner_error(tab_line, problem);
    }
    if info.contains("quoted scalar") || info.contains("unexpected end of stream") {
        // libyaml does not check indentation inside quoted scalars, so an unclosed quote
        // runs to the end of the text (yaml_parser_scan_flow_scalar: "found unexpected end
        // of stream"); the mark is then at the end of the text.
        let end_line = text.matches('\n').count() + 1;
        return scanner_error(end_line, "found unexpected end of stream");
    }
    let problem = info.split_once(", ").map_or(info, |(_, p)| p).to_owned();
    scanner_error(mark_line, &problem)
}

fn scanner_error(line: usize, problem: &str) -> SyntaxError {
    SyntaxError {
        reported_line: Some(line),
        line,
        problem: problem.to_owned(),
    }
}

/// The first 1-based line at or after `from` whose indentation contains a tab.
fn first_leading_tab_line(text: &str, from: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| {
            l.chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .any(|c| c == '\t')
        })
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_booleans_and_numbers_resolve_like_yaml_v2() {
        for b in ["yes", "No", "ON", "off", "y", "N", "true"] {
            assert_eq!(resolve_plain(b), Kind::Bool, "{b}");
        }
        for n in ["12345", "0x1F", "017", "1_000", "-1.5e3", ".5", ".inf"] {
            assert_eq!(resolve_plain(n), Kind::Number, "{n}");
        }
        for s in [
            "system:masters",
            "arn:aws:iam::1:role/x",
            "0x",
            "1.2.3",
            "yess",
        ] {
            assert_eq!(resolve_plain(s), Kind::String, "{s}");
        }
        assert_eq!(resolve_plain("~"), Kind::Null);
    }

    #[test]
    fn parser_errors_name_the_line_before_as_yaml_v2_does() {
        let e = parse("- rolearn: a\n  username: b\n groups: [x]\n").unwrap_err();
        assert_eq!(
            e.go_text(),
            "yaml: line 2: did not find expected '-' indicator"
        );
        assert_eq!(e.line, 3);
    }

    #[test]
    fn tab_on_a_continuation_line_is_a_scanner_error_on_that_line() {
        let e = parse("- rolearn: a\n\tusername: b\n").unwrap_err();
        assert_eq!(
            e.go_text(),
            "yaml: line 2: found a tab character that violates indentation"
        );
    }

    #[test]
    fn alias_bombs_fail_instead_of_exhausting_memory() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = parse(&doc).unwrap_err();
        assert_eq!(e.go_text(), "yaml: document contains excessive aliasing");
        // Ordinary anchors still expand.
        let n = parse("a: &x [1]\nb: *x\n").unwrap().unwrap();
        assert_eq!(
            n.get("b").unwrap().value,
            Value::Seq(vec![Node {
                line: 1,
                value: Value::Scalar {
                    text: "1".into(),
                    plain: true,
                    literal: false
                }
            }])
        );
    }

    #[test]
    fn literal_block_content_starts_on_the_line_after_the_indicator() {
        let n = parse("data:\n  mapRoles: |\n    - rolearn: a\n")
            .unwrap()
            .unwrap();
        let roles = n.get("data").unwrap().get("mapRoles").unwrap();
        assert_eq!(roles.line, 3);
    }
}
