//! What the customer display shows, on the wire (`GET`/`PUT /api/v1/display`, `/ws/display`).

use serde::{Deserialize, Serialize};
use stablepay_core::display::DisplayState;
use utoipa::ToSchema;

use crate::dto::{payments::PaymentResponse, rfc3339};

/// What the customer display shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisplayResponse {
    /// `idle`, `payment` or `success`.
    pub mode: String,
    /// The payment shown; null when idle.
    pub payment: Option<PaymentResponse>,
    /// The shop's name (merchant.name), for the idle screen.
    pub shop_name: String,
    /// The version of the shop's logo, for the idle screen; null when it has none. The image is
    /// the public `GET /api/v1/display/logo`, whose ETag is this version: a display that puts the
    /// version in the image's URL (`?v=`) shows a new logo as soon as this changes.
    pub logo_version: Option<String>,
    /// RFC 3339, when it last changed.
    pub updated_at: String,
}

impl From<&DisplayState> for DisplayResponse {
    fn from(s: &DisplayState) -> Self {
        Self {
            mode: s.mode.as_str().into(),
            payment: s.payment.as_ref().map(PaymentResponse::for_customer),
            shop_name: s.shop_name.clone(),
            logo_version: s.logo_version.clone(),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// `PUT /api/v1/display`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowRequest {
    /// The payment to show; null for the idle screen.
    pub payment_id: Option<String>,
}
