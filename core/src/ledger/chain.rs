//! The jobsender's continuation chain in the ledger (see `crate::chain`): one item, claimed a
//! step at a time with conditional writes, so two invocations can never both hold the chain.

use super::update::{Cond, Update};
use super::{attr, nv, Item, Ledger, LedgerError};
use crate::chain::{admit, Admit, ChainState, Invocation};
use aws_sdk_dynamodb::types::AttributeValue;

/// Key of the chain's item (`#`: no `bucket/key` can be it).
const CHAIN_KEY: &str = "#chain#";

fn state(i: &Item) -> ChainState {
    let n = |name: &str| match i.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    };
    ChainState {
        step: n(attr::STEP).unwrap_or(0),
        claimed_at: n(attr::CLAIMED_AT).unwrap_or(0),
        ended_step: n(attr::ENDED_STEP).unwrap_or(0),
        handed_on: n(attr::HANDED_ON),
        handed_at: n(attr::HANDED_AT).unwrap_or(0),
    }
}

/// The write that claims `step`, made only if the item still reads as `read` did.
fn claim_update(read: Option<&ChainState>, invocation: Invocation, step: u64, now: u64) -> Update {
    let update = Update::new().set(attr::STEP, nv(step)).set(attr::CLAIMED_AT, nv(now)).remove(attr::HANDED_ON);
    match (invocation, read) {
        (Invocation::Continuation { .. }, _) => update.when(Cond::Eq(attr::HANDED_ON, nv(step))),
        (Invocation::Started, Some(s)) => update.when(Cond::Eq(attr::STEP, nv(s.step))),
        (Invocation::Started, None) => update.when(Cond::Absent(attr::STEP)),
    }
}

impl Ledger {
    /// Claims a step of the chain for `invocation` at `now`: [`Admit::Claim`] once the write
    /// held, [`Admit::Refuse`] when [`crate::chain::admit`] refuses or another invocation
    /// claimed first.
    pub async fn claim_chain(&self, invocation: Invocation, now: u64) -> Result<Admit, LedgerError> {
        let read = self.item(CHAIN_KEY).await?.as_ref().map(state);
        let admitted = admit(read.as_ref(), invocation, now);
        let Admit::Claim { step } = admitted else { return Ok(admitted) };
        let res = claim_update(read.as_ref(), invocation, step, now).apply(self.update(CHAIN_KEY)).send().await;
        if self.updated(res)? {
            Ok(admitted)
        } else {
            Ok(Admit::Refuse { why: "another invocation claimed the chain first" })
        }
    }

    /// Records that `step` ends handing the chain on to `step + 1`; false when the chain is no
    /// longer `step`'s (taken over): then nothing may be handed on.
    pub async fn hand_on(&self, step: u64, now: u64) -> Result<bool, LedgerError> {
        let update = Update::new()
            .set(attr::HANDED_ON, nv(step + 1))
            .set(attr::HANDED_AT, nv(now))
            .set(attr::ENDED_STEP, nv(step))
            .when(Cond::Eq(attr::STEP, nv(step)));
        let res = update.apply(self.update(CHAIN_KEY)).send().await;
        self.updated(res)
    }

    /// Takes back a hand-on to `next` whose invocation could not be made, so the next
    /// scheduled invocation starts at once instead of waiting for it.
    pub async fn take_back_hand_on(&self, next: u64) -> Result<(), LedgerError> {
        let update = Update::new().remove(attr::HANDED_ON).when(Cond::Eq(attr::HANDED_ON, nv(next)));
        let res = update.apply(self.update(CHAIN_KEY)).send().await;
        self.updated(res).map(|_| ())
    }

    /// Records that `step` ended without handing on.
    pub async fn end_step(&self, step: u64) -> Result<(), LedgerError> {
        let update = Update::new().set(attr::ENDED_STEP, nv(step)).when(Cond::Eq(attr::STEP, nv(step)));
        let res = update.apply(self.update(CHAIN_KEY)).send().await;
        self.updated(res).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_holds_only_on_the_item_it_was_decided_on() {
        let first = claim_update(None, Invocation::Started, 1, 10);
        assert_eq!(first.condition_expression().as_deref(), Some("attribute_not_exists(#n0)"));
        let read = ChainState { step: 4, ..Default::default() };
        let next = claim_update(Some(&read), Invocation::Started, 5, 10);
        assert_eq!(next.condition_expression().as_deref(), Some("#n0 = :v2"));
        assert_eq!(next.values()[":v2"], nv(4u64));
        let cont = claim_update(Some(&read), Invocation::Continuation { step: 5 }, 5, 10);
        assert_eq!(cont.condition_expression().as_deref(), Some("#n2 = :v2"));
        assert_eq!(cont.update_expression(), "SET #n0 = :v0, #n1 = :v1 REMOVE #n2");
    }
}
