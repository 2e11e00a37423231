//! Test and benchmark helpers shared by the workspace's crates (never published, never linked
//! into the `eks-authlog` binary):
//! - [`corpus`]: a seeded generator of realistic authenticator logs in every input shape;
//! - [`logrus`]: values written the way logrus's `TextFormatter` quotes them.
#![forbid(unsafe_code)]

pub mod corpus;
pub mod logrus;
