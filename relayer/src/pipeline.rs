//! Dispatcher and proving workers.
//!
//! The database is the durable backlog, shared by every instance of a fleet. The dispatcher claims `seen`
//! requests in id order — as many as the bounded in-memory queue has room for (back-pressure), each with a
//! lease the [`crate::keeper`] renews — validates them, and `workers` tasks prove them through the
//! [`ProverPool`] on blocking threads, for this instance's signing address.

use crate::{
    chain::{Chain, OnChainStatus},
    config::ProfitConfig,
    db::{RequestRow, State, Store},
    error::{Disposition, Error, Result},
    policy::{check_fee, BadInput, FeeCheck, Skip},
    prover::{check_input, Proof, ProverPool},
    Shared,
};
use alloy::primitives::{Address, U256};
use std::{collections::BTreeMap, sync::Arc, time::Duration};
use tokio::sync::{mpsc, Mutex};

/// Retries of a proof that failed transiently, before it goes back to the backlog.
const PROVE_RETRIES: u32 = 3;
/// Wait before the first retry; doubled for each next one.
const PROVE_BACKOFF: Duration = Duration::from_millis(250);

/// One proving job.
#[derive(Debug)]
pub(crate) struct Job {
    request_id: U256,
    model_id: U256,
    input: Vec<i64>,
}

/// Marks a request this instance holds in `proving` as skipped for `skip`, counted and logged once.
async fn record_skip(db: &Store, shared: &Shared, id: U256, skip: &Skip) -> Result<()> {
    if db.skip(id, vec![State::Proving], skip.to_string(), skip.code()).await? {
        shared.metrics.skipped(skip.code());
        tracing::warn!(request_id = %id, reason = %skip, "request skipped");
    }
    Ok(())
}

/// What the dispatcher decided for a request.
enum Verdict {
    Prove(Vec<i64>),
    Skip(Skip),
    /// Cannot decide now (RPC trouble); stays `seen`.
    Later,
}

pub(crate) struct Dispatcher {
    pub(crate) chain: Chain,
    pub(crate) db: Store,
    /// This instance: the owner of its claims.
    pub(crate) me: Address,
    /// Lease of a claim, in milliseconds.
    pub(crate) lease_ms: u64,
    pub(crate) pool: ProverPool,
    pub(crate) queue: mpsc::Sender<Job>,
    pub(crate) deadline_margin_secs: u64,
    pub(crate) profit: ProfitConfig,
    /// Per-model fulfilment gas (without the callback) for the check before proving.
    pub(crate) fulfil_gas: BTreeMap<U256, u64>,
    pub(crate) shared: Arc<Shared>,
}

/// What the dispatcher knows about the chain for one batch.
#[derive(Clone, Copy)]
struct Now {
    timestamp: u64,
    gas_price: u128,
}

impl Dispatcher {
    pub(crate) async fn run(self) -> Result<()> {
        loop {
            let room = self.queue.capacity();
            if room == 0 {
                self.shared.sleep_or(&self.shared.wake_dispatcher).await;
                continue;
            }
            let batch = self.db.claim(self.me, self.lease_ms, room.min(16)).await?;
            if batch.is_empty() {
                self.shared.sleep_or(&self.shared.wake_dispatcher).await;
                continue;
            }
            let now = match self.now().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher: cannot read the latest block or gas price; retrying");
                    for row in &batch {
                        self.db
                            .transition(row.req.request_id, vec![State::Proving], State::Seen, None)
                            .await?;
                    }
                    self.shared.sleep_or(&self.shared.wake_dispatcher).await;
                    continue;
                }
            };
            let mut stalled = false;
            for row in batch {
                let id = row.req.request_id;
                match self.verdict(&row, now).await {
                    Verdict::Skip(skip) => record_skip(&self.db, &self.shared, id, &skip).await?,
                    Verdict::Prove(input) => {
                        if !self.db.start_proving(id, self.me).await? {
                            continue;
                        }
                        let job = Job { request_id: id, model_id: row.req.model_id, input };
                        self.shared.metrics.queue_depth.inc();
                        // There is room: only this task sends, and it claimed no more than the free slots.
                        if self.queue.send(job).await.is_err() {
                            return Ok(());
                        }
                    }
                    Verdict::Later => {
                        // Give it back for any instance to retry.
                        self.db.transition(id, vec![State::Proving], State::Seen, None).await?;
                        stalled = true;
                    }
                }
            }
            if stalled {
                self.shared.sleep_or(&self.shared.wake_dispatcher).await;
            }
        }
    }

    async fn now(&self) -> Result<Now> {
        Ok(Now { timestamp: self.chain.latest_timestamp().await?, gas_price: self.chain.gas_price().await? })
    }

    async fn verdict(&self, row: &RequestRow, now: Now) -> Verdict {
        let r = &row.req;
        let Some(prover) = self.pool.models().get(r.model_id) else {
            return Verdict::Skip(Skip::UnknownModel(r.model_id));
        };
        let input = match check_input(prover.as_ref(), &r.input) {
            Ok(i) => i,
            Err(reason) => return Verdict::Skip(Skip::BadInput(reason)),
        };
        if r.deadline <= now.timestamp.saturating_add(self.deadline_margin_secs) {
            return Verdict::Skip(Skip::Expired {
                deadline: r.deadline,
                now: now.timestamp,
                margin: self.deadline_margin_secs,
            });
        }
        let fee = FeeCheck {
            fee: r.fee,
            callback_gas_limit: r.callback_gas_limit,
            fulfil_gas: self.fulfil_gas.get(&r.model_id).copied().unwrap_or(self.profit.fulfil_gas),
            callback_included: false,
            gas_price: now.gas_price,
        };
        if let Err(skip) = check_fee(&self.profit, fee) {
            return Verdict::Skip(skip);
        }
        match self.chain.request_status(r.request_id).await {
            Ok(OnChainStatus::Pending) => Verdict::Prove(input),
            Ok(other) => Verdict::Skip(Skip::NotPending(other)),
            Err(e) => {
                tracing::warn!(request_id = %r.request_id, error = %e, "getRequest failed; will retry");
                Verdict::Later
            }
        }
    }
}

pub(crate) struct Worker {
    pub(crate) db: Store,
    pub(crate) me: Address,
    pub(crate) pool: ProverPool,
    pub(crate) queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    pub(crate) shared: Arc<Shared>,
}

impl Worker {
    pub(crate) async fn run(self) -> Result<()> {
        loop {
            let job = { self.queue.lock().await.recv().await };
            let Some(job) = job else { return Ok(()) };
            self.shared.metrics.queue_depth.dec();
            self.shared.wake_dispatcher.notify_one();
            let id = job.request_id;
            tracing::debug!(request_id = %id, model_id = %job.model_id, "proving");
            match self.prove(&job).await {
                Ok((proof, took)) => {
                    let expected = self.pool.models().get(job.model_id).map(|p| p.output_len());
                    if expected != Some(proof.outputs_quantized.len()) {
                        let reason = format!(
                            "prover returned {} outputs, model has {expected:?}",
                            proof.outputs_quantized.len()
                        );
                        self.fail(id, &reason).await?;
                        continue;
                    }
                    let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
                    let (output, bytes) = (proof.outputs_quantized.clone(), proof.proof.to_vec());
                    if self.db.save_proof(id, self.me, output, bytes, ms).await? {
                        self.shared.metrics.proofs.inc();
                        tracing::info!(request_id = %id, ms, output = ?proof.outputs_quantized, "proved");
                        self.shared.wake_submitter.notify_one();
                    } else {
                        tracing::info!(request_id = %id, "request left `proving` meanwhile (reorg or expired lease); proof discarded");
                    }
                }
                Err(e) => self.give_up(id, &e).await?,
            }
        }
    }

    /// Proves `job`, again after a backoff while the failure is transient ([`Disposition::Retry`]), at most
    /// [`PROVE_RETRIES`] times.
    async fn prove(&self, job: &Job) -> Result<(Proof, Duration)> {
        let (mut wait, mut attempt) = (PROVE_BACKOFF, 0);
        loop {
            match self.pool.prove(job.model_id, job.input.clone()).await {
                Err(e) if e.disposition() == Disposition::Retry && attempt < PROVE_RETRIES => {
                    attempt += 1;
                    self.shared.metrics.prove_retries.inc();
                    tracing::warn!(request_id = %job.request_id, error = %e, ?wait, "transient proving failure; retrying");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                }
                other => return other,
            }
        }
    }

    /// A proving failure, handled by its kind: a transient one that outlived its retries goes back to `seen`
    /// (any instance proves it later), a bad input is skipped, anything else marks the request `failed`.
    async fn give_up(&self, id: U256, e: &Error) -> Result<()> {
        match e.disposition() {
            Disposition::Retry => {
                tracing::warn!(request_id = %id, error = %e, "proving still failing; back to the backlog");
                self.db.transition(id, vec![State::Proving], State::Seen, None).await?;
            }
            Disposition::Skip => {
                let skip = match e {
                    Error::NotServed(model) => Skip::UnknownModel(*model),
                    other => Skip::BadInput(BadInput::Refused(other.to_string())),
                };
                record_skip(&self.db, &self.shared, id, &skip).await?;
            }
            Disposition::Fail => self.fail(id, &e.to_string()).await?,
        }
        Ok(())
    }

    async fn fail(&self, id: U256, reason: &str) -> Result<()> {
        if self.db.transition(id, vec![State::Proving], State::Failed, Some(reason.to_string())).await? {
            self.shared.metrics.requests_failed.inc();
            tracing::error!(request_id = %id, %reason, "proving failed");
        }
        Ok(())
    }
}
