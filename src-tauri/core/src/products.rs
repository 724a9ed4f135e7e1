//! Products the cashier can sell from the grid; a payment can be priced from one.

use std::{fmt, sync::Arc};

use crate::store::Db;
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{
    amount::DecimalAmount,
    clock::{from_millis, to_millis, Clock},
    entropy::Entropy,
    error::CoreError,
};

/// `prod_` + 24 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ProductId(String);

impl ProductId {
    fn random(entropy: &dyn Entropy) -> Self {
        Self(crate::entropy::hex_id::<12>("prod_", entropy))
    }

    /// Parses an id; a malformed one cannot exist, so it is "not found".
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        if crate::entropy::is_hex_id(s, "prod_", 12) {
            Ok(Self(s.to_string()))
        } else {
            Err(CoreError::ProductNotFound)
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_store(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for ProductId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A product on the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Id.
    pub id: ProductId,
    /// Name shown on the grid and as the payment description.
    pub name: String,
    /// Price in token units (stablecoins track USD).
    pub price: DecimalAmount,
    /// Optional longer text.
    pub description: Option<String>,
    /// Archived products stay for history but cannot be sold.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Fields for creating a product, or the changes of an update (`None` = unchanged).
#[derive(Debug, Clone, Default)]
pub struct ProductFields {
    /// 1–120 characters.
    pub name: Option<String>,
    /// Positive price.
    pub price: Option<DecimalAmount>,
    /// Up to 1000 characters; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// Sellable.
    pub active: Option<bool>,
}

fn check_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(CoreError::field("name", "1 to 120 printable characters"));
    }
    Ok(name.to_string())
}

fn check_description(d: &Option<String>) -> Result<(), CoreError> {
    if d.as_ref().is_some_and(|d| d.chars().count() > 1000) {
        return Err(CoreError::field("description", "at most 1000 characters"));
    }
    Ok(())
}

fn map(row: &crate::store::DbRow) -> Result<Product, CoreError> {
    Ok(Product {
        id: ProductId(row.try_get("id")?),
        name: row.try_get("name")?,
        price: DecimalAmount::parse(row.try_get("price")?)?,
        description: row.try_get("description")?,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
    })
}

/// The products service.
#[derive(Clone)]
pub struct Products {
    pool: Db,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
}

impl fmt::Debug for Products {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Products").finish_non_exhaustive()
    }
}

impl Products {
    /// Wires the service.
    pub fn new(pool: Db, clock: Arc<dyn Clock>, entropy: Arc<dyn Entropy>) -> Self {
        Self {
            pool,
            clock,
            entropy,
        }
    }

    /// Creates a product; `name` and `price` are required.
    pub async fn create(&self, fields: ProductFields) -> Result<Product, CoreError> {
        let name = check_name(
            fields
                .name
                .as_deref()
                .ok_or_else(|| CoreError::field("name", "is required"))?,
        )?;
        let price = fields
            .price
            .ok_or_else(|| CoreError::field("price", "is required"))?;
        let description = fields.description.flatten();
        check_description(&description)?;
        let now = self.clock.now();
        let product = Product {
            id: ProductId::random(self.entropy.as_ref()),
            name,
            price,
            description,
            active: fields.active.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        sqlx::query("INSERT INTO products (id, name, price, description, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(product.id.as_str())
            .bind(&product.name)
            .bind(product.price.to_string())
            .bind(&product.description)
            .bind(i64::from(product.active))
            .bind(to_millis(now))
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(product)
    }

    /// All products, active first then by name; archived ones only when asked.
    pub async fn list(&self, include_inactive: bool) -> Result<Vec<Product>, CoreError> {
        let rows = sqlx::query(
            "SELECT * FROM products WHERE active = 1 OR $1 ORDER BY active DESC, LOWER(name), seq",
        )
        .bind(include_inactive)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(map).collect()
    }

    /// One product.
    pub async fn get(&self, id: &ProductId) -> Result<Product, CoreError> {
        let row = sqlx::query("SELECT * FROM products WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(CoreError::ProductNotFound)?;
        map(&row)
    }

    /// Applies the given changes.
    pub async fn update(
        &self,
        id: &ProductId,
        changes: ProductFields,
    ) -> Result<Product, CoreError> {
        let mut product = self.get(id).await?;
        if let Some(name) = &changes.name {
            product.name = check_name(name)?;
        }
        if let Some(price) = changes.price {
            product.price = price;
        }
        if let Some(description) = changes.description {
            check_description(&description)?;
            product.description = description;
        }
        if let Some(active) = changes.active {
            product.active = active;
        }
        product.updated_at = self.clock.now();
        sqlx::query("UPDATE products SET name = $1, price = $2, description = $3, active = $4, updated_at = $5 WHERE id = $6")
            .bind(&product.name)
            .bind(product.price.to_string())
            .bind(&product.description)
            .bind(i64::from(product.active))
            .bind(to_millis(product.updated_at))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(product)
    }

    /// Deletes a product. Payments keep their own copy of amount and description, so history is intact.
    pub async fn delete(&self, id: &ProductId) -> Result<(), CoreError> {
        let done = sqlx::query("DELETE FROM products WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(CoreError::ProductNotFound);
        }
        Ok(())
    }
}
