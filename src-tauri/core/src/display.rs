//! The customer display: which payment the second screen shows. The cashier opens a payment on it
//! (or clears it); the display follows that payment's events and switches to *success* by itself
//! when it is paid. A newly connected screen gets the current state at once, so a display that
//! reconnects (or is opened late, from another device) shows the right thing.
//!
//! Modes: `idle` (nothing to pay: the shop's logo and name), `payment` (the shown payment,
//! whatever its status — pending, confirming, expired, cancelled — with the amount and countdown),
//! `success` (it was paid). Success stays until the cashier shows another payment or clears the
//! screen.
//!
//! Channels: the shop has one display channel of its own (`None`), and each counter of a hub
//! ([`crate::counters`]) has its own, so the screen beside a counter shows that counter's sales
//! only. A counter's channel is made when it is first used (idle, with the shop's name and logo).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast::error::RecvError, watch};

use crate::{
    clock::Clock,
    counters::CounterId,
    error::CoreError,
    events::EventBus,
    payments::{Payment, PaymentId, Payments},
};

/// What the customer screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    /// No sale in progress.
    Idle,
    /// A payment to pay.
    Payment,
    /// The shown payment was paid.
    Success,
}

impl DisplayMode {
    /// `idle`, `payment` or `success`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DisplayMode::Idle => "idle",
            DisplayMode::Payment => "payment",
            DisplayMode::Success => "success",
        }
    }
}

/// The display's state.
#[derive(Debug, Clone, PartialEq)]
pub struct DisplayState {
    /// The mode.
    pub mode: DisplayMode,
    /// The payment shown (`None` when idle).
    pub payment: Option<Payment>,
    /// The shop's name, for the idle screen.
    pub shop_name: String,
    /// The version of the shop's logo, for the idle screen (`None`: no logo; see [`crate::logo`]).
    pub logo_version: Option<String>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Which display channel: a counter's, or the shop's own (`None`).
pub type Channel = Option<CounterId>;

/// The display service.
#[derive(Debug, Clone)]
pub struct Display {
    /// Every channel in use; the shop's own is always there.
    channels: Arc<RwLock<HashMap<Channel, Arc<watch::Sender<DisplayState>>>>>,
    payments: Payments,
    events: EventBus,
    clock: Arc<dyn Clock>,
    /// The other servers on the same PostgreSQL database, told of what the display shows.
    relay: Option<crate::replicas::Replica>,
}

fn mode_for(payment: &Payment) -> DisplayMode {
    if payment.status.was_paid() {
        DisplayMode::Success
    } else {
        DisplayMode::Payment
    }
}

impl Display {
    /// An idle display for `shop_name`.
    pub fn new(
        shop_name: String,
        payments: Payments,
        events: EventBus,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let state = DisplayState {
            mode: DisplayMode::Idle,
            payment: None,
            shop_name,
            logo_version: None,
            updated_at: clock.now(),
        };
        Self {
            channels: Arc::new(RwLock::new(HashMap::from([(
                None,
                Arc::new(watch::channel(state).0),
            )]))),
            payments,
            events,
            clock,
            relay: None,
        }
    }

    /// The channel `counter` shows on (made idle, like the shop's, on first use).
    fn channel(&self, counter: Option<&CounterId>) -> Arc<watch::Sender<DisplayState>> {
        let key = counter.cloned();
        if let Some(c) = self.channels.read().expect("display lock").get(&key) {
            return c.clone();
        }
        let mut channels = self.channels.write().expect("display lock");
        let idle = {
            let shop = channels.get(&None).expect("the shop's channel").borrow();
            DisplayState {
                mode: DisplayMode::Idle,
                payment: None,
                ..shop.clone()
            }
        };
        channels
            .entry(key)
            .or_insert_with(|| Arc::new(watch::channel(idle).0))
            .clone()
    }

    fn every_channel(&self) -> Vec<Arc<watch::Sender<DisplayState>>> {
        self.channels
            .read()
            .expect("display lock")
            .values()
            .cloned()
            .collect()
    }

    /// The current state of `counter`'s channel (`None`: the shop's).
    pub fn current(&self, counter: Option<&CounterId>) -> DisplayState {
        self.channel(counter).borrow().clone()
    }

    /// Every state of `counter`'s channel from the current one on (a slow screen skips to the
    /// newest).
    pub fn subscribe(&self, counter: Option<&CounterId>) -> watch::Receiver<DisplayState> {
        self.channel(counter).subscribe()
    }

    /// Shows payment `id` on `counter`'s channel, or the idle screen for `None`.
    pub async fn show(
        &self,
        counter: Option<&CounterId>,
        id: Option<&PaymentId>,
    ) -> Result<DisplayState, CoreError> {
        let shown = self.show_here(counter, id).await?;
        if let Some(relay) = &self.relay {
            relay.relay_display(counter, id);
        }
        Ok(shown)
    }

    /// This display, also telling `replica`'s peers what it shows.
    pub(crate) fn relayed_by(mut self, replica: crate::replicas::Replica) -> Self {
        self.relay = Some(replica);
        self
    }

    /// Shows `id` on `counter`'s channel on this server's sockets only (what another server's
    /// cashier chose).
    pub async fn show_here(
        &self,
        counter: Option<&CounterId>,
        id: Option<&PaymentId>,
    ) -> Result<DisplayState, CoreError> {
        let payment = match id {
            Some(id) => Some(self.payments.get(id).await?),
            None => None,
        };
        let now = self.clock.now();
        let channel = self.channel(counter);
        channel.send_modify(|s| {
            s.mode = payment.as_ref().map_or(DisplayMode::Idle, mode_for);
            s.payment = payment;
            s.updated_at = now;
        });
        let shown = channel.borrow().clone();
        Ok(shown)
    }

    /// Shows the logo of version `version` (`None`: no logo) on the idle screen from now on.
    pub fn set_logo(&self, version: Option<String>) {
        let now = self.clock.now();
        for channel in self.every_channel() {
            channel.send_if_modified(|s| {
                if s.logo_version == version {
                    return false;
                }
                s.logo_version = version.clone();
                s.updated_at = now;
                true
            });
        }
    }

    /// Every channel showing `payment` shows it as it is now.
    fn follow(&self, payment: Payment) {
        let now = self.clock.now();
        for channel in self.every_channel() {
            channel.send_if_modified(|s| {
                if s.payment.as_ref().is_none_or(|p| p.id != payment.id)
                    || s.payment.as_ref() == Some(&payment)
                {
                    return false;
                }
                s.mode = mode_for(&payment);
                s.payment = Some(payment.clone());
                s.updated_at = now;
                true
            });
        }
    }

    /// Follows the shown payment's events forever (the host spawns this).
    pub async fn run(self) {
        let mut events = self.events.subscribe();
        loop {
            match events.recv().await {
                Ok(event) => self.follow(event.payment),
                Err(RecvError::Lagged(_)) => {
                    let shown: Vec<PaymentId> = self
                        .every_channel()
                        .iter()
                        .filter_map(|c| c.borrow().payment.as_ref().map(|p| p.id.clone()))
                        .collect();
                    for id in shown {
                        if let Ok(p) = self.payments.get(&id).await {
                            self.follow(p);
                        }
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}
