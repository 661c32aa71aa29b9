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

/// The label of the fleet's per-state gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// The request state.
    pub state: &'static str,
}

/// The label of the fleet's per-instance gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    /// The instance's signer address.
    pub signer: String,
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
    /// Proofs attempted again after a transient proving failure ([`crate::Disposition::Retry`]).
    pub prove_retries: Counter,
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
    /// Proofs this instance completed and stored (`rate()` is its proofs per second).
    pub proofs: Counter,
    /// Seconds from a request first seen to its fulfilment confirmed, for requests this instance fulfilled.
    pub fulfil_latency_seconds: Histogram,
    /// Fulfilments this instance sent that reverted because someone else fulfilled the request first.
    pub lost_races: Counter,
    /// Leases this instance holds (requests it is proving, has proved or has submitted).
    pub leases_held: Gauge,
    /// Requests this instance handed back to the queue after their holder's lease expired (or took over).
    pub requests_reclaimed: Counter,
    /// Fleet-wide: requests per state in the shared database (the same on every instance).
    pub fleet_requests: Family<StateLabels, Gauge>,
    /// Fleet-wide: unexpired leases per instance.
    pub fleet_leases: Family<InstanceLabels, Gauge>,
    /// Fleet-wide: instances that renewed their leases within the last lease period.
    pub fleet_instances_alive: Gauge,
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
            prove_retries: Counter::default(),
            requests_skipped: Family::default(),
            requests_dropped: Counter::default(),
            txs_sent: Counter::default(),
            proving_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 10)),
            queue_depth: Gauge::default(),
            backlog: Gauge::default(),
            wallet_balance_eth: Gauge::default(),
            chain_head: Gauge::default(),
            cursor_block: Gauge::default(),
            proofs: Counter::default(),
            fulfil_latency_seconds: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            lost_races: Counter::default(),
            leases_held: Gauge::default(),
            requests_reclaimed: Counter::default(),
            fleet_requests: Family::default(),
            fleet_leases: Family::default(),
            fleet_instances_alive: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register("requests_seen", "Requests first seen in confirmed logs", m.requests_seen.clone());
        registry.register(
            "requests_fulfilled",
            "Requests fulfilled by us and confirmed",
            m.requests_fulfilled.clone(),
        );
        registry.register("requests_failed", "Requests that failed", m.requests_failed.clone());
        registry.register(
            "prove_retries",
            "Proofs attempted again after a transient proving failure",
            m.prove_retries.clone(),
        );
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
        registry.register("proofs", "Proofs completed by this instance", m.proofs.clone());
        registry.register(
            "fulfil_latency_seconds",
            "Seconds from request seen to fulfilment confirmed",
            m.fulfil_latency_seconds.clone(),
        );
        registry.register(
            "lost_races",
            "Fulfilments that reverted because another relayer fulfilled first",
            m.lost_races.clone(),
        );
        registry.register("leases_held", "Requests this instance holds a lease on", m.leases_held.clone());
        registry.register(
            "requests_reclaimed",
            "Requests re-queued after their holder's lease expired",
            m.requests_reclaimed.clone(),
        );
        registry.register(
            "fleet_requests",
            "Requests per state in the shared state",
            m.fleet_requests.clone(),
        );
        registry.register("fleet_leases", "Unexpired leases per instance", m.fleet_leases.clone());
        registry.register(
            "fleet_instances_alive",
            "Instances that renewed their leases recently",
            m.fleet_instances_alive.clone(),
        );
        Self { registry, ..m }
    }

    /// Sets the fleet-wide gauges from the shared state.
    pub fn set_fleet(&self, stats: &crate::db::FleetStats) {
        for state in crate::State::ALL {
            let n = stats.states.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n);
            self.fleet_requests.get_or_create(&StateLabels { state: state.as_str() }).set(gauge_i64(n));
        }
        self.fleet_leases.clear();
        for i in &stats.instances {
            self.fleet_leases
                .get_or_create(&InstanceLabels { signer: i.address.clone() })
                .set(gauge_i64(i.leases));
        }
        let alive = stats.instances.iter().filter(|i| i.alive).count() as u64;
        self.fleet_instances_alive.set(gauge_i64(alive));
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
