//! Dispatcher and proving workers.
//!
//! The database is the durable backlog; the dispatcher validates `seen` requests and moves them, in id
//! order, into a bounded in-memory queue (blocking when it is full: back-pressure), and `workers` tasks
//! prove them through the [`ProverPool`] on blocking threads.

use crate::{
    chain::{Chain, OnChainStatus},
    db::{Db, RequestRow, State},
    error::Result,
    metrics::gauge_i64,
    prover::{check_input, ProverPool},
    Shared,
};
use alloy::primitives::U256;
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};

/// One proving job.
#[derive(Debug)]
pub(crate) struct Job {
    request_id: U256,
    model_id: U256,
    input: Vec<i64>,
}

/// What the dispatcher decided for a request.
enum Verdict {
    Prove(Vec<i64>),
    Skip(String),
    /// Cannot decide now (RPC trouble); stays `seen`.
    Later,
}

pub(crate) struct Dispatcher {
    pub(crate) chain: Chain,
    pub(crate) db: Db,
    pub(crate) pool: ProverPool,
    pub(crate) queue: mpsc::Sender<Job>,
    pub(crate) deadline_margin_secs: u64,
    pub(crate) shared: Arc<Shared>,
}

impl Dispatcher {
    pub(crate) async fn run(self) -> Result<()> {
        loop {
            let batch = self.db.requests_in(State::Seen, self.queue.max_capacity().max(16))?;
            self.shared.metrics.backlog.set(gauge_i64(batch.len() as u64));
            if batch.is_empty() {
                self.shared.sleep_or(&self.shared.wake_dispatcher).await;
                continue;
            }
            let now = match self.chain.latest_timestamp().await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher: cannot read the latest block; retrying");
                    self.shared.sleep_or(&self.shared.wake_dispatcher).await;
                    continue;
                }
            };
            let mut stalled = false;
            for row in batch {
                match self.verdict(&row, now).await {
                    Verdict::Skip(reason) => {
                        if self.db.transition(
                            row.req.request_id,
                            &[State::Seen],
                            State::Skipped,
                            Some(&reason),
                        )? {
                            self.shared.metrics.requests_skipped.inc();
                            tracing::warn!(request_id = %row.req.request_id, %reason, "request skipped");
                        }
                    }
                    Verdict::Prove(input) => {
                        if !self.db.start_proving(row.req.request_id)? {
                            continue;
                        }
                        let job = Job { request_id: row.req.request_id, model_id: row.req.model_id, input };
                        self.shared.metrics.queue_depth.inc();
                        // Blocks while the queue is full: the backlog stays in SQLite meanwhile.
                        if self.queue.send(job).await.is_err() {
                            return Ok(());
                        }
                    }
                    Verdict::Later => stalled = true,
                }
            }
            if stalled {
                self.shared.sleep_or(&self.shared.wake_dispatcher).await;
            }
        }
    }

    async fn verdict(&self, row: &RequestRow, now: u64) -> Verdict {
        let r = &row.req;
        let Some(prover) = self.pool.models().get(r.model_id) else {
            return Verdict::Skip(format!("unknown model {} (not in this relayer's config)", r.model_id));
        };
        let input = match check_input(prover.as_ref(), &r.input) {
            Ok(i) => i,
            Err(reason) => return Verdict::Skip(reason),
        };
        if r.deadline <= now.saturating_add(self.deadline_margin_secs) {
            return Verdict::Skip(format!(
                "expired: deadline {} is within {}s of the latest block time {now}",
                r.deadline, self.deadline_margin_secs
            ));
        }
        match self.chain.request_status(r.request_id).await {
            Ok(OnChainStatus::Pending) => Verdict::Prove(input),
            Ok(other) => Verdict::Skip(format!("request is not pending on-chain ({other:?})")),
            Err(e) => {
                tracing::warn!(request_id = %r.request_id, error = %e, "getRequest failed; will retry");
                Verdict::Later
            }
        }
    }
}

pub(crate) struct Worker {
    pub(crate) db: Db,
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
            let id = job.request_id;
            tracing::debug!(request_id = %id, model_id = %job.model_id, "proving");
            match self.pool.prove(job.model_id, job.input).await {
                Ok((proof, took)) => {
                    let expected = self.pool.models().get(job.model_id).map(|p| p.output_len());
                    if expected != Some(proof.outputs_quantized.len()) {
                        let reason = format!(
                            "prover returned {} outputs, model has {expected:?}",
                            proof.outputs_quantized.len()
                        );
                        self.fail(id, &reason)?;
                        continue;
                    }
                    let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
                    if self.db.save_proof(id, &proof.outputs_quantized, &proof.proof, ms)? {
                        tracing::info!(request_id = %id, ms, output = ?proof.outputs_quantized, "proved");
                        self.shared.wake_submitter.notify_one();
                    } else {
                        tracing::info!(request_id = %id, "request left `proving` meanwhile (reorg); proof discarded");
                    }
                }
                Err(e) => self.fail(id, &e.to_string())?,
            }
        }
    }

    fn fail(&self, id: U256, reason: &str) -> Result<()> {
        if self.db.transition(id, &[State::Proving], State::Failed, Some(reason))? {
            self.shared.metrics.requests_failed.inc();
            tracing::error!(request_id = %id, %reason, "proving failed");
        }
        Ok(())
    }
}
