//! Shared harness for the relayer's end-to-end tests: a real anvil, the real InferenceOracle deployed from
//! its forge artifact, a TCP proxy we can cut, and helpers to run/kill the daemon.

#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub mod fixture;
pub mod pg;
pub mod rpc_proxy;

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, I256, U256},
    providers::{ext::AnvilApi, DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::{SolEvent, SolValue},
};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Once},
    time::{Duration, Instant},
};
use tokio::{net::TcpStream, task::JoinHandle};
use zkoracle_relayer::{Config, IInferenceOracle, Models, State};

pub const KEY_ENV: &str = "ZKORACLE_RELAYER_TEST_KEY";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "zkoracle_relayer=info".into()),
            )
            .with_test_writer()
            .try_init();
    });
}

/// Deployment bytecode from a forge artifact (`out/<file>/<name>.json`), building once if missing.
pub fn artifact_bytecode(file: &str, name: &str) -> Bytes {
    let path = repo_root().join("out").join(file).join(format!("{name}.json"));
    if !path.exists() {
        let status = std::process::Command::new(repo_root().join("node_modules/.bin/forge"))
            .arg("build")
            .current_dir(repo_root())
            .status()
            .expect("run forge build");
        assert!(status.success(), "forge build failed");
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let hex = json["bytecode"]["object"].as_str().unwrap();
    hex.parse().unwrap()
}

/// A running anvil plus the deployed oracle.
pub struct Chain {
    pub anvil: AnvilInstance,
    /// Owner / model registrant (anvil account 0).
    pub owner: DynProvider,
    /// Requester (anvil account 2).
    pub requester: DynProvider,
    pub relayer_address: Address,
    pub relayer_key_hex: String,
    pub oracle: Address,
    miner: Option<JoinHandle<()>>,
}

impl Drop for Chain {
    fn drop(&mut self) {
        if let Some(m) = self.miner.take() {
            m.abort();
        }
    }
}

fn wallet_provider(url: &str, key: &alloy::signers::k256::SecretKey) -> DynProvider {
    let signer = PrivateKeySigner::from(alloy::signers::k256::ecdsa::SigningKey::from(key.clone()));
    // Fresh nonces from the node each time: the default cached nonce manager does not survive `anvil_reorg`.
    ProviderBuilder::new()
        .disable_recommended_fillers()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url.parse().unwrap())
        .erased()
}

impl Chain {
    /// Spawns anvil on a free loopback port and deploys the oracle (request timeout 1 hour).
    pub async fn start() -> Self {
        init_tracing();
        let anvil = Anvil::at(repo_root().join("node_modules/.bin/anvil"))
            .arg("--host")
            .arg("127.0.0.1")
            .timeout(30_000)
            .spawn();
        let keys = anvil.keys();
        let owner = wallet_provider(&anvil.endpoint(), &keys[0]);
        let requester = wallet_provider(&anvil.endpoint(), &keys[2]);
        let relayer_key_hex = format!("0x{}", alloy::hex::encode(keys[1].to_bytes()));
        let relayer_address = anvil.addresses()[1];
        static KEY: Once = Once::new();
        let k = relayer_key_hex.clone();
        // Every anvil derives the same dev accounts, so one process-wide value serves every test.
        KEY.call_once(|| std::env::set_var(KEY_ENV, k));

        let owner_addr = anvil.addresses()[0];
        let code = artifact_bytecode("InferenceOracle.sol", "InferenceOracle");
        let args = (owner_addr, 3600u64, 2_000_000u32).abi_encode_params();
        let oracle = deploy(&owner, [code.as_ref(), &args].concat()).await;
        Self { anvil, owner, requester, relayer_address, relayer_key_hex, oracle, miner: None }
    }

    pub fn oracle_as(&self, p: &DynProvider) -> IInferenceOracle::IInferenceOracleInstance<DynProvider> {
        IInferenceOracle::new(self.oracle, p.clone())
    }

    /// Mines a block every `every` (on top of anvil's automine), like a live chain.
    pub fn start_miner(&mut self, every: Duration) {
        let p = self.owner.clone();
        self.miner = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let _ = p.evm_mine(None).await;
            }
        }));
    }

    pub fn stop_miner(&mut self) {
        if let Some(m) = self.miner.take() {
            m.abort();
        }
    }

    /// Registers a model; returns its id.
    pub async fn register(&self, params: IInferenceOracle::ModelParams) -> U256 {
        let o = self.oracle_as(&self.owner);
        let id = o.registerModel(params.clone()).call().await.unwrap();
        let r = receipt(&self.owner, *o.registerModel(params).send().await.unwrap().tx_hash()).await;
        assert!(r.status());
        id
    }

    /// Sends `requestInference` (paying `estimateFee`); returns the request id and its block.
    pub async fn request(&self, model_id: U256, input: &[i64]) -> (U256, u64) {
        let o = self.oracle_as(&self.requester);
        let fee = o.estimateFee(model_id, 0).call().await.unwrap();
        let input: Vec<I256> = input.iter().map(|&v| I256::try_from(v).unwrap()).collect();
        let sent = o.requestInference(model_id, input, 0).value(fee).send().await.unwrap();
        let r = receipt(&self.requester, *sent.tx_hash()).await;
        assert!(r.status(), "request reverted");
        let log = r
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<IInferenceOracle::InferenceRequested>().ok())
            .expect("InferenceRequested");
        (log.inner.data.requestId, r.block_number.unwrap())
    }

    pub async fn status(&self, id: U256) -> IInferenceOracle::RequestStatus {
        self.oracle_as(&self.owner).getRequest(id).call().await.unwrap().status
    }

    /// Number of `InferenceFulfilled` logs for `id` on the canonical chain.
    pub async fn fulfil_count(&self, id: U256) -> usize {
        let f = Filter::new()
            .address(self.oracle)
            .event_signature(IInferenceOracle::InferenceFulfilled::SIGNATURE_HASH)
            .topic1(id)
            .from_block(0);
        self.owner.get_logs(&f).await.unwrap().len()
    }

    /// Transactions the relayer account has had mined.
    pub async fn relayer_nonce(&self) -> u64 {
        self.owner.get_transaction_count(self.relayer_address).await.unwrap()
    }
}

/// `contracts/test/helpers/TestConsumer.sol` (requester contract with a callback), from its forge artifact
/// (`make` builds `out/` first).
mod consumer {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc)]
        TestConsumer,
        "../out/TestConsumer.sol/TestConsumer.json"
    );
}
use consumer::TestConsumer as ITestConsumer;

/// `TestConsumer.Mode.BurnGas`: the callback burns every unit of gas it gets.
pub const BURN_GAS: u8 = 2;

impl Chain {
    /// Deploys a `TestConsumer` (requester contract with a callback) in `mode`, owned by the requester.
    pub async fn deploy_consumer(&self, mode: u8) -> Address {
        let code = artifact_bytecode("TestConsumer.sol", "TestConsumer");
        let addr = deploy(&self.requester, [code.as_ref(), &self.oracle.abi_encode()].concat()).await;
        let c = ITestConsumer::new(addr, self.requester.clone());
        let r = receipt(&self.requester, *c.setMode(mode).send().await.unwrap().tx_hash()).await;
        assert!(r.status());
        addr
    }

    /// Has `consumer` request an inference with `callback_gas_limit`, paying `estimateFee`; returns the id.
    pub async fn consumer_request(
        &self,
        consumer: Address,
        model_id: U256,
        input: &[i64],
        callback_gas_limit: u32,
    ) -> U256 {
        let fee =
            self.oracle_as(&self.requester).estimateFee(model_id, callback_gas_limit).call().await.unwrap();
        let c = ITestConsumer::new(consumer, self.requester.clone());
        let input: Vec<I256> = input.iter().map(|&v| I256::try_from(v).unwrap()).collect();
        let sent = c.request(model_id, input, callback_gas_limit).value(fee).send().await.unwrap();
        let r = receipt(&self.requester, *sent.tx_hash()).await;
        assert!(r.status(), "consumer request reverted");
        r.inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<IInferenceOracle::InferenceRequested>().ok())
            .expect("InferenceRequested")
            .inner
            .data
            .requestId
    }
}

/// Polls for a receipt (alloy's block heartbeat does not follow `anvil_reorg` rewinds).
pub async fn receipt(
    p: &DynProvider,
    hash: alloy::primitives::B256,
) -> alloy::rpc::types::TransactionReceipt {
    wait_for("receipt", Duration::from_secs(30), || async { p.get_transaction_receipt(hash).await.unwrap() })
        .await
}

pub async fn deploy(p: &DynProvider, code: Vec<u8>) -> Address {
    let tx = TransactionRequest::default().with_deploy_code(code);
    let r = receipt(p, *p.send_transaction(tx).await.unwrap().tx_hash()).await;
    assert!(r.status(), "deployment reverted");
    r.contract_address.unwrap()
}

/// A relayer config for tests: fast polling, small windows, no HTTP unless `http` is given.
pub fn config(chain: &Chain, rpc_url: &str, db: &Path, models: &Models, http: Option<SocketAddr>) -> Config {
    let model_lines: String =
        models.ids().map(|id| format!("[[models]]\nmodel_id = \"{id}\"\ndir = \"/unused\"\n")).collect();
    let text = format!(
        r#"
rpc_url = "{rpc_url}"
oracle = "{oracle}"
chain_id = 31337
start_block = 0
confirmations = 2
poll_interval_ms = 200
rpc_timeout_ms = 3000
reorg_window = 64
db_path = "{db}"
workers = 2
queue_capacity = 8
deadline_margin_secs = 5
[gas]
bump_after_secs = 20
rebroadcast_secs = 2
[http]
listen = "{listen}"
enabled = {enabled}
[signer]
private_key_env = "{KEY_ENV}"
{model_lines}"#,
        oracle = chain.oracle,
        db = db.display(),
        listen = http.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()),
        enabled = http.is_some(),
    );
    let c = Config::from_toml_str(&text).unwrap();
    c.validate().unwrap();
    c
}

/// A chain where `n` requests to a fresh spread model are logged and confirmed, after which nothing is mined
/// (automine off): the relayer's fulfilments stay in the pool until the test mines again.
pub struct Stalled {
    pub chain: Chain,
    pub models: Models,
    pub ids: Vec<U256>,
    pub db: PathBuf,
    pub cfg: Config,
    /// Holds the database's directory.
    pub dir: tempfile::TempDir,
}

pub async fn stalled(n: i64) -> Stalled {
    let chain = Chain::start().await;
    let (model, models) = fixture::spread_model(&chain, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let cfg = config(&chain, &chain.anvil.endpoint(), &db, &models, None);
    let mut ids = vec![];
    for i in 0..n {
        ids.push(chain.request(model, &fixture::input(i + 5)).await.0);
    }
    chain.owner.anvil_set_auto_mine(false).await.unwrap();
    chain.owner.anvil_mine(Some(2), None).await.unwrap();
    Stalled { chain, models, ids, db, cfg, dir }
}

/// A daemon run we can stop cleanly or kill (drop all its tasks at once).
pub struct Daemon {
    task: JoinHandle<zkoracle_relayer::Result<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Daemon {
    pub fn start(config: Config, models: Models) -> Self {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let r = zkoracle_relayer::run_with_models(config, models, async move {
                let _ = rx.await;
            })
            .await;
            if let Err(e) = &r {
                eprintln!("relayer exited with an error: {e}");
            }
            r
        });
        Self { task, stop: Some(tx) }
    }

    /// Like `kill -9`: every task is dropped wherever it is.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = self.task.await.unwrap();
        r.unwrap();
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Polls `f` until it returns `Some`, panicking after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The relayer's view of a request (a second connection to its database, as an operator would read it).
pub fn db_state(db: &Path, id: U256) -> Option<(State, Option<String>)> {
    let db = zkoracle_relayer::Db::open(db).ok()?;
    db.request(id).ok().flatten().map(|r| (r.state, r.reason))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A TCP proxy in front of anvil that can be cut (listener closed, every connection dropped) and restored
/// on the same port: an RPC outage as the relayer sees it.
pub struct Proxy {
    pub port: u16,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let mut p = Self { port: free_port(), target, task: None };
        p.restore().await;
        p
    }

    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    pub fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    pub async fn restore(&mut self) {
        self.cut();
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.set_reuseaddr(true).unwrap();
        sock.bind(SocketAddr::from(([127, 0, 0, 1], self.port))).unwrap();
        let listener = sock.listen(128).unwrap();
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                conns.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

pub fn anvil_addr(chain: &Chain) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], chain.anvil.port()))
}

pub type Shared<T> = Arc<T>;
