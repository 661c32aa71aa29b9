//! Durable state: scan cursor, block hashes, the per-request state machine with leases, nonces and signed
//! transactions per signing key — in embedded SQLite (one relayer) or a shared PostgreSQL database (a fleet).
//!
//! Every operation is one transaction, so a `kill -9` at any moment leaves either the old or the new
//! state. Operations are written once against [`sql::Exec`] (PostgreSQL's `$N` placeholders, rewritten for
//! SQLite) and exposed twice by [`ops!`]: synchronously on [`Db`] (SQLite, WAL, `synchronous = FULL`, under
//! a mutex on the caller's thread) and asynchronously on [`Store`] (either backend; PostgreSQL runs each
//! transaction on a blocking thread from a connection pool). Split by concern: this module opens, migrates
//! and scans; [`requests`] is the request state machine; [`fleet`] holds claims, leases and fleet-wide
//! counts; [`txs`] holds nonces, submissions and signed transactions.

mod fleet;
mod pg;
mod requests;
pub(crate) mod sql;
#[cfg(test)]
mod tests;
mod txs;

pub use fleet::{FleetStats, InstanceStats};
use requests::transition_on;
pub use requests::RequestRow;
use sql::{params, Exec, SqliteExec};
pub use txs::Attempt;
pub use txs::{Mined, OpenSubmission};

use crate::error::{Error, Result};
use alloy::primitives::{Address, B256, I256, U256};
use rusqlite::{Connection, TransactionBehavior};
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
    (3, include_str!("../../migrations/0003_fleet.sql")),
];

/// Advisory lock key that serialises intake writes (cursor, blocks, new requests) across a fleet ("zkin").
const INTAKE_LOCK: i64 = 0x7a6b_696e;

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

/// Handle to an embedded SQLite database with a synchronous API; clones share one connection.
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

/// The relayer's state, in SQLite or PostgreSQL, with an asynchronous API; clones share the connection(s).
#[derive(Clone, Debug)]
pub struct Store(Backend);

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(Db),
    Postgres(pg::Pg),
}

/// Unix time in seconds.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Unix time in milliseconds (leases).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
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

    /// Runs `f` in one transaction: IMMEDIATE for writes (a deferred one would start reading and then
    /// upgrade to writing, and SQLite answers such an upgrade with `SQLITE_BUSY` at once, without the busy
    /// timeout, when another connection — an operator's reader, say — holds the write lock), DEFERRED for
    /// reads (an operator's reads never block the relayer's writes).
    fn with_tx<T>(&self, write: bool, f: impl FnOnce(&mut dyn Exec) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let behavior = if write { TransactionBehavior::Immediate } else { TransactionBehavior::Deferred };
        let tx = conn.transaction_with_behavior(behavior)?;
        let out = f(&mut SqliteExec(&tx))?;
        tx.commit()?;
        Ok(out)
    }
}

impl Store {
    /// Opens the state the config names: `database = "postgres://…"` (shared by a fleet) or `db_path`
    /// (embedded SQLite).
    pub async fn open(config: &crate::Config) -> Result<Self> {
        match &config.database {
            Some(url) => Self::connect(url).await,
            None if config.db_path.as_os_str().is_empty() => {
                Err(Error::Config("set db_path (SQLite) or database (PostgreSQL URL)".into()))
            }
            None => Ok(Self::sqlite(Db::open(&config.db_path)?)),
        }
    }

    /// Connects to a PostgreSQL database and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Ok(Self(Backend::Postgres(pg::Pg::connect(url).await?)))
    }

    /// Wraps an open SQLite database.
    pub fn sqlite(db: Db) -> Self {
        Self(Backend::Sqlite(db))
    }

    /// Runs `f` in one transaction (SQLite: on this thread, as a write).
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Exec) -> Result<T> + Send + 'static,
    {
        match &self.0 {
            Backend::Sqlite(db) => db.with_tx(true, f),
            Backend::Postgres(pg) => pg.run(f).await,
        }
    }
}

/// Exposes each operation (a function over `&mut dyn Exec`) synchronously on [`Db`] and asynchronously on
/// [`Store`], from one list.
macro_rules! ops {
    ($( $(#[$doc:meta])* $kind:ident fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $op:path; )*) => {
        impl Db {
            $( $(#[$doc])* pub fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                self.with_tx(stringify!($kind) == "write", |x| $op(x, $($arg),*))
            } )*
        }
        impl Store {
            $( $(#[$doc])* pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                self.run(move |x| $op(x, $($arg),*)).await
            } )*
        }
    };
}

ops! {
    /// Binds the database to one chain and oracle; errors if it was created for others.
    write fn check_identity(chain_id: u64, oracle: Address) -> () = check_identity;
    /// Last fully processed block, if any.
    read fn cursor() -> Option<u64> = cursor;
    /// Stored block hashes, newest first.
    read fn recent_blocks(limit: u64) -> Vec<(u64, B256)> = recent_blocks;
    /// Records one scanned range atomically — block hashes, requests, new cursor — if the cursor is still
    /// where the scan started (`scan.after`); returns each request's upsert outcome in order, or `None`
    /// when another instance moved the cursor meanwhile (nothing written).
    write fn apply_scan(scan: ScanBatch) -> Option<Vec<Upsert>> = apply_scan;
    /// Reorg: forgets blocks above `ancestor`, moves the cursor there and drops requests logged above it,
    /// if the cursor is still `after`. Returns the dropped request ids, or `None` if another instance moved
    /// the cursor meanwhile.
    write fn rewind(ancestor: u64, after: Option<u64>) -> Option<Vec<U256>> = rewind;
    /// After a restart, this instance's requests that were queued or inside a prover go back to `seen`
    /// (proofs are not persisted until complete). Returns how many.
    write fn reset_in_flight(owner: Address) -> usize = requests::reset_in_flight;
    /// Up to `limit` requests in `state`, lowest id first.
    read fn requests_in(state: State, limit: usize) -> Vec<RequestRow> = requests::requests_in;
    /// Up to `limit` requests in `state` held by `owner`, lowest id first.
    read fn owned_in(state: State, owner: Address, limit: usize) -> Vec<RequestRow> = requests::owned_in;
    /// One request.
    read fn request(id: U256) -> Option<RequestRow> = requests::request;
    /// Moves a request to `to` if it is currently in one of `from`; returns whether it moved.
    write fn transition(id: U256, from: Vec<State>, to: State, reason: Option<String>) -> bool = requests::transition;
    /// Stores a finished proof if `owner` still holds the request in `proving` (a reorg or an expired lease
    /// may have taken it meanwhile).
    write fn save_proof(id: U256, owner: Address, output: Vec<i64>, proof: Vec<u8>, proving_ms: u64) -> bool = requests::save_proof;
    /// Moves a request in one of `from` to `skipped`, recording the reason and its code; returns whether
    /// it moved.
    write fn skip(id: U256, from: Vec<State>, reason: String, code: &'static str) -> bool = requests::skip;
    /// Requests skipped because their model was not served go back to `seen` when one of `served` is
    /// their model now. Returns their ids.
    write fn requeue_unknown_models(served: Vec<U256>) -> Vec<U256> = requests::requeue_unknown_models;
    /// The skip code of a request (`None` unless it is skipped with a code).
    read fn skip_code(id: U256) -> Option<String> = requests::skip_code;
    /// Number of requests per state.
    read fn state_counts() -> Vec<(State, u64)> = requests::state_counts;
    /// Claims up to `limit` `seen` requests for `owner` (lowest id first, rows other instances are
    /// claiming skipped), moving them to `proving` with a lease of `lease_ms`.
    write fn claim(owner: Address, lease_ms: u64, limit: usize) -> Vec<RequestRow> = fleet::claim;
    /// Counts a proving attempt of a request `owner` claimed and validated; returns whether it still holds it.
    write fn start_proving(id: U256, owner: Address) -> bool = fleet::start_proving;
    /// Renews every lease `owner` holds and its heartbeat; returns how many leases it holds.
    write fn renew(owner: Address, lease_ms: u64) -> u64 = fleet::renew;
    /// Requests in `proving` or `proved` whose lease expired go back to `seen`; returns their ids.
    write fn reap_expired() -> Vec<U256> = fleet::reap_expired;
    /// Requests in `submitted` whose owner's lease expired (the instance is gone), deadline below `before`.
    read fn orphaned_submissions(before: u64) -> Vec<RequestRow> = fleet::orphaned_submissions;
    /// Takes an orphaned `submitted` request back to `seen` if its lease is still expired.
    write fn take_over(id: U256) -> bool = fleet::take_over;
    /// Gives the pre-fleet rows (sender '', no owner) to `owner`: a database of one relayer, one key.
    write fn adopt_legacy(owner: Address) -> () = fleet::adopt_legacy;
    /// Fleet-wide counts for metrics: requests per state, leases per instance, live instances.
    read fn fleet_stats(alive_ms: u64) -> FleetStats = fleet::fleet_stats;
    /// Whether `sender` has a submission for this request still pending or mined but not final.
    read fn has_open_submission(id: U256, sender: Address) -> bool = txs::has_open_submission;
    /// Highest nonce `sender` ever signed, if any.
    read fn max_nonce(sender: Address) -> Option<u64> = txs::max_nonce;
    /// Persists a new signed fulfilment (before it is broadcast) and moves the request to `submitted`.
    /// Returns `false` (writing nothing) if `sender` no longer holds the request in `proved`.
    write fn record_submission(id: U256, sender: Address, nonce: u64, attempt: Attempt) -> bool = txs::record_submission;
    /// Persists a replacement (fee bump or cancellation) for an existing nonce.
    write fn record_attempt(sender: Address, nonce: u64, attempt: Attempt) -> () = txs::record_attempt;
    /// Notes that a node accepted this transaction.
    write fn mark_broadcast(hash: B256) -> () = txs::mark_broadcast;
    /// `sender`'s submissions still pending or mined (not yet final).
    read fn open_submissions(sender: Address) -> Vec<OpenSubmission> = txs::open_submissions;
    /// Records the outcome of a submission's receipt (see [`Mined`]).
    write fn record_mined(m: Mined) -> () = txs::record_mined;
    /// A mined submission's receipt disappeared (reorg): back to pending; its request back to `submitted`.
    write fn unmine(sender: Address, nonce: u64, request_id: U256) -> () = txs::unmine;
    /// `sender`'s nonce was consumed by a transaction it did not sign for it: the submission is abandoned
    /// and the request goes to `then` (usually `proved` to resubmit, or `skipped` if already fulfilled).
    write fn abandon(sender: Address, nonce: u64, request_id: U256, then: State, reason: String) -> () = txs::abandon;
}

fn meta(x: &mut dyn Exec, key: &str) -> Result<Option<String>> {
    x.query_opt("SELECT value FROM meta WHERE key = $1", params![key])?.map(|r| r.text(0)).transpose()
}

fn set_meta(x: &mut dyn Exec, key: &str, value: String) -> Result<()> {
    x.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn check_identity(x: &mut dyn Exec, chain_id: u64, oracle: Address) -> Result<()> {
    for (key, want) in [("chain_id", chain_id.to_string()), ("oracle", oracle.to_checksum(None))] {
        // Instances of a fleet starting at once: the first insert wins, everyone compares with it.
        x.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT(key) DO NOTHING",
            params![key, want.clone()],
        )?;
        match meta(x, key)? {
            Some(have) if have != want => {
                return Err(Error::DbMismatch(format!("database is for {key} {have}, config says {want}")))
            }
            _ => {}
        }
    }
    Ok(())
}

fn cursor(x: &mut dyn Exec) -> Result<Option<u64>> {
    meta(x, "cursor")?
        .map(|s| s.parse().map_err(|e| Error::Corrupt(format!("cursor `{s}`: {e}"))))
        .transpose()
}

fn recent_blocks(x: &mut dyn Exec, limit: u64) -> Result<Vec<(u64, B256)>> {
    x.query("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT $1", params![limit])?
        .iter()
        .map(|r| Ok((to_u64(r.int(0)?), parse_b256(&r.text(1)?)?)))
        .collect()
}

fn apply_scan(x: &mut dyn Exec, scan: ScanBatch) -> Result<Option<Vec<Upsert>>> {
    x.lock_exclusive(INTAKE_LOCK)?;
    if cursor(x)? != scan.after {
        return Ok(None);
    }
    for (number, hash) in &scan.blocks {
        x.execute(
            "INSERT INTO blocks (number, hash) VALUES ($1, $2) \
             ON CONFLICT(number) DO UPDATE SET hash = excluded.hash",
            params![*number, hash.to_string()],
        )?;
    }
    let outcomes = scan.requests.iter().map(|r| upsert_request(x, r)).collect::<Result<Vec<_>>>()?;
    set_meta(x, "cursor", scan.to_block.to_string())?;
    x.execute("DELETE FROM blocks WHERE number < $1", params![scan.prune_below])?;
    Ok(Some(outcomes))
}

fn rewind(x: &mut dyn Exec, ancestor: u64, after: Option<u64>) -> Result<Option<Vec<U256>>> {
    x.lock_exclusive(INTAKE_LOCK)?;
    if cursor(x)? != after {
        return Ok(None);
    }
    x.execute("DELETE FROM blocks WHERE number > $1", params![ancestor])?;
    set_meta(x, "cursor", ancestor.to_string())?;
    let ids = x.query(
        // The owner stays: a request re-included with its fulfilment pending goes back to `submitted`, its
        // owner's (the tx monitor's) to settle.
        "UPDATE requests SET state = 'dropped', reason = 'log removed by a chain reorganisation', \
         updated_at = $2 WHERE block_number > $1 AND state != 'dropped' RETURNING request_id",
        params![ancestor, now_secs()],
    )?;
    let mut ids = ids.iter().map(|r| parse_u256(&r.text(0)?)).collect::<Result<Vec<_>>>()?;
    ids.sort();
    Ok(Some(ids))
}

/// One scanned block range, applied atomically by [`Db::apply_scan`].
#[derive(Debug, Default)]
pub struct ScanBatch {
    /// The cursor the range follows (`None`: none yet); the batch applies only if it is still there.
    pub after: Option<u64>,
    /// Last block of the range (the new cursor).
    pub to_block: u64,
    /// Block hashes to remember (range end and blocks with logs).
    pub blocks: Vec<(u64, B256)>,
    /// Requests logged in the range.
    pub requests: Vec<NewRequest>,
    /// Forget block hashes below this number.
    pub prune_below: u64,
}

fn upsert_request(x: &mut dyn Exec, r: &NewRequest) -> Result<Upsert> {
    let key = u256_key(r.request_id);
    let existing = x.query_opt(
        "SELECT state, input, model_id FROM requests WHERE request_id = $1",
        params![key.clone()],
    )?;
    let now = now_secs();
    let input = input_json(&r.input);
    let location = || {
        vec![
            sql::Val::from(key.clone()),
            r.block_number.into(),
            r.block_hash.to_string().into(),
            r.tx_hash.to_string().into(),
            r.log_index.into(),
            now.into(),
        ]
    };
    let relocate =
        "UPDATE requests SET block_number = $2, block_hash = $3, log_tx_hash = $4, log_index = $5, \
                    updated_at = $6 WHERE request_id = $1";
    let Some(existing) = existing else {
        x.execute(
            "INSERT INTO requests (request_id, model_id, requester, input, callback_gas_limit, fee, deadline, \
             block_number, block_hash, log_tx_hash, log_index, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'seen', $12, $12)",
            params![
                key,
                u256_key(r.model_id),
                r.requester.to_checksum(None),
                input,
                i64::from(r.callback_gas_limit),
                r.fee.to_string(),
                r.deadline,
                r.block_number,
                r.block_hash.to_string(),
                r.tx_hash.to_string(),
                r.log_index,
                now
            ],
        )?;
        return Ok(Upsert::New);
    };
    if existing.text(0)? != "dropped" {
        // Re-scanned after a rewind that did not drop it (same log): refresh its location only.
        x.execute(relocate, &location())?;
        return Ok(Upsert::Known);
    }
    let same = existing.text(1)? == input && existing.text(2)? == u256_key(r.model_id);
    let open = x
        .query_opt(
            "SELECT COUNT(*) FROM submissions WHERE request_id = $1 AND state IN ('pending', 'mined')",
            params![key.clone()],
        )?
        .map_or(Ok(0), |row| row.int(0))?;
    let state = if open > 0 && same {
        // Our fulfilment of the old log may be re-mined too: let the tx monitor settle it.
        State::Submitted
    } else if same {
        State::Seen
    } else {
        // A different request under the same id: prove it afresh.
        x.execute(
            "UPDATE requests SET model_id = $2, requester = $3, input = $4, callback_gas_limit = $5, \
             fee = $6, deadline = $7, output = NULL, proof = NULL, nonce = NULL, owner = NULL, \
             lease_until = NULL WHERE request_id = $1",
            params![
                key.clone(),
                u256_key(r.model_id),
                r.requester.to_checksum(None),
                input,
                i64::from(r.callback_gas_limit),
                r.fee.to_string(),
                r.deadline
            ],
        )?;
        State::Seen
    };
    x.execute(relocate, &location())?;
    transition_on(x, r.request_id, &[State::Dropped], state, None)?;
    Ok(Upsert::Restored(state))
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
        let failed = |e: rusqlite::Error| Error::Migration { version: *version, reason: e.to_string() };
        tx.execute_batch(sql).map_err(failed)?;
        tx.pragma_update(None, "user_version", version).map_err(failed)?;
    }
    tx.commit()?;
    Ok(())
}
