//! The shop's logo (issue 18): the image the owner uploads in Settings, shown above the shop's name
//! on the customer display's idle screen. There is one at most, kept in the database (`shop_logo`),
//! so it goes wherever the shop's data goes and needs no file beside it.
//!
//! Only PNG, JPEG and WebP of at most [`MAX_BYTES`] are taken, recognised by their first bytes and
//! never by the type the uploader claims: an SVG can carry script, and anything else is not an
//! image every display's browser draws. A logo's [`LogoImage::version`] follows its bytes; the
//! display state carries it, so a display fetches a new logo as soon as it changes and may cache
//! the image until then.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{
    clock::{from_millis, to_millis, Clock},
    display::Display,
    error::CoreError,
    events,
    store::Db,
};

/// The largest logo taken, in bytes.
pub const MAX_BYTES: usize = 512 * 1024;

/// Hex digits of the SHA-256 that make a logo's version: enough that two logos of one shop never
/// share one, short enough for a URL.
const VERSION_DIGITS: usize = 16;

/// What the audit trail names a logo change (`settings.changed`).
const SETTINGS_KEY: &str = "merchant.logo";

/// The image formats a logo may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// WebP.
    Webp,
}

impl ImageFormat {
    /// The format `bytes` are in, from their signature; `None` for anything else (SVG included).
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
            [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => {
                Some(ImageFormat::Webp)
            }
            _ => None,
        }
    }

    /// Its media type.
    pub fn content_type(&self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Webp => "image/webp",
        }
    }

    fn from_content_type(s: &str) -> Option<Self> {
        [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Webp]
            .into_iter()
            .find(|f| f.content_type() == s)
    }
}

/// An image that may be the shop's logo: a PNG, JPEG or WebP of at most [`MAX_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoImage {
    bytes: Vec<u8>,
    format: ImageFormat,
    sha256: String,
}

impl LogoImage {
    /// `bytes` as a logo, or `image_too_large` / `unsupported_image`.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, CoreError> {
        if bytes.len() > MAX_BYTES {
            return Err(CoreError::ImageTooLarge { limit: MAX_BYTES });
        }
        let format = ImageFormat::sniff(&bytes).ok_or(CoreError::UnsupportedImage)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Ok(Self {
            bytes,
            format,
            sha256,
        })
    }

    /// The image itself.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Its format.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// Changes whenever the bytes do (the start of their SHA-256, hex).
    pub fn version(&self) -> &str {
        version_of(&self.sha256)
    }
}

fn version_of(sha256: &str) -> &str {
    sha256.get(..VERSION_DIGITS).unwrap_or(sha256)
}

/// The logo the shop has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogo {
    /// The image.
    pub image: LogoImage,
    /// When it was uploaded.
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LogoRow {
    image: Vec<u8>,
    content_type: String,
    sha256: String,
    updated_at: i64,
}

impl TryFrom<LogoRow> for StoredLogo {
    type Error = CoreError;

    fn try_from(row: LogoRow) -> Result<Self, CoreError> {
        let format = ImageFormat::from_content_type(&row.content_type).ok_or_else(|| {
            CoreError::Corrupt(format!("shop_logo.content_type {:?}", row.content_type))
        })?;
        Ok(Self {
            image: LogoImage {
                bytes: row.image,
                format,
                sha256: row.sha256,
            },
            updated_at: from_millis(row.updated_at),
        })
    }
}

/// The shop's logo in the store; every change is in the audit trail and on the customer display.
#[derive(Debug, Clone)]
pub struct ShopLogo {
    pool: Db,
    clock: Arc<dyn Clock>,
    display: Display,
}

impl ShopLogo {
    /// Over `pool`; tells `display` which logo there is.
    pub async fn load(
        pool: Db,
        clock: Arc<dyn Clock>,
        display: Display,
    ) -> Result<Self, CoreError> {
        let logo = Self {
            pool,
            clock,
            display,
        };
        logo.display.set_logo(logo.version().await?);
        Ok(logo)
    }

    /// The logo, if the shop has one.
    pub async fn get(&self) -> Result<Option<StoredLogo>, CoreError> {
        sqlx::query_as::<_, LogoRow>(
            "SELECT image, content_type, sha256, updated_at FROM shop_logo WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .map(StoredLogo::try_from)
        .transpose()
    }

    /// The logo's version, if the shop has one (without reading the image).
    pub async fn version(&self) -> Result<Option<String>, CoreError> {
        let sha256: Option<String> =
            sqlx::query_scalar("SELECT sha256 FROM shop_logo WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(sha256.map(|s| version_of(&s).to_string()))
    }

    /// Makes `image` the logo (replacing any), recorded as changed by `by`.
    pub async fn replace(&self, image: LogoImage, by: &str) -> Result<StoredLogo, CoreError> {
        let now = self.clock.now();
        let mut tx = self.pool.begin_write().await?;
        sqlx::query(
            "INSERT INTO shop_logo (id, image, content_type, sha256, updated_at)
             VALUES (1, $1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET image = excluded.image,
               content_type = excluded.content_type, sha256 = excluded.sha256,
               updated_at = excluded.updated_at",
        )
        .bind(image.bytes())
        .bind(image.format().content_type())
        .bind(&image.sha256)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        events::record_settings_changed(&mut tx, &[SETTINGS_KEY], by, now).await?;
        tx.commit().await?;
        self.display.set_logo(Some(image.version().to_string()));
        Ok(StoredLogo {
            image,
            updated_at: now,
        })
    }

    /// Removes the logo (`logo_not_found` when there is none), recorded as changed by `by`.
    pub async fn remove(&self, by: &str) -> Result<(), CoreError> {
        let now = self.clock.now();
        let mut tx = self.pool.begin_write().await?;
        let removed = sqlx::query("DELETE FROM shop_logo WHERE id = 1")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Err(CoreError::LogoNotFound);
        }
        events::record_settings_changed(&mut tx, &[SETTINGS_KEY], by, now).await?;
        tx.commit().await?;
        self.display.set_logo(None);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

    #[test]
    fn png_jpeg_and_webp_are_known_by_their_first_bytes() {
        assert_eq!(ImageFormat::sniff(PNG), Some(ImageFormat::Png));
        assert_eq!(
            ImageFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16]),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(
            ImageFormat::sniff(b"RIFF\x24\0\0\0WEBPVP8 "),
            Some(ImageFormat::Webp)
        );
        assert_eq!(ImageFormat::sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
    }

    #[test]
    fn an_svg_or_anything_else_is_refused_whatever_it_claims_to_be() {
        for bytes in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"[..],
            &b"<?xml version=\"1.0\"?><svg/>"[..],
            &b"GIF89a\x01\0\x01\0"[..],
            &b""[..],
            &PNG[..4],
        ] {
            assert!(matches!(
                LogoImage::parse(bytes.to_vec()),
                Err(CoreError::UnsupportedImage)
            ));
        }
    }

    #[test]
    fn a_logo_over_the_limit_is_refused_and_one_at_the_limit_is_taken() {
        let mut at_limit = PNG.to_vec();
        at_limit.resize(MAX_BYTES, 0);
        assert!(LogoImage::parse(at_limit.clone()).is_ok());
        at_limit.push(0);
        assert!(matches!(
            LogoImage::parse(at_limit),
            Err(CoreError::ImageTooLarge { limit: MAX_BYTES })
        ));
    }

    #[test]
    fn the_version_follows_the_bytes() {
        let a = LogoImage::parse(PNG.to_vec()).unwrap();
        let mut other = PNG.to_vec();
        other.push(1);
        let b = LogoImage::parse(other).unwrap();
        assert_eq!(a.version().len(), VERSION_DIGITS);
        assert_eq!(
            a.version(),
            LogoImage::parse(PNG.to_vec()).unwrap().version()
        );
        assert_ne!(a.version(), b.version());
    }
}
