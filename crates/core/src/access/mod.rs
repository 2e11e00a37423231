//! The cluster's own access configuration: aws-auth, access entries and the authentication
//! mode, read from files, and what they say about each rejected identity.

pub mod yaml;
