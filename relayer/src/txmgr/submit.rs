//! The submitter: turns `proved` requests into signed, persisted and broadcast fulfilments.

use super::{broadcast, policy_fees, Call, TxSigner};
use crate::{
    chain::{fulfill_calldata, is_nonce_too_low, is_transport, revert_reason, Chain, OnChainStatus},
    config::ProfitConfig,
    db::{RequestRow, State, Store},
    error::{Error, Result},
    policy::{check_fee, FeeCheck, Skip},
    GasConfig, Shared,
};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::U256,
};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

/// Longest wait between two tries of one request whose submission keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(120);

/// A request whose last submission failed: not retried before `until`.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    until: Instant,
    delay: Duration,
}

pub(crate) struct Submitter {
    pub(crate) chain: Chain,
    pub(crate) db: Store,
    pub(crate) signer: TxSigner,
    pub(crate) gas: GasConfig,
    pub(crate) profit: ProfitConfig,
    pub(crate) shared: Arc<Shared>,
    /// Next nonce to use; `None` until synced with the chain.
    pub(crate) next_nonce: Option<u64>,
    /// Per-request backoff: one request that cannot be submitted does not hold up the others.
    backoff: HashMap<U256, Backoff>,
}

/// What one pass over the `proved` requests achieved.
enum Pass {
    /// Every request was tried or is backing off.
    Done { progressed: bool },
    /// The node is unreachable: wait and start over.
    NodeDown,
}

impl Submitter {
    pub(crate) fn new(
        chain: Chain,
        db: Store,
        signer: TxSigner,
        (gas, profit): (GasConfig, ProfitConfig),
        shared: Arc<Shared>,
    ) -> Self {
        Self { chain, db, signer, gas, profit, shared, next_nonce: None, backoff: HashMap::new() }
    }

    pub(crate) async fn run(mut self) -> Result<()> {
        loop {
            let rows = self.db.owned_in(State::Proved, self.signer.address, 64).await?;
            self.backoff.retain(|id, _| rows.iter().any(|r| r.req.request_id == *id));
            if rows.is_empty() {
                self.shared.sleep_or(&self.shared.wake_submitter).await;
                continue;
            }
            if let Err(e) = self.sync_nonce().await {
                tracing::warn!(error = %e, "cannot read the account nonce; retrying");
                self.shared.sleep_or(&self.shared.wake_submitter).await;
                continue;
            }
            match self.pass(&rows).await? {
                Pass::Done { progressed: true } => {}
                Pass::Done { progressed: false } | Pass::NodeDown => {
                    self.shared.sleep_or(&self.shared.wake_submitter).await;
                }
            }
        }
    }

    /// Tries every request not backing off, lowest id first.
    async fn pass(&mut self, rows: &[RequestRow]) -> Result<Pass> {
        let mut progressed = false;
        for row in rows {
            let id = row.req.request_id;
            if self.backoff.get(&id).is_some_and(|b| b.until > Instant::now()) {
                continue;
            }
            match self.submit(row).await {
                Ok(()) => {
                    self.backoff.remove(&id);
                    progressed = true;
                }
                Err(e) if e.is_db() => return Err(e),
                Err(e) if is_transport(&e) => {
                    tracing::warn!(request_id = %id, error = %e, "submission failed (node unreachable); will retry");
                    return Ok(Pass::NodeDown);
                }
                Err(e) => {
                    let delay = self
                        .backoff
                        .get(&id)
                        .map_or(self.shared.poll_interval, |b| b.delay.saturating_mul(2))
                        .min(MAX_BACKOFF);
                    self.backoff.insert(id, Backoff { until: Instant::now() + delay, delay });
                    tracing::warn!(request_id = %id, error = %e, retry_in = ?delay, "submission failed; this request backs off");
                }
            }
        }
        Ok(Pass::Done { progressed })
    }

    /// `next = max(next, pending nonce, highest persisted nonce + 1)`: survives restarts, failed sends and
    /// transactions sent from the same key by someone else.
    async fn sync_nonce(&mut self) -> Result<u64> {
        let pending =
            self.chain.nonce(self.signer.address, BlockId::Number(BlockNumberOrTag::Pending)).await?;
        let persisted = self.db.max_nonce(self.signer.address).await?.map_or(0, |n| n + 1);
        let next = self.next_nonce.unwrap_or(0).max(pending).max(persisted);
        self.next_nonce = Some(next);
        Ok(next)
    }

    async fn skip(&self, id: U256, skip: &Skip) -> Result<()> {
        if self.db.skip(id, vec![State::Proved], skip.to_string(), skip.code()).await? {
            self.shared.metrics.skipped(skip.code());
            tracing::warn!(request_id = %id, reason = %skip, "not submitting");
        }
        Ok(())
    }

    async fn submit(&mut self, row: &RequestRow) -> Result<()> {
        let id = row.req.request_id;
        let (Some(output), Some(proof)) = (&row.output, &row.proof) else {
            return Err(Error::Corrupt(format!("request {id} is proved but has no stored proof")));
        };
        if self.db.has_open_submission(id, self.signer.address).await? {
            return Ok(());
        }
        // Check before sending: fulfilled by anyone (another instance, another operator's relayer) means
        // done, without a transaction.
        match self.chain.request_status(id).await? {
            OnChainStatus::Pending => {}
            other => return self.skip(id, &Skip::NotPending(other)).await,
        }
        let input = fulfill_calldata(id, output, proof);
        let estimate = match self.chain.estimate_gas(self.signer.call_request(input.clone())).await {
            Ok(g) => g,
            Err(e) => match revert_reason(&e) {
                Some(reason) => {
                    // Someone may have fulfilled it since the check above: then it is done, not failed.
                    match self.chain.request_status(id).await? {
                        OnChainStatus::Pending => {}
                        other => return self.skip(id, &Skip::NotPending(other)).await,
                    }
                    let reason = format!("fulfil would revert: {reason}");
                    if self
                        .db
                        .transition(id, vec![State::Proved], State::Failed, Some(reason.clone()))
                        .await?
                    {
                        self.shared.metrics.requests_failed.inc();
                        tracing::error!(request_id = %id, %reason, "not submitting");
                    }
                    return Ok(());
                }
                None => return Err(e),
            },
        };
        // Profitability again, now with the real gas (the estimate holds the callback's reserve).
        let check = FeeCheck {
            fee: row.req.fee,
            callback_gas_limit: row.req.callback_gas_limit,
            fulfil_gas: estimate,
            callback_included: true,
            gas_price: self.chain.gas_price().await?,
        };
        if let Err(skip) = check_fee(&self.profit, check) {
            return self.skip(id, &skip).await;
        }
        let gas_limit = estimate.saturating_mul(self.gas.gas_limit_multiplier_pct) / 100;
        let fees = policy_fees(&self.gas, self.chain.fees().await?);
        let nonce = self.sync_nonce().await?;
        let attempt = self.signer.sign(Call::Fulfil { input, gas_limit }, nonce, fees).await?;
        if !self.db.record_submission(id, self.signer.address, nonce, attempt.clone()).await? {
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
