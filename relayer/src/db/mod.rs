//! Durable state in SQLite: scan cursor, block hashes, the per-request state machine, nonces and signed txs.
//!
//! Every state change is one SQLite transaction (WAL, `synchronous = FULL`), so a `kill -9` at any moment
//! leaves either the old or the new state. Calls are short and run on the caller's thread under a mutex.
//! Split by concern: this module opens, migrates and scans; [`requests`] is the request state machine;
//! [`txs`] holds nonces, submissions and signed transactions.

mod requests;
#[cfg(test)]
mod tests;
mod txs;

use requests::transition_on;
pub use requests::RequestRow;
pub(crate) use txs::{Attempt, Mined, OpenSubmission};

use crate::error::{Error, Result};
use alloy::primitives::{Address, B256, I256, U256};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use std::{
    path::Path,
    str::FromStr,
    sync::{Arc, Mutex, MutexGuard},
    time::{SystemTime, UNIX_EPOCH},
};

/// How long a statement waits for another connection's lock before failing with "database is locked".
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Migrations, applied in order; the `user_version` pragma records how many ran.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_skip_codes_and_cancels.sql")),
];

/// A request's place in the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Confirmed log seen; waiting for validation and a worker.
    Seen,
    /// Queued for or inside a prover.
    Proving,
    /// Proof stored; waiting for the submitter.
    Proved,
    /// A signed fulfilment is persisted (and usually broadcast).
    Submitted,
    /// Our fulfilment is mined, successful and buried under `confirmations` blocks.
    Confirmed,
    /// Gave up: proving failed or our fulfilment reverted (reason recorded).
    Failed,
    /// Not ours to answer: unknown model, bad input, expired, already fulfilled (reason recorded).
    Skipped,
    /// The request's log was removed by a reorg.
    Dropped,
}

impl State {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Seen => "seen",
            Self::Proving => "proving",
            Self::Proved => "proved",
            Self::Submitted => "submitted",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Dropped => "dropped",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "seen" => Self::Seen,
            "proving" => Self::Proving,
            "proved" => Self::Proved,
            "submitted" => Self::Submitted,
            "confirmed" => Self::Confirmed,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            "dropped" => Self::Dropped,
            other => return Err(Error::Corrupt(format!("unknown request state `{other}`"))),
        })
    }

    /// All states, for metrics.
    pub const ALL: [Self; 8] = [
        Self::Seen,
        Self::Proving,
        Self::Proved,
        Self::Submitted,
        Self::Confirmed,
        Self::Failed,
        Self::Skipped,
        Self::Dropped,
    ];
}

/// A request as decoded from its `InferenceRequested` log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    /// Request id.
    pub request_id: U256,
    /// Model id.
    pub model_id: U256,
    /// Who asked.
    pub requester: Address,
    /// Quantized input.
    pub input: Vec<I256>,
    /// Gas the consumer callback gets.
    pub callback_gas_limit: u32,
    /// Fee paid.
    pub fee: U256,
    /// Deadline (unix seconds).
    pub deadline: u64,
    /// Block of the log.
    pub block_number: u64,
    /// Hash of that block.
    pub block_hash: B256,
    /// Transaction that emitted the log.
    pub tx_hash: B256,
    /// Log index in the block.
    pub log_index: u64,
}

/// Outcome of upserting a request from a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsert {
    /// First time seen.
    New,
    /// Seen before and not dropped: nothing changed.
    Known,
    /// A dropped request came back (reorg re-included it); now in the given state.
    Restored(State),
}

/// Handle to the database; clones share one connection.
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

/// Unix time in seconds.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn u256_key(v: U256) -> String {
    format!("{v:#066x}")
}

fn parse_u256(s: &str) -> Result<U256> {
    U256::from_str(s).map_err(|e| Error::Corrupt(format!("`{s}`: {e}")))
}

fn parse_b256(s: &str) -> Result<B256> {
    B256::from_str(s).map_err(|e| Error::Corrupt(format!("`{s}`: {e}")))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or_default()
}

fn input_json(input: &[I256]) -> String {
    let strs: Vec<String> = input.iter().map(|v| v.to_dec_string()).collect();
    serde_json::Value::from(strs).to_string()
}

impl Db {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::Config(format!("db_path directory {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        enable_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll back).
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` in one IMMEDIATE transaction. A deferred one would start reading and then upgrade to
    /// writing, and SQLite answers such an upgrade with `SQLITE_BUSY` at once (no busy timeout) when
    /// another connection — an operator's reader opening the database, say — holds the write lock.
    fn with_tx<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Binds the database to one chain and oracle; errors if it was created for others.
    pub fn check_identity(&self, chain_id: u64, oracle: Address) -> Result<()> {
        self.with_tx(|tx| {
            for (key, want) in [("chain_id", chain_id.to_string()), ("oracle", oracle.to_checksum(None))] {
                let have: Option<String> =
                    tx.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?;
                match have {
                    Some(have) if have != want => {
                        return Err(Error::DbMismatch(format!(
                            "database is for {key} {have}, config says {want}"
                        )))
                    }
                    Some(_) => {}
                    None => {
                        tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![key, want])?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Last fully processed block, if any.
    pub fn cursor(&self) -> Result<Option<u64>> {
        let v: Option<String> = self
            .lock()
            .query_row("SELECT value FROM meta WHERE key = 'cursor'", [], |r| r.get(0))
            .optional()?;
        v.map(|s| s.parse().map_err(|e| Error::Corrupt(format!("cursor `{s}`: {e}")))).transpose()
    }

    /// Stored block hashes, newest first.
    pub fn recent_blocks(&self, limit: u64) -> Result<Vec<(u64, B256)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT ?1")?;
        let rows = stmt
            .query_map([to_i64(limit)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|(n, h)| Ok((to_u64(n), parse_b256(&h)?))).collect()
    }

    /// Records one scanned range atomically: block hashes, requests, new cursor. Returns each request's
    /// upsert outcome in order.
    pub fn apply_scan(&self, scan: &ScanBatch) -> Result<Vec<Upsert>> {
        self.with_tx(|tx| {
            for (number, hash) in &scan.blocks {
                tx.execute(
                    "INSERT INTO blocks (number, hash) VALUES (?1, ?2) \
                     ON CONFLICT(number) DO UPDATE SET hash = excluded.hash",
                    params![to_i64(*number), hash.to_string()],
                )?;
            }
            let outcomes = scan.requests.iter().map(|r| upsert_request(tx, r)).collect::<Result<Vec<_>>>()?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('cursor', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [scan.to_block.to_string()],
            )?;
            tx.execute("DELETE FROM blocks WHERE number < ?1", [to_i64(scan.prune_below)])?;
            Ok(outcomes)
        })
    }

    /// Reorg: forgets blocks above `ancestor`, moves the cursor there and drops requests logged above it.
    /// Returns the dropped request ids.
    pub fn rewind(&self, ancestor: u64) -> Result<Vec<U256>> {
        self.with_tx(|tx| {
            let a = to_i64(ancestor);
            tx.execute("DELETE FROM blocks WHERE number > ?1", [a])?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('cursor', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [ancestor.to_string()],
            )?;
            let ids = {
                let mut stmt = tx.prepare(
                    "SELECT request_id FROM requests WHERE block_number > ?1 AND state != 'dropped'",
                )?;
                let ids =
                    stmt.query_map([a], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
                ids
            };
            tx.execute(
                "UPDATE requests SET state = 'dropped', reason = 'log removed by a chain reorganisation', \
                 updated_at = ?2 WHERE block_number > ?1 AND state != 'dropped'",
                params![a, to_i64(now_secs())],
            )?;
            ids.iter().map(|s| parse_u256(s)).collect()
        })
    }
}

/// One scanned block range, applied atomically by [`Db::apply_scan`].
#[derive(Debug, Default)]
pub struct ScanBatch {
    /// Last block of the range (the new cursor).
    pub to_block: u64,
    /// Block hashes to remember (range end and blocks with logs).
    pub blocks: Vec<(u64, B256)>,
    /// Requests logged in the range.
    pub requests: Vec<NewRequest>,
    /// Forget block hashes below this number.
    pub prune_below: u64,
}

fn upsert_request(tx: &Transaction<'_>, r: &NewRequest) -> Result<Upsert> {
    let key = u256_key(r.request_id);
    let existing: Option<(String, String, String)> = tx
        .query_row("SELECT state, input, model_id FROM requests WHERE request_id = ?1", [&key], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    let now = to_i64(now_secs());
    let input = input_json(&r.input);
    let location = params![
        key,
        to_i64(r.block_number),
        r.block_hash.to_string(),
        r.tx_hash.to_string(),
        to_i64(r.log_index),
        now
    ];
    match existing {
        None => {
            tx.execute(
                "INSERT INTO requests (request_id, model_id, requester, input, callback_gas_limit, fee, deadline, \
                 block_number, block_hash, log_tx_hash, log_index, state, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'seen', ?12, ?12)",
                params![
                    key,
                    u256_key(r.model_id),
                    r.requester.to_checksum(None),
                    input,
                    i64::from(r.callback_gas_limit),
                    r.fee.to_string(),
                    to_i64(r.deadline),
                    to_i64(r.block_number),
                    r.block_hash.to_string(),
                    r.tx_hash.to_string(),
                    to_i64(r.log_index),
                    now
                ],
            )?;
            Ok(Upsert::New)
        }
        Some((state, _, _)) if state != "dropped" => {
            // Re-scanned after a rewind that did not drop it (same log): refresh its location only.
            tx.execute(
                "UPDATE requests SET block_number = ?2, block_hash = ?3, log_tx_hash = ?4, log_index = ?5, \
                 updated_at = ?6 WHERE request_id = ?1",
                location,
            )?;
            Ok(Upsert::Known)
        }
        Some((_, old_input, old_model)) => {
            let same = old_input == input && old_model == u256_key(r.model_id);
            let open: i64 = tx.query_row(
                "SELECT COUNT(*) FROM submissions WHERE request_id = ?1 AND state IN ('pending', 'mined')",
                [&key],
                |row| row.get(0),
            )?;
            let state = if open > 0 && same {
                // Our fulfilment of the old log may be re-mined too: let the tx monitor settle it.
                State::Submitted
            } else if same {
                State::Seen
            } else {
                // A different request under the same id: prove it afresh.
                tx.execute(
                    "UPDATE requests SET model_id = ?2, requester = ?3, input = ?4, callback_gas_limit = ?5, \
                     fee = ?6, deadline = ?7, output = NULL, proof = NULL, nonce = NULL WHERE request_id = ?1",
                    params![
                        key,
                        u256_key(r.model_id),
                        r.requester.to_checksum(None),
                        input,
                        i64::from(r.callback_gas_limit),
                        r.fee.to_string(),
                        to_i64(r.deadline)
                    ],
                )?;
                State::Seen
            };
            tx.execute(
                "UPDATE requests SET block_number = ?2, block_hash = ?3, log_tx_hash = ?4, log_index = ?5, \
                 updated_at = ?6 WHERE request_id = ?1",
                location,
            )?;
            transition_on(tx, r.request_id, &[State::Dropped], state, None)?;
            Ok(Upsert::Restored(state))
        }
    }
}

/// Switches a database to WAL. The switch needs an exclusive lock and SQLite does not apply the busy
/// timeout to it, so a first open racing another process's retries here for up to [`BUSY_TIMEOUT`].
fn enable_wal(conn: &Connection) -> Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        if mode.eq_ignore_ascii_case("wal") {
            return Ok(());
        }
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other.map_err(Into::into),
        }
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let latest = MIGRATIONS.last().map(|(v, _)| *v).unwrap_or_default();
    // An up-to-date database (every open after the first) needs no write lock: a reader opening it
    // must not block the relayer's writes.
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current == latest {
        return Ok(());
    }
    // IMMEDIATE takes the write lock before reading the version, so two processes opening a fresh
    // database at once apply each migration exactly once.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > latest {
        return Err(Error::DbMismatch(format!(
            "database schema version {current} is newer than this relayer ({latest})"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql).map_err(|source| Error::Migration { version: *version, source })?;
        tx.pragma_update(None, "user_version", version)
            .map_err(|source| Error::Migration { version: *version, source })?;
    }
    tx.commit()?;
    Ok(())
}
