//! The request state machine: reads, transitions, proving bookkeeping.

use super::{now_secs, parse_b256, parse_u256, to_i64, to_u64, u256_key, Db, NewRequest, State};
use crate::{
    error::{Error, Result},
    policy::{Skip, UNKNOWN_MODEL},
};
use alloy::primitives::{Address, I256, U256};
use rusqlite::{params, Connection, OptionalExtension};
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

impl Db {
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

    /// Moves a request in one of `from` to `skipped`, recording the reason and its code; returns whether
    /// it moved.
    pub(crate) fn skip(&self, id: U256, from: &[State], skip: &Skip) -> Result<bool> {
        self.with_tx(|tx| {
            if !transition_on(tx, id, from, State::Skipped, Some(&skip.to_string()))? {
                return Ok(false);
            }
            tx.execute(
                "UPDATE requests SET skip_code = ?2 WHERE request_id = ?1",
                params![u256_key(id), skip.code()],
            )?;
            Ok(true)
        })
    }

    /// Requests skipped because their model was not served go back to `seen` when one of `served` is
    /// their model now (a config that missed a model must not lose its requests). Returns their ids.
    pub fn requeue_unknown_models(&self, served: &[U256]) -> Result<Vec<U256>> {
        self.with_tx(|tx| {
            let mut ids = Vec::new();
            let mut stmt = tx.prepare(
                "UPDATE requests SET state = 'seen', reason = NULL, skip_code = NULL, updated_at = ?3 \
                 WHERE state = 'skipped' AND skip_code = ?2 AND model_id = ?1 RETURNING request_id",
            )?;
            for model in served {
                let rows = stmt
                    .query_map(params![u256_key(*model), UNKNOWN_MODEL, to_i64(now_secs())], |r| {
                        r.get::<_, String>(0)
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for id in rows {
                    ids.push(parse_u256(&id)?);
                }
            }
            ids.sort();
            Ok(ids)
        })
    }

    /// The skip code of a request (`None` unless it is skipped with a code).
    pub fn skip_code(&self, id: U256) -> Result<Option<String>> {
        let code: Option<Option<String>> = self
            .lock()
            .query_row("SELECT skip_code FROM requests WHERE request_id = ?1", [u256_key(id)], |r| r.get(0))
            .optional()?;
        Ok(code.flatten())
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

pub(super) fn transition_on(
    conn: &Connection,
    id: U256,
    from: &[State],
    to: State,
    reason: Option<&str>,
) -> Result<bool> {
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let n = conn.execute(
        &format!(
            "UPDATE requests SET state = ?2, reason = ?3, updated_at = ?4, skip_code = NULL \
             WHERE request_id = ?1 AND state IN ({})",
            from.join(", ")
        ),
        params![u256_key(id), to.as_str(), reason, to_i64(now_secs())],
    )?;
    Ok(n == 1)
}
