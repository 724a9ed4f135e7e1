//! No single endpoint can lie a sale into `paid`: before a credit settles, other endpoints than the
//! one that reported it must show the same receipt in the same block (`payments.quorum`, default 2
//! where a network has two or more endpoints). An endpoint that has the block but not the
//! transaction contradicts the report; one that is behind, or sees another block at that height (a
//! reorg under way), cannot tell yet.

use alloy::sol_types::SolEvent;

use super::{observe, EndpointKey, Need, Pinned, RpcChain, Transfer};
use crate::payments::OpenCredit;

/// What the other endpoints said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Enough endpoints confirmed it.
    Confirmed,
    /// An endpoint has the block but not this transfer in it.
    Contradicted {
        /// Which one.
        by: String,
    },
    /// Not enough confirmations yet; `anyone_answered` when some endpoint gave a definitive answer
    /// (as opposed to all being down, rate-limited or behind).
    Pending {
        /// Some endpoint answered.
        anyone_answered: bool,
    },
}

/// The verdict and who confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub verdict: Verdict,
    /// Endpoints that confirmed the credit.
    pub confirmed_by: Vec<String>,
}

/// One endpoint's answer about a credit.
enum Answer {
    Confirms,
    Contradicts,
    CannotTellYet,
}

/// Asks endpoints other than the credit's source (the pinned one first, if it is not the source)
/// until `needed` confirm it, one contradicts it, or none is left.
pub async fn confirm(
    rpc: &RpcChain,
    pinned: &Pinned<'_>,
    credit: &OpenCredit,
    needed: usize,
) -> Outcome {
    let source = credit.source.clone().map(EndpointKey::from_store);
    let mut asked: Vec<EndpointKey> = source.iter().cloned().collect();
    let mut confirmed_by = Vec::new();
    let mut anyone_answered = false;
    let mut next = (Some(pinned.key()) != source.as_ref()).then_some(*pinned);
    loop {
        let endpoint = match next.take() {
            Some(p) => p,
            None => match rpc
                .pick(&Need {
                    except: asked.clone(),
                    ..Need::default()
                })
                .await
            {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        asked.push(endpoint.key().clone());
        match answer(&endpoint, credit).await {
            Some(Answer::Confirms) => {
                anyone_answered = true;
                confirmed_by.push(endpoint.key().to_string());
                if confirmed_by.len() >= needed {
                    return Outcome {
                        verdict: Verdict::Confirmed,
                        confirmed_by,
                    };
                }
            }
            Some(Answer::Contradicts) => {
                return Outcome {
                    verdict: Verdict::Contradicted {
                        by: endpoint.key().to_string(),
                    },
                    confirmed_by,
                }
            }
            Some(Answer::CannotTellYet) | None => {}
        }
    }
    Outcome {
        verdict: Verdict::Pending { anyone_answered },
        confirmed_by,
    }
}

/// What `endpoint` says of the credit; `None` when it failed to answer.
async fn answer(endpoint: &Pinned<'_>, credit: &OpenCredit) -> Option<Answer> {
    let number = credit.payment.block_number?;
    let receipt = endpoint.receipt(credit.tx_hash).await.ok()?;
    let Some(receipt) = receipt else {
        // No receipt: contradiction only if the endpoint has the very block the source reported.
        let block = endpoint.header(number).await.ok()?;
        return Some(match block {
            Some(b) if b.hash == credit.block_hash => Answer::Contradicts,
            _ => Answer::CannotTellYet,
        });
    };
    if receipt.block_hash != Some(credit.block_hash) {
        return Some(Answer::CannotTellYet);
    }
    let value = credit
        .payment
        .amount_received
        .unwrap_or(credit.payment.amount)
        .base_units();
    let pays = receipt.status()
        && receipt
            .inner
            .logs()
            .iter()
            .filter(|l| l.topic0() == Some(&Transfer::SIGNATURE_HASH))
            .filter_map(|l| observe(&credit.payment.network, credit.payment.chain_id, l))
            .any(|t| {
                t.token_contract == credit.payment.token_contract
                    && t.to == credit.payment.pay_to
                    && t.value == value
            });
    Some(if pays {
        Answer::Confirms
    } else {
        Answer::Contradicts
    })
}
