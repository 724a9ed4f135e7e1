//! `[merchant]` (who is paid) and `[database]` (where the shop's data lives).

use std::path::PathBuf;

use super::{bad, section};
use crate::{address::Address, error::CoreError};

section! {
    /// `[database]` as written.
    struct RawDatabase {
        path: String = "stablepay.db".into(),
        url: String = String::new(),
    }
}

section! {
    /// `[merchant]` as written.
    struct RawMerchant {
        name: String = "My Shop".into(),
        receive_address: String = String::new(),
    }
}

/// `[database]`
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// SQLite file; relative paths are relative to the working directory. With [`Self::url`] it
    /// only names the folder the server keeps its own files in (keys, certificates).
    pub path: PathBuf,
    /// A PostgreSQL database (`postgres://user:password@host:port/name`) shared by every server
    /// pointed at it, instead of the SQLite file; `None` for the file.
    pub url: Option<String>,
}

impl DatabaseConfig {
    /// The folder holding the database, where the server also keeps its own files (keys,
    /// certificates).
    pub fn data_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// `[merchant]`
#[derive(Debug, Clone)]
pub struct MerchantConfig {
    /// Shop name shown on the customer display.
    pub name: String,
    /// The only address payments go to; `None` until configured (no payment can be created).
    pub receive_address: Option<Address>,
}

impl TryFrom<RawDatabase> for DatabaseConfig {
    type Error = CoreError;

    fn try_from(d: RawDatabase) -> Result<Self, CoreError> {
        if d.path.trim().is_empty() {
            return Err(bad("database.path", "must not be empty"));
        }
        let url = match d.url.trim() {
            "" => None,
            u if crate::store::is_postgres_url(u) => {
                Some(u.to_string())
            }
            _ => {
                return Err(bad(
                    "database.url",
                    "must be a PostgreSQL URL (postgres://user:password@host:port/database); leave it out for the SQLite file database.path",
                ))
            }
        };
        Ok(DatabaseConfig {
            path: PathBuf::from(d.path),
            url,
        })
    }
}

impl TryFrom<RawMerchant> for MerchantConfig {
    type Error = CoreError;

    fn try_from(m: RawMerchant) -> Result<Self, CoreError> {
        let name = m.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(bad("merchant.name", "must be 1 to 80 characters"));
        }
        let receive_address = match m.receive_address.trim() {
            "" => None,
            a => Some(
                Address::parse(a).map_err(|e| bad("merchant.receive_address", e.to_string()))?,
            ),
        };
        Ok(MerchantConfig {
            name,
            receive_address,
        })
    }
}
