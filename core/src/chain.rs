//! The jobsender's continuation chain: a Lambda invocation whose time budget stopped a pair at
//! a checkpoint invokes the function again to go on. One chain at a time, whatever Lambda does:
//! it retries an asynchronous invocation that returned an error (twice by default: Lambda
//! Developer Guide, "Error handling and automatic retries in Lambda"), may deliver one twice,
//! and the hourly schedule fires while a chain still runs. Each invocation claims a step of the
//! chain with a conditional ledger write (`ledger::chain`) before it lists anything; what may
//! claim is decided here, from the chain's ledger item and the time.

/// Longest a Lambda invocation can run (the function timeout's maximum, 900 s: Lambda
/// Developer Guide, "Configure Lambda function timeout"). A claimed step that has not ended
/// within this is gone.
pub const INVOCATION_MAX_SECS: u64 = 900;

/// How long a handed-on continuation may take to start before a scheduled invocation takes
/// over. Lambda starts an asynchronous invocation within seconds unless it is throttled; a
/// continuation that arrives later than this finds the chain taken over and is refused.
pub const HAND_ON_WAIT_SECS: u64 = 900;

/// The chain's ledger item, as read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainState {
    /// The last step claimed, and when.
    pub step: u64,
    pub claimed_at: u64,
    /// The last step that ended (handed on or finished).
    pub ended_step: u64,
    /// The step a finished invocation handed on to, not claimed yet, and when.
    pub handed_on: Option<u64>,
    pub handed_at: u64,
}

/// What started an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// The schedule, a deployment, or a person: starts a run unless a chain is running.
    Started,
    /// A continuation handed on as `step`.
    Continuation { step: u64 },
}

impl Invocation {
    /// Read from the invocation's event: `{"continuation": true, "step": N}` is a continuation;
    /// anything else (a scheduled event, `{}`, a continuation of a release that sent no step)
    /// starts a run.
    pub fn from_event(event: &serde_json::Value) -> Invocation {
        match (event.get("continuation").and_then(|c| c.as_bool()), event.get("step").and_then(|s| s.as_u64())) {
            (Some(true), Some(step)) => Invocation::Continuation { step },
            _ => Invocation::Started,
        }
    }

    /// The event that hands a chain on to `step`.
    pub fn continuation_event(step: u64) -> serde_json::Value {
        serde_json::json!({ "continuation": true, "step": step })
    }
}

/// Whether an invocation may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Claim `step` (the write holds only if the item still reads as it was read) and run.
    Claim { step: u64 },
    /// Do nothing: another invocation holds the chain.
    Refuse { why: &'static str },
}

/// Decides from the chain's item (`None`: never claimed), the invocation and the time.
pub fn admit(state: Option<&ChainState>, invocation: Invocation, now: u64) -> Admit {
    let s = state.copied().unwrap_or_default();
    match invocation {
        Invocation::Continuation { step } if s.handed_on == Some(step) && s.step < step => Admit::Claim { step },
        Invocation::Continuation { step } if s.step >= step => {
            Admit::Refuse { why: "this step of the chain was claimed already (a retried or repeated delivery)" }
        }
        Invocation::Continuation { .. } => {
            Admit::Refuse { why: "the chain was not handed on to this step (taken over by a later invocation)" }
        }
        Invocation::Started => {
            let handing_on = s.handed_on.is_some_and(|n| n > s.step) && now < s.handed_at + HAND_ON_WAIT_SECS;
            let running = s.ended_step < s.step && now < s.claimed_at + INVOCATION_MAX_SECS;
            if handing_on {
                Admit::Refuse { why: "a continuation of the running chain is on its way" }
            } else if running {
                Admit::Refuse { why: "an invocation of the running chain is still listing" }
            } else {
                Admit::Claim { step: s.step + 1 }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Invocation::{Continuation, Started};

    const T: u64 = 1_000_000;

    /// What the row is, the chain's item, the invocation, the time, the step claimed (or none).
    type Row<'a> = (&'a str, Option<&'a ChainState>, Invocation, u64, Option<u64>);

    #[test]
    fn one_chain_whatever_lambda_delivers() {
        let idle = ChainState { step: 4, claimed_at: T - 3_600, ended_step: 4, handed_on: None, handed_at: 0 };
        let running = ChainState { step: 5, claimed_at: T, ended_step: 4, ..idle };
        let handed = ChainState { ended_step: 5, handed_on: Some(6), handed_at: T + 600, ..running };
        let next = ChainState { step: 6, claimed_at: T + 601, handed_on: None, ..handed };
        let refused = |a: Admit| matches!(a, Admit::Refuse { .. });
        let rows: &[Row] = &[
            ("first invocation ever", None, Started, T, Some(1)),
            ("scheduled, nothing running", Some(&idle), Started, T, Some(5)),
            ("scheduled while an invocation lists", Some(&running), Started, T + 60, None),
            ("scheduled after an invocation died silently", Some(&running), Started, T + INVOCATION_MAX_SECS, Some(6)),
            ("the continuation handed on", Some(&handed), Continuation { step: 6 }, T + 601, Some(6)),
            ("scheduled while a continuation is on its way", Some(&handed), Started, T + 700, None),
            ("scheduled once a continuation never came", Some(&handed), Started, T + 600 + HAND_ON_WAIT_SECS, Some(6)),
            ("Lambda retries the invocation that handed on", Some(&next), Continuation { step: 5 }, T + 700, None),
            ("the continuation delivered twice", Some(&next), Continuation { step: 6 }, T + 700, None),
            ("a continuation after a takeover", Some(&idle), Continuation { step: 9 }, T, None),
            ("a continuation of an older release (no step)", Some(&idle), Started, T, Some(5)),
        ];
        for (what, state, inv, now, want) in rows {
            let got = admit(*state, *inv, *now);
            match want {
                Some(step) => assert_eq!(got, Admit::Claim { step: *step }, "{what}"),
                None => assert!(refused(got), "{what}: {got:?}"),
            }
        }
    }

    #[test]
    fn continuation_events_read_back() {
        assert_eq!(Invocation::from_event(&Invocation::continuation_event(7)), Continuation { step: 7 });
        assert_eq!(Invocation::from_event(&serde_json::json!({"continuation": true})), Started);
        assert_eq!(Invocation::from_event(&serde_json::json!({"detail-type": "Scheduled Event"})), Started);
    }
}
