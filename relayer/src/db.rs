//! Durable state in SQLite: scan cursor, block hashes, the per-request state machine, nonces and signed txs.
//!
//! Every state change is one SQLite transaction (WAL, `synchronous = FULL`), so a `kill -9` at any moment
//! leaves either the old or the new state. Calls are short and run on the caller's thread under a mutex.

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
const MIGRATIONS: &[(u32, &str)] = &[(1, include_str!("../migrations/0001_init.sql"))];

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

/// A stored request with its state.
#[derive(Clone, Debug)]
pub struct RequestRow {
    /// What the log said.
    pub req: NewRequest,
    /// Current state.
    pub state: State,
    /// Why it failed, was skipped or dropped.
    pub reason: Option<String>,
    /// Proven quantized outputs.
    pub output: Option<Vec<i64>>,
    /// Proof bytes.
    pub proof: Option<Vec<u8>>,
    /// Nonce of the current submission.
    pub nonce: Option<u64>,
    /// Hash of the mined fulfilment.
    pub fulfil_tx: Option<String>,
    /// Proving time in milliseconds.
    pub proving_ms: Option<u64>,
    /// How many times proving started.
    pub prove_attempts: u64,
    /// How many submissions were made.
    pub submit_attempts: u64,
}

/// One signed transaction.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// Transaction hash.
    pub hash: B256,
    /// EIP-2718 encoded signed transaction.
    pub raw: Vec<u8>,
    /// Fee cap.
    pub max_fee_per_gas: u128,
    /// Tip cap.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit.
    pub gas_limit: u64,
    /// Unix seconds of the last accepted broadcast; `None` if never accepted.
    pub broadcast_at: Option<u64>,
    /// Unix seconds the attempt was signed.
    pub created_at: u64,
}

/// A submission still being watched (pending or mined within the reorg window).
#[derive(Clone, Debug)]
pub struct OpenSubmission {
    /// The nonce.
    pub nonce: u64,
    /// The request it fulfils.
    pub request_id: U256,
    /// `true` once a receipt was seen.
    pub mined: bool,
    /// Block of that receipt.
    pub mined_block: Option<u64>,
    /// All signed attempts, oldest first.
    pub attempts: Vec<Attempt>,
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

const REQUEST_COLS: &str = "request_id, model_id, requester, input, callback_gas_limit, fee, deadline, \
     block_number, block_hash, log_tx_hash, log_index, state, reason, output, proof, nonce, fulfil_tx, \
     proving_ms, prove_attempts, submit_attempts";

fn read_request(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRequest> {
    Ok(RawRequest {
        cols: [
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(5)?,
            row.get(8)?,
            row.get(9)?,
            row.get(11)?,
        ],
        callback_gas_limit: row.get(4)?,
        deadline: row.get(6)?,
        block_number: row.get(7)?,
        log_index: row.get(10)?,
        reason: row.get(12)?,
        output: row.get(13)?,
        proof: row.get(14)?,
        nonce: row.get(15)?,
        fulfil_tx: row.get(16)?,
        proving_ms: row.get(17)?,
        prove_attempts: row.get(18)?,
        submit_attempts: row.get(19)?,
    })
}

/// Column values as stored; converted to [`RequestRow`] outside rusqlite's closure so errors are ours.
struct RawRequest {
    /// request_id, model_id, requester, input, fee, block_hash, log_tx_hash, state
    cols: [String; 8],
    callback_gas_limit: i64,
    deadline: i64,
    block_number: i64,
    log_index: i64,
    reason: Option<String>,
    output: Option<String>,
    proof: Option<Vec<u8>>,
    nonce: Option<i64>,
    fulfil_tx: Option<String>,
    proving_ms: Option<i64>,
    prove_attempts: i64,
    submit_attempts: i64,
}

impl RawRequest {
    fn decode(self) -> Result<RequestRow> {
        let [id, model, requester, input, fee, block_hash, tx_hash, state] = self.cols;
        let input: Vec<String> =
            serde_json::from_str(&input).map_err(|e| Error::Corrupt(format!("input of {id}: {e}")))?;
        let input = input
            .iter()
            .map(|v| I256::from_dec_str(v).map_err(|e| Error::Corrupt(format!("input `{v}`: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        let output = match self.output {
            Some(o) => {
                Some(serde_json::from_str(&o).map_err(|e| Error::Corrupt(format!("output of {id}: {e}")))?)
            }
            None => None,
        };
        Ok(RequestRow {
            req: NewRequest {
                request_id: parse_u256(&id)?,
                model_id: parse_u256(&model)?,
                requester: Address::from_str(&requester)
                    .map_err(|e| Error::Corrupt(format!("requester `{requester}`: {e}")))?,
                input,
                callback_gas_limit: u32::try_from(self.callback_gas_limit).unwrap_or(u32::MAX),
                fee: U256::from_str_radix(&fee, 10).map_err(|e| Error::Corrupt(format!("fee: {e}")))?,
                deadline: to_u64(self.deadline),
                block_number: to_u64(self.block_number),
                block_hash: parse_b256(&block_hash)?,
                tx_hash: parse_b256(&tx_hash)?,
                log_index: to_u64(self.log_index),
            },
            state: State::parse(&state)?,
            reason: self.reason,
            output,
            proof: self.proof,
            nonce: self.nonce.map(to_u64),
            fulfil_tx: self.fulfil_tx,
            proving_ms: self.proving_ms.map(to_u64),
            prove_attempts: to_u64(self.prove_attempts),
            submit_attempts: to_u64(self.submit_attempts),
        })
    }
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

    /// After a restart, requests that were queued or inside a prover go back to `seen` (proofs are not
    /// persisted until complete). Returns how many.
    pub fn reset_in_flight(&self) -> Result<usize> {
        Ok(self.lock().execute(
            "UPDATE requests SET state = 'seen', updated_at = ?1 WHERE state = 'proving'",
            [to_i64(now_secs())],
        )?)
    }

    /// Up to `limit` requests in `state`, lowest id first.
    pub fn requests_in(&self, state: State, limit: usize) -> Result<Vec<RequestRow>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {REQUEST_COLS} FROM requests WHERE state = ?1 ORDER BY request_id LIMIT ?2"
        ))?;
        let raw = stmt
            .query_map(params![state.as_str(), i64::try_from(limit).unwrap_or(i64::MAX)], read_request)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        raw.into_iter().map(RawRequest::decode).collect()
    }

    /// One request.
    pub fn request(&self, id: U256) -> Result<Option<RequestRow>> {
        let raw = self
            .lock()
            .query_row(
                &format!("SELECT {REQUEST_COLS} FROM requests WHERE request_id = ?1"),
                [u256_key(id)],
                read_request,
            )
            .optional()?;
        raw.map(RawRequest::decode).transpose()
    }

    /// Moves a request to `to` if it is currently in one of `from`; returns whether it moved.
    pub fn transition(&self, id: U256, from: &[State], to: State, reason: Option<&str>) -> Result<bool> {
        let conn = self.lock();
        transition_on(&conn, id, from, to, reason)
    }

    /// Marks a request as entering the prover (counts the attempt); returns whether it was `seen`.
    pub fn start_proving(&self, id: U256) -> Result<bool> {
        let n = self.lock().execute(
            "UPDATE requests SET state = 'proving', prove_attempts = prove_attempts + 1, updated_at = ?2 \
             WHERE request_id = ?1 AND state = 'seen'",
            params![u256_key(id), to_i64(now_secs())],
        )?;
        Ok(n == 1)
    }

    /// Stores a finished proof if the request is still `proving` (a reorg may have dropped it meanwhile).
    pub fn save_proof(&self, id: U256, output: &[i64], proof: &[u8], proving_ms: u64) -> Result<bool> {
        let out = serde_json::Value::from(output.to_vec()).to_string();
        let n = self.lock().execute(
            "UPDATE requests SET state = 'proved', output = ?2, proof = ?3, proving_ms = ?4, reason = NULL, \
             updated_at = ?5 WHERE request_id = ?1 AND state = 'proving'",
            params![u256_key(id), out, proof, to_i64(proving_ms), to_i64(now_secs())],
        )?;
        Ok(n == 1)
    }

    /// Whether a submission for this request is still pending or mined but not final.
    pub fn has_open_submission(&self, id: U256) -> Result<bool> {
        let n: i64 = self.lock().query_row(
            "SELECT COUNT(*) FROM submissions WHERE request_id = ?1 AND state IN ('pending', 'mined')",
            [u256_key(id)],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Highest nonce ever signed, if any.
    pub fn max_nonce(&self) -> Result<Option<u64>> {
        let v: Option<i64> = self.lock().query_row("SELECT MAX(nonce) FROM submissions", [], |r| r.get(0))?;
        Ok(v.map(to_u64))
    }

    /// Persists a new signed fulfilment (before it is broadcast) and moves the request to `submitted`.
    /// Returns `false` (writing nothing) if the request is no longer `proved`.
    pub fn record_submission(&self, id: U256, nonce: u64, attempt: &Attempt) -> Result<bool> {
        self.with_tx(|tx| {
            let now = to_i64(now_secs());
            let moved = tx.execute(
                "UPDATE requests SET state = 'submitted', nonce = ?2, submit_attempts = submit_attempts + 1, \
                 updated_at = ?3 WHERE request_id = ?1 AND state = 'proved'",
                params![u256_key(id), to_i64(nonce), now],
            )?;
            if moved == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO submissions (nonce, request_id, state, created_at, updated_at) \
                 VALUES (?1, ?2, 'pending', ?3, ?3)",
                params![to_i64(nonce), u256_key(id), now],
            )?;
            insert_attempt(tx, nonce, attempt)?;
            Ok(true)
        })
    }

    /// Persists a replacement (fee bump) for an existing nonce.
    pub fn record_attempt(&self, nonce: u64, attempt: &Attempt) -> Result<()> {
        self.with_tx(|tx| insert_attempt(tx, nonce, attempt))
    }

    /// Notes that a node accepted this transaction.
    pub fn mark_broadcast(&self, hash: B256) -> Result<()> {
        self.lock().execute(
            "UPDATE tx_attempts SET broadcast_at = ?2 WHERE hash = ?1",
            params![hash.to_string(), to_i64(now_secs())],
        )?;
        Ok(())
    }

    /// Submissions still pending or mined (not yet final).
    pub fn open_submissions(&self) -> Result<Vec<OpenSubmission>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT nonce, request_id, state, mined_block FROM submissions \
             WHERE state IN ('pending', 'mined') ORDER BY nonce",
        )?;
        let subs = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut att = conn.prepare(
            "SELECT hash, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, broadcast_at, created_at \
             FROM tx_attempts WHERE nonce = ?1 ORDER BY created_at, rowid",
        )?;
        let mut out = Vec::with_capacity(subs.len());
        for (nonce, id, state, mined_block) in subs {
            let rows = att
                .query_map([nonce], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<i64>>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let fee = |s: &str| s.parse::<u128>().map_err(|e| Error::Corrupt(format!("fee `{s}`: {e}")));
            let attempts = rows
                .into_iter()
                .map(|(hash, raw, mf, mp, gl, b, c)| {
                    Ok(Attempt {
                        hash: parse_b256(&hash)?,
                        raw,
                        max_fee_per_gas: fee(&mf)?,
                        max_priority_fee_per_gas: fee(&mp)?,
                        gas_limit: to_u64(gl),
                        broadcast_at: b.map(to_u64),
                        created_at: to_u64(c),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push(OpenSubmission {
                nonce: to_u64(nonce),
                request_id: parse_u256(&id)?,
                mined: state == "mined",
                mined_block: mined_block.map(to_u64),
                attempts,
            });
        }
        Ok(out)
    }

    /// Records the outcome of a submission's receipt. `settle` (enough confirmations) also settles the
    /// request: `confirmed` on success, `failed(reason)` on revert — unless the request was dropped.
    pub fn record_mined(&self, m: &Mined<'_>) -> Result<()> {
        self.with_tx(|tx| {
            let now = to_i64(now_secs());
            tx.execute(
                "UPDATE submissions SET state = ?2, mined_tx = ?3, mined_block = ?4, success = ?5, \
                 revert_reason = ?6, updated_at = ?7 WHERE nonce = ?1",
                params![
                    to_i64(m.nonce),
                    if m.finalize { "final" } else { "mined" },
                    m.tx_hash.to_string(),
                    to_i64(m.block),
                    m.success,
                    m.revert_reason,
                    now
                ],
            )?;
            if m.settle {
                let (state, reason) =
                    if m.success { ("confirmed", None) } else { ("failed", m.revert_reason) };
                tx.execute(
                    "UPDATE requests SET state = ?3, reason = ?4, fulfil_tx = ?5, updated_at = ?6 \
                     WHERE request_id = ?1 AND nonce = ?2 AND state IN ('submitted', 'confirmed', 'failed')",
                    params![
                        u256_key(m.request_id),
                        to_i64(m.nonce),
                        state,
                        reason,
                        m.tx_hash.to_string(),
                        now
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// A mined submission's receipt disappeared (reorg): back to pending; its request back to `submitted`.
    pub fn unmine(&self, nonce: u64, request_id: U256) -> Result<()> {
        self.with_tx(|tx| {
            let now = to_i64(now_secs());
            tx.execute(
                "UPDATE submissions SET state = 'pending', mined_tx = NULL, mined_block = NULL, success = NULL, \
                 revert_reason = NULL, updated_at = ?2 WHERE nonce = ?1",
                params![to_i64(nonce), now],
            )?;
            tx.execute(
                "UPDATE requests SET state = 'submitted', reason = NULL, fulfil_tx = NULL, updated_at = ?3 \
                 WHERE request_id = ?1 AND nonce = ?2 AND state IN ('confirmed', 'failed')",
                params![u256_key(request_id), to_i64(nonce), now],
            )?;
            Ok(())
        })
    }

    /// Our nonce was consumed by a transaction we did not sign for it: the submission is abandoned and
    /// the request goes to `then` (usually `proved` to resubmit, or `skipped` if already fulfilled).
    pub fn abandon(&self, nonce: u64, request_id: U256, then: State, reason: &str) -> Result<()> {
        self.with_tx(|tx| {
            let now = to_i64(now_secs());
            tx.execute(
                "UPDATE submissions SET state = 'abandoned', revert_reason = ?2, updated_at = ?3 WHERE nonce = ?1",
                params![to_i64(nonce), reason, now],
            )?;
            let reason = (then != State::Proved).then_some(reason);
            tx.execute(
                "UPDATE requests SET state = ?3, reason = ?4, updated_at = ?5 \
                 WHERE request_id = ?1 AND nonce = ?2 AND state = 'submitted'",
                params![u256_key(request_id), to_i64(nonce), then.as_str(), reason, now],
            )?;
            Ok(())
        })
    }

    /// Number of requests per state.
    pub fn state_counts(&self) -> Result<Vec<(State, u64)>> {
        let conn = self.lock();
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM requests GROUP BY state")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(|(s, n)| Ok((State::parse(&s)?, to_u64(n)))).collect()
    }
}

/// A receipt outcome for [`Db::record_mined`].
#[derive(Debug)]
pub struct Mined<'a> {
    /// The nonce.
    pub nonce: u64,
    /// The request.
    pub request_id: U256,
    /// The mined attempt.
    pub tx_hash: B256,
    /// Its block.
    pub block: u64,
    /// Receipt status.
    pub success: bool,
    /// Decoded revert reason.
    pub revert_reason: Option<&'a str>,
    /// Enough confirmations: settle the request.
    pub settle: bool,
    /// Beyond the reorg window: stop watching.
    pub finalize: bool,
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

fn transition_on(
    conn: &Connection,
    id: U256,
    from: &[State],
    to: State,
    reason: Option<&str>,
) -> Result<bool> {
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let n = conn.execute(
        &format!(
            "UPDATE requests SET state = ?2, reason = ?3, updated_at = ?4 \
             WHERE request_id = ?1 AND state IN ({})",
            from.join(", ")
        ),
        params![u256_key(id), to.as_str(), reason, to_i64(now_secs())],
    )?;
    Ok(n == 1)
}

fn insert_attempt(tx: &Transaction<'_>, nonce: u64, a: &Attempt) -> Result<()> {
    tx.execute(
        "INSERT INTO tx_attempts (hash, nonce, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, \
         created_at, broadcast_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL) ON CONFLICT(hash) DO NOTHING",
        params![
            a.hash.to_string(),
            to_i64(nonce),
            a.raw,
            a.max_fee_per_gas.to_string(),
            a.max_priority_fee_per_gas.to_string(),
            to_i64(a.gas_limit),
            to_i64(a.created_at)
        ],
    )?;
    Ok(())
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(id: u64, block: u64, input: &[i64]) -> NewRequest {
        NewRequest {
            request_id: U256::from(id),
            model_id: U256::from(1),
            requester: Address::repeat_byte(7),
            input: input.iter().map(|&v| I256::try_from(v).unwrap()).collect(),
            callback_gas_limit: 100_000,
            fee: U256::from(10),
            deadline: 1_000,
            block_number: block,
            block_hash: B256::repeat_byte(block as u8),
            tx_hash: B256::repeat_byte(0xaa),
            log_index: 0,
        }
    }

    fn scan(to: u64, requests: Vec<NewRequest>) -> ScanBatch {
        ScanBatch { to_block: to, blocks: vec![(to, B256::repeat_byte(to as u8))], requests, prune_below: 0 }
    }

    #[test]
    fn migrates_once_and_checks_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.sqlite");
        let db = Db::open(&path).unwrap();
        db.check_identity(1, Address::repeat_byte(1)).unwrap();
        drop(db);
        let db = Db::open(&path).unwrap();
        db.check_identity(1, Address::repeat_byte(1)).unwrap();
        let e = db.check_identity(2, Address::repeat_byte(1)).unwrap_err();
        assert!(e.to_string().contains("chain_id"), "{e}");
    }

    #[test]
    fn concurrent_first_opens_migrate_once() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..8 {
            let path = dir.path().join(format!("r{i}.sqlite"));
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let p = path.clone();
                    std::thread::spawn(move || Db::open(&p).map(|_| ()))
                })
                .collect();
            for h in handles {
                h.join().unwrap().unwrap();
            }
        }
    }

    /// A write that reads first must wait for another connection's write lock (busy timeout) instead of
    /// failing at once with "database is locked", and an operator opening the database takes no lock.
    #[test]
    fn writes_wait_for_another_connections_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.sqlite");
        let db = Db::open(&path).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        // check_identity reads the meta row, then inserts it.
        db.check_identity(1, Address::repeat_byte(1)).unwrap();
        release.join().unwrap();

        let mut reader = Connection::open(&path).unwrap();
        let held = reader.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        // A second open of an up-to-date database (as an operator's reader) needs no write lock.
        let started = std::time::Instant::now();
        let _second = Db::open(&path).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        held.rollback().unwrap();
    }

    #[test]
    fn scan_rewind_and_restore() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("r.sqlite")).unwrap();
        let r = req(5, 10, &[1, -2]);
        assert_eq!(db.apply_scan(&scan(12, vec![r.clone()])).unwrap(), vec![Upsert::New]);
        assert_eq!(db.cursor().unwrap(), Some(12));
        assert_eq!(db.apply_scan(&scan(12, vec![r.clone()])).unwrap(), vec![Upsert::Known]);
        let row = db.request(U256::from(5)).unwrap().unwrap();
        assert_eq!(row.state, State::Seen);
        assert_eq!(row.req, r);

        assert!(db.start_proving(r.request_id).unwrap());
        assert_eq!(db.rewind(9).unwrap(), vec![U256::from(5)]);
        assert_eq!(db.cursor().unwrap(), Some(9));
        // A proof finishing after the drop is discarded.
        assert!(!db.save_proof(r.request_id, &[3], b"p", 5).unwrap());
        assert_eq!(db.request(r.request_id).unwrap().unwrap().state, State::Dropped);

        let mut again = r.clone();
        again.block_number = 11;
        again.block_hash = B256::repeat_byte(0x77);
        assert_eq!(db.apply_scan(&scan(12, vec![again])).unwrap(), vec![Upsert::Restored(State::Seen)]);
        let row = db.request(r.request_id).unwrap().unwrap();
        assert_eq!((row.state, row.req.block_number), (State::Seen, 11));
    }

    #[test]
    fn submission_lifecycle() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("r.sqlite")).unwrap();
        let r = req(1, 3, &[4]);
        db.apply_scan(&scan(3, vec![r.clone()])).unwrap();
        assert!(db.start_proving(r.request_id).unwrap());
        assert!(db.save_proof(r.request_id, &[9], b"proof", 12).unwrap());
        let a = Attempt {
            hash: B256::repeat_byte(1),
            raw: vec![1, 2],
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            gas_limit: 21_000,
            broadcast_at: None,
            created_at: 1,
        };
        assert!(db.record_submission(r.request_id, 7, &a).unwrap());
        assert!(!db.record_submission(r.request_id, 8, &a).unwrap(), "only from proved");
        assert!(db.has_open_submission(r.request_id).unwrap());
        assert_eq!(db.max_nonce().unwrap(), Some(7));
        let open = db.open_submissions().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].attempts[0].raw, vec![1, 2]);
        let m = Mined {
            nonce: 7,
            request_id: r.request_id,
            tx_hash: a.hash,
            block: 5,
            success: true,
            revert_reason: None,
            settle: true,
            finalize: false,
        };
        db.record_mined(&m).unwrap();
        assert_eq!(db.request(r.request_id).unwrap().unwrap().state, State::Confirmed);
        db.unmine(7, r.request_id).unwrap();
        assert_eq!(db.request(r.request_id).unwrap().unwrap().state, State::Submitted);
        db.abandon(7, r.request_id, State::Proved, "nonce used elsewhere").unwrap();
        let row = db.request(r.request_id).unwrap().unwrap();
        assert_eq!((row.state, row.reason), (State::Proved, None));
        assert!(!db.has_open_submission(r.request_id).unwrap());
    }
}
