//! `PropagateDeletes`: what an `ObjectRemoved` / `LifecycleExpiration` event may do to the copy.
//!
//! An event names a removal, not the state of the bucket: it may be the permanent delete of an
//! *old* version (noncurrent-version expiry, a versioned DeleteObject), it may arrive after the
//! object was written again, or after a newer copy. So the copy is deleted only when the source
//! has no current object now (HeadObject answers 404, the bucket itself confirmed to exist) and
//! the event is not older than the last copy the ledger recorded.

use crate::error::MessageError;
use crate::message::Processor;
use crate::s3::{check_source_bucket, head_source};
use s3_migrate_core::job::object_key;
use s3_migrate_core::ledger::Status;
use tracing::info;

/// What a removal event does to the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Delete,
    Keep(&'static str),
}

/// Decides a removal (pure): `source_exists`, the source's current object as HEAD sees it
/// now; `copied_at`, when the ledger recorded the last DONE copy; `event_time`, the event's.
pub fn decide(propagate: bool, source_exists: bool, copied_at: Option<u64>, event_time: Option<u64>) -> Removal {
    if !propagate {
        return Removal::Keep("PropagateDeletes is off");
    }
    if source_exists {
        return Removal::Keep(
            "the source still has a current object (an old version was removed, or it was written again)",
        );
    }
    match (copied_at, event_time) {
        (Some(copied), Some(event)) if copied > event => Removal::Keep("the event is older than the last copy"),
        _ => Removal::Delete,
    }
}

impl Processor {
    /// Applies a removal event to the copy; errors name the bucket, key and operation.
    pub(crate) async fn removed(
        &self,
        (src_bucket, src_key): (&str, &str),
        (des_bucket, des_key): (&str, &str),
        event_time: Option<u64>,
    ) -> Result<(), MessageError> {
        let propagate = self.copier.cfg.propagate_deletes;
        let (source_exists, copied_at) = if propagate {
            let (src_side, _) = &*self.copier.regions;
            let src = src_side.for_bucket(src_bucket).await;
            let current = head_source(&src, src_bucket, src_key, None).await?;
            if current.is_none() {
                check_source_bucket(&src, src_bucket, src_key).await?;
            }
            let record = self.copier.ledger.get(&object_key(src_bucket, src_key)).await?;
            let copied_at = record.filter(|r| r.status == Some(Status::Done)).and_then(|r| r.end_time);
            (current.is_some(), copied_at)
        } else {
            (true, None)
        };
        match decide(propagate, source_exists, copied_at, event_time) {
            Removal::Keep(why) => {
                info!(bucket = %src_bucket, key = %src_key, reason = why, "source object removed; destination kept");
                Ok(())
            }
            Removal::Delete => {
                let des = self.copier.regions.1.for_bucket(des_bucket).await;
                match des.delete_object().bucket(des_bucket).key(des_key).send().await {
                    Ok(_) => {
                        info!(bucket = %des_bucket, key = %des_key, "destination object deleted (PropagateDeletes)");
                        Ok(())
                    }
                    Err(e) => Err(crate::s3::s3_err("DeleteObject", des_bucket, des_key, e).into()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_source_and_a_current_event_delete_the_copy() {
        assert_eq!(decide(false, false, None, None), Removal::Keep("PropagateDeletes is off"));
        assert!(matches!(decide(true, true, None, Some(10)), Removal::Keep(_)), "source still there");
        assert_eq!(decide(true, false, None, Some(10)), Removal::Delete, "never copied: nothing newer to protect");
        assert_eq!(decide(true, false, Some(10), Some(10)), Removal::Delete, "the copy is not newer than the event");
        assert_eq!(decide(true, false, Some(5), Some(10)), Removal::Delete);
        assert!(matches!(decide(true, false, Some(11), Some(10)), Removal::Keep(_)), "copied after the event");
        assert_eq!(decide(true, false, Some(11), None), Removal::Delete, "an event without a time is current");
    }
}
