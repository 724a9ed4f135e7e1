//! Creating a payment: the request checked, the price resolved, the unique exact amount found, the
//! lower bound recorded, one `INSERT` (a trigger writes its `payment.created` event).

use chrono::Duration;

use super::{
    query, Created, NewPayment, Payment, PaymentId, PaymentStatus, Payments, Price, HEAD_LAG_MARGIN,
};
use crate::{
    amount::TokenAmount,
    error::CoreError,
    events::{PaymentEvent, PaymentEventKind},
};

impl Payments {
    /// Creates a payment, or returns the one an earlier request with the same idempotency key made.
    #[tracing::instrument(skip_all, fields(token = %req.token, network = %req.network))]
    pub async fn create(&self, req: NewPayment) -> Result<Created, CoreError> {
        req.check()?;
        let fingerprint = req.fingerprint();
        let _guard = self.create_lock.lock().await;

        if let Some(key) = &req.idempotency_key {
            if let Some((payment, earlier)) = query::by_idempotency_key(&self.pool, key).await? {
                return if earlier == fingerprint {
                    Ok(Created {
                        payment: self.expire_if_due(payment).await?,
                        replayed: true,
                    })
                } else {
                    Err(CoreError::IdempotencyKeyReused)
                };
            }
        }
        let pay_to = self
            .receive_address
            .ok_or(CoreError::MerchantNotConfigured)?;
        let (network, token) = self.catalog.token(&req.network, &req.token).await?;
        let (price, description, product_id) = match &req.price {
            Price::Amount(a) => (a.clone(), req.description.clone(), None),
            Price::Product(id) => {
                let product = self.products.get(id).await?;
                if !product.active {
                    return Err(CoreError::ProductInactive(id.to_string()));
                }
                (
                    product.price.clone(),
                    req.description.clone().or(Some(product.name)),
                    Some(id.clone()),
                )
            }
        };
        let requested = price.to_token(token.decimals)?;
        let step = self.rules.amount_step.to_token(token.decimals)?;
        if let Some(r) = &req.order_reference {
            if query::order_reference_taken(&self.pool, r).await? {
                return Err(CoreError::OrderReferenceTaken(r.clone()));
            }
        }

        let now = self.clock.now();
        let holds = query::Holds::at(now, &self.rules);
        let candidates: Vec<TokenAmount> = (0..self.rules.max_offset_steps)
            .map_while(|k| requested.offset(step, k))
            .collect();
        // Probe the offsets in growing windows (1, 8, 64, … candidates): the first is almost always
        // free, and a short IN list keeps the serialized part of a sale short.
        let mut free = None;
        let (mut start, mut window) = (0, 1);
        while free.is_none() && start < candidates.len() {
            let end = (start + window).min(candidates.len());
            let held = query::held_amounts(
                &self.pool,
                &network.id,
                &token.symbol,
                &pay_to,
                &candidates[start..end],
                &holds,
            )
            .await?;
            free = (start..end)
                .find(|&k| !held.contains(&candidates[k].base_units().to_string()))
                .map(|k| (k as u32, candidates[k]));
            (start, window) = (end, window * 8);
        }
        let (k, amount) =
            free.ok_or(CoreError::AmountSlotsExhausted(self.rules.max_offset_steps))?;

        let lifetime = req.expires_in.unwrap_or(self.rules.expiry_seconds);
        let start_block = match self.progress.head(&network.id) {
            Some(head) => Some(head),
            // No head seen yet (offline, or just started): the watcher's cursor is an earlier block
            // of the same chain, so still a sound (if looser) bound.
            None if self.progress.is_watched(&network.id) => {
                query::cursor_block(&self.pool, &network.id).await?
            }
            None => None,
        }
        .map(|b| b.saturating_sub(HEAD_LAG_MARGIN));
        let payment = Payment {
            id: PaymentId::random(self.entropy.as_ref()),
            status: PaymentStatus::Pending,
            network: network.id.clone(),
            chain_id: network.chain_id,
            token: token.symbol.clone(),
            token_contract: token.contract_address,
            pay_to,
            requested_amount: requested,
            amount,
            offset_steps: k,
            description,
            order_reference: req.order_reference.clone(),
            metadata: req.metadata.clone(),
            product_id,
            required_confirmations: self.rules.confirmations,
            confirmations: 0,
            transaction_hash: None,
            block_number: None,
            amount_received: None,
            start_block,
            late: false,
            created_at: now,
            expires_at: now + Duration::seconds(lifetime as i64),
            paid_at: None,
            updated_at: now,
        };
        let event = PaymentEvent {
            kind: PaymentEventKind::Created,
            payment,
        };
        // One statement: the insert's trigger records the `payment.created` event atomically.
        query::insert(
            &self.pool,
            &event.payment,
            req.idempotency_key.as_ref(),
            &fingerprint,
        )
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.message().contains("order_reference") => {
                CoreError::OrderReferenceTaken(req.order_reference.clone().unwrap_or_default())
            }
            _ => CoreError::Database(e),
        })?;
        let payment = event.payment.clone();
        self.events.publish(event);
        Ok(Created {
            payment,
            replayed: false,
        })
    }
}
