//! What a deployment was configured to copy, and the check every job passes before the worker
//! makes a single S3 request for it.
//!
//! Anyone who can send to the queue could otherwise make the worker copy any object its roles
//! can read into any bucket the other side's keys can write. A job is in scope when
//! - a bucket pair (`ssm_parameter_bucket`) covers it: same source bucket, source key under the
//!   pair's prefix, same destination bucket, and the destination key the pair maps the source
//!   key to; or
//! - it is an S3 event's route: its source bucket is named in `EventSourceBuckets` and it goes
//!   to `Des_bucket_default` under `Des_prefix_default`. (Events of a pair's source bucket
//!   under its prefix are covered by the pair when they go where the pair sends its objects.)
//!   Jobs the worker hands on for such objects take the same route.
//!
//! The same holds for the deletes of `PropagateDeletes`.

use crate::diff::DestinationMapping;
use crate::event::EventDestination;
use crate::keys::dest_key;
use crate::pairs::BucketPair;
use crate::Job;
use std::collections::BTreeSet;

/// A job (or delete) outside the configured pairs and event routes: never retried, parked with
/// this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "s3://{src_bucket}/{src_key} -> s3://{des_bucket}/{des_key} is outside what this deployment copies \
     (no bucket pair of ssm_parameter_bucket covers it, and it is not an S3 event route from \
     {sources} to Des_bucket_default): refused without any S3 request"
)]
pub struct OutOfScope {
    pub src_bucket: String,
    pub src_key: String,
    pub des_bucket: String,
    pub des_key: String,
    /// The event source buckets, for the message.
    sources: String,
}

/// Pairs and event routes that send one source key to two destinations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "S3 events of bucket {bucket} go to s3://{event_bucket}/{event_root} (Des_bucket_default, Des_prefix_default), \
     but bucket pair {pair} copies the same objects elsewhere; the ledger keeps one copy per source object, so make \
     the event destination the pair's"
)]
pub struct RouteConflict {
    pub bucket: String,
    pub pair: String,
    pub event_bucket: String,
    pub event_root: String,
}

/// The configured pairs and event routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobScope {
    pairs: Vec<(BucketPair, DestinationMapping)>,
    event_sources: BTreeSet<String>,
    events: EventDestination,
}

impl JobScope {
    /// The event sources are `event_sources` (`EventSourceBuckets`). Errs when one of them is
    /// a pair's source sent elsewhere than `Des_bucket_default` + `Des_prefix_default`: one
    /// source key would get two destinations, and the ledger keeps one copy per source object.
    pub fn new(
        pairs: Vec<BucketPair>,
        event_sources: &[String],
        events: EventDestination,
    ) -> Result<Self, RouteConflict> {
        if let Some(event_bucket) = &events.des_bucket {
            let event_root = (event_bucket.clone(), dest_key(&events.des_prefix, ""));
            let conflict =
                pairs.iter().find(|p| event_sources.contains(&p.src_bucket) && p.destination_root() != event_root);
            if let Some(p) = conflict {
                return Err(RouteConflict {
                    bucket: p.src_bucket.clone(),
                    pair: p.id(),
                    event_bucket: event_root.0,
                    event_root: event_root.1,
                });
            }
        }
        let event_sources = event_sources.iter().cloned().collect();
        let pairs =
            pairs.into_iter().map(|p| (DestinationMapping::new(&p.des_prefix), p)).map(|(m, p)| (p, m)).collect();
        Ok(Self { pairs, event_sources, events })
    }

    /// Ok when a pair or an event route covers copying (or deleting) `src` to `des`.
    pub fn check(
        &self,
        (src_bucket, src_key): (&str, &str),
        (des_bucket, des_key): (&str, &str),
    ) -> Result<(), OutOfScope> {
        let by_pair = self.pairs.iter().any(|(p, m)| {
            p.src_bucket == src_bucket
                && src_key.starts_with(&p.src_prefix)
                && p.des_bucket == des_bucket
                && m.to_destination(src_key) == des_key
        });
        let by_event = self.event_sources.contains(src_bucket)
            && self.events.des_bucket.as_deref() == Some(des_bucket)
            && dest_key(&self.events.des_prefix, src_key) == des_key;
        if by_pair || by_event {
            return Ok(());
        }
        Err(OutOfScope {
            src_bucket: src_bucket.to_owned(),
            src_key: src_key.to_owned(),
            des_bucket: des_bucket.to_owned(),
            des_key: des_key.to_owned(),
            sources: if self.event_sources.is_empty() {
                "no event source bucket".to_owned()
            } else {
                self.event_sources.iter().cloned().collect::<Vec<_>>().join(", ")
            },
        })
    }

    /// [`Self::check`] for a job.
    pub fn check_job(&self, job: &Job) -> Result<(), OutOfScope> {
        self.check((&job.src_bucket, &job.src_key), (&job.des_bucket, &job.des_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(src: &str, sp: &str, des: &str, dp: &str) -> BucketPair {
        BucketPair {
            src_bucket: src.into(),
            src_prefix: sp.into(),
            des_bucket: des.into(),
            des_prefix: dp.into(),
            ..Default::default()
        }
    }

    fn scope() -> JobScope {
        JobScope::new(
            vec![
                pair("src", "logs/", "des", "copy"),
                pair("whole", "", "other", ""),
                pair("ev-src", "", "ev-des", "in/"),
            ],
            &["events-only".to_owned()],
            EventDestination { des_bucket: Some("ev-des".into()), des_prefix: "in".into() },
        )
        .expect("no conflict")
    }

    #[test]
    fn a_pair_covers_its_prefix_and_its_mapping_only() {
        let s = scope();
        assert!(s.check(("src", "logs/a.gz"), ("des", "copy/logs/a.gz")).is_ok());
        assert!(s.check(("whole", "any/key"), ("other", "any/key")).is_ok());
        for (src, des) in [
            (("src", "secrets/a"), ("des", "copy/secrets/a")),
            (("src", "logs/a.gz"), ("des", "logs/a.gz")),
            (("src", "logs/a.gz"), ("attacker", "copy/logs/a.gz")),
            (("payroll", "logs/a.gz"), ("des", "copy/logs/a.gz")),
            (("whole", "k"), ("other", "elsewhere/k")),
        ] {
            let e = s.check(src, des).expect_err("out of scope");
            assert!(e.to_string().contains(src.0) && e.to_string().contains(des.0), "{e}");
        }
    }

    #[test]
    fn events_go_from_event_sources_to_the_event_destination_only() {
        let s = scope();
        for source in ["ev-src", "events-only"] {
            assert!(s.check((source, "k"), ("ev-des", "in/k")).is_ok(), "{source}: by its pair, or named");
        }
        assert!(s.check(("stranger", "k"), ("ev-des", "in/k")).is_err());
        assert!(s.check(("src", "logs/k"), ("ev-des", "in/logs/k")).is_err(), "its pair sends it elsewhere");
        assert!(s.check(("src", "k"), ("ev-des", "k")).is_err(), "the event prefix is part of the route");
        let no_events = JobScope::new(vec![], &[], EventDestination::default()).expect("no conflict");
        let e = no_events.check(("a", "k"), ("b", "k")).unwrap_err().to_string();
        assert!(e.contains("no event source bucket"), "{e}");
    }

    #[test]
    fn events_of_a_pair_source_may_not_go_elsewhere_than_its_pair() {
        let events = EventDestination { des_bucket: Some("des".into()), des_prefix: "mirror".into() };
        let e = JobScope::new(vec![pair("src", "", "des", "")], &["src".to_owned()], events.clone()).unwrap_err();
        assert!(e.to_string().contains("src") && e.to_string().contains("mirror/"), "{e}");
        assert!(JobScope::new(vec![pair("src", "", "des", "mirror")], &["src".to_owned()], events).is_ok());
    }
}
