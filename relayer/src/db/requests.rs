//! The request state machine: reads, transitions, proving bookkeeping.

use super::{
    now_secs, parse_b256, parse_u256, sql::params, sql::Exec, sql::Row, to_u64, u256_key, NewRequest, State,
};
use crate::{
    error::{Error, Result},
    policy::UNKNOWN_MODEL,
};
use alloy::primitives::{Address, I256, U256};
use std::str::FromStr;

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
    /// The instance (signer address) holding the request while it is proved and submitted.
    pub owner: Option<Address>,
    /// When the owner's lease runs out (unix milliseconds).
    pub lease_until: Option<u64>,
    /// When the request was first seen (unix seconds).
    pub created_at: u64,
}

pub(super) const REQUEST_COLS: &str = "request_id, model_id, requester, input, callback_gas_limit, fee, \
     deadline, block_number, block_hash, log_tx_hash, log_index, state, reason, output, proof, nonce, fulfil_tx, \
     proving_ms, prove_attempts, submit_attempts, owner, lease_until, created_at";

fn address(s: &str) -> Result<Address> {
    Address::from_str(s).map_err(|e| Error::Corrupt(format!("address `{s}`: {e}")))
}

/// Decodes a row of [`REQUEST_COLS`].
pub(super) fn decode(row: &Row) -> Result<RequestRow> {
    let id = row.text(0)?;
    let input: Vec<String> =
        serde_json::from_str(&row.text(3)?).map_err(|e| Error::Corrupt(format!("input of {id}: {e}")))?;
    let input = input
        .iter()
        .map(|v| I256::from_dec_str(v).map_err(|e| Error::Corrupt(format!("input `{v}`: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let output = match row.opt_text(13)? {
        Some(o) => {
            Some(serde_json::from_str(&o).map_err(|e| Error::Corrupt(format!("output of {id}: {e}")))?)
        }
        None => None,
    };
    let fee = row.text(5)?;
    Ok(RequestRow {
        req: NewRequest {
            request_id: parse_u256(&id)?,
            model_id: parse_u256(&row.text(1)?)?,
            requester: address(&row.text(2)?)?,
            input,
            callback_gas_limit: u32::try_from(row.int(4)?).unwrap_or(u32::MAX),
            fee: U256::from_str_radix(&fee, 10).map_err(|e| Error::Corrupt(format!("fee: {e}")))?,
            deadline: to_u64(row.int(6)?),
            block_number: to_u64(row.int(7)?),
            block_hash: parse_b256(&row.text(8)?)?,
            tx_hash: parse_b256(&row.text(9)?)?,
            log_index: to_u64(row.int(10)?),
        },
        state: State::parse(&row.text(11)?)?,
        reason: row.opt_text(12)?,
        output,
        proof: row.opt_bytes(14)?,
        nonce: row.opt_int(15)?.map(to_u64),
        fulfil_tx: row.opt_text(16)?,
        proving_ms: row.opt_int(17)?.map(to_u64),
        prove_attempts: to_u64(row.int(18)?),
        submit_attempts: to_u64(row.int(19)?),
        owner: row.opt_text(20)?.map(|s| address(&s)).transpose()?,
        lease_until: row.opt_int(21)?.map(to_u64),
        created_at: to_u64(row.int(22)?),
    })
}

pub(super) fn decode_all(rows: &[Row]) -> Result<Vec<RequestRow>> {
    rows.iter().map(decode).collect()
}

pub(super) fn reset_in_flight(x: &mut dyn Exec, owner: Address) -> Result<usize> {
    let n = x.execute(
        "UPDATE requests SET state = 'seen', owner = NULL, lease_until = NULL, updated_at = $1 \
         WHERE state = 'proving' AND (owner = $2 OR owner IS NULL)",
        params![now_secs(), owner.to_checksum(None)],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) fn requests_in(x: &mut dyn Exec, state: State, limit: usize) -> Result<Vec<RequestRow>> {
    let rows = x.query(
        &format!("SELECT {REQUEST_COLS} FROM requests WHERE state = $1 ORDER BY request_id LIMIT $2"),
        params![state.as_str(), limit as u64],
    )?;
    decode_all(&rows)
}

pub(super) fn owned_in(
    x: &mut dyn Exec,
    state: State,
    owner: Address,
    limit: usize,
) -> Result<Vec<RequestRow>> {
    let rows = x.query(
        &format!(
            "SELECT {REQUEST_COLS} FROM requests WHERE state = $1 AND owner = $2 ORDER BY request_id LIMIT $3"
        ),
        params![state.as_str(), owner.to_checksum(None), limit as u64],
    )?;
    decode_all(&rows)
}

pub(super) fn request(x: &mut dyn Exec, id: U256) -> Result<Option<RequestRow>> {
    x.query_opt(&format!("SELECT {REQUEST_COLS} FROM requests WHERE request_id = $1"), params![u256_key(id)])?
        .as_ref()
        .map(decode)
        .transpose()
}

pub(super) fn transition(
    x: &mut dyn Exec,
    id: U256,
    from: Vec<State>,
    to: State,
    reason: Option<String>,
) -> Result<bool> {
    transition_on(x, id, &from, to, reason.as_deref())
}

pub(super) fn save_proof(
    x: &mut dyn Exec,
    id: U256,
    owner: Address,
    output: Vec<i64>,
    proof: Vec<u8>,
    proving_ms: u64,
) -> Result<bool> {
    let out = serde_json::Value::from(output).to_string();
    let n = x.execute(
        "UPDATE requests SET state = 'proved', output = $2, proof = $3, proving_ms = $4, reason = NULL, \
         updated_at = $5 WHERE request_id = $1 AND state = 'proving' AND owner = $6",
        params![u256_key(id), out, proof.as_slice(), proving_ms, now_secs(), owner.to_checksum(None)],
    )?;
    Ok(n == 1)
}

pub(super) fn skip(
    x: &mut dyn Exec,
    id: U256,
    from: Vec<State>,
    reason: String,
    code: &'static str,
) -> Result<bool> {
    if !transition_on(x, id, &from, State::Skipped, Some(&reason))? {
        return Ok(false);
    }
    x.execute("UPDATE requests SET skip_code = $2 WHERE request_id = $1", params![u256_key(id), code])?;
    Ok(true)
}

pub(super) fn requeue_unknown_models(x: &mut dyn Exec, served: Vec<U256>) -> Result<Vec<U256>> {
    let mut ids = Vec::new();
    for model in served {
        let rows = x.query(
            "UPDATE requests SET state = 'seen', reason = NULL, skip_code = NULL, updated_at = $3 \
             WHERE state = 'skipped' AND skip_code = $2 AND model_id = $1 RETURNING request_id",
            params![u256_key(model), UNKNOWN_MODEL, now_secs()],
        )?;
        for r in rows {
            ids.push(parse_u256(&r.text(0)?)?);
        }
    }
    ids.sort();
    Ok(ids)
}

pub(super) fn skip_code(x: &mut dyn Exec, id: U256) -> Result<Option<String>> {
    Ok(x.query_opt("SELECT skip_code FROM requests WHERE request_id = $1", params![u256_key(id)])?
        .map(|r| r.opt_text(0))
        .transpose()?
        .flatten())
}

pub(super) fn state_counts(x: &mut dyn Exec) -> Result<Vec<(State, u64)>> {
    x.query("SELECT state, COUNT(*) FROM requests GROUP BY state", &[])?
        .iter()
        .map(|r| Ok((State::parse(&r.text(0)?)?, to_u64(r.int(1)?))))
        .collect()
}

/// Moves a request to `to` if it is in one of `from`. Leaving the held states (`proving`, `proved`,
/// `submitted`) for a settled one keeps the owner (who answered it); back to `seen` frees it.
pub(super) fn transition_on(
    x: &mut dyn Exec,
    id: U256,
    from: &[State],
    to: State,
    reason: Option<&str>,
) -> Result<bool> {
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let free = if to == State::Seen { ", owner = NULL, lease_until = NULL" } else { "" };
    let n = x.execute(
        &format!(
            "UPDATE requests SET state = $2, reason = $3, updated_at = $4, skip_code = NULL{free} \
             WHERE request_id = $1 AND state IN ({})",
            from.join(", ")
        ),
        params![u256_key(id), to.as_str(), reason, now_secs()],
    )?;
    Ok(n == 1)
}
