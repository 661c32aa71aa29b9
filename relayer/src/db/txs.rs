//! Nonces, submissions and every signed transaction (persisted before broadcast).

use super::{now_secs, parse_b256, parse_u256, to_i64, to_u64, u256_key, Db, State};
use crate::error::{Error, Result};
use alloy::primitives::{B256, U256};
use rusqlite::{params, Transaction};

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
    /// A cancellation (zero-value self-transfer at the nonce), not a fulfilment.
    pub cancel: bool,
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

impl Db {
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
            "SELECT hash, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, broadcast_at, created_at, \
             cancel FROM tx_attempts WHERE nonce = ?1 ORDER BY created_at, rowid",
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
                        r.get::<_, bool>(7)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let fee = |s: &str| s.parse::<u128>().map_err(|e| Error::Corrupt(format!("fee `{s}`: {e}")));
            let attempts = rows
                .into_iter()
                .map(|(hash, raw, mf, mp, gl, b, c, cancel)| {
                    Ok(Attempt {
                        hash: parse_b256(&hash)?,
                        raw,
                        max_fee_per_gas: fee(&mf)?,
                        max_priority_fee_per_gas: fee(&mp)?,
                        gas_limit: to_u64(gl),
                        broadcast_at: b.map(to_u64),
                        created_at: to_u64(c),
                        cancel,
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
                let (state, reason, code) = match (m.cancel_reason, m.success) {
                    (Some(why), _) => ("skipped", Some(why), Some(crate::policy::CANCELLED)),
                    (None, true) => ("confirmed", None, None),
                    (None, false) => ("failed", m.revert_reason, None),
                };
                tx.execute(
                    "UPDATE requests SET state = ?3, reason = ?4, fulfil_tx = ?5, updated_at = ?6, skip_code = ?7 \
                     WHERE request_id = ?1 AND nonce = ?2 AND state IN ('submitted', 'confirmed', 'failed', 'skipped')",
                    params![
                        u256_key(m.request_id),
                        to_i64(m.nonce),
                        state,
                        reason,
                        m.tx_hash.to_string(),
                        now,
                        code
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
                "UPDATE requests SET state = 'submitted', reason = NULL, skip_code = NULL, fulfil_tx = NULL, updated_at = ?3 \
                 WHERE request_id = ?1 AND nonce = ?2 \
                 AND (state IN ('confirmed', 'failed') OR (state = 'skipped' AND skip_code = 'cancelled'))",
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
    /// The mined attempt is a cancellation: settle the request as skipped with this reason.
    pub cancel_reason: Option<&'a str>,
}

fn insert_attempt(tx: &Transaction<'_>, nonce: u64, a: &Attempt) -> Result<()> {
    tx.execute(
        "INSERT INTO tx_attempts (hash, nonce, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, \
         created_at, broadcast_at, cancel) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8) ON CONFLICT(hash) DO NOTHING",
        params![
            a.hash.to_string(),
            to_i64(nonce),
            a.raw,
            a.max_fee_per_gas.to_string(),
            a.max_priority_fee_per_gas.to_string(),
            to_i64(a.gas_limit),
            to_i64(a.created_at),
            a.cancel
        ],
    )?;
    Ok(())
}
