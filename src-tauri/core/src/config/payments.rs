//! `[payments]`: confirmations and finality, lifetimes, the unique-amount step, holds, the quorum.

use std::time::Duration;

use super::{bad, section};
use crate::{amount::DecimalAmount, error::CoreError};

section! {
    /// `[payments]` as written.
    struct RawPayments {
        confirmations: u32 = 3,
        require_finalized: bool = true,
        expiry_seconds: u64 = 900,
        amount_step: String = "0.01".into(),
        max_amount: String = "100000".into(),
        max_offset_steps: u32 = 100,
        late_grace_seconds: u64 = 24 * 3600,
        cancelled_hold_seconds: u64 = 3600,
        paid_hold_seconds: u64 = 900,
        quorum: u32 = 0,
        quorum_wait_seconds: u64 = 30,
    }
}

/// Thirty days, the longest hold.
const MAX_HOLD_SECONDS: u64 = 30 * 24 * 3600;

/// `[payments]`
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// Blocks on top of the crediting block before `paid`.
    pub confirmations: u32,
    /// Also wait until the block is at or below the node's `finalized` block, when it serves one.
    pub require_finalized: bool,
    /// Default payment lifetime.
    pub expiry_seconds: u64,
    /// Unique-amount offset step.
    pub amount_step: DecimalAmount,
    /// The largest sale: a larger amount is refused (`amount_too_large`), most likely a slip at the
    /// keypad. Default 100000.
    pub max_amount: DecimalAmount,
    /// How many offsets k = 0..max are tried before refusing.
    pub max_offset_steps: u32,
    /// How long an expired, unpaid payment keeps holding its exact amount.
    pub late_grace_seconds: u64,
    /// How long a cancelled payment keeps holding its exact amount.
    pub cancelled_hold_seconds: u64,
    /// How long a paid payment keeps holding its exact amount.
    pub paid_hold_seconds: u64,
    /// Independent endpoints that must report a credit before `paid` (the one that found it
    /// included); `None`: 2 where the network has two or more endpoints, else 1.
    pub quorum: Option<u32>,
    /// How long settlement waits for a second endpoint to answer before it settles on one source
    /// (flagged, with an alert).
    pub quorum_wait: std::time::Duration,
    /// Networks with their own confirmation rule (`[[networks]] confirmations`, or a preset's).
    pub network_rules: std::collections::BTreeMap<String, super::NetworkRule>,
    /// The tip choices (`[tips] choices`), percent; empty: tips are not asked.
    pub tip_choices: Vec<u32>,
}

impl PaymentsConfig {
    /// Confirmations before `paid` on `network`.
    pub fn confirmations_for(&self, network: &str) -> u32 {
        self.network_rules
            .get(network)
            .and_then(|r| r.confirmations)
            .unwrap_or(self.confirmations)
    }

    /// Whether `network`'s payments also wait for the finalized block.
    pub fn require_finalized_for(&self, network: &str) -> bool {
        self.network_rules
            .get(network)
            .and_then(|r| r.require_finalized)
            .unwrap_or(self.require_finalized)
    }

    /// The quorum for a network with `endpoints` RPC endpoints.
    pub fn quorum_for(&self, endpoints: usize) -> u32 {
        let most = endpoints.max(1) as u32;
        self.quorum
            .unwrap_or(if endpoints >= 2 { 2 } else { 1 })
            .clamp(1, most)
    }
}

impl TryFrom<RawPayments> for PaymentsConfig {
    type Error = CoreError;

    fn try_from(p: RawPayments) -> Result<Self, CoreError> {
        if p.confirmations > 1000 {
            return Err(bad("payments.confirmations", "must be at most 1000"));
        }
        if !(30..=7 * 24 * 3600).contains(&p.expiry_seconds) {
            return Err(bad(
                "payments.expiry_seconds",
                "must be between 30 and 604800 (7 days)",
            ));
        }
        let amount_step = DecimalAmount::parse(&p.amount_step)
            .map_err(|e| bad("payments.amount_step", e.to_string()))?;
        let max_amount = DecimalAmount::parse(&p.max_amount)
            .map_err(|e| bad("payments.max_amount", e.to_string()))?;
        if !(1..=100_000).contains(&p.max_offset_steps) {
            return Err(bad(
                "payments.max_offset_steps",
                "must be between 1 and 100000",
            ));
        }
        for (key, value) in [
            ("payments.late_grace_seconds", p.late_grace_seconds),
            ("payments.cancelled_hold_seconds", p.cancelled_hold_seconds),
            ("payments.paid_hold_seconds", p.paid_hold_seconds),
        ] {
            if value > MAX_HOLD_SECONDS {
                return Err(bad(key, "must be at most 2592000 (30 days)"));
            }
        }
        if p.quorum > 10 {
            return Err(bad(
                "payments.quorum",
                "must be between 1 and 10 (0 or absent: 2 where a network has two or more rpc_urls)",
            ));
        }
        if p.quorum_wait_seconds > 3600 {
            return Err(bad("payments.quorum_wait_seconds", "must be at most 3600"));
        }
        Ok(PaymentsConfig {
            confirmations: p.confirmations,
            require_finalized: p.require_finalized,
            expiry_seconds: p.expiry_seconds,
            amount_step,
            max_amount,
            max_offset_steps: p.max_offset_steps,
            late_grace_seconds: p.late_grace_seconds,
            cancelled_hold_seconds: p.cancelled_hold_seconds,
            paid_hold_seconds: p.paid_hold_seconds,
            quorum: (p.quorum > 0).then_some(p.quorum),
            quorum_wait: Duration::from_secs(p.quorum_wait_seconds),
            network_rules: Default::default(),
            tip_choices: Vec::new(),
        })
    }
}
