//! The `kube-system/aws-auth` ConfigMap, read the way aws-iam-authenticator reads it.
//!
//! This module owns turning an aws-auth document (the ConfigMap as `kubectl get configmap
//! aws-auth -n kube-system -o yaml|json` prints it, its bare `data` block, or `eksctl get
//! iamidentitymapping -o json|yaml`) into [`AwsAuth`]: every section, every entry with its
//! line, and the errors the authenticator logs for it. It does not match principals (that is
//! `diagnose`) and does not read files (that is `access::read`).
//!
//! Upstream behaviour reproduced here (aws-iam-authenticator `pkg/mapper/configmap/
//! configmap.go`, `ParseMap`, at 81b1daba):
//!
//! * the three data keys `mapRoles`, `mapUsers`, `mapAccounts` are looked up exactly; any other
//!   key is never read (upstream `yaml_test.go`: "top-level keys are case-sensitive");
//! * each section is parsed on its own, so a YAML error drops that section only, with the
//!   error text `yaml: line N: …` numbered within the section;
//! * `mapRoles`/`mapUsers` go YAML → JSON (`sigs.k8s.io/yaml`) → `encoding/json` into
//!   `[]RoleMapping`/`[]UserMapping`: entry keys match case-insensitively, a type error keeps
//!   the element with that field empty and reports only the section's first type error, and
//!   `Validate()` (`pkg/config/mapper.go`) then drops the elements without an ARN;
//! * `mapAccounts` goes through yaml.v2 straight into `[]string`, which keeps the literal text
//!   of unquoted numbers.

use serde::Serialize;

use super::yaml::{self, Kind, Node, Value};

/// The exact data keys the authenticator reads (`configmap.go`, `ParseMap`).
pub const SECTION_KEYS: [&str; 3] = ["mapRoles", "mapUsers", "mapAccounts"];

/// Which of the three sections a data key is, or was meant to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// `mapRoles`: a list of `RoleMapping`.
    Roles,
    /// `mapUsers`: a list of `UserMapping`.
    Users,
    /// `mapAccounts`: a list of account IDs.
    Accounts,
}

impl SectionKind {
    /// The exact key the authenticator reads for this section.
    pub const fn key(self) -> &'static str {
        match self {
            SectionKind::Roles => "mapRoles",
            SectionKind::Users => "mapUsers",
            SectionKind::Accounts => "mapAccounts",
        }
    }

    /// The ARN field of the section's entries.
    pub const fn arn_field(self) -> &'static str {
        match self {
            SectionKind::Users => "userarn",
            _ => "rolearn",
        }
    }

    /// The Go type name upstream decodes an element into (for `encoding/json` error texts).
    const fn go_struct(self) -> &'static str {
        match self {
            SectionKind::Users => "UserMapping",
            _ => "RoleMapping",
        }
    }

    /// The data key this one is a misspelling of: same letters in another case, or at most
    /// two edits away (`maproles`, `MapRoles`, `mapRole`, `map_roles`).
    pub fn from_misspelt(key: &str) -> Option<SectionKind> {
        let folded: String = key
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        [
            SectionKind::Roles,
            SectionKind::Users,
            SectionKind::Accounts,
        ]
        .into_iter()
        .find(|k| edit_distance(&folded, &k.key().to_ascii_lowercase()) <= 2)
    }
}

/// How the aws-auth document was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AwsAuthFormat {
    /// The whole ConfigMap (`kubectl get configmap aws-auth -o yaml|json`).
    ConfigMap,
    /// Only its `data` block.
    DataBlock,
    /// `eksctl get iamidentitymapping -o json|yaml`: already decoded by eksctl, so no
    /// section-level errors can be seen.
    Eksctl,
}

/// One data key of the ConfigMap.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    /// The key as written.
    pub key: String,
    /// The section it is (exact key) or looks meant to be (misspelt key).
    pub kind: Option<SectionKind>,
    /// Whether the authenticator reads it (the key is exactly one of [`SECTION_KEYS`]).
    pub read: bool,
    /// Line in the file where the section's text starts.
    pub line: Option<usize>,
    /// The authenticator's errors for this section, in its order and wording.
    pub errors: Vec<String>,
    /// Whether the authenticator drops the whole section (syntax error, not a list).
    pub dropped: bool,
    /// File line of the syntax error that drops the section, when known.
    pub error_line: Option<usize>,
    /// The value is not a string: the API server rejects such a ConfigMap (`data` values
    /// must be strings), so the aws-auth in force is still the previous one.
    pub not_a_string: bool,
    /// The section's text, for looking for an ARN in a section nothing could be decoded from.
    #[serde(skip)]
    pub text: String,
}

/// What the authenticator does with one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum EntryState {
    /// Stored and matched against callers.
    Kept,
    /// Dropped by `Validate()` with this error.
    Dropped(String),
    /// Lost with its whole section.
    SectionDropped,
    /// Under a data key the authenticator never reads.
    SectionIgnored,
    /// In a section written as a YAML list instead of a string: the API server rejects the
    /// whole ConfigMap, so these entries never reach the authenticator.
    Rejected,
}

/// An `sso:` block of a role mapping (feature-gated upstream).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Sso {
    /// `permissionSetName`.
    pub permission_set_name: String,
    /// `accountID`.
    pub account_id: String,
    /// `partition`.
    pub partition: String,
}

/// One entry of `mapRoles` or `mapUsers`.
#[derive(Clone, Debug, Serialize)]
pub struct Mapping {
    /// The data key it sits under, as written.
    pub section: String,
    /// The section it belongs to (or was meant to).
    pub kind: SectionKind,
    /// Line in the file (exact for `|` block sections; the section's line otherwise).
    pub line: Option<usize>,
    /// Line within the section text, as the authenticator counts.
    pub section_line: usize,
    /// The ARN the authenticator stores for it (the section's ARN field, any case).
    pub arn: Option<String>,
    /// The key that ARN was written under, as written (`rolearn`, `roleARN`).
    pub arn_key: Option<String>,
    /// An ARN under a key the authenticator does not read for this section (`rolarn`,
    /// `role_arn`, `arn`, `rolearn` under `mapUsers`): key and value.
    pub stray_arn: Option<(String, String)>,
    /// The list item was a bare string, not a mapping; its text.
    pub not_a_map: Option<String>,
    /// The `sso:` block.
    pub sso: Option<Sso>,
    /// `username` after decoding (empty when missing or not a string).
    pub username: String,
    /// `groups` after decoding.
    pub groups: Vec<String>,
    /// What the authenticator does with it.
    pub state: EntryState,
    /// Keys upstream does not know, as written.
    pub unknown_keys: Vec<String>,
    /// Fields that were not of the type upstream expects (`username: 12345`, `groups: x`).
    pub type_errors: Vec<String>,
}

impl Mapping {
    /// Whether the ARN key is not written in lower case (`roleARN`): fine for the JSON-based
    /// parsers, silently never matched by the yaml-based v0.5.8–v0.5.27 parser and, per EKS
    /// users, on EKS (aws-iam-authenticator PR #464, issue #312).
    pub fn arn_key_not_lowercase(&self) -> bool {
        self.arn_key
            .as_deref()
            .is_some_and(|k| k != k.to_ascii_lowercase())
    }
}

/// One `mapAccounts` item.
#[derive(Clone, Debug, Serialize)]
pub struct AccountMapping {
    /// The account ID as yaml.v2 decodes it into a string.
    pub account: String,
    /// Line in the file.
    pub line: Option<usize>,
    /// Whether the authenticator reads it.
    pub read: bool,
}

/// The aws-auth ConfigMap as the authenticator sees it.
#[derive(Clone, Debug, Serialize)]
pub struct AwsAuth {
    /// Where it came from (file name).
    pub source: String,
    /// How it was given.
    pub format: AwsAuthFormat,
    /// Every data key.
    pub sections: Vec<Section>,
    /// Every role and user entry, kept or not, in file order.
    pub mappings: Vec<Mapping>,
    /// `mapAccounts`.
    pub accounts: Vec<AccountMapping>,
}

impl AwsAuth {
    /// The section with this exact key.
    pub fn section(&self, key: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.key == key)
    }

    /// Reads a ConfigMap (or a `kind: List` holding it), a bare `data` block, or eksctl's
    /// identity list. `None` when the node is none of those.
    pub fn from_node(source: &str, root: &Node) -> Option<AwsAuth> {
        let mut out = AwsAuth {
            source: source.to_owned(),
            format: AwsAuthFormat::ConfigMap,
            sections: Vec::new(),
            mappings: Vec::new(),
            accounts: Vec::new(),
        };
        match &root.value {
            Value::Seq(items) if items.iter().any(is_eksctl_identity) => {
                out.format = AwsAuthFormat::Eksctl;
                out.read_eksctl(items);
                return Some(out);
            }
            Value::Map(_) => {}
            _ => return None,
        }
        if root.get("kind").and_then(Node::as_scalar) == Some("List") {
            let items = root.get("items")?;
            let Value::Seq(items) = &items.value else {
                return None;
            };
            let cm = items.iter().find(|i| {
                i.get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(Node::as_scalar)
                    == Some("aws-auth")
            })?;
            return AwsAuth::from_node(source, cm);
        }
        let data = if let Some(data) = root.get("data") {
            data
        } else if root.get("kind").and_then(Node::as_scalar) == Some("ConfigMap") {
            // A ConfigMap without data: aws-auth exists and maps nobody.
            return Some(out);
        } else if root.pairs().iter().any(|(k, _)| {
            k.as_scalar()
                .is_some_and(|k| SectionKind::from_misspelt(k).is_some())
        }) {
            out.format = AwsAuthFormat::DataBlock;
            root
        } else {
            return None;
        };
        for (key, value) in data.pairs() {
            let Some(key) = key.as_scalar() else { continue };
            out.read_section(key, value);
        }
        Some(out)
    }

    fn read_section(&mut self, key: &str, value: &Node) {
        let exact = SECTION_KEYS.iter().position(|k| *k == key).map(|i| {
            [
                SectionKind::Roles,
                SectionKind::Users,
                SectionKind::Accounts,
            ][i]
        });
        let kind = exact.or_else(|| SectionKind::from_misspelt(key));
        let read = exact.is_some();
        let mut section = Section {
            key: key.to_owned(),
            kind,
            read,
            line: Some(value.line),
            errors: Vec::new(),
            dropped: false,
            error_line: None,
            not_a_string: false,
            text: value.as_scalar().unwrap_or_default().to_owned(),
        };
        let Some(kind) = kind else {
            self.sections.push(section);
            return;
        };
        let Value::Scalar { text, literal, .. } = &value.value else {
            // `mapRoles:` without `|`: a list where the API wants a string (upstream
            // `yaml_test.go`, "create fails"). Decode it anyway to show what was meant.
            section.not_a_string = true;
            if let (Value::Seq(items), SectionKind::Roles | SectionKind::Users) =
                (&value.value, kind)
            {
                let mut ignored = None;
                for item in items {
                    let mut m = decode_entry(key, kind, item, &mut ignored);
                    m.line = Some(item.line);
                    m.state = EntryState::Rejected;
                    self.mappings.push(m);
                }
            }
            self.sections.push(section);
            return;
        };
        // Only a literal block keeps the section's lines in step with the file's.
        let base = literal.then_some(value.line);
        let to_file = |l: usize| base.map(|b| b + l - 1).or(Some(value.line));
        let state = |s: EntryState| if read { s } else { EntryState::SectionIgnored };
        if is_skippable(text) {
            self.sections.push(section);
            return;
        }
        if kind == SectionKind::Accounts {
            self.read_accounts(text, &mut section, read, &to_file);
            self.sections.push(section);
            return;
        }
        let list_type = format!("[]config.{}", kind.go_struct());
        let parsed = if text.trim_start().starts_with('{') {
            // k8s.io/apimachinery util/yaml ToJSON passes text that starts with `{` through as
            // JSON; a JSON object is never a list.
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(_) => Err(format!(
                    "json: cannot unmarshal object into Go value of type {list_type}"
                )),
                Err(e) => Err(format!("error converting YAML to JSON: {e}")),
            }
        } else {
            yaml::parse(text).map_err(|e| {
                section.error_line = to_file(e.line);
                e.go_text()
            })
        };
        let root = match parsed {
            Ok(root) => root,
            Err(error) => {
                section.errors.push(error);
                section.dropped = true;
                self.sections.push(section);
                return;
            }
        };
        let Some(root) = root else {
            self.sections.push(section);
            return;
        };
        let items = match &root.value {
            Value::Seq(items) => items,
            _ if root.kind() == Kind::Null => {
                self.sections.push(section);
                return;
            }
            _ => {
                section.errors.push(format!(
                    "json: cannot unmarshal {} into Go value of type {list_type}",
                    root.kind().json_word()
                ));
                section.dropped = true;
                self.sections.push(section);
                return;
            }
        };
        let mut first_type_error: Option<String> = None;
        let mut validate_errors = Vec::new();
        for item in items {
            let mut m = decode_entry(key, kind, item, &mut first_type_error);
            m.line = to_file(item.line);
            let problem = validate(kind, &m);
            if let Some(p) = &problem {
                validate_errors.push(p.clone());
            }
            m.state = state(match problem {
                Some(p) => EntryState::Dropped(p),
                None => EntryState::Kept,
            });
            self.mappings.push(m);
        }
        // `encoding/json` reports only the first type error of the whole Unmarshal call;
        // ParseMap appends it before the Validate errors.
        section.errors.extend(first_type_error);
        section.errors.extend(validate_errors);
        self.sections.push(section);
    }

    fn read_accounts(
        &mut self,
        text: &str,
        section: &mut Section,
        read: bool,
        to_file: &dyn Fn(usize) -> Option<usize>,
    ) {
        match yaml::parse(text) {
            Err(e) => {
                section.error_line = to_file(e.line);
                section.errors.push(e.go_text());
                section.dropped = true;
            }
            Ok(None) => {}
            Ok(Some(root)) => {
                match &root.value {
                    Value::Seq(items) => {
                        for item in items {
                            let account = match &item.value {
                                Value::Scalar { text, plain, .. } => {
                                    if *plain && yaml::resolve_plain(text) == Kind::Null {
                                        String::new()
                                    } else {
                                        text.clone()
                                    }
                                }
                                _ => {
                                    section.errors.push(format!(
                                    "yaml: unmarshal errors:\n  line {}: cannot unmarshal !!{} into string",
                                    item.line,
                                    if matches!(item.value, Value::Seq(_)) { "seq" } else { "map" }
                                ));
                                    continue;
                                }
                            };
                            self.accounts.push(AccountMapping {
                                account,
                                line: to_file(item.line),
                                read,
                            });
                        }
                    }
                    _ => {
                        section.errors.push(format!(
                        "yaml: unmarshal errors:\n  line {}: cannot unmarshal !!{} into []string",
                        root.line,
                        if matches!(root.value, Value::Map(_)) { "map" } else { "str" }
                    ));
                        section.dropped = true;
                    }
                }
            }
        }
    }

    fn read_eksctl(&mut self, items: &[Node]) {
        for item in items {
            let field = |k: &str| item.get(k).and_then(Node::as_scalar).map(str::to_owned);
            if let Some(account) = field("account") {
                self.accounts.push(AccountMapping {
                    account,
                    line: Some(item.line),
                    read: true,
                });
                continue;
            }
            let (kind, key) = if item.get("userarn").is_some() {
                (SectionKind::Users, "userarn")
            } else {
                (SectionKind::Roles, "rolearn")
            };
            let groups = match item.get("groups").map(|g| &g.value) {
                Some(Value::Seq(gs)) => gs
                    .iter()
                    .filter_map(|g| g.as_scalar().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            self.mappings.push(Mapping {
                section: kind.key().to_owned(),
                kind,
                line: Some(item.line),
                section_line: item.line,
                arn: field(key),
                arn_key: Some(key.to_owned()),
                stray_arn: None,
                not_a_map: None,
                sso: None,
                username: field("username").unwrap_or_default(),
                groups,
                state: EntryState::Kept,
                unknown_keys: Vec::new(),
                type_errors: Vec::new(),
            });
        }
    }
}

fn is_eksctl_identity(item: &Node) -> bool {
    ["rolearn", "userarn", "account"]
        .iter()
        .any(|k| item.get(k).is_some())
}

/// `configmap.go`, `isSkippable`: an empty section, or one holding only an empty string.
fn is_skippable(text: &str) -> bool {
    matches!(text.trim(), "" | "``" | "\"\"" | "''")
}

/// Decodes one list item the way `encoding/json` decodes it into `RoleMapping`/`UserMapping`
/// (after `sigs.k8s.io/yaml` turned it into JSON, which sorts object keys).
fn decode_entry(
    section: &str,
    kind: SectionKind,
    item: &Node,
    first_type_error: &mut Option<String>,
) -> Mapping {
    let go = kind.go_struct();
    let mut m = Mapping {
        section: section.to_owned(),
        kind,
        line: None,
        section_line: item.line,
        arn: None,
        arn_key: None,
        stray_arn: None,
        not_a_map: None,
        sso: None,
        username: String::new(),
        groups: Vec::new(),
        state: EntryState::Kept,
        unknown_keys: Vec::new(),
        type_errors: Vec::new(),
    };
    let mut type_error = |m: &mut Mapping, text: String| {
        m.type_errors.push(text.clone());
        first_type_error.get_or_insert(text);
    };
    let pairs = match &item.value {
        Value::Map(pairs) => pairs,
        _ => {
            let k = item.kind();
            if k != Kind::Null {
                type_error(
                    &mut m,
                    format!(
                        "json: cannot unmarshal {} into Go value of type config.{go}",
                        k.json_word()
                    ),
                );
            }
            m.not_a_map = item.as_scalar().map(str::to_owned);
            return m;
        }
    };
    let mut sorted: Vec<&(Node, Node)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.as_scalar().cmp(&b.0.as_scalar()));
    let fields: &[&str] = match kind {
        SectionKind::Users => &["userarn", "username", "groups", "userid"],
        _ => &["rolearn", "sso", "username", "groups", "userid"],
    };
    for (key, value) in sorted {
        let Some(key_text) = key.as_scalar() else {
            continue;
        };
        // encoding/json prefers an exact field name, then a case-insensitive one.
        let field = fields
            .iter()
            .find(|f| **f == key_text)
            .or_else(|| fields.iter().find(|f| f.eq_ignore_ascii_case(key_text)));
        let Some(field) = field else {
            m.unknown_keys.push(key_text.to_owned());
            if let Some(v) = value.as_scalar()
                && v.trim_start().to_ascii_lowercase().starts_with("arn:")
            {
                m.stray_arn
                    .get_or_insert((key_text.to_owned(), v.to_owned()));
            }
            continue;
        };
        let field_error = |want: &str, got: Kind| {
            format!(
                "json: cannot unmarshal {} into Go struct field {go}.{field} of type {want}",
                got.json_word()
            )
        };
        match *field {
            "groups" => match &value.value {
                Value::Seq(items) => {
                    m.groups.clear();
                    for g in items {
                        match g.kind() {
                            Kind::String => m.groups.push(g.as_scalar().unwrap_or("").to_owned()),
                            Kind::Null => m.groups.push(String::new()),
                            other => {
                                type_error(&mut m, field_error("string", other));
                                m.groups.push(String::new());
                            }
                        }
                    }
                }
                _ if value.kind() == Kind::Null => {}
                _ => type_error(&mut m, field_error("[]string", value.kind())),
            },
            "sso" => match &value.value {
                Value::Map(_) => {
                    let get = |k: &str| {
                        value
                            .pairs()
                            .iter()
                            .find(|(pk, _)| {
                                pk.as_scalar().is_some_and(|p| p.eq_ignore_ascii_case(k))
                            })
                            .and_then(|(_, v)| v.as_scalar())
                            .unwrap_or("")
                            .to_owned()
                    };
                    m.sso = Some(Sso {
                        permission_set_name: get("permissionSetName"),
                        account_id: get("accountID"),
                        partition: get("partition"),
                    });
                }
                _ if value.kind() == Kind::Null => {}
                _ => type_error(&mut m, field_error("config.SSOARNMatcher", value.kind())),
            },
            name => match value.kind() {
                Kind::String => {
                    let text = value.as_scalar().unwrap_or("").to_owned();
                    match name {
                        "username" => m.username = text,
                        "userid" => {}
                        _ => {
                            m.arn = Some(text);
                            m.arn_key = Some(key_text.to_owned());
                        }
                    }
                }
                Kind::Null => {}
                other => type_error(&mut m, field_error("string", other)),
            },
        }
    }
    m
}

/// `pkg/config/mapper.go`, `RoleMapping.Validate` / `UserMapping.Validate` (v0.7.7+ wording).
fn validate(kind: SectionKind, m: &Mapping) -> Option<String> {
    let has_arn = m.arn.as_deref().is_some_and(|a| !a.is_empty());
    match kind {
        SectionKind::Users => (!has_arn).then(|| "value for userarn must be supplied".to_owned()),
        _ => match (&m.sso, has_arn) {
            (None, false) => Some("one of rolearn or SSO must be supplied".to_owned()),
            (Some(_), true) => Some("only one of rolearn or SSO can be supplied".to_owned()),
            (Some(sso), false) => {
                if sso.account_id.len() != 12 || !sso.account_id.bytes().all(|b| b.is_ascii_digit())
                {
                    Some(format!(
                        "AccountID '{}' is not a valid AWS Account ID",
                        sso.account_id
                    ))
                } else if sso.permission_set_name.is_empty()
                    || sso.permission_set_name.chars().count() > 32
                    || !sso
                        .permission_set_name
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@-".contains(c))
                {
                    Some(format!(
                        "PermissionSetName '{}' is not a valid AWS SSO PermissionSet Name",
                        sso.permission_set_name
                    ))
                } else if !sso.partition.is_empty()
                    && crate::classify::Partition::from_name(&sso.partition).is_none()
                {
                    Some(format!(
                        "partition '{}' is not a valid AWS partition",
                        sso.partition
                    ))
                } else {
                    None
                }
            }
            (None, true) => None,
        },
    }
}

/// Levenshtein distance, for short keys and ARNs.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
