//! What the watcher has scanned, per network: the cursor (the last block fully scanned, with its
//! hash) and the hashes of the blocks it moved the cursor to. After a reorg the watcher rewinds to
//! the highest remembered block still on the chain — the common ancestor, however deep — found by a
//! binary search (the history is one chain: its blocks match the canonical chain up to the fork and
//! not after it). All SQL on `chain_cursors` and `chain_blocks` lives here.

use std::sync::Arc;

use crate::store::Db;
use alloy::primitives::B256;

use super::{Pinned, WatchError};
use crate::{
    catalog::NetworkId,
    clock::{to_millis, Clock},
    error::CoreError,
};

/// Blocks of remembered history kept below the cursor. BSC makes ~115,000 blocks a day.
pub const KEPT_BLOCKS: u64 = 200_000;

/// The scan history of one network.
#[derive(Debug)]
pub struct ChainHistory {
    pool: Db,
    network: NetworkId,
    clock: Arc<dyn Clock>,
}

impl ChainHistory {
    /// The history of `network` in `pool`.
    pub fn new(pool: Db, network: NetworkId, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            network,
            clock,
        }
    }

    /// The last block fully scanned and its hash, if any.
    pub async fn cursor(&self) -> Result<Option<(u64, B256)>, CoreError> {
        let row =
            sqlx::query("SELECT block_number, block_hash FROM chain_cursors WHERE network_id = $1")
                .bind(self.network.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| crate::store::block(&r, "block_number", "block_hash"))
            .transpose()
    }

    /// Moves the cursor to a scanned block and remembers its hash (forgetting what is more than
    /// [`KEPT_BLOCKS`] below it).
    pub async fn advance(&self, number: u64, hash: B256) -> Result<(), CoreError> {
        let mut tx = crate::store::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO chain_cursors (network_id, block_number, block_hash, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (network_id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash, updated_at = excluded.updated_at",
        )
        .bind(self.network.as_str())
        .bind(number as i64)
        .bind(hash.to_string())
        .bind(to_millis(self.clock.now()))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO chain_blocks (network_id, number, hash) VALUES ($1, $2, $3)
             ON CONFLICT (network_id, number) DO UPDATE SET hash = excluded.hash",
        )
        .bind(self.network.as_str())
        .bind(number as i64)
        .bind(hash.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM chain_blocks WHERE network_id = $1 AND number < $2")
            .bind(self.network.as_str())
            .bind(number.saturating_sub(KEPT_BLOCKS) as i64)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves the cursor back to `number` (a block still on the chain) and forgets the history above
    /// it, so the blocks above are scanned again.
    pub async fn rewind_to(&self, number: u64, hash: B256) -> Result<(), CoreError> {
        sqlx::query("DELETE FROM chain_blocks WHERE network_id = $1 AND number > $2")
            .bind(self.network.as_str())
            .bind(number as i64)
            .execute(&self.pool)
            .await?;
        self.advance(number, hash).await
    }

    /// The highest remembered block below `below` that is on `pinned`'s chain, if any.
    pub async fn highest_canonical(
        &self,
        pinned: &Pinned<'_>,
        below: u64,
    ) -> Result<Option<(u64, B256)>, WatchError> {
        let rows = sqlx::query(
            "SELECT number, hash FROM chain_blocks WHERE network_id = $1 AND number < $2 ORDER BY number",
        )
        .bind(self.network.as_str())
        .bind(below as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(CoreError::from)?;
        let remembered: Vec<(u64, B256)> = rows
            .iter()
            .map(|r| crate::store::block(r, "number", "hash"))
            .collect::<Result<_, _>>()?;
        let (mut lo, mut hi) = (0, remembered.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let (number, hash) = remembered[mid];
            let on_chain = pinned.header(number).await?.is_some_and(|b| b.hash == hash);
            if on_chain {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo.checked_sub(1).map(|i| remembered[i]))
    }
}
