//! Creating a payment: the request checked, the price resolved, the unique exact amount found, the
//! lower bound recorded, one `INSERT` (a trigger writes its `payment.created` event).

use chrono::{DateTime, Duration, Utc};

use super::{
    holders::Holds, query, Created, NewPayment, Payment, PaymentId, PaymentStatus, Payments, Price,
    HEAD_LAG_MARGIN,
};
use crate::{
    address::Address,
    amount::{DecimalAmount, TokenAmount},
    catalog::{NetworkId, TokenSymbol},
    error::CoreError,
    events::{PaymentEvent, PaymentEventKind},
    products::ProductId,
    store::Backend,
};

/// Which unique rule a refused insert ran into.
enum Conflict {
    Amount,
    IdempotencyKey,
    OrderReference,
}

impl Conflict {
    /// SQLite names the columns in its message, PostgreSQL the constraint.
    fn of(e: &sqlx::Error) -> Option<Self> {
        let sqlx::Error::Database(d) = e else {
            return None;
        };
        if !d.is_unique_violation() {
            return None;
        }
        let said = format!("{} {}", d.constraint().unwrap_or_default(), d.message());
        if said.contains("order_reference") {
            Some(Conflict::OrderReference)
        } else if said.contains("idempotency_key") {
            Some(Conflict::IdempotencyKey)
        } else if said.contains("open_amount") || said.contains("amount_base_units") {
            Some(Conflict::Amount)
        } else {
            None
        }
    }
}

impl Payments {
    /// Creates a payment, or returns the one an earlier request with the same idempotency key made.
    #[tracing::instrument(skip_all, fields(token = %req.token, network = %req.network))]
    pub async fn create(&self, req: NewPayment) -> Result<Created, CoreError> {
        req.check()?;
        let fingerprint = req.fingerprint();
        let _guard = self.create_lock.lock().await;
        if let Some(replayed) = self.replay(&req, &fingerprint).await? {
            return Ok(replayed);
        }
        let pay_to = self
            .receive_address
            .ok_or(CoreError::MerchantNotConfigured)?;
        let (network, token) = self.catalog.token(&req.network, &req.token).await?;
        let (price, description, product_id) = self.price(&req).await?;
        let (requested, fiat) = match &req.price {
            Price::Fiat(_) => {
                let step = self.rules.amount_step.to_token(token.decimals)?;
                let (amount, fiat) = match &req.rate {
                    Some(rate) => self.pricing.quote_at(&price, rate, token.decimals, step)?,
                    None => {
                        self.pricing
                            .quote(token.symbol.as_str(), &price, token.decimals, step)?
                    }
                };
                (amount, Some(fiat))
            }
            _ => {
                let amount = price.to_token(token.decimals)?;
                (amount, self.pricing.value_of(token.symbol.as_str(), amount))
            }
        };
        if requested.base_units() > self.rules.max_amount.to_token(token.decimals)?.base_units() {
            return Err(CoreError::AmountTooLarge(self.rules.max_amount.to_string()));
        }
        if let Some(r) = &req.order_reference {
            if query::order_reference_taken(&self.pool, r).await? {
                return Err(CoreError::OrderReferenceTaken(r.clone()));
            }
        }
        let now = self.clock.now();
        let (k, amount) = self
            .free_amount(&network.id, &token.symbol, &pay_to, requested, now)
            .await?;
        let lifetime = req.expires_in.unwrap_or(self.rules.expiry_seconds);
        let tip = match (&fiat, &req.price) {
            (Some(f), Price::Fiat(_)) if req.ask_tip && !self.rules.tip_choices.is_empty() => {
                Some(super::Tip {
                    choices: self.rules.tip_choices.clone(),
                    base: f.amount.clone(),
                    percent: None,
                    amount: None,
                })
            }
            _ => None,
        };
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
            fiat,
            remainder_of: req.remainder_of.clone(),
            cart: req.cart.clone(),
            tip,
            refunded: None,
            counter: req.counter.clone(),
            required_confirmations: self.rules.confirmations_for(network.id.as_str()),
            confirmations: 0,
            transaction_hash: None,
            block_number: None,
            amount_received: None,
            start_block: self.start_block(&network.id).await?,
            late: false,
            wrong_amount: None,
            created_at: now,
            expires_at: now + Duration::seconds(lifetime as i64),
            paid_at: None,
            updated_at: now,
        };
        let mut payment = payment;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let Err(e) = self.insert(&payment, &req, &fingerprint).await else {
                break;
            };
            match Conflict::of(&e) {
                // Another server sold this exact amount at the same moment (the open-amount
                // constraint refused the second): take the next free one.
                Some(Conflict::Amount) if attempts < 8 => {
                    let (k, amount) = self
                        .free_amount(&network.id, &token.symbol, &pay_to, requested, now)
                        .await?;
                    payment.offset_steps = k;
                    payment.amount = amount;
                }
                // The same request made at the same moment on another server.
                Some(Conflict::IdempotencyKey) => {
                    if let Some(replayed) = self.replay(&req, &fingerprint).await? {
                        return Ok(replayed);
                    }
                    return Err(CoreError::Database(e));
                }
                Some(Conflict::OrderReference) => {
                    return Err(CoreError::OrderReferenceTaken(
                        req.order_reference.clone().unwrap_or_default(),
                    ))
                }
                _ => return Err(CoreError::Database(e)),
            }
        }
        self.events.publish(PaymentEvent {
            kind: PaymentEventKind::Created,
            payment: payment.clone(),
        });
        Ok(Created {
            payment,
            replayed: false,
        })
    }

    /// Writes the new payment; the insert's trigger records its `payment.created` event atomically.
    /// On SQLite it is one statement (sales are serialized by the in-process lock); on PostgreSQL it
    /// is a write transaction, so its event takes its sequence number in commit order.
    async fn insert(
        &self,
        payment: &Payment,
        req: &NewPayment,
        fingerprint: &str,
    ) -> Result<(), sqlx::Error> {
        let key = req.idempotency_key.as_ref();
        match self.pool.backend() {
            Backend::Sqlite => query::insert(&self.pool, payment, key, fingerprint).await,
            Backend::Postgres => {
                let mut tx = self.pool.begin_write().await?;
                query::insert(&mut *tx, payment, key, fingerprint).await?;
                tx.commit().await
            }
        }
    }

    /// The payment an earlier request with the same idempotency key made, if one did; the key
    /// reused for a different request is refused.
    async fn replay(
        &self,
        req: &NewPayment,
        fingerprint: &str,
    ) -> Result<Option<Created>, CoreError> {
        let Some(key) = &req.idempotency_key else {
            return Ok(None);
        };
        match query::by_idempotency_key(&self.pool, key).await? {
            None => Ok(None),
            Some((payment, earlier)) if earlier == fingerprint => Ok(Some(Created {
                payment: self.expire_if_due(payment).await?,
                replayed: true,
            })),
            Some(_) => Err(CoreError::IdempotencyKeyReused),
        }
    }

    /// The price asked, the description and the product sold: a product's own price and name.
    async fn price(
        &self,
        req: &NewPayment,
    ) -> Result<(DecimalAmount, Option<String>, Option<ProductId>), CoreError> {
        match &req.price {
            Price::Amount(a) | Price::Fiat(a) => Ok((a.clone(), req.description.clone(), None)),
            Price::Product(id) => {
                let product = self.products.get(id).await?;
                if !product.active {
                    return Err(CoreError::ProductInactive(id.to_string()));
                }
                Ok((
                    product.price.clone(),
                    req.description.clone().or(Some(product.name)),
                    Some(id.clone()),
                ))
            }
        }
    }

    /// The first offset `k` of `requested` whose exact amount no payment holds.
    pub(super) async fn free_amount(
        &self,
        network: &NetworkId,
        token: &TokenSymbol,
        pay_to: &Address,
        requested: TokenAmount,
        now: DateTime<Utc>,
    ) -> Result<(u32, TokenAmount), CoreError> {
        let step = self.rules.amount_step.to_token(requested.decimals())?;
        let holds = Holds::at(now, &self.rules);
        let candidates: Vec<TokenAmount> = (0..self.rules.max_offset_steps)
            .map_while(|k| requested.offset(step, k))
            .collect();
        // Probe the offsets in growing windows (1, 8, 64, … candidates): the first is almost always
        // free, and a short IN list keeps the serialized part of a sale short.
        let (mut start, mut window) = (0, 1);
        while start < candidates.len() {
            let end = (start + window).min(candidates.len());
            let slice = &candidates[start..end];
            let held =
                query::held_amounts(&self.pool, network, token, pay_to, slice, &holds).await?;
            if let Some(k) =
                (start..end).find(|&k| !held.contains(&candidates[k].base_units().to_string()))
            {
                return Ok((k as u32, candidates[k]));
            }
            (start, window) = (end, window * 8);
        }
        Err(CoreError::AmountSlotsExhausted(self.rules.max_offset_steps))
    }

    /// The payment's lower bound: the chain head a little back, or the watcher's cursor before
    /// a head is seen (offline, or just started) — an earlier block of the same chain, so still a
    /// sound (if looser) bound; none on an unwatched network.
    pub(super) async fn start_block(&self, network: &NetworkId) -> Result<Option<u64>, CoreError> {
        let block = match self.progress.head(network) {
            Some(head) => Some(head),
            None if self.progress.is_watched(network) => {
                query::cursor_block(&self.pool, network).await?
            }
            None => None,
        };
        Ok(block.map(|b| b.saturating_sub(HEAD_LAG_MARGIN)))
    }
}
