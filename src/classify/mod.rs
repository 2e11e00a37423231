//! The failure classifier: pure functions from decoded log text to a [`Class`].
//!
//! This module owns the rules of reference §3.1 and §6. It does not parse logfmt (inputs are
//! already unquoted), does not correlate lines, and does not render anything.

pub mod arn;
pub mod sts;
pub mod taxonomy;

pub use self::arn::{Arn, ArnError, Partition, PrincipalKind, Uid, UidPrefix};
pub use self::sts::StsFailure;
pub use self::taxonomy::{Class, Family, Fixer, UnknownName};
