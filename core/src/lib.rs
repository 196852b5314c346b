//! Shared pieces of s3-migrate.
//!
//! The pure rules ([`job`], [`event`], [`ignore`], [`plan`], [`keys`]) know no AWS SDK and do
//! no I/O; [`config`] reads the environment once; [`clients`] builds the SDK clients at the edge.

pub mod admit;
pub mod archive;
pub mod backlog;
pub mod chain;
pub mod clients;
pub mod clock;
pub mod config;
pub mod diff;
pub mod emf;
pub mod event;
pub mod ignore;
pub mod job;
pub mod keys;
pub mod ledger;
pub mod pack;
pub mod pairs;
pub mod plan;
pub mod queue;
pub mod ranges;
pub mod regions;
pub mod retry;
pub mod rotation;
pub mod scope;
pub mod store;
pub mod telemetry;
pub mod units;

pub use job::Job;
