//! A fleet on one database: claims with leases, lease renewal and expiry, take-over of an orphaned
//! submission, and the fleet-wide counts the metrics export.
//!
//! An instance is its signer address. It claims `seen` requests (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so
//! instances claiming at once take different rows), proves them for its own address and submits them with
//! its own key; while it lives it renews the leases of everything it holds. When it dies, its `proving` and
//! `proved` requests go back to `seen` once their lease expires; its `submitted` ones stay its own (it
//! re-sends or replaces the signed transactions when it comes back) until their deadline nears, when
//! another instance takes them over if the transaction has not landed.

use super::{
    now_ms, now_secs, parse_u256,
    requests::{decode_all, REQUEST_COLS},
    sql::{params, Exec},
    to_u64, u256_key, RequestRow, State,
};
use crate::error::Result;
use alloy::primitives::{Address, U256};

/// Requests per state and leases per instance, as every instance sees them.
#[derive(Clone, Debug, Default)]
pub struct FleetStats {
    /// Requests per state.
    pub states: Vec<(State, u64)>,
    /// One entry per instance that holds a lease or renewed recently.
    pub instances: Vec<InstanceStats>,
}

/// One instance of the fleet.
#[derive(Clone, Debug)]
pub struct InstanceStats {
    /// Its signer address.
    pub address: String,
    /// Unexpired leases it holds (requests in `proving`, `proved` or `submitted`).
    pub leases: u64,
    /// Whether it renewed its leases within the liveness window.
    pub alive: bool,
}

pub(super) fn claim(
    x: &mut dyn Exec,
    owner: Address,
    lease_ms: u64,
    limit: usize,
) -> Result<Vec<RequestRow>> {
    let now = now_ms();
    // The candidates are picked once (a materialised CTE): an `IN (SELECT … LIMIT n SKIP LOCKED)` subquery
    // may be re-run by PostgreSQL's planner, each run skipping the rows the last one locked, and so claim
    // more than `limit`.
    let sql = format!(
        "WITH picked AS MATERIALIZED (SELECT request_id FROM requests WHERE state = 'seen' \
         ORDER BY request_id LIMIT $4{}) \
         UPDATE requests SET state = 'proving', owner = $1, lease_until = $2, updated_at = $3 \
         WHERE state = 'seen' AND request_id IN (SELECT request_id FROM picked) \
         RETURNING {REQUEST_COLS}",
        x.skip_locked()
    );
    let rows = x.query(
        &sql,
        params![owner.to_checksum(None), now.saturating_add(lease_ms), now_secs(), limit as u64],
    )?;
    let mut claimed = decode_all(&rows)?;
    claimed.sort_by_key(|r| r.req.request_id);
    Ok(claimed)
}

pub(super) fn start_proving(x: &mut dyn Exec, id: U256, owner: Address) -> Result<bool> {
    let n = x.execute(
        "UPDATE requests SET prove_attempts = prove_attempts + 1, updated_at = $3 \
         WHERE request_id = $1 AND state = 'proving' AND owner = $2",
        params![u256_key(id), owner.to_checksum(None), now_secs()],
    )?;
    Ok(n == 1)
}

pub(super) fn renew(x: &mut dyn Exec, owner: Address, lease_ms: u64) -> Result<u64> {
    let now = now_ms();
    let me = owner.to_checksum(None);
    let held = x.execute(
        "UPDATE requests SET lease_until = $2 WHERE owner = $1 AND state IN ('proving', 'proved', 'submitted')",
        params![me.clone(), now.saturating_add(lease_ms)],
    )?;
    x.execute(
        "INSERT INTO instances (address, started_at, heartbeat_at) VALUES ($1, $2, $2) \
         ON CONFLICT(address) DO UPDATE SET heartbeat_at = excluded.heartbeat_at",
        params![me, now],
    )?;
    Ok(held)
}

pub(super) fn reap_expired(x: &mut dyn Exec) -> Result<Vec<U256>> {
    let rows = x.query(
        "UPDATE requests SET state = 'seen', owner = NULL, lease_until = NULL, output = NULL, proof = NULL, \
         reason = NULL, updated_at = $2 WHERE state IN ('proving', 'proved') AND lease_until < $1 \
         RETURNING request_id",
        params![now_ms(), now_secs()],
    )?;
    let mut ids = rows.iter().map(|r| parse_u256(&r.text(0)?)).collect::<Result<Vec<_>>>()?;
    ids.sort();
    Ok(ids)
}

pub(super) fn orphaned_submissions(x: &mut dyn Exec, before: u64) -> Result<Vec<RequestRow>> {
    let rows = x.query(
        &format!(
            "SELECT {REQUEST_COLS} FROM requests WHERE state = 'submitted' AND lease_until < $1 \
             AND deadline < $2 ORDER BY request_id LIMIT 64"
        ),
        params![now_ms(), before],
    )?;
    decode_all(&rows)
}

pub(super) fn take_over(x: &mut dyn Exec, id: U256) -> Result<bool> {
    let n = x.execute(
        "UPDATE requests SET state = 'seen', owner = NULL, lease_until = NULL, output = NULL, proof = NULL, \
         nonce = NULL, reason = NULL, updated_at = $3 \
         WHERE request_id = $1 AND state = 'submitted' AND lease_until < $2",
        params![u256_key(id), now_ms(), now_secs()],
    )?;
    Ok(n == 1)
}

pub(super) fn adopt_legacy(x: &mut dyn Exec, owner: Address) -> Result<()> {
    let me = owner.to_checksum(None);
    x.execute("UPDATE submissions SET sender = $1 WHERE sender = ''", params![me.clone()])?;
    x.execute("UPDATE tx_attempts SET sender = $1 WHERE sender = ''", params![me.clone()])?;
    x.execute(
        "UPDATE requests SET owner = $1 WHERE owner IS NULL AND state IN ('proved', 'submitted')",
        params![me],
    )?;
    Ok(())
}

pub(super) fn fleet_stats(x: &mut dyn Exec, alive_ms: u64) -> Result<FleetStats> {
    let states = super::requests::state_counts(x)?;
    let now = now_ms();
    let rows = x.query(
        "SELECT i.address, i.heartbeat_at, \
         (SELECT COUNT(*) FROM requests r WHERE r.owner = i.address AND r.lease_until >= $1 \
          AND r.state IN ('proving', 'proved', 'submitted')) \
         FROM instances i WHERE i.heartbeat_at >= $2 OR EXISTS (SELECT 1 FROM requests r \
          WHERE r.owner = i.address AND r.state IN ('proving', 'proved', 'submitted')) \
         ORDER BY i.address",
        params![now, now.saturating_sub(alive_ms.saturating_mul(10))],
    )?;
    let instances = rows
        .iter()
        .map(|r| {
            Ok(InstanceStats {
                address: r.text(0)?,
                alive: to_u64(r.int(1)?) >= now.saturating_sub(alive_ms),
                leases: to_u64(r.int(2)?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FleetStats { states, instances })
}
