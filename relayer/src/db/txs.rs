//! Nonces, submissions and every signed transaction (persisted before broadcast), per signing key.

use super::{now_secs, parse_b256, parse_u256, sql::params, sql::Exec, sql::Row, to_u64, u256_key, State};
use crate::error::{Error, Result};
use alloy::primitives::{Address, B256, U256};

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

/// A receipt outcome for [`super::Db::record_mined`].
#[derive(Debug)]
pub struct Mined {
    /// The signing key.
    pub sender: Address,
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
    pub revert_reason: Option<String>,
    /// Enough confirmations: settle the request.
    pub settle: bool,
    /// Beyond the reorg window: stop watching.
    pub finalize: bool,
    /// Settle the request as skipped with this reason and code instead (a mined cancellation, or a
    /// fulfilment that reverted because someone else fulfilled the request first).
    pub skip: Option<(String, &'static str)>,
}

pub(super) fn has_open_submission(x: &mut dyn Exec, id: U256, sender: Address) -> Result<bool> {
    let n = x
        .query_opt(
            "SELECT COUNT(*) FROM submissions WHERE request_id = $1 AND sender = $2 AND state IN ('pending', 'mined')",
            params![u256_key(id), sender.to_checksum(None)],
        )?
        .map_or(Ok(0), |r| r.int(0))?;
    Ok(n > 0)
}

pub(super) fn max_nonce(x: &mut dyn Exec, sender: Address) -> Result<Option<u64>> {
    Ok(x.query_opt(
        "SELECT MAX(nonce) FROM submissions WHERE sender = $1",
        params![sender.to_checksum(None)],
    )?
    .map(|r| r.opt_int(0))
    .transpose()?
    .flatten()
    .map(to_u64))
}

pub(super) fn record_submission(
    x: &mut dyn Exec,
    id: U256,
    sender: Address,
    nonce: u64,
    attempt: Attempt,
) -> Result<bool> {
    let now = now_secs();
    let me = sender.to_checksum(None);
    let moved = x.execute(
        "UPDATE requests SET state = 'submitted', nonce = $2, submit_attempts = submit_attempts + 1, \
         updated_at = $3 WHERE request_id = $1 AND state = 'proved' AND owner = $4",
        params![u256_key(id), nonce, now, me.clone()],
    )?;
    if moved == 0 {
        return Ok(false);
    }
    x.execute(
        "INSERT INTO submissions (sender, nonce, request_id, state, created_at, updated_at) \
         VALUES ($1, $2, $3, 'pending', $4, $4)",
        params![me, nonce, u256_key(id), now],
    )?;
    insert_attempt(x, sender, nonce, &attempt)?;
    Ok(true)
}

pub(super) fn record_attempt(x: &mut dyn Exec, sender: Address, nonce: u64, attempt: Attempt) -> Result<()> {
    insert_attempt(x, sender, nonce, &attempt)
}

pub(super) fn mark_broadcast(x: &mut dyn Exec, hash: B256) -> Result<()> {
    x.execute(
        "UPDATE tx_attempts SET broadcast_at = $2 WHERE hash = $1",
        params![hash.to_string(), now_secs()],
    )?;
    Ok(())
}

fn decode_attempt(r: &Row) -> Result<Attempt> {
    let fee = |s: String| s.parse::<u128>().map_err(|e| Error::Corrupt(format!("fee `{s}`: {e}")));
    Ok(Attempt {
        hash: parse_b256(&r.text(0)?)?,
        raw: r.opt_bytes(1)?.unwrap_or_default(),
        max_fee_per_gas: fee(r.text(2)?)?,
        max_priority_fee_per_gas: fee(r.text(3)?)?,
        gas_limit: to_u64(r.int(4)?),
        broadcast_at: r.opt_int(5)?.map(to_u64),
        created_at: to_u64(r.int(6)?),
        cancel: r.int(7)? != 0,
    })
}

pub(super) fn open_submissions(x: &mut dyn Exec, sender: Address) -> Result<Vec<OpenSubmission>> {
    let me = sender.to_checksum(None);
    let subs = x.query(
        "SELECT nonce, request_id, state, mined_block FROM submissions \
         WHERE sender = $1 AND state IN ('pending', 'mined') ORDER BY nonce",
        params![me.clone()],
    )?;
    let mut out = Vec::with_capacity(subs.len());
    for s in subs {
        let nonce = s.int(0)?;
        let attempts = x
            .query(
                "SELECT hash, raw, max_fee_per_gas, max_priority_fee_per_gas, gas_limit, broadcast_at, \
                 created_at, cancel FROM tx_attempts WHERE sender = $1 AND nonce = $2 ORDER BY seq",
                params![me.clone(), nonce],
            )?
            .iter()
            .map(decode_attempt)
            .collect::<Result<Vec<_>>>()?;
        out.push(OpenSubmission {
            nonce: to_u64(nonce),
            request_id: parse_u256(&s.text(1)?)?,
            mined: s.text(2)? == "mined",
            mined_block: s.opt_int(3)?.map(to_u64),
            attempts,
        });
    }
    Ok(out)
}

pub(super) fn record_mined(x: &mut dyn Exec, m: Mined) -> Result<()> {
    let now = now_secs();
    let me = m.sender.to_checksum(None);
    x.execute(
        "UPDATE submissions SET state = $3, mined_tx = $4, mined_block = $5, success = $6, \
         revert_reason = $7, updated_at = $8 WHERE sender = $1 AND nonce = $2",
        params![
            me.clone(),
            m.nonce,
            if m.finalize { "final" } else { "mined" },
            m.tx_hash.to_string(),
            m.block,
            m.success,
            m.revert_reason.clone(),
            now
        ],
    )?;
    if m.settle {
        let (state, reason, code) = match (m.skip, m.success) {
            (Some((why, code)), _) => ("skipped", Some(why), Some(code)),
            (None, true) => ("confirmed", None, None),
            (None, false) => ("failed", m.revert_reason, None),
        };
        x.execute(
            "UPDATE requests SET state = $3, reason = $4, fulfil_tx = $5, updated_at = $6, skip_code = $7 \
             WHERE request_id = $1 AND nonce = $2 AND owner = $8 \
             AND state IN ('submitted', 'confirmed', 'failed', 'skipped')",
            params![u256_key(m.request_id), m.nonce, state, reason, m.tx_hash.to_string(), now, code, me],
        )?;
    }
    Ok(())
}

pub(super) fn unmine(x: &mut dyn Exec, sender: Address, nonce: u64, request_id: U256) -> Result<()> {
    let now = now_secs();
    let me = sender.to_checksum(None);
    x.execute(
        "UPDATE submissions SET state = 'pending', mined_tx = NULL, mined_block = NULL, success = NULL, \
         revert_reason = NULL, updated_at = $3 WHERE sender = $1 AND nonce = $2",
        params![me.clone(), nonce, now],
    )?;
    x.execute(
        "UPDATE requests SET state = 'submitted', reason = NULL, skip_code = NULL, fulfil_tx = NULL, updated_at = $3 \
         WHERE request_id = $1 AND nonce = $2 AND owner = $4 \
         AND (state IN ('confirmed', 'failed') OR (state = 'skipped' AND skip_code IN ('cancelled', 'lost_race')))",
        params![u256_key(request_id), nonce, now, me],
    )?;
    Ok(())
}

pub(super) fn abandon(
    x: &mut dyn Exec,
    sender: Address,
    nonce: u64,
    request_id: U256,
    then: State,
    reason: String,
) -> Result<()> {
    let now = now_secs();
    let me = sender.to_checksum(None);
    x.execute(
        "UPDATE submissions SET state = 'abandoned', revert_reason = $3, updated_at = $4 \
         WHERE sender = $1 AND nonce = $2",
        params![me.clone(), nonce, reason.clone(), now],
    )?;
    let reason = (then != State::Proved).then_some(reason);
    x.execute(
        "UPDATE requests SET state = $3, reason = $4, updated_at = $5 \
         WHERE request_id = $1 AND nonce = $2 AND owner = $6 AND state = 'submitted'",
        params![u256_key(request_id), nonce, then.as_str(), reason, now, me],
    )?;
    Ok(())
}

fn insert_attempt(x: &mut dyn Exec, sender: Address, nonce: u64, a: &Attempt) -> Result<()> {
    let me = sender.to_checksum(None);
    let seq = x
        .query_opt(
            "SELECT COUNT(*) FROM tx_attempts WHERE sender = $1 AND nonce = $2",
            params![me.clone(), nonce],
        )?
        .map_or(Ok(0), |r| r.int(0))?;
    x.execute(
        "INSERT INTO tx_attempts (hash, sender, nonce, seq, raw, max_fee_per_gas, max_priority_fee_per_gas, \
         gas_limit, created_at, broadcast_at, cancel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10) \
         ON CONFLICT(hash) DO NOTHING",
        params![
            a.hash.to_string(),
            me,
            nonce,
            seq,
            a.raw.as_slice(),
            a.max_fee_per_gas.to_string(),
            a.max_priority_fee_per_gas.to_string(),
            a.gas_limit,
            a.created_at,
            a.cancel
        ],
    )?;
    Ok(())
}
