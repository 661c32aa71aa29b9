//! zkoracle relayer: watches an `InferenceOracle` for `InferenceRequested` events, proves each request with
//! the registered model and fulfils it on-chain — restart-safe (state machine in embedded SQLite or a
//! PostgreSQL database shared by a fleet of instances, persisted signed transactions), reorg-safe
//! (confirmations + block-hash tracking) and exactly-once.
//!
//! ```no_run
//! # async fn f() -> zkoracle_relayer::Result<()> {
//! let config = zkoracle_relayer::Config::from_file("relayer.toml")?;
//! zkoracle_relayer::run(config, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! Pipeline: [`intake`](crate) (confirmed log ranges from a persisted cursor) → database (`seen`) →
//! dispatcher (claim with a lease, validation, bounded queue) → proving workers (blocking threads) →
//! `proved` → submitter (nonce, fees, sign, persist, broadcast) → `submitted` → monitor (receipts,
//! confirmations, bumps, reconciliation) → `confirmed` / `failed(reason)`; `skipped(reason)` and `dropped`
//! (reorg) on the side. The lease keeper renews this instance's leases and re-queues the requests of
//! instances that died.

mod chain;
mod config;
mod db;
mod error;
mod http;
mod intake;
mod keeper;
mod metrics;
mod modelcheck;
mod pipeline;
mod policy;
mod prove_api;
mod prover;
mod txmgr;

pub use chain::{decode_revert, IInferenceOracle, OnChainStatus};
pub use config::{
    Config, FleetConfig, GasConfig, HttpConfig, ModelConfig, ProfitConfig, ProveApiConfig, SignerConfig,
    DEFAULT_MAX_FEE_PER_GAS_WEI, MIN_FEE_BUMP_BPS, MIN_TOKEN_LEN,
};
pub use db::{
    is_postgres_url, Attempt, Db, FleetStats, InstanceStats, Mined, NewRequest, OpenSubmission, RequestRow,
    ScanBatch, State, Store, Upsert,
};
pub use error::{Disposition, Error, Result};
pub use metrics::Metrics;
pub use policy::BadInput;
pub use prover::{
    check_input, ModelLoader, Models, Proof, ProofTask, Prover, ProverPool, ProvingModelLoader,
};

use alloy::{network::EthereumWallet, primitives::Address, signers::local::PrivateKeySigner};
use std::{
    future::Future,
    str::FromStr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{
    sync::{mpsc, Mutex, Notify},
    task::JoinSet,
};

/// State shared by the relayer's tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) health: Health,
    pub(crate) poll_interval: Duration,
    /// The lease of a claim, in milliseconds (also the fleet's liveness window).
    pub(crate) lease_ms: u64,
    pub(crate) wake_dispatcher: Notify,
    pub(crate) wake_submitter: Notify,
    pub(crate) wake_monitor: Notify,
}

impl Shared {
    /// Sleeps one poll interval or until `wake` is notified.
    pub(crate) async fn sleep_or(&self, wake: &Notify) {
        tokio::select! {
            () = tokio::time::sleep(self.poll_interval) => {}
            () = wake.notified() => {}
        }
    }
}

/// Logs a repeating failure once at `warn`, then every 25th time, and the recovery.
#[derive(Debug, Default)]
pub(crate) struct Streak {
    failures: u32,
}

impl Streak {
    pub(crate) fn fail(&mut self, task: &'static str, error: &Error) {
        if self.failures.is_multiple_of(25) {
            tracing::warn!(task, %error, failures = self.failures + 1, "failing; retrying every poll interval");
        } else {
            tracing::debug!(task, %error, "still failing");
        }
        self.failures = self.failures.saturating_add(1);
    }

    pub(crate) fn ok(&mut self, task: &'static str) {
        if self.failures > 0 {
            tracing::info!(task, failures = self.failures, "recovered");
        }
        self.failures = 0;
    }
}

/// Liveness of the intake loop.
#[derive(Debug, Default)]
pub(crate) struct Health {
    last_scan_ok: AtomicU64,
}

impl Health {
    pub(crate) fn mark_scan_ok(&self) {
        self.last_scan_ok.store(db::now_secs(), Ordering::Relaxed);
    }

    pub(crate) fn scan_age_secs(&self) -> Option<u64> {
        match self.last_scan_ok.load(Ordering::Relaxed) {
            0 => None,
            t => Some(db::now_secs().saturating_sub(t)),
        }
    }
}

/// Loads the fulfilment key from the environment variable or the encrypted keystore named in the config.
/// Error messages name the variable or file, never the secret.
pub fn load_signer(cfg: &SignerConfig) -> Result<PrivateKeySigner> {
    if let Some(var) = &cfg.private_key_env {
        let key = std::env::var(var)
            .map_err(|_| Error::Signer(format!("environment variable {var} is not set (or not UTF-8)")))?;
        return PrivateKeySigner::from_str(key.trim()).map_err(|_| {
            Error::Signer(format!("environment variable {var} does not hold a hex secp256k1 key"))
        });
    }
    let (Some(path), Some(pw_var)) = (&cfg.keystore, &cfg.keystore_password_env) else {
        return Err(Error::Signer("set private_key_env, or keystore and keystore_password_env".into()));
    };
    let password = std::env::var(pw_var)
        .map_err(|_| Error::Signer(format!("environment variable {pw_var} is not set (or not UTF-8)")))?;
    PrivateKeySigner::decrypt_keystore(path, password)
        .map_err(|e| Error::Signer(format!("cannot decrypt keystore {}: {e}", path.display())))
}

/// Runs the relayer until `shutdown` completes: loads every configured model once with
/// `zkoracle_prover::ProvingModel` (keys and, within `prover_cache_mb`, their SRS window multiples and
/// coset evaluations stay in memory: [`ProvingModelLoader`]), then watches, proves and fulfils.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    let loader = ProvingModelLoader::new(config.prover_cache_mb.saturating_mul(1 << 20));
    run_with_loader(config, Arc::new(loader), shutdown).await
}

/// Runs the relayer until `shutdown` completes, loading the configured models with `loader`.
pub async fn run_with_loader(
    config: Config,
    loader: Arc<dyn ModelLoader>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    config.validate()?;
    let models = Models::load(loader, &config.models).await?;
    run_with_models(config, models, shutdown).await
}

/// Connects, retrying with backoff until the node answers (or `shutdown`); checks the chain id.
async fn connect(config: &Config) -> Result<chain::Chain> {
    let mut delay = Duration::from_millis(500);
    loop {
        let attempt = async {
            let c = chain::Chain::connect(&config.rpc_url, config.oracle, config.rpc_timeout()).await?;
            let id = c.chain_id().await?;
            Ok::<_, Error>((c, id))
        };
        match attempt.await {
            Ok((c, id)) if id == config.chain_id => return Ok(c),
            Ok((_, actual)) => return Err(Error::ChainId { expected: config.chain_id, actual }),
            Err(e) => tracing::warn!(error = %e, retry_in = ?delay, "cannot reach the RPC endpoint"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Reads every served model's registration, retrying while the node is unreachable; refuses to serve a
/// model that is not registered or whose registration differs from the local model or the config.
async fn check_models(chain: &chain::Chain, models: &Models, config: &Config) -> Result<()> {
    for m in &config.models {
        let Some(local) = models.get(m.model_id) else { continue };
        let mut delay = Duration::from_millis(500);
        let on_chain = loop {
            match chain.model(m.model_id).await {
                Ok(on_chain) => break on_chain,
                Err(e) if chain::is_transport(&e) => {
                    tracing::warn!(model_id = %m.model_id, error = %e, retry_in = ?delay, "cannot read the model");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                Err(e) => {
                    let reason = match chain::revert_reason(&e) {
                        Some(r) => format!("not registered on-chain ({r})"),
                        None => format!("cannot read its registration: {e}"),
                    };
                    return Err(Error::ModelMismatch { model_id: m.model_id.to_string(), reason });
                }
            }
        };
        modelcheck::compare(m, local.as_ref(), &on_chain)
            .map_err(|reason| Error::ModelMismatch { model_id: m.model_id.to_string(), reason })?;
        // The oracle refuses every proof once the verifier's code differs from its code at registration.
        let now = chain.code_hash(on_chain.params.verifier).await?;
        if now != on_chain.verifierCodehash {
            let reason = format!(
                "verifier {} code hash {now} differs from {} recorded at registration (every fulfilment would revert)",
                on_chain.params.verifier, on_chain.verifierCodehash
            );
            return Err(Error::ModelMismatch { model_id: m.model_id.to_string(), reason });
        }
    }
    Ok(())
}

/// Runs the relayer with already loaded models until `shutdown` completes (or a task fails).
///
/// Dropping the returned future stops every task at once (as a crash would); the database stays
/// consistent and the next run resumes from it.
pub async fn run_with_models(
    config: Config,
    models: Models,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    config.validate()?;
    let key = load_signer(&config.signer)?;
    let address: Address = key.address();
    let db = Store::open(&config).await?;
    db.check_identity(config.chain_id, config.oracle).await?;
    let metrics = Arc::new(Metrics::new());
    let shared = Arc::new(Shared {
        metrics: metrics.clone(),
        health: Health::default(),
        poll_interval: config.poll_interval(),
        lease_ms: config.fleet.lease_ms(),
        wake_dispatcher: Notify::new(),
        wake_submitter: Notify::new(),
        wake_monitor: Notify::new(),
    });
    tokio::pin!(shutdown);
    let chain = tokio::select! {
        c = connect(&config) => c?,
        () = &mut shutdown => return Ok(()),
    };
    check_models(&chain, &models, &config).await?;
    db.adopt_legacy(address).await?;
    db.renew(address, config.fleet.lease_ms()).await?;
    let requeued = db.reset_in_flight(address).await?;
    let served: Vec<_> = models.ids().collect();
    let unskipped = db.requeue_unknown_models(served).await?;
    if !unskipped.is_empty() {
        tracing::warn!(requests = ?unskipped, "requests skipped earlier for an unknown model are served now; queued again");
    }
    let state = if config.database.is_some() { "postgres" } else { "sqlite" };
    tracing::info!(%address, oracle = %config.oracle, chain_id = config.chain_id, requeued, state, models = ?models, "relayer starting");

    let pool = ProverPool::new(models.clone(), config.workers, metrics.clone(), address);
    let (queue_tx, queue_rx) = mpsc::channel(config.queue_capacity);
    let queue_rx = Arc::new(Mutex::new(queue_rx));
    let signer = txmgr::TxSigner {
        wallet: EthereumWallet::from(key),
        address,
        oracle: config.oracle,
        chain_id: config.chain_id,
    };
    let mut tasks = JoinSet::new();
    if config.http.enabled {
        let (_, server) = http::serve(config.http.listen, db.clone(), shared.clone()).await?;
        tasks.spawn(server);
    }
    if config.prove_api.enabled {
        let api_pool = ProverPool::new(models, config.prove_api.max_concurrent, metrics, address);
        let token = config.prove_api.resolve_token()?;
        let (_, server) = prove_api::serve(&config.prove_api, api_pool, token).await?;
        tasks.spawn(server);
    }
    let params = intake::IntakeParams {
        start_block: config.start_block,
        confirmations: config.confirmations,
        max_block_range: config.max_block_range,
        reorg_window: config.reorg_window,
    };
    tasks
        .spawn(intake::Intake { chain: chain.clone(), db: db.clone(), params, shared: shared.clone() }.run());
    tasks.spawn(
        pipeline::Dispatcher {
            chain: chain.clone(),
            db: db.clone(),
            me: address,
            lease_ms: config.fleet.lease_ms(),
            pool: pool.clone(),
            queue: queue_tx,
            deadline_margin_secs: config.deadline_margin_secs,
            profit: config.profit.clone(),
            fulfil_gas: config.models.iter().filter_map(|m| Some((m.model_id, m.fulfil_gas?))).collect(),
            shared: shared.clone(),
        }
        .run(),
    );
    for _ in 0..config.workers {
        let worker = pipeline::Worker {
            db: db.clone(),
            me: address,
            pool: pool.clone(),
            queue: queue_rx.clone(),
            shared: shared.clone(),
        };
        tasks.spawn(worker.run());
    }
    tasks.spawn(
        keeper::Keeper {
            chain: chain.clone(),
            db: db.clone(),
            me: address,
            fleet: config.fleet.clone(),
            shared: shared.clone(),
        }
        .run(),
    );
    tasks.spawn(
        txmgr::Submitter::new(
            chain.clone(),
            db.clone(),
            signer.clone(),
            (config.gas.clone(), config.profit.clone()),
            shared.clone(),
        )
        .run(),
    );
    tasks.spawn(
        txmgr::Monitor {
            chain,
            db,
            signer,
            gas: config.gas.clone(),
            confirmations: config.confirmations,
            reorg_window: config.reorg_window,
            shared,
        }
        .run(),
    );

    let outcome = tokio::select! {
        () = &mut shutdown => {
            tracing::info!("shutdown requested");
            Ok(())
        }
        Some(res) = tasks.join_next() => match res {
            Ok(Ok(())) => Err(Error::Task("a relayer task stopped unexpectedly".into())),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(Error::Task(e.to_string())),
        },
    };
    tasks.shutdown().await;
    outcome
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signer_from_env_never_echoes_the_secret() {
        let var = "ZKORACLE_RELAYER_UNIT_TEST_KEY";
        let cfg = SignerConfig { private_key_env: Some(var.into()), ..Default::default() };
        let e = load_signer(&cfg).unwrap_err().to_string();
        assert!(e.contains(var) && e.contains("not set"), "{e}");
        // anvil's well-known development key #1
        let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        std::env::set_var(var, key);
        let signer = load_signer(&cfg).unwrap();
        assert_eq!(signer.address().to_string(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        assert!(!format!("{signer:?}").contains(&key[2..]));
        std::env::set_var(var, "0xnot-a-key-SECRETVALUE");
        let e = load_signer(&cfg).unwrap_err().to_string();
        assert!(!e.contains("SECRETVALUE"), "{e}");
        let ks = SignerConfig { keystore: Some("/nonexistent.json".into()), ..Default::default() };
        assert!(load_signer(&ks).unwrap_err().to_string().contains("keystore_password_env"));
    }
}
