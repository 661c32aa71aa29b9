//! Transactions: nonce management, EIP-1559 fees, signing, persistence before broadcast, receipts with
//! confirmations, fee bumps for stuck transactions and reconciliation with the chain.
//!
//! Exactly-once rests on three rules: (1) a signed transaction is persisted with its nonce before it is
//! broadcast; (2) a request gets a new nonce only after its previous one is consumed on-chain, at
//! `confirmations` depth, by a transaction that is none of its signed attempts; (3) before signing, the
//! request must be `Pending` on-chain.
//! Replacements reuse the nonce, so at most one of them can be mined.

use crate::{
    chain::{fulfill_calldata, is_already_known, is_nonce_too_low, is_transport, Chain, OnChainStatus},
    db::{now_secs, Attempt, Db, Mined, OpenSubmission, RequestRow, State},
    error::{Error, Result},
    GasConfig, Shared,
};
use alloy::{
    consensus::{Transaction as _, TxEnvelope},
    eips::{eip2718::Decodable2718, BlockId, BlockNumberOrTag, Encodable2718},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, Bytes, U256},
    rpc::types::{TransactionReceipt, TransactionRequest},
};
use std::sync::Arc;

/// Signs fulfilments with the relayer key.
#[derive(Clone)]
pub(crate) struct TxSigner {
    pub(crate) wallet: EthereumWallet,
    pub(crate) address: Address,
    pub(crate) oracle: Address,
    pub(crate) chain_id: u64,
}

impl std::fmt::Debug for TxSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxSigner").field("address", &self.address).finish_non_exhaustive()
    }
}

/// Fees of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fees {
    max_fee: u128,
    priority: u128,
}

impl TxSigner {
    async fn sign(&self, input: Bytes, nonce: u64, gas_limit: u64, fees: Fees) -> Result<Attempt> {
        let tx = TransactionRequest::default()
            .with_from(self.address)
            .with_to(self.oracle)
            .with_input(input)
            .with_chain_id(self.chain_id)
            .with_nonce(nonce)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee)
            .with_max_priority_fee_per_gas(fees.priority);
        let env: TxEnvelope = tx.build(&self.wallet).await.map_err(|e| Error::Sign(e.to_string()))?;
        Ok(Attempt {
            hash: *env.tx_hash(),
            raw: env.encoded_2718(),
            max_fee_per_gas: fees.max_fee,
            max_priority_fee_per_gas: fees.priority,
            gas_limit,
            broadcast_at: None,
            created_at: now_secs(),
        })
    }

    fn call_request(&self, input: Bytes) -> TransactionRequest {
        TransactionRequest::default().with_from(self.address).with_to(self.oracle).with_input(input)
    }
}

/// `x` raised by `bps` basis points, rounded up, and by at least 1 wei.
fn bump(x: u128, bps: u32) -> u128 {
    let inc = x.saturating_mul(u128::from(bps)).div_ceil(10_000).max(1);
    x.saturating_add(inc)
}

fn policy_fees(gas: &GasConfig, (max_fee, priority): (u128, u128)) -> Fees {
    let priority = priority.max(gas.min_priority_fee_wei);
    let max_fee = max_fee.max(priority);
    match gas.max_fee_per_gas_wei {
        Some(cap) => Fees { max_fee: max_fee.min(cap), priority: priority.min(cap) },
        None => Fees { max_fee, priority },
    }
}

/// Broadcasts an attempt; returns the error only if the node gave a definite answer that is not
/// "already known" (transport trouble is logged: the monitor re-broadcasts).
async fn broadcast(chain: &Chain, db: &Db, shared: &Shared, a: &Attempt) -> Result<(), Error> {
    match chain.send_raw(&a.raw).await {
        Ok(_) => {
            db.mark_broadcast(a.hash)?;
            shared.metrics.txs_sent.inc();
            Ok(())
        }
        Err(e) if is_already_known(&e) => {
            db.mark_broadcast(a.hash)?;
            Ok(())
        }
        Err(e) if is_transport(&e) => {
            tracing::warn!(tx = %a.hash, error = %e, "broadcast failed (node unreachable); will retry");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

pub(crate) struct Submitter {
    pub(crate) chain: Chain,
    pub(crate) db: Db,
    pub(crate) signer: TxSigner,
    pub(crate) gas: GasConfig,
    pub(crate) shared: Arc<Shared>,
    /// Next nonce to use; `None` until synced with the chain.
    pub(crate) next_nonce: Option<u64>,
}

impl Submitter {
    pub(crate) async fn run(mut self) -> Result<()> {
        loop {
            let rows = self.db.requests_in(State::Proved, 64)?;
            if rows.is_empty() {
                self.shared.sleep_or(&self.shared.wake_submitter).await;
                continue;
            }
            if let Err(e) = self.sync_nonce().await {
                tracing::warn!(error = %e, "cannot read the account nonce; retrying");
                self.shared.sleep_or(&self.shared.wake_submitter).await;
                continue;
            }
            for row in rows {
                match self.submit(&row).await {
                    Ok(()) => {}
                    Err(e @ Error::Db(_)) => return Err(e),
                    Err(e) => {
                        tracing::warn!(request_id = %row.req.request_id, error = %e, "submission failed; will retry");
                        self.shared.sleep_or(&self.shared.wake_submitter).await;
                        break;
                    }
                }
            }
        }
    }

    /// `next = max(next, pending nonce, highest persisted nonce + 1)`: survives restarts, failed sends and
    /// transactions sent from the same key by someone else.
    async fn sync_nonce(&mut self) -> Result<u64> {
        let pending =
            self.chain.nonce(self.signer.address, BlockId::Number(BlockNumberOrTag::Pending)).await?;
        let persisted = self.db.max_nonce()?.map_or(0, |n| n + 1);
        let next = self.next_nonce.unwrap_or(0).max(pending).max(persisted);
        self.next_nonce = Some(next);
        Ok(next)
    }

    async fn submit(&mut self, row: &RequestRow) -> Result<()> {
        let id = row.req.request_id;
        let (Some(output), Some(proof)) = (&row.output, &row.proof) else {
            return Err(Error::Corrupt(format!("request {id} is proved but has no stored proof")));
        };
        if self.db.has_open_submission(id)? {
            return Ok(());
        }
        match self.chain.request_status(id).await? {
            OnChainStatus::Pending => {}
            other => {
                let reason = format!("request is not pending on-chain ({other:?})");
                if self.db.transition(id, &[State::Proved], State::Skipped, Some(&reason))? {
                    self.shared.metrics.requests_skipped.inc();
                    tracing::warn!(request_id = %id, %reason, "not submitting");
                }
                return Ok(());
            }
        }
        let input = fulfill_calldata(id, output, proof);
        let estimate = match self.chain.estimate_gas(self.signer.call_request(input.clone())).await {
            Ok(g) => g,
            Err(e) => match crate::chain::revert_reason(&e) {
                Some(reason) => {
                    let reason = format!("fulfil would revert: {reason}");
                    if self.db.transition(id, &[State::Proved], State::Failed, Some(&reason))? {
                        self.shared.metrics.requests_failed.inc();
                        tracing::error!(request_id = %id, %reason, "not submitting");
                    }
                    return Ok(());
                }
                None => return Err(e),
            },
        };
        let gas_limit = estimate.saturating_mul(self.gas.gas_limit_multiplier_pct) / 100;
        let fees = policy_fees(&self.gas, self.chain.fees().await?);
        let nonce = self.sync_nonce().await?;
        let attempt = self.signer.sign(input, nonce, gas_limit, fees).await?;
        if !self.db.record_submission(id, nonce, &attempt)? {
            return Ok(());
        }
        self.next_nonce = Some(nonce + 1);
        tracing::info!(request_id = %id, nonce, tx = %attempt.hash, gas_limit, "fulfilment signed and persisted");
        match broadcast(&self.chain, &self.db, &self.shared, &attempt).await {
            Ok(()) => {}
            Err(e) if is_nonce_too_low(&e) => {
                // Either our own copy of this very transaction was mined first (the monitor may re-send it
                // concurrently) or another transaction took the nonce. Only the monitor can tell, from
                // receipts and the confirmed nonce; it abandons and resubmits in the second case.
                self.next_nonce = None;
                tracing::warn!(request_id = %id, nonce, "nonce already used; the monitor reconciles");
            }
            Err(e) => {
                tracing::warn!(request_id = %id, nonce, error = %e, "broadcast rejected; the monitor retries")
            }
        }
        self.shared.wake_monitor.notify_one();
        Ok(())
    }
}

pub(crate) struct Monitor {
    pub(crate) chain: Chain,
    pub(crate) db: Db,
    pub(crate) signer: TxSigner,
    pub(crate) gas: GasConfig,
    pub(crate) confirmations: u64,
    pub(crate) reorg_window: u64,
    pub(crate) shared: Arc<Shared>,
}

impl Monitor {
    pub(crate) async fn run(self) -> Result<()> {
        let mut streak = crate::Streak::default();
        loop {
            match self.tick().await {
                Ok(()) => streak.ok("tx monitor"),
                Err(e @ Error::Db(_)) => return Err(e),
                Err(e) => streak.fail("tx monitor", &e),
            }
            self.shared.sleep_or(&self.shared.wake_monitor).await;
        }
    }

    async fn tick(&self) -> Result<()> {
        match self.chain.balance(self.signer.address).await {
            Ok(b) => {
                self.shared.metrics.wallet_balance_eth.set(wei_f64(b) / 1e18);
            }
            Err(e) => tracing::debug!(error = %e, "balance unavailable"),
        }
        let open = self.db.open_submissions()?;
        if open.is_empty() {
            return Ok(());
        }
        let head = self.chain.block_number().await?;
        let safe = head.saturating_sub(self.confirmations);
        let safe_nonce =
            self.chain.nonce(self.signer.address, BlockId::Number(BlockNumberOrTag::Number(safe))).await?;
        for sub in open {
            self.check(&sub, head, safe_nonce).await?;
        }
        Ok(())
    }

    async fn check(&self, sub: &OpenSubmission, head: u64, safe_nonce: u64) -> Result<()> {
        let mut mined = None;
        for a in sub.attempts.iter().rev() {
            if let Some(r) = self.chain.receipt(a.hash).await? {
                mined = Some((a, r));
                break;
            }
        }
        match mined {
            Some((a, receipt)) => self.on_receipt(sub, a, &receipt, head).await,
            None => self.on_pending(sub, safe_nonce).await,
        }
    }

    async fn on_receipt(
        &self,
        sub: &OpenSubmission,
        a: &Attempt,
        r: &TransactionReceipt,
        head: u64,
    ) -> Result<()> {
        let Some(block) = r.block_number else { return Ok(()) };
        let settle = head.saturating_sub(block) >= self.confirmations;
        let finalize = head > block.saturating_add(self.reorg_window);
        let req_state = self.db.request(sub.request_id)?.map(|r| r.state);
        let settling = settle && req_state == Some(State::Submitted);
        let moved = sub.mined_block != Some(block);
        if !(moved || settling || finalize) {
            return Ok(());
        }
        let success = r.status();
        let reason =
            if success || !(settling || finalize) { None } else { Some(self.revert_reason(a, block).await) };
        self.db.record_mined(&Mined {
            nonce: sub.nonce,
            request_id: sub.request_id,
            tx_hash: a.hash,
            block,
            success,
            revert_reason: reason.as_deref(),
            settle,
            finalize,
        })?;
        if settling {
            if success {
                self.shared.metrics.requests_fulfilled.inc();
                tracing::info!(request_id = %sub.request_id, tx = %a.hash, block, gas_used = r.gas_used, "fulfilment confirmed");
            } else {
                self.shared.metrics.requests_failed.inc();
                tracing::error!(request_id = %sub.request_id, tx = %a.hash, block, reason = ?reason, "fulfilment reverted");
            }
        } else if moved {
            tracing::debug!(request_id = %sub.request_id, tx = %a.hash, block, "fulfilment mined; awaiting confirmations");
        }
        Ok(())
    }

    /// Replays a reverted fulfilment with `eth_call` to recover its custom error.
    async fn revert_reason(&self, a: &Attempt, block: u64) -> String {
        let input = match TxEnvelope::decode_2718(&mut a.raw.as_slice()) {
            Ok(env) => env.input().clone(),
            Err(e) => return format!("reverted (stored tx undecodable: {e})"),
        };
        for at in [block, block.saturating_sub(1)] {
            let call = self.signer.call_request(input.clone()).with_gas_limit(a.gas_limit);
            match self.chain.call_revert_reason(call, BlockId::Number(BlockNumberOrTag::Number(at))).await {
                Ok(Some(reason)) => return reason,
                Ok(None) => {}
                Err(e) => return format!("reverted (replay failed: {e})"),
            }
        }
        "reverted (no revert data on replay; out of gas?)".to_string()
    }

    async fn on_pending(&self, sub: &OpenSubmission, safe_nonce: u64) -> Result<()> {
        if sub.mined {
            tracing::warn!(request_id = %sub.request_id, nonce = sub.nonce, "fulfilment receipt vanished (reorg); re-broadcasting");
            self.db.unmine(sub.nonce, sub.request_id)?;
        }
        if safe_nonce > sub.nonce {
            return self.on_nonce_taken(sub).await;
        }
        let Some(last) = sub.attempts.last() else { return Ok(()) };
        let now = now_secs();
        if now.saturating_sub(last.created_at) >= self.gas.bump_after_secs {
            if let Some(next) = self.replacement(last).await? {
                self.db.record_attempt(sub.nonce, &next)?;
                tracing::warn!(
                    request_id = %sub.request_id,
                    nonce = sub.nonce,
                    tx = %next.hash,
                    max_fee = next.max_fee_per_gas,
                    priority = next.max_priority_fee_per_gas,
                    "stuck fulfilment replaced with higher fees"
                );
                return self.send(sub, &next).await;
            }
        }
        // Never-accepted attempts (e.g. persisted just before a crash) are re-sent too, but not while the
        // submitter may still be sending them itself.
        let since = last.broadcast_at.unwrap_or(last.created_at);
        let due = now.saturating_sub(since) >= self.gas.rebroadcast_secs;
        if due {
            return self.send(sub, last).await;
        }
        Ok(())
    }

    async fn send(&self, sub: &OpenSubmission, a: &Attempt) -> Result<()> {
        match broadcast(&self.chain, &self.db, &self.shared, a).await {
            Ok(()) => Ok(()),
            // Mined meanwhile (or taken): the next tick finds the receipt or the consumed nonce.
            Err(e) if is_nonce_too_low(&e) => Ok(()),
            Err(e @ Error::Db(_)) => Err(e),
            Err(e) => {
                tracing::warn!(request_id = %sub.request_id, nonce = sub.nonce, error = %e, "re-broadcast rejected");
                Ok(())
            }
        }
    }

    /// A confirmed transaction that is none of ours used this nonce: settle from the chain's view.
    async fn on_nonce_taken(&self, sub: &OpenSubmission) -> Result<()> {
        let (then, reason) = match self.chain.request_status(sub.request_id).await? {
            OnChainStatus::Pending => (State::Proved, "nonce used by another transaction; resubmitting"),
            OnChainStatus::Fulfilled => (State::Skipped, "fulfilled by another transaction"),
            _ => (State::Skipped, "request no longer pending on-chain"),
        };
        tracing::warn!(request_id = %sub.request_id, nonce = sub.nonce, reason, "nonce consumed elsewhere");
        self.db.abandon(sub.nonce, sub.request_id, then, reason)?;
        if then == State::Proved {
            self.shared.wake_submitter.notify_one();
        } else {
            self.shared.metrics.requests_skipped.inc();
        }
        Ok(())
    }

    /// Same transaction, same nonce, both fee fields bumped (at least `fee_bump_bps`), never above the cap.
    async fn replacement(&self, last: &Attempt) -> Result<Option<Attempt>> {
        let current = policy_fees(&self.gas, self.chain.fees().await?);
        let mut fees = Fees {
            max_fee: bump(last.max_fee_per_gas, self.gas.fee_bump_bps).max(current.max_fee),
            priority: bump(last.max_priority_fee_per_gas, self.gas.fee_bump_bps).max(current.priority),
        };
        if let Some(cap) = self.gas.max_fee_per_gas_wei {
            if fees.max_fee > cap {
                if last.max_fee_per_gas >= cap {
                    return Ok(None);
                }
                fees.max_fee = cap;
            }
        }
        fees.priority = fees.priority.min(fees.max_fee);
        let env = TxEnvelope::decode_2718(&mut last.raw.as_slice())
            .map_err(|e| Error::Corrupt(format!("stored transaction {}: {e}", last.hash)))?;
        let nonce = env.nonce();
        let attempt = self.signer.sign(env.input().clone(), nonce, last.gas_limit, fees).await?;
        Ok(Some(attempt))
    }
}

/// Wei to a float, for the balance gauge.
pub(crate) fn wei_f64(v: U256) -> f64 {
    f64::from(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bump_is_at_least_the_policy() {
        assert_eq!(bump(1_000_000_000, 1250), 1_125_000_000);
        assert_eq!(bump(7, 1250), 8); // 0.875 rounds up
        assert_eq!(bump(0, 1250), 1);
        assert_eq!(bump(u128::MAX, 1250), u128::MAX);
    }

    #[test]
    fn policy_caps_and_floors() {
        let mut g = GasConfig { min_priority_fee_wei: 5, ..GasConfig::default() };
        assert_eq!(policy_fees(&g, (3, 1)), Fees { max_fee: 5, priority: 5 });
        g.max_fee_per_gas_wei = Some(4);
        assert_eq!(policy_fees(&g, (10, 1)), Fees { max_fee: 4, priority: 4 });
    }
}
