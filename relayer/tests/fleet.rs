//! A fleet of relayer processes on one PostgreSQL database and one anvil (issue #20): SIGKILLed and
//! restarted while a burst flows through, every request is fulfilled exactly once (counted from chain
//! events), no nonce is left stuck on any key and no request is left pending; and two independent relayers
//! (separate databases) racing on one oracle fulfil each request once, the loser marking it done.
//!
//! Each instance is this test binary re-run as a child process (`fleet_child`), so a kill is a real
//! `kill -9`: its database connections and in-memory queue die with it.
//!
//! Run: `cargo test -p zkoracle-relayer --test fleet` (the fast scenario); `make fleet` runs the 300-request
//! burst and the 1/2/3-instance throughput measurement (ignored tests).

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use common::{fixture, pg::Postgres, Chain};
use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use zkoracle_relayer::{Config, IInferenceOracle, Models, Prover, State, Store};

const CHILD_ENV: &str = "ZKORACLE_FLEET_CHILD";
const KEY_ENV: &str = "ZKORACLE_FLEET_KEY";

/// What a child instance runs: its config, the model directory and the prover's extra latency.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildSpec {
    config: String,
    model_dir: PathBuf,
    model_id: String,
    delay_ms: u64,
}

/// The child process: one relayer instance until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the fleet tests as a child process"]
async fn fleet_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    common::init_tracing();
    let spec: ChildSpec = serde_json::from_str(&spec).unwrap();
    let config = Config::from_toml_str(&spec.config).unwrap();
    let model = Arc::new(zkoracle_prover::ProvingModel::load(&spec.model_dir).unwrap());
    let prover: Arc<dyn Prover> =
        Arc::new(fixture::Wrapped::slow(model, Duration::from_millis(spec.delay_ms)));
    let models = Models::from_provers([(spec.model_id.parse().unwrap(), prover)]);
    let r = zkoracle_relayer::run_with_models(config, models, std::future::pending()).await;
    panic!("relayer instance stopped: {r:?}");
}

/// One relayer instance as a child process, with its own key and HTTP port.
struct Instance {
    key: String,
    http: u16,
    spec: String,
    log: PathBuf,
    child: Option<Child>,
}

impl Instance {
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["fleet_child", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, &self.spec)
            .env(KEY_ENV, &self.key)
            .env("RUST_LOG", "zkoracle_relayer=info")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// `kill -9`, and reap it.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-KILL", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Config text of an instance (fast polling, short leases, one worker: a proving-bound instance).
fn config_text(chain: &Chain, database: &str, model: U256, http: u16, start_block: u64) -> String {
    format!(
        r#"
rpc_url = "{rpc}"
oracle = "{oracle}"
chain_id = 31337
start_block = {start_block}
confirmations = 2
poll_interval_ms = 200
rpc_timeout_ms = 3000
reorg_window = 64
database = "{database}"
workers = 1
queue_capacity = 1
deadline_margin_secs = 5
[fleet]
lease_secs = 3
takeover_before_deadline_secs = 60
[gas]
bump_after_secs = 20
rebroadcast_secs = 2
[http]
listen = "127.0.0.1:{http}"
[signer]
private_key_env = "{KEY_ENV}"
[[models]]
model_id = "{model}"
dir = "/unused"
"#,
        rpc = chain.anvil.endpoint(),
        oracle = chain.oracle,
    )
}

struct Fleet {
    instances: Vec<Instance>,
    addresses: Vec<Address>,
    _logs: tempfile::TempDir,
}

/// Starts `n` instances on `database` with anvil keys 3, 4, … (1 and 2 are the fixtures' relayer and
/// requester).
fn start_fleet(
    chain: &Chain,
    database: &str,
    model: U256,
    n: usize,
    delay_ms: u64,
    start_block: u64,
) -> Fleet {
    let logs = tempfile::tempdir().unwrap();
    let keys = chain.anvil.keys();
    let mut instances = vec![];
    let mut addresses = vec![];
    for i in 0..n {
        let http = common::free_port();
        let spec = ChildSpec {
            config: config_text(chain, database, model, http, start_block),
            model_dir: fixture::spread().dir.clone(),
            model_id: model.to_string(),
            delay_ms,
        };
        let mut inst = Instance {
            key: format!("0x{}", alloy::hex::encode(keys[3 + i].to_bytes())),
            http,
            spec: serde_json::to_string(&spec).unwrap(),
            log: logs.path().join(format!("instance{i}.log")),
            child: None,
        };
        inst.spawn();
        instances.push(inst);
        addresses.push(chain.anvil.addresses()[3 + i]);
    }
    Fleet { instances, addresses, _logs: logs }
}

impl Fleet {
    fn tail_logs(&self) -> String {
        self.instances
            .iter()
            .map(|i| {
                let text = std::fs::read_to_string(&i.log).unwrap_or_default();
                let tail: Vec<_> = text.lines().rev().take(15).collect();
                format!("--- {}\n{}", i.log.display(), tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `InferenceFulfilled` logs per request id and the block each was first mined in.
async fn fulfilments(chain: &Chain, from: u64) -> HashMap<U256, usize> {
    let f = Filter::new()
        .address(chain.oracle)
        .event_signature(IInferenceOracle::InferenceFulfilled::SIGNATURE_HASH)
        .from_block(from);
    let mut m = HashMap::new();
    for log in chain.owner.get_logs(&f).await.unwrap() {
        let ev = log.log_decode::<IInferenceOracle::InferenceFulfilled>().unwrap();
        *m.entry(ev.inner.data.requestId).or_default() += 1;
    }
    m
}

/// Sends `n` requests; returns their ids and when each was mined (as seen here).
async fn burst(chain: &Chain, model: U256, n: usize) -> Vec<(U256, Instant)> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let (id, _) = chain.request(model, &fixture::input(i as i64)).await;
        ids.push((id, Instant::now()));
    }
    ids
}

/// Polls the chain until every id is fulfilled, killing and restarting one instance every `chaos`
/// interval (round robin) meanwhile; returns each request's request → fulfilment latency and the kills.
async fn run_until_fulfilled(
    chain: &Chain,
    fleet: &mut Fleet,
    ids: &[(U256, Instant)],
    from_block: u64,
    chaos: Option<Duration>,
    timeout: Duration,
) -> (Vec<Duration>, usize) {
    let started = Instant::now();
    let mut seen_at: HashMap<U256, Instant> = HashMap::new();
    let mut kills = 0;
    let mut next_kill = chaos.map(|c| Instant::now() + c);
    while seen_at.len() < ids.len() {
        assert!(
            started.elapsed() < timeout,
            "timed out: {} of {} fulfilled\n{}",
            seen_at.len(),
            ids.len(),
            fleet.tail_logs()
        );
        if let (Some(at), Some(every)) = (next_kill, chaos) {
            if Instant::now() >= at {
                let n = fleet.instances.len();
                let victim = &mut fleet.instances[kills % n];
                victim.kill();
                tokio::time::sleep(Duration::from_millis(700)).await;
                victim.spawn();
                kills += 1;
                next_kill = Some(Instant::now() + every);
            }
        }
        for (id, _) in fulfilments(chain, from_block).await {
            seen_at.entry(id).or_insert_with(Instant::now);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let latencies = ids.iter().map(|(id, sent)| seen_at[id].saturating_duration_since(*sent)).collect();
    (latencies, kills)
}

/// After the burst: every request settled in the shared state, each fulfilled once on-chain, no key with a
/// pending transaction left (no nonce gap stuck), and any instance answers `GET /v1/requests/{id}`.
async fn check_settled(
    chain: &Chain,
    store: &Store,
    fleet: &Fleet,
    ids: &[(U256, Instant)],
    from_block: u64,
) {
    common::wait_for("every request confirmed in the shared state", Duration::from_secs(120), || async {
        let counts = store.state_counts().await.unwrap();
        let open: u64 = counts
            .iter()
            .filter(|(s, _)| matches!(s, State::Seen | State::Proving | State::Proved | State::Submitted))
            .map(|(_, n)| n)
            .sum();
        (open == 0).then_some(())
    })
    .await;
    let counts = fulfilments(chain, from_block).await;
    for (id, _) in ids {
        assert_eq!(counts.get(id), Some(&1), "request {id} fulfilled exactly once");
        let row = store.request(*id).await.unwrap().unwrap();
        assert_eq!(row.state, State::Confirmed, "request {id}: {:?}", row.reason);
    }
    for a in &fleet.addresses {
        common::wait_for("no pending transaction on any key", Duration::from_secs(60), || async {
            let latest = chain.owner.get_transaction_count(*a).await.unwrap();
            let pending = chain.owner.get_transaction_count(*a).pending().await.unwrap();
            (latest == pending).then_some(())
        })
        .await;
        assert!(
            store.open_submissions(*a).await.unwrap().iter().all(|s| s.mined),
            "nothing unmined left for {a}"
        );
    }
    let (id, _) = ids[ids.len() / 2];
    for inst in fleet.instances.iter().filter(|i| i.child.is_some()) {
        let body = http_get(inst.http, &format!("/v1/requests/{id}")).await;
        assert!(body.contains("\"state\":\"confirmed\""), "{body}");
    }
}

async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64()
}

/// Three instances, `n` requests, one instance SIGKILLed and restarted every `every`.
async fn chaos(n: usize, every: Duration, delay_ms: u64) {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let (model, _) = fixture::spread_model(&chain, Duration::ZERO).await;
    let pg = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let url = pg.database();
    let store = Store::connect(&url).await.unwrap();
    let from = chain.owner.get_block_number().await.unwrap();
    let mut fleet = start_fleet(&chain, &url, model, 3, delay_ms, from);
    let started = Instant::now();
    let ids = burst(&chain, model, n).await;
    let (mut lat, kills) = run_until_fulfilled(
        &chain,
        &mut fleet,
        &ids,
        from,
        Some(every),
        Duration::from_secs(60 + 3 * n as u64),
    )
    .await;
    let took = started.elapsed().as_secs_f64();
    check_settled(&chain, &store, &fleet, &ids, from).await;
    lat.sort();
    eprintln!(
        "fleet chaos: 3 instances, {n} requests, {kills} SIGKILLs, all fulfilled once in {took:.1}s; \
         request -> fulfil latency p50 {:.1}s p95 {:.1}s max {:.1}s",
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        percentile(&lat, 1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_sigkilled_during_a_burst_fulfil_each_request_once() {
    chaos(40, Duration::from_secs(2), 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the full burst: make fleet"]
async fn fleet_burst_of_300_with_sigkills() {
    chaos(300, Duration::from_secs(5), 300).await;
}

/// Throughput of 1, 2 and 3 instances on a proving-bound model (spread_mlp + `delay` per proof, one worker
/// per instance), no kills.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the throughput measurement: make fleet"]
async fn fleet_throughput_1_2_3_instances() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let (model, _) = fixture::spread_model(&chain, Duration::ZERO).await;
    let pg = tokio::task::spawn_blocking(Postgres::start).await.unwrap();
    let n = 30;
    for instances in 1..=3 {
        let url = pg.database();
        let from = chain.owner.get_block_number().await.unwrap();
        // Queue the burst first so every instance starts on a full backlog.
        let ids = burst(&chain, model, n).await;
        let mut fleet = start_fleet(&chain, &url, model, instances, 1000, from);
        let started = Instant::now();
        let (mut lat, _) =
            run_until_fulfilled(&chain, &mut fleet, &ids, from, None, Duration::from_secs(600)).await;
        let took = started.elapsed().as_secs_f64();
        lat.sort();
        eprintln!(
            "fleet throughput: {instances} instance(s), {n} requests (1 s proving-bound), {took:.1}s, {:.2} requests/s",
            n as f64 / took
        );
        drop(fleet);
    }
}

/// Two independent relayers (separate SQLite databases, separate keys) racing on one oracle: each request
/// fulfilled once on-chain, the loser marks it done (skipped: not pending, or a lost race).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_independent_relayers_race_each_request_fulfilled_once() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let (model, models) = fixture::spread_model(&chain, Duration::ZERO).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let keys = chain.anvil.keys();
    let mut daemons = vec![];
    let mut dbs = vec![];
    for (i, dir) in dirs.iter().enumerate() {
        let db = dir.path().join("relayer.sqlite");
        let mut cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, None);
        let var = format!("ZKORACLE_RACE_KEY_{i}");
        std::env::set_var(&var, format!("0x{}", alloy::hex::encode(keys[6 + i].to_bytes())));
        cfg.signer.private_key_env = Some(var);
        daemons.push(common::Daemon::start(cfg, models.clone()));
        dbs.push(db);
    }
    let ids = burst(&chain, model, 8).await;
    for (id, _) in &ids {
        for db in &dbs {
            common::wait_for("settled by both relayers", Duration::from_secs(120), || async {
                let (s, _) = common::db_state(db, *id)?;
                matches!(s, State::Confirmed | State::Skipped).then_some(())
            })
            .await;
        }
    }
    let counts = fulfilments(&chain, 0).await;
    let mut won = 0;
    for (id, _) in &ids {
        assert_eq!(counts.get(id), Some(&1), "request {id} fulfilled once");
        let states: Vec<_> = dbs.iter().map(|db| common::db_state(db, *id).unwrap()).collect();
        let confirmed = states.iter().filter(|(s, _)| *s == State::Confirmed).count();
        assert_eq!(confirmed, 1, "one winner for {id}: {states:?}");
        won += usize::from(states[0].0 == State::Confirmed);
    }
    eprintln!("race: relayer A won {won} of {}, relayer B {}", ids.len(), ids.len() - won);
    for d in daemons {
        d.stop().await;
    }
}
