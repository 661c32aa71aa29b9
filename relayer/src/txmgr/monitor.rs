//! The monitor: receipts and confirmations, re-broadcasts, fee bumps of the account's next nonce,
//! cancellation of fulfilments that can only revert, and reconciliation when a nonce is taken.

use super::{broadcast, policy_fees, replacement_fees, Call, TxSigner};
use crate::{
    chain::{is_nonce_too_low, Chain, OnChainStatus},
    db::{now_secs, Attempt, Mined, OpenSubmission, State, Store},
    error::{Error, Result},
    policy::{CANCELLED, LOST_RACE},
    GasConfig, Shared,
};
use alloy::{
    consensus::{Transaction as _, TxEnvelope},
    eips::{eip2718::Decodable2718, BlockId, BlockNumberOrTag},
    rpc::types::TransactionReceipt,
};
use std::sync::Arc;

/// Stored on a request settled by a mined cancellation.
const CANCELLED_REASON: &str =
    "fulfilment cancelled: replaced by a self-transfer at its nonce because it could only revert";

/// Stored on a request whose fulfilment reverted because someone else fulfilled it first.
const LOST_RACE_REASON: &str = "fulfilled by another relayer first; our fulfilment reverted (lost race)";

pub(crate) struct Monitor {
    pub(crate) chain: Chain,
    pub(crate) db: Store,
    pub(crate) signer: TxSigner,
    pub(crate) gas: GasConfig,
    pub(crate) confirmations: u64,
    pub(crate) reorg_window: u64,
    pub(crate) shared: Arc<Shared>,
}

/// The chain as one tick sees it.
#[derive(Clone, Copy, Debug)]
struct Tick {
    head: u64,
    /// The account's nonce `confirmations` blocks deep.
    safe_nonce: u64,
    /// The account's next nonce to be mined: the only one fee bumps may raise.
    next_nonce: u64,
    /// Latest block time.
    timestamp: u64,
}

impl Monitor {
    pub(crate) async fn run(self) -> Result<()> {
        let mut streak = crate::Streak::default();
        loop {
            match self.tick().await {
                Ok(()) => streak.ok("tx monitor"),
                Err(e) if e.is_db() => return Err(e),
                Err(e) => streak.fail("tx monitor", &e),
            }
            self.shared.sleep_or(&self.shared.wake_monitor).await;
        }
    }

    async fn tick(&self) -> Result<()> {
        match self.chain.balance(self.signer.address).await {
            Ok(b) => {
                self.shared.metrics.wallet_balance_eth.set(super::wei_f64(b) / 1e18);
            }
            Err(e) => tracing::debug!(error = %e, "balance unavailable"),
        }
        let open = self.db.open_submissions(self.signer.address).await?;
        if open.is_empty() {
            return Ok(());
        }
        let (timestamp, head) = self.chain.latest_block().await?;
        let at = |n| BlockId::Number(BlockNumberOrTag::Number(n));
        let safe_nonce =
            self.chain.nonce(self.signer.address, at(head.saturating_sub(self.confirmations))).await?;
        let next_nonce = self.chain.nonce(self.signer.address, at(head)).await?;
        let t = Tick { head, safe_nonce, next_nonce, timestamp };
        for sub in open {
            self.check(&sub, t).await?;
        }
        Ok(())
    }

    async fn check(&self, sub: &OpenSubmission, t: Tick) -> Result<()> {
        let mut mined = None;
        for a in sub.attempts.iter().rev() {
            if let Some(r) = self.chain.receipt(a.hash).await? {
                mined = Some((a, r));
                break;
            }
        }
        match mined {
            Some((a, receipt)) => self.on_receipt(sub, a, &receipt, t.head).await,
            None => self.on_pending(sub, t).await,
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
        let row = self.db.request(sub.request_id).await?;
        let req_state = row.as_ref().map(|r| r.state);
        let settling = settle && req_state == Some(State::Submitted);
        let moved = sub.mined_block != Some(block);
        if !(moved || settling || finalize) {
            return Ok(());
        }
        let success = r.status();
        let reason = if success || a.cancel || !(settling || finalize) {
            None
        } else {
            Some(self.revert_reason(a, block).await)
        };
        // A fulfilment that reverted because the request was fulfilled by someone else first: a lost race.
        let lost = settling && !success && !a.cancel && self.fulfilled_by_another(sub).await?;
        let skip = if a.cancel {
            Some((CANCELLED_REASON.to_string(), CANCELLED))
        } else if lost {
            Some((LOST_RACE_REASON.to_string(), LOST_RACE))
        } else {
            None
        };
        self.db
            .record_mined(Mined {
                sender: self.signer.address,
                nonce: sub.nonce,
                request_id: sub.request_id,
                tx_hash: a.hash,
                block,
                success,
                revert_reason: reason.clone(),
                settle,
                finalize,
                skip,
            })
            .await?;
        if settling {
            if lost {
                self.shared.metrics.lost_races.inc();
                self.shared.metrics.skipped(LOST_RACE);
                tracing::warn!(request_id = %sub.request_id, tx = %a.hash, block, "lost the race: fulfilled by someone else first; our transaction reverted");
            } else if a.cancel {
                self.shared.metrics.skipped(CANCELLED);
                tracing::warn!(request_id = %sub.request_id, tx = %a.hash, block, "cancellation confirmed");
            } else if success {
                self.shared.metrics.requests_fulfilled.inc();
                if let Some(r) = &row {
                    let latency = now_secs().saturating_sub(r.created_at);
                    self.shared.metrics.fulfil_latency_seconds.observe(latency as f64);
                }
                tracing::info!(request_id = %sub.request_id, tx = %a.hash, block, gas_used = r.gas_used, "fulfilment confirmed");
            } else {
                self.shared.metrics.requests_failed.inc();
                tracing::error!(request_id = %sub.request_id, tx = %a.hash, block, reason = ?reason, "fulfilment reverted");
            }
        } else if moved {
            tracing::debug!(request_id = %sub.request_id, tx = %a.hash, block, "mined; awaiting confirmations");
        }
        Ok(())
    }

    /// Whether the request is fulfilled on-chain by a transaction other than one of ours.
    async fn fulfilled_by_another(&self, sub: &OpenSubmission) -> Result<bool> {
        Ok(self.chain.request_status(sub.request_id).await? == OnChainStatus::Fulfilled)
    }

    /// Replays a reverted fulfilment with `eth_call` to recover its custom error.
    async fn revert_reason(&self, a: &Attempt, block: u64) -> String {
        let input = match TxEnvelope::decode_2718(&mut a.raw.as_slice()) {
            Ok(env) => env.input().clone(),
            Err(e) => return format!("reverted (stored tx undecodable: {e})"),
        };
        for at in [block, block.saturating_sub(1)] {
            let call = alloy::network::TransactionBuilder::with_gas_limit(
                self.signer.call_request(input.clone()),
                a.gas_limit,
            );
            match self.chain.call_revert_reason(call, BlockId::Number(BlockNumberOrTag::Number(at))).await {
                Ok(Some(reason)) => return reason,
                Ok(None) => {}
                Err(e) => return format!("reverted (replay failed: {e})"),
            }
        }
        "reverted (no revert data on replay; out of gas?)".to_string()
    }

    async fn on_pending(&self, sub: &OpenSubmission, t: Tick) -> Result<()> {
        if sub.mined {
            tracing::warn!(request_id = %sub.request_id, nonce = sub.nonce, "receipt vanished (reorg); re-broadcasting");
            self.db.unmine(self.signer.address, sub.nonce, sub.request_id).await?;
        }
        if t.safe_nonce > sub.nonce {
            return self.on_nonce_taken(sub).await;
        }
        let Some(last) = sub.attempts.last() else { return Ok(()) };
        let now = now_secs();
        // Only the next nonce to be mined is worth raising: a later one cannot be mined before it.
        let bump_due =
            sub.nonce == t.next_nonce && now.saturating_sub(last.created_at) >= self.gas.bump_after_secs;
        let since = last.broadcast_at.unwrap_or(last.created_at);
        let resend_due = now.saturating_sub(since) >= self.gas.rebroadcast_secs;
        if !(bump_due || resend_due) {
            return Ok(());
        }
        // Before sending a fulfilment again, make sure it can still succeed.
        if !last.cancel {
            if let Some(why) = self.doomed(sub, t).await? {
                return self.cancel(sub, last, &why).await;
            }
        }
        if bump_due {
            if let Some(next) = self.replacement(last).await? {
                self.db.record_attempt(self.signer.address, sub.nonce, next.clone()).await?;
                tracing::warn!(
                    request_id = %sub.request_id,
                    nonce = sub.nonce,
                    tx = %next.hash,
                    max_fee = next.max_fee_per_gas,
                    priority = next.max_priority_fee_per_gas,
                    "stuck transaction replaced with higher fees"
                );
                return self.send(sub, &next).await;
            }
        }
        // Never-accepted attempts (e.g. persisted just before a crash) are re-sent too, but not while the
        // submitter may still be sending them itself.
        if resend_due {
            return self.send(sub, last).await;
        }
        Ok(())
    }

    /// Why the pending fulfilment can only revert, if it can: the request is no longer pending on-chain,
    /// or its deadline has passed (every later block is later still).
    async fn doomed(&self, sub: &OpenSubmission, t: Tick) -> Result<Option<String>> {
        match self.chain.request_status(sub.request_id).await? {
            OnChainStatus::Pending => {}
            other => return Ok(Some(format!("request is no longer pending on-chain ({other:?})"))),
        }
        let deadline = self.db.request(sub.request_id).await?.map(|r| r.req.deadline);
        Ok(deadline
            .filter(|d| t.timestamp >= *d)
            .map(|d| format!("request expired (deadline {d}, latest block time {})", t.timestamp)))
    }

    /// Replaces the pending fulfilment with a zero-value self-transfer at its nonce (21,000 gas instead
    /// of a revert), bumped enough to replace it.
    async fn cancel(&self, sub: &OpenSubmission, last: &Attempt, why: &str) -> Result<()> {
        let current = policy_fees(&self.gas, self.chain.fees().await?);
        let Some(fees) = replacement_fees(&self.gas, current, last) else {
            tracing::warn!(request_id = %sub.request_id, nonce = sub.nonce, why, "cannot cancel: fee cap reached");
            return self.send(sub, last).await;
        };
        let attempt = self.signer.sign(Call::Cancel, sub.nonce, fees).await?;
        self.db.record_attempt(self.signer.address, sub.nonce, attempt.clone()).await?;
        tracing::warn!(request_id = %sub.request_id, nonce = sub.nonce, tx = %attempt.hash, why, "fulfilment can only revert; cancelling");
        self.send(sub, &attempt).await
    }

    async fn send(&self, sub: &OpenSubmission, a: &Attempt) -> Result<()> {
        match broadcast(&self.chain, &self.db, &self.shared, a).await {
            Ok(()) => Ok(()),
            // Mined meanwhile (or taken): the next tick finds the receipt or the consumed nonce.
            Err(e) if is_nonce_too_low(&e) => Ok(()),
            Err(e) if e.is_db() => Err(e),
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
        self.db.abandon(self.signer.address, sub.nonce, sub.request_id, then, reason.to_string()).await?;
        if then == State::Proved {
            self.shared.wake_submitter.notify_one();
        } else {
            self.shared.metrics.skipped("not_pending");
        }
        Ok(())
    }

    /// Same transaction, same nonce, both fee fields bumped (at least `fee_bump_bps`), never above the cap.
    async fn replacement(&self, last: &Attempt) -> Result<Option<Attempt>> {
        let current = policy_fees(&self.gas, self.chain.fees().await?);
        let Some(fees) = replacement_fees(&self.gas, current, last) else { return Ok(None) };
        let env = TxEnvelope::decode_2718(&mut last.raw.as_slice())
            .map_err(|e| Error::Corrupt(format!("stored transaction {}: {e}", last.hash)))?;
        let call = if last.cancel {
            Call::Cancel
        } else {
            Call::Fulfil { input: env.input().clone(), gas_limit: last.gas_limit }
        };
        Ok(Some(self.signer.sign(call, env.nonce(), fees).await?))
    }
}
