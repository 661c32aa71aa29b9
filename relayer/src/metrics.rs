//! Prometheus metrics (served at `/metrics`).

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};
use std::sync::atomic::AtomicU64;

/// The label of `requests_skipped`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SkipLabels {
    /// The skip code.
    pub reason: &'static str,
}

/// Every metric the relayer exports, with the `zkoracle_relayer_` prefix.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests first seen (confirmed logs).
    pub requests_seen: Counter,
    /// Requests whose fulfilment was confirmed.
    pub requests_fulfilled: Counter,
    /// Requests that failed (proving error or reverted fulfilment).
    pub requests_failed: Counter,
    /// Requests skipped, by reason (`unknown_model`, `bad_input`, `expired`, `not_pending`, `callback_gas`,
    /// `unprofitable`, `cancelled`).
    pub requests_skipped: Family<SkipLabels, Counter>,
    /// Requests dropped by reorgs.
    pub requests_dropped: Counter,
    /// Fulfilment transactions broadcast (including replacements).
    pub txs_sent: Counter,
    /// Seconds per proof.
    pub proving_seconds: Histogram,
    /// Proving jobs waiting for a worker.
    pub queue_depth: Gauge,
    /// Requests in `seen` (not yet queued).
    pub backlog: Gauge,
    /// Fulfilment wallet balance in ether.
    pub wallet_balance_eth: Gauge<f64, AtomicU64>,
    /// Latest chain head seen.
    pub chain_head: Gauge,
    /// Last fully processed block.
    pub cursor_block: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers all metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("zkoracle_relayer");
        let m = Self {
            requests_seen: Counter::default(),
            requests_fulfilled: Counter::default(),
            requests_failed: Counter::default(),
            requests_skipped: Family::default(),
            requests_dropped: Counter::default(),
            txs_sent: Counter::default(),
            proving_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 10)),
            queue_depth: Gauge::default(),
            backlog: Gauge::default(),
            wallet_balance_eth: Gauge::default(),
            chain_head: Gauge::default(),
            cursor_block: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("requests_seen", "Requests first seen in confirmed logs", m.requests_seen.clone());
        registry.register(
            "requests_fulfilled",
            "Requests fulfilled by us and confirmed",
            m.requests_fulfilled.clone(),
        );
        registry.register("requests_failed", "Requests that failed", m.requests_failed.clone());
        registry.register("requests_skipped", "Requests skipped, by reason", m.requests_skipped.clone());
        registry.register(
            "requests_dropped",
            "Requests whose log a reorg removed",
            m.requests_dropped.clone(),
        );
        registry.register("txs_sent", "Fulfilment transactions broadcast", m.txs_sent.clone());
        registry.register("proving_seconds", "Seconds per proof", m.proving_seconds.clone());
        registry.register("queue_depth", "Proving jobs waiting for a worker", m.queue_depth.clone());
        registry.register("backlog", "Requests seen but not yet queued", m.backlog.clone());
        registry.register(
            "wallet_balance_eth",
            "Fulfilment wallet balance in ether",
            m.wallet_balance_eth.clone(),
        );
        registry.register("chain_head", "Latest chain head", m.chain_head.clone());
        registry.register("cursor_block", "Last fully processed block", m.cursor_block.clone());
        Self { registry, ..m }
    }

    /// Counts one skipped request under its reason code.
    pub fn skipped(&self, reason: &'static str) {
        self.requests_skipped.get_or_create(&SkipLabels { reason }).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Saturating conversion for gauges.
pub(crate) fn gauge_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
