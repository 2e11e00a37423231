//! `eks-authlog explain`: one error text, on its own, classified.
//!
//! People paste what they have: the bare error text from a ticket, the `error="…"` pair
//! copied out of a log line (Go-quoted), or the whole log line. [`explain`] tells the three
//! apart, finds the error (or, for backend and webhook lines, the message), and classifies it
//! with the same rules as a report: [`classify_denial`], then [`classify_message`]. Text it
//! does not recognise is [`Class::Unclassified`], never an error.

use serde::Serialize;

use super::remedy::{Remedy, RemedyContext, remedy};
use super::taxonomy::{Class, Family, Fixer};
use super::{classify_denial, classify_message};
use crate::event::{Event, Kind};
use crate::parse::unquote;
use crate::source::{Envelope, Loc};

/// The shape the text was given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// The error text itself.
    Text,
    /// `error="…"`, Go-quoted: the quotes and escapes are removed.
    ErrorField,
    /// A whole authenticator log line: its `error` (or, without one, its `msg`) is classified.
    LogLine,
}

/// One explained text: what it is, who fixes it, and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The shape the text was given in.
    pub form: Form,
    /// The text that was classified: the error (unquoted), or the message of a backend line.
    pub error: String,
    /// The failure class (`unclassified` when no rule matches).
    pub class: Class,
    /// Its family.
    pub family: Family,
    /// Who fixes it.
    pub fixer: Fixer,
    /// What it means.
    pub meaning: &'static str,
    /// What to do, with commands (`<PLACEHOLDER>`s for what the text does not say).
    pub remedy: Remedy,
}

/// Classifies one pasted text: bare, as `error="…"`, or a whole log line.
pub fn explain(text: &str) -> Explanation {
    let text = text.trim();
    if let Some(value) = text.strip_prefix("error=") {
        let error = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(quoted) => unquote(quoted),
            None => value.to_owned(),
        };
        return of_error(Form::ErrorField, &error);
    }
    let loc = Loc {
        input: "explain",
        line: 1,
    };
    if let Ok(e) = Event::parse(text.as_bytes(), Envelope::default(), loc) {
        let msg = e.msg();
        let error = e.error();
        if !msg.is_empty() {
            let level = e.level().map_or("", |l| l.as_str());
            // A backend or webhook line names its failure in `msg`; a denial in `error`.
            if e.kind != Kind::AccessDenied
                && let Some(class) = classify_message(level, &msg)
            {
                return build(Form::LogLine, msg.into_owned(), class);
            }
            if let Some(error) = error {
                return of_error(Form::LogLine, &error);
            }
            return build(Form::LogLine, msg.into_owned(), Class::Unclassified);
        }
    }
    of_error(Form::Text, text)
}

/// Classifies an error text: as a denial's error first, then as a backend message.
fn of_error(form: Form, error: &str) -> Explanation {
    let denial = classify_denial(error);
    let class = match denial.class {
        Class::Unclassified => classify_message("error", error).unwrap_or(Class::Unclassified),
        c => c,
    };
    let ctx = RemedyContext {
        arn: denial.arn,
        instance_id: denial.instance_id,
        request_id: denial.sts.and_then(|s| s.request_id),
        ..RemedyContext::default()
    };
    explanation(form, error.to_owned(), class, &ctx)
}

fn build(form: Form, error: String, class: Class) -> Explanation {
    explanation(form, error, class, &RemedyContext::default())
}

fn explanation(form: Form, error: String, class: Class, ctx: &RemedyContext<'_>) -> Explanation {
    Explanation {
        form,
        error,
        class,
        family: class.family(),
        fixer: class.fixer(),
        meaning: class.meaning(),
        remedy: remedy(class, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_MAPPED: &str = "ARN is not mapped";
    const EXPIRED: &str = "input token was not properly formatted: X-Amz-Date parameter is \
                           expired (15 minute expiry) 2024-01-01 00:00:00 +0000 UTC";

    #[test]
    fn a_bare_text_is_classified() {
        let x = explain(NOT_MAPPED);
        assert_eq!((x.form, x.class), (Form::Text, Class::IdentityNotMapped));
        assert_eq!(x.error, NOT_MAPPED);
        assert_eq!(x.meaning, Class::IdentityNotMapped.meaning());
        assert!(!x.remedy.summary.is_empty());
        assert_eq!(explain(EXPIRED).class, Class::TokenExpired);
    }

    #[test]
    fn an_error_field_is_unquoted() {
        let x = explain(
            r#"error="input token was not properly formatted: X-Amz-Date parameter is expired (15 minute expiry) 2024-01-01 00:00:00 +0000 UTC""#,
        );
        assert_eq!((x.form, x.class), (Form::ErrorField, Class::TokenExpired));
        assert_eq!(x.error, EXPIRED);
        // Go escapes inside are decoded.
        let x = explain(r#"  error="ARN is not mapped: \"arn:aws:iam::111122223333:role/x\""  "#);
        assert_eq!(x.form, Form::ErrorField);
        assert_eq!(
            x.error,
            r#"ARN is not mapped: "arn:aws:iam::111122223333:role/x""#
        );
    }

    #[test]
    fn a_log_line_is_classified_by_its_error() {
        let line = r#"time="2022-12-28T15:37:19Z" level=warning msg="access denied" arn="arn:aws:iam::123456789012:role/x" client="127.0.0.1:33384" error="ARN is not mapped" method=POST path=/authenticate"#;
        let x = explain(line);
        assert_eq!((x.form, x.class), (Form::LogLine, Class::IdentityNotMapped));
        assert_eq!(x.error, NOT_MAPPED);
    }

    #[test]
    fn a_backend_line_is_classified_by_its_message() {
        let line = r#"time="2022-12-28T15:37:19Z" level=error msg="Unable to re-establish watch: too old resource version""#;
        let x = explain(line);
        assert_eq!(
            (x.form, x.class),
            (Form::LogLine, Class::BackendAwsAuthUnhealthy)
        );
        // The same message, bare.
        let x = explain("Unable to re-establish watch: too old resource version");
        assert_eq!(
            (x.form, x.class),
            (Form::Text, Class::BackendAwsAuthUnhealthy)
        );
    }

    #[test]
    fn unknown_text_is_unclassified() {
        for t in ["the moon is made of cheese", "", r#"error="""#] {
            let x = explain(t);
            assert_eq!(x.class, Class::Unclassified, "{t:?}");
            assert_eq!(x.fixer, Class::Unclassified.fixer());
        }
        let line = r#"time="2022-12-28T15:37:19Z" level=info msg="access granted" arn="arn:aws:iam::1:role/x""#;
        assert_eq!(explain(line).class, Class::Unclassified);
    }
}
