//! The s3-migrate jobsender: diffs bucket pairs and enqueues one job per object to copy.
//!
//! `main.rs` only wires things up; everything here can be driven by tests.

pub mod enqueue;
pub mod error;
mod flush;
pub mod lambda;
pub mod listing;
pub mod report;
mod restore;
pub mod run;
pub mod setup;
pub mod status;
