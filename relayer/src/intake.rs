//! Event intake: scans confirmed block ranges from the persisted cursor with `eth_getLogs`, detects reorgs
//! by re-checking stored block hashes, and wakes on new heads (WebSocket) or on a timer (HTTP).
//!
//! The log scan is the single source of truth in both modes, so nothing is lost across restarts or
//! reconnects: every tick resumes from the cursor (a backfill), and the cursor only advances in the same
//! transaction that stores the range's requests.
//!
//! In a fleet every instance runs intake against the one shared cursor: a range is applied only if the
//! cursor is still where the scan started (compare-and-set under an advisory lock), so each range is
//! recorded once and the other instances' scans of it are discarded; a reorg rewind is guarded the same
//! way, and what it drops every instance sees.

use crate::{
    chain::{decode_request_log, Chain},
    db::{ScanBatch, Store, Upsert},
    error::Result,
    metrics::{gauge_i64, Metrics},
    Shared,
};
use alloy::primitives::B256;
use std::sync::Arc;

/// Scan parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IntakeParams {
    pub(crate) start_block: u64,
    pub(crate) confirmations: u64,
    pub(crate) max_block_range: u64,
    pub(crate) reorg_window: u64,
}

pub(crate) struct Intake {
    pub(crate) chain: Chain,
    pub(crate) db: Store,
    pub(crate) params: IntakeParams,
    pub(crate) shared: Arc<Shared>,
}

impl Intake {
    fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Runs forever: one scan per new head or poll interval. RPC errors are logged and retried;
    /// database errors end the task.
    pub(crate) async fn run(self) -> Result<()> {
        let mut heads = None;
        let mut streak = crate::Streak::default();
        loop {
            match self.tick().await {
                Ok(()) => {
                    streak.ok("intake");
                    self.shared.health.mark_scan_ok();
                }
                Err(e) if e.is_db() => return Err(e),
                Err(e) => streak.fail("intake", &e),
            }
            if self.chain.is_ws() && heads.is_none() {
                heads = self.chain.subscribe_heads().await.ok();
            }
            let poll = tokio::time::sleep(self.shared.poll_interval);
            match heads.as_mut() {
                Some(sub) => {
                    tokio::select! {
                        r = sub.recv() => if r.is_err() { heads = None },
                        () = poll => {}
                    }
                }
                None => poll.await,
            }
        }
    }

    /// One pass: reorg check, then every confirmed range after the cursor.
    pub(crate) async fn tick(&self) -> Result<()> {
        let head = self.chain.block_number().await?;
        self.metrics().chain_head.set(gauge_i64(head));
        self.check_reorg(head).await?;
        let safe = head.saturating_sub(self.params.confirmations);
        let mut after = self.db.cursor().await?;
        loop {
            let from = after.map_or(self.params.start_block, |c| c + 1);
            if from > safe {
                return Ok(());
            }
            let to = safe.min(from.saturating_add(self.params.max_block_range - 1));
            if !self.scan_range(after, from, to).await? {
                // The range changed under us (reorg in flight), or another instance recorded it first:
                // retry on the next tick.
                return Ok(());
            }
            after = Some(to);
        }
    }

    /// Scans `[from, to]` (the cursor being `after`); returns `false` if the logs and the block hashes
    /// disagree (reorg in flight) or another instance moved the cursor meanwhile.
    async fn scan_range(&self, after: Option<u64>, from: u64, to: u64) -> Result<bool> {
        let logs = self.chain.request_logs(from, to).await?;
        let Some(to_hash) = self.chain.block_hash(to).await? else { return Ok(false) };
        let mut batch = ScanBatch {
            after,
            to_block: to,
            blocks: vec![(to, to_hash)],
            requests: Vec::with_capacity(logs.len()),
            prune_below: to.saturating_sub(self.params.reorg_window),
        };
        for log in logs.iter().filter(|l| !l.removed) {
            let req = match decode_request_log(log) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, tx = ?log.transaction_hash, "ignoring malformed InferenceRequested log");
                    continue;
                }
            };
            if req.block_number == to && req.block_hash != to_hash {
                return Ok(false);
            }
            if !batch.blocks.iter().any(|(n, _)| *n == req.block_number) {
                batch.blocks.push((req.block_number, req.block_hash));
            }
            batch.requests.push(req);
        }
        let requests = batch.requests.clone();
        let Some(outcomes) = self.db.apply_scan(batch).await? else {
            tracing::debug!(from, to, "range recorded by another instance");
            return Ok(false);
        };
        for (req, outcome) in requests.iter().zip(&outcomes) {
            match outcome {
                Upsert::New => {
                    self.metrics().requests_seen.inc();
                    tracing::info!(request_id = %req.request_id, model_id = %req.model_id, block = req.block_number, "request seen");
                }
                Upsert::Restored(state) => {
                    tracing::info!(request_id = %req.request_id, block = req.block_number, ?state, "request re-included after reorg");
                }
                Upsert::Known => {}
            }
        }
        self.metrics().cursor_block.set(gauge_i64(to));
        if !requests.is_empty() {
            self.shared.wake_dispatcher.notify_one();
            self.shared.wake_monitor.notify_one();
        }
        Ok(true)
    }

    /// Compares stored hashes with the chain; on a mismatch rewinds to the newest block that still matches.
    async fn check_reorg(&self, head: u64) -> Result<()> {
        let after = self.db.cursor().await?;
        let stored = self.db.recent_blocks(self.params.reorg_window).await?;
        let Some(&(top, top_hash)) = stored.first() else { return Ok(()) };
        if top <= head && self.chain.block_hash(top).await? == Some(top_hash) {
            return Ok(());
        }
        let mut ancestor = None;
        for &(n, h) in stored.iter().skip(1) {
            if n <= head && self.chain.block_hash(n).await? == Some(h) {
                ancestor = Some(n);
                break;
            }
        }
        let ancestor = match ancestor {
            Some(a) => a,
            None => {
                let lowest = stored.last().map(|(n, _)| *n).unwrap_or(top);
                tracing::error!(
                    lowest,
                    "reorg deeper than every stored block hash (reorg_window too small?); rescanning from below it"
                );
                lowest.saturating_sub(1)
            }
        };
        let Some(dropped) = self.db.rewind(ancestor, after).await? else {
            tracing::debug!(ancestor, "reorg handled by another instance");
            return Ok(());
        };
        self.metrics().requests_dropped.inc_by(dropped.len() as u64);
        tracing::warn!(
            old_block = top,
            old_hash = %short(top_hash),
            ancestor,
            dropped = dropped.len(),
            "chain reorganisation: rewound the cursor"
        );
        for id in dropped {
            tracing::warn!(request_id = %id, "request log removed by reorg; dropped");
        }
        self.shared.wake_monitor.notify_one();
        Ok(())
    }
}

fn short(h: B256) -> String {
    let s = h.to_string();
    s.get(..10).unwrap_or(&s).to_string()
}
