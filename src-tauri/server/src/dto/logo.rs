//! The shop's logo on the wire (`PUT /api/v1/settings/logo`).

use serde::Serialize;
use stablepay_core::logo::StoredLogo;
use utoipa::ToSchema;

use crate::dto::rfc3339;

/// The logo as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogoSaved {
    /// `image/png`, `image/jpeg` or `image/webp`, read from the image itself.
    pub content_type: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its version: the customer display state's `logo_version` and the image's ETag.
    pub version: String,
    /// RFC 3339, when it was uploaded.
    pub updated_at: String,
}

impl From<&StoredLogo> for LogoSaved {
    fn from(logo: &StoredLogo) -> Self {
        Self {
            content_type: logo.image.format().content_type().into(),
            size: logo.image.bytes().len(),
            version: logo.image.version().into(),
            updated_at: rfc3339(logo.updated_at),
        }
    }
}
