//! The demo's in-process relayer: a `relayer.toml` in the work directory, `zkoracle-relayer` on a task,
//! and waiting for it to fulfil a request.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use eyre::{bail, eyre, WrapErr};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use zkoracle_relayer::IInferenceOracle::{self, InferenceFulfilled, RequestStatus};
use zkoracle_relayer::{Config, Db, State};

use super::market::explain;

/// What the relayer needs to know.
#[derive(Debug)]
pub(crate) struct RelayerSetup<'a> {
    /// Where `relayer.toml` and `relayer.sqlite` go.
    pub(crate) work: &'a Path,
    /// The model directory it proves with.
    pub(crate) model_dir: &'a Path,
    /// The chain.
    pub(crate) rpc_url: &'a str,
    /// Its chain id.
    pub(crate) chain_id: u64,
    /// The oracle.
    pub(crate) oracle: Address,
    /// The model's on-chain id.
    pub(crate) model_id: U256,
    /// First block to scan.
    pub(crate) start_block: u64,
    /// The environment variable holding the fulfilment key.
    pub(crate) key_env: &'a str,
}

/// A running relayer.
#[derive(Debug)]
pub(crate) struct RelayerHandle {
    /// The configuration file it was started with.
    pub(crate) config_path: PathBuf,
    db_path: PathBuf,
    provider: DynProvider,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<zkoracle_relayer::Result<()>>>,
}

/// A fulfilment as the chain and the relayer's database saw it.
#[derive(Debug, Clone)]
pub(crate) struct FulfilmentReport {
    /// The fulfilment transaction.
    pub(crate) tx: B256,
    /// Its gas.
    pub(crate) gas_used: u64,
    /// The request's final state in the relayer's database (`confirmed` when it settled its own fulfilment).
    pub(crate) relayer_state: &'static str,
    /// How long the relayer proved.
    pub(crate) proving_ms: Option<u64>,
    /// Proof size in bytes (0 when the database does not have it).
    pub(crate) proof_len: usize,
    /// The fulfilment's logs (the consumer's callback events among them).
    pub(crate) logs: Vec<Log>,
}

/// `relayer.toml` for the demo chain: one confirmation (anvil mines a block a second and never
/// reorganises), fast polling, no HTTP server.
fn config_text(s: &RelayerSetup<'_>, model_dir: &str) -> String {
    format!(
        r#"# Written by `zkoracle demo` for its throw-away anvil chain.
rpc_url = "{rpc}"
oracle = "{oracle}"
chain_id = {chain_id}
start_block = {start}
confirmations = 1
poll_interval_ms = 200
db_path = "relayer.sqlite"
workers = 1
deadline_margin_secs = 30

[signer]
private_key_env = "{key_env}"

[http]
enabled = false

# A throw-away chain with the demo's 0.001 ETH fee: serve every fee (the default asks 1.2x the gas cost).
[profit]
margin_bps = 0

[[models]]
model_id = "{model_id}"
dir = "{model_dir}"
"#,
        rpc = s.rpc_url,
        oracle = s.oracle,
        chain_id = s.chain_id,
        start = s.start_block,
        key_env = s.key_env,
        model_id = s.model_id,
    )
}

impl RelayerHandle {
    /// Writes `relayer.toml` and spawns the relayer on the runtime.
    pub(crate) fn start(s: RelayerSetup<'_>) -> eyre::Result<Self> {
        let model_dir = match s.model_dir.strip_prefix(s.work) {
            Ok(rel) => rel.display().to_string(),
            Err(_) => s.model_dir.display().to_string(),
        };
        let config_path = s.work.join("relayer.toml");
        zkoracle_prover::write_atomic(&config_path, config_text(&s, &model_dir).as_bytes())?;
        let db_path = s.work.join("relayer.sqlite");
        let config = Config::from_file(&config_path)?;
        // Create and migrate the database before the relayer runs, so that the demo's own (read-only) opens
        // of it never race the relayer's migration.
        Db::open(&config.db_path)?;
        let provider = ProviderBuilder::new().connect_http(s.rpc_url.parse().wrap_err("rpc url")?).erased();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(zkoracle_relayer::run(config, async move {
            let _ = rx.await;
        }));
        Ok(Self { config_path, db_path, provider, shutdown: Some(tx), task: Some(task) })
    }

    /// Fails with the relayer's error if it stopped.
    async fn check_alive(&mut self) -> eyre::Result<()> {
        if self.task.as_ref().is_some_and(JoinHandle::is_finished) {
            let outcome = match self.task.take() {
                Some(task) => task.await,
                None => return Ok(()),
            };
            return match outcome {
                Ok(Ok(())) => Err(eyre!("the relayer stopped")),
                Ok(Err(e)) => Err(eyre!("the relayer stopped: {e}")),
                Err(e) => Err(eyre!("the relayer task failed: {e}")),
            };
        }
        Ok(())
    }

    /// Waits until `request_id` is fulfilled on-chain, failing fast when the relayer stops, skips or gives
    /// up on it, or after `timeout`.
    pub(crate) async fn wait_fulfilled(
        &mut self,
        oracle: Address,
        request_id: U256,
        timeout: Duration,
        from_block: u64,
    ) -> eyre::Result<FulfilmentReport> {
        let contract = IInferenceOracle::new(oracle, self.provider.clone());
        let started = Instant::now();
        let mut db: Option<Db> = None;
        loop {
            self.check_alive().await?;
            let status = contract
                .getRequestStatus(request_id)
                .call()
                .await
                .map_err(|e| explain("getRequestStatus", e))?;
            match status.status {
                RequestStatus::Fulfilled => break,
                RequestStatus::Pending => {}
                other => bail!("request {request_id} is {other:?} on-chain"),
            }
            if db.is_none() {
                db = Some(Db::open(&self.db_path)?);
            }
            if let Some(row) = db.as_ref().and_then(|d| d.request(request_id).ok().flatten()) {
                if matches!(row.state, State::Failed | State::Skipped | State::Dropped) {
                    let reason = row.reason.unwrap_or_default();
                    bail!("the relayer marked request {request_id} {}: {reason}", row.state.as_str());
                }
            }
            if started.elapsed() > timeout {
                bail!("request {request_id} was not fulfilled within {}s", timeout.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let db = match db {
            Some(d) => d,
            None => Db::open(&self.db_path)?,
        };
        // The relayer settles its own transaction one confirmation later.
        let settled = Instant::now();
        let row = loop {
            let row = db.request(request_id)?;
            let state = row.as_ref().map(|r| r.state);
            if matches!(state, Some(State::Confirmed | State::Skipped | State::Failed))
                || settled.elapsed() > Duration::from_secs(15)
            {
                break row;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let (tx, gas_used, logs) = self.fulfilment(oracle, request_id, from_block).await?;
        Ok(FulfilmentReport {
            tx,
            gas_used,
            relayer_state: row.as_ref().map_or("unknown", |r| r.state.as_str()),
            proving_ms: row.as_ref().and_then(|r| r.proving_ms),
            proof_len: row.as_ref().and_then(|r| r.proof.as_ref()).map_or(0, Vec::len),
            logs,
        })
    }

    /// The `InferenceFulfilled` transaction of `request_id`, its gas and its logs.
    async fn fulfilment(
        &self,
        oracle: Address,
        request_id: U256,
        from_block: u64,
    ) -> eyre::Result<(B256, u64, Vec<Log>)> {
        let filter = Filter::new()
            .address(oracle)
            .event_signature(InferenceFulfilled::SIGNATURE_HASH)
            .topic1(B256::from(request_id))
            .from_block(from_block);
        let logs = self.provider.get_logs(&filter).await?;
        let tx = logs
            .first()
            .and_then(|l| l.transaction_hash)
            .ok_or_else(|| eyre!("no InferenceFulfilled event for request {request_id}"))?;
        let receipt = self
            .provider
            .get_transaction_receipt(tx)
            .await?
            .ok_or_else(|| eyre!("no receipt for the fulfilment {tx}"))?;
        Ok((tx, receipt.gas_used, receipt.inner.logs().to_vec()))
    }

    /// Asks the relayer to stop and waits for it (at most 10 s, then aborts it).
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(10), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for RelayerHandle {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
