//! The s3-migrate worker: copies the objects named by queue messages, resumably.
//!
//! `main.rs` only wires things up; everything here can be driven by tests.

pub mod copy;
pub mod error;
pub mod lambda;
pub mod message;
pub mod metrics;
mod pack;
pub mod poll;
pub mod removal;
pub mod s3;
pub mod setup;
pub mod stats;
