//! The lease keeper: renews this instance's leases and heartbeat, hands requests whose lease expired (an
//! instance died) back to `seen` for any instance, takes over the submissions of an instance that never came
//! back once their deadline nears, and refreshes the fleet-wide gauges.

use crate::{
    chain::{Chain, OnChainStatus},
    db::{State, Store},
    error::Result,
    metrics::gauge_i64,
    policy::Skip,
    Shared,
};
use alloy::primitives::Address;
use std::{sync::Arc, time::Duration};

pub(crate) struct Keeper {
    pub(crate) chain: Chain,
    pub(crate) db: Store,
    pub(crate) me: Address,
    pub(crate) fleet: crate::config::FleetConfig,
    pub(crate) shared: Arc<Shared>,
}

impl Keeper {
    pub(crate) async fn run(self) -> Result<()> {
        let every = Duration::from_millis((self.fleet.lease_ms() / 3).max(500));
        let mut streak = crate::Streak::default();
        loop {
            match self.tick().await {
                Ok(()) => streak.ok("lease keeper"),
                Err(e) if e.is_db() => return Err(e),
                Err(e) => streak.fail("lease keeper", &e),
            }
            tokio::time::sleep(every).await;
        }
    }

    async fn tick(&self) -> Result<()> {
        let held = self.db.renew(self.me, self.fleet.lease_ms()).await?;
        self.shared.metrics.leases_held.set(gauge_i64(held));
        let reclaimed = self.db.reap_expired().await?;
        if !reclaimed.is_empty() {
            self.shared.metrics.requests_reclaimed.inc_by(reclaimed.len() as u64);
            tracing::warn!(requests = ?reclaimed, "leases expired (an instance stopped); requests queued again");
            self.shared.wake_dispatcher.notify_one();
        }
        self.take_over_orphans().await
    }

    /// A `submitted` request whose owner is gone (lease expired) and whose deadline nears: if it is still
    /// pending on-chain, the owner's transaction has not landed — prove and send it again under our key
    /// (should the old one land first, ours is cancelled or reverts: one lost race at most); if it was
    /// fulfilled, it is done.
    async fn take_over_orphans(&self) -> Result<()> {
        let now = self.chain.latest_timestamp().await?;
        let before = now.saturating_add(self.fleet.takeover_before_deadline_secs);
        for row in self.db.orphaned_submissions(before).await? {
            let id = row.req.request_id;
            match self.chain.request_status(id).await? {
                OnChainStatus::Pending => {
                    if self.db.take_over(id).await? {
                        self.shared.metrics.requests_reclaimed.inc();
                        tracing::warn!(request_id = %id, owner = ?row.owner, deadline = row.req.deadline,
                            "the instance that submitted this request is gone and its deadline nears; taken over");
                        self.shared.wake_dispatcher.notify_one();
                    }
                }
                other => {
                    let skip = Skip::NotPending(other);
                    self.db.skip(id, vec![State::Submitted], skip.to_string(), skip.code()).await?;
                }
            }
        }
        Ok(())
    }
}
