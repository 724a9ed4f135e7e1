//! The settle half of a pass, independent of scanning: each credited payment's block re-checked,
//! its confirmations counted, finality awaited, and a second endpoint's word before `paid`.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use super::{FinalityView, WatchError, Watcher};
use crate::chain::{
    quorum::{self, Verdict},
    rpc::Finality,
    BlockRef, ChainError, Need, Pinned,
};
use crate::{
    payments::{OpenCredit, PaymentId, Refund, Settlement, Uncredit},
    telemetry::{AlertKind, Severity},
};

impl Watcher {
    pub(super) async fn settle(&self) -> Result<(), WatchError> {
        let credits = self.payments.open_credits(&self.network.id).await?;
        let refunds = self.payments.confirming_refunds(&self.network.id).await?;
        if credits.is_empty() {
            self.awaiting_quorum.lock().expect("lock").clear();
            if refunds.is_empty() {
                return Ok(());
            }
        }
        let need_finality = self.require_finalized && self.rpc.finality() != Finality::NotServed;
        let need = Need {
            finality: need_finality,
            ..Need::default()
        };
        let (pinned, mut finality) = match self.rpc.pick(&need).await {
            Ok(p) => (p, None),
            Err(ChainError::NotServed(m)) if need_finality => {
                self.raise_finality_unavailable(&m);
                // Confirmations still count; nothing becomes paid.
                (
                    self.rpc.pick(&Need::any()).await?,
                    Some(FinalityView::Unavailable),
                )
            }
            Err(e) => return Err(e.into()),
        };
        let head = pinned.head().await?;
        self.saw_head(&head);
        if finality.is_none() {
            finality = Some(if !self.require_finalized {
                FinalityView::NotNeeded
            } else {
                match pinned.finalized().await {
                    Ok(Some(f)) => {
                        self.telemetry
                            .clear_problem(AlertKind::FinalityUnavailable, self.id());
                        FinalityView::Final(f)
                    }
                    Ok(None) => FinalityView::NotNeeded,
                    Err(ChainError::NotServed(m)) => {
                        self.raise_finality_unavailable(&m);
                        FinalityView::Unavailable
                    }
                    Err(e) => return Err(e.into()),
                }
            });
        }
        let finality = finality.expect("decided above");
        let mut open: HashSet<PaymentId> = HashSet::new();
        for credit in credits {
            open.insert(credit.payment.id.clone());
            self.settle_one(&pinned, &head, finality, credit).await?;
        }
        self.awaiting_quorum
            .lock()
            .expect("lock")
            .retain(|id, _| open.contains(id));
        for refund in refunds {
            self.settle_refund(&pinned, &head, finality, refund).await?;
        }
        Ok(())
    }

    /// A seen refund: its block re-checked (gone: awaited again, and scanned for again), its
    /// confirmations counted, confirmed once it has the network's and is final where asked. No
    /// quorum: it is the shop's own wallet sending (see [`crate::payments::Refund`]).
    async fn settle_refund(
        &self,
        pinned: &Pinned<'_>,
        head: &BlockRef,
        finality: FinalityView,
        refund: Refund,
    ) -> Result<(), WatchError> {
        let number = refund.block_number.unwrap_or_default();
        if number > head.number {
            return Ok(());
        }
        match pinned.header(number).await? {
            None => return Ok(()),
            Some(b) if Some(b.hash) != refund.block_hash() => {
                self.payments.unmatch_refund(&refund).await?;
                self.telemetry.reorg(self.id(), number);
                self.rescan_from_below(pinned, number).await?;
                return Ok(());
            }
            Some(_) => {}
        }
        let confirmations = confirmations(head, number, refund.confirmations);
        let settled = confirmations
            >= self
                .payments
                .rules()
                .confirmations_for(self.network.id.as_str())
            && final_enough(finality, number);
        self.payments
            .confirm_refund(&refund, confirmations, settled)
            .await?;
        Ok(())
    }

    pub(super) fn raise_finality_unavailable(&self, why: &str) {
        self.telemetry.raise_problem(
            AlertKind::FinalityUnavailable,
            self.id(),
            Severity::Critical,
            format!("{why}: payments stay confirming until an endpoint answers the finalized block again"),
        );
    }

    pub(super) async fn settle_one(
        &self,
        pinned: &Pinned<'_>,
        head: &BlockRef,
        finality: FinalityView,
        credit: OpenCredit,
    ) -> Result<(), WatchError> {
        let number = credit.payment.block_number.unwrap_or_default();
        if number > head.number {
            return Ok(()); // not on this endpoint yet
        }
        match pinned.header(number).await? {
            None => return Ok(()), // not found yet is never a reorg
            Some(b) if b.hash != credit.block_hash => {
                self.payments
                    .uncredit(&credit.payment, &Uncredit::Reorg)
                    .await?;
                self.telemetry.reorg(self.id(), number);
                self.rescan_from_below(pinned, number).await?;
                return Ok(());
            }
            Some(_) => {}
        }
        let confirmations = confirmations(head, number, credit.payment.confirmations);
        let settlement = if confirmations >= credit.payment.required_confirmations
            && final_enough(finality, number)
        {
            self.corroborate(pinned, &credit).await?
        } else {
            None
        };
        if let Some(p) = self
            .payments
            .confirm(&credit.payment, confirmations, settlement.as_ref())
            .await?
        {
            if settlement.is_some() {
                tracing::info!(payment = %p.id, confirmations, "payment paid");
            }
        }
        Ok(())
    }

    /// Has independent endpoints confirm the credit (the quorum); takes the credit back and
    /// distrusts its source when one contradicts it; settles on one source when none can answer
    /// within the wait. `None`: not yet.
    pub(super) async fn corroborate(
        &self,
        pinned: &Pinned<'_>,
        credit: &OpenCredit,
    ) -> Result<Option<Settlement>, WatchError> {
        let needed = self.quorum.saturating_sub(1) as usize;
        if needed == 0 {
            return Ok(Some(Settlement::default()));
        }
        let outcome = quorum::confirm(&self.rpc, pinned, credit, needed).await;
        match outcome.verdict {
            Verdict::Confirmed => {
                self.forget_wait(&credit.payment.id);
                Ok(Some(Settlement {
                    confirmed_by: outcome.confirmed_by,
                    single_source: false,
                }))
            }
            Verdict::Contradicted { by } => {
                self.forget_wait(&credit.payment.id);
                let tx = credit.tx_hash;
                let number = credit.payment.block_number.unwrap_or_default();
                if let Some(source) = &credit.source {
                    self.rpc.distrust(
                        &crate::chain::EndpointKey::from_store(source.clone()),
                        &format!("it reported transaction {tx} in block {number}, which {by} says is not there"),
                    );
                }
                self.payments
                    .uncredit(&credit.payment, &Uncredit::NotConfirmed { by })
                    .await?;
                Ok(None)
            }
            Verdict::Pending { anyone_answered } => {
                let since = *self
                    .awaiting_quorum
                    .lock()
                    .expect("lock")
                    .entry(credit.payment.id.clone())
                    .or_insert_with(Instant::now);
                if anyone_answered || since.elapsed() < self.quorum_wait {
                    return Ok(None);
                }
                self.forget_wait(&credit.payment.id);
                tracing::warn!(payment = %credit.payment.id, "no second endpoint could answer in time; settling on one source");
                self.telemetry.raise_for(
                    AlertKind::SingleSourceSettlement,
                    credit.payment.id.as_str(),
                    Severity::Warning,
                    format!(
                        "payment {} was settled on one endpoint's word: no second {} endpoint could answer within {} s",
                        credit.payment.id,
                        self.id(),
                        self.quorum_wait.as_secs()
                    ),
                    Duration::from_secs(24 * 3600),
                );
                Ok(Some(Settlement {
                    confirmed_by: outcome.confirmed_by,
                    single_source: true,
                }))
            }
        }
    }

    pub(super) fn forget_wait(&self, id: &PaymentId) {
        self.awaiting_quorum.lock().expect("lock").remove(id);
    }

    /// A transfer in block `number` left the chain and may be re-included later: scan from below
    /// its old block again (when the cursor is past it).
    async fn rescan_from_below(&self, pinned: &Pinned<'_>, number: u64) -> Result<(), WatchError> {
        if self
            .history
            .cursor()
            .await?
            .is_some_and(|(c, _)| c >= number)
        {
            self.rewind(pinned, number).await?;
        }
        Ok(())
    }
}

/// Confirmations of block `number` under `head`; never fewer than already `seen` (an endpoint a
/// few blocks behind sees fewer on top).
fn confirmations(head: &BlockRef, number: u64, seen: u32) -> u32 {
    (head
        .number
        .saturating_sub(number)
        .saturating_add(1)
        .min(u32::MAX as u64) as u32)
        .max(seen)
}

/// Whether block `number` is final enough to settle under `finality`.
fn final_enough(finality: FinalityView, number: u64) -> bool {
    match finality {
        FinalityView::NotNeeded => true,
        FinalityView::Final(f) => number <= f,
        FinalityView::Unavailable => false,
    }
}
