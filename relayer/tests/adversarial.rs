//! The relayer under attack or misconfiguration, against a real anvil and the real InferenceOracle (issues
//! #14 and #22): each test performs the attack and fails on a relayer without the matching defence.
//!
//! Run: `cargo test -p zkoracle-relayer --test adversarial` (needs `npm ci` for anvil/forge).

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use alloy::{
    primitives::{Address, B256, U256},
    providers::{ext::AnvilApi, Provider},
};
use common::{fixture, Chain, Daemon};
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkoracle_relayer::{IInferenceOracle::RequestStatus, Models, Prover, State};

const MINUTE: Duration = Duration::from_secs(60);

async fn wait_state(db: &Path, id: U256, want: State, timeout: Duration) -> Option<String> {
    common::wait_for(&format!("request {id} -> {want:?}"), timeout, || async {
        match common::db_state(db, id) {
            Some((s, reason)) if s == want => Some(reason),
            _ => None,
        }
    })
    .await
}

/// Waits until the request leaves the live states and returns where it ended.
async fn wait_settled(db: &Path, id: U256) -> (State, Option<String>) {
    common::wait_for(&format!("request {id} settled"), 2 * MINUTE, || async {
        common::db_state(db, id)
            .filter(|(s, _)| matches!(s, State::Confirmed | State::Failed | State::Skipped | State::Dropped))
    })
    .await
}

fn row(db: &Path, id: U256) -> zkoracle_relayer::RequestRow {
    zkoracle_relayer::Db::open(db).unwrap().request(id).unwrap().unwrap()
}

/// Minimal HTTP/1.1 client with optional headers; returns (status, body). Panics after a minute.
async fn http(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let call = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out.split(' ').nth(1).unwrap().parse().unwrap();
        let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        (status, body)
    };
    tokio::time::timeout(MINUTE, call).await.expect("HTTP call answered within a minute")
}

fn addr() -> SocketAddr {
    format!("127.0.0.1:{}", common::free_port()).parse().unwrap()
}

/// Issue #14: a config that lacks a model must not lose that model's requests. The first run serves only
/// model A and skips B's requests as unknown; a restart with B served fulfils them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_skipped_for_a_missing_model_are_fulfilled_after_a_restart_with_it() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let (a, models_a) = fixture::spread_model(&chain, Duration::ZERO).await;
    let (b, models_b) = fixture::spread_model(&chain, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");

    let daemon =
        Daemon::start(common::config(&chain, &chain.anvil.endpoint(), &db, &models_a, None), models_a);
    let mut lost = vec![];
    for i in 0..3 {
        lost.push(chain.request(b, &fixture::input(i)).await.0);
    }
    for id in &lost {
        let reason = wait_state(&db, *id, State::Skipped, MINUTE).await.unwrap();
        assert!(reason.contains("unknown model"), "{reason}");
    }
    daemon.stop().await;

    let both = Models::from_provers([a, b].map(|id| {
        let p: Arc<dyn Prover> = fixture::spread().model.clone();
        (id, p)
    }));
    assert!(models_b.get(b).is_some());
    let daemon = Daemon::start(common::config(&chain, &chain.anvil.endpoint(), &db, &both, None), both);
    for id in &lost {
        wait_state(&db, *id, State::Confirmed, MINUTE).await;
        assert_eq!(chain.status(*id).await, RequestStatus::Fulfilled);
    }
    daemon.stop().await;
}

/// Issue #22 item 1: a requester contract whose callback burns its gas, and requests whose fee does not
/// cover the fulfilment, are skipped (before proving, or before signing when only the real gas estimate
/// shows it); a paying request with a callback is served. The relayer signs exactly one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_gas_drain_and_unprofitable_requests_are_skipped() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let paying = fixture::register_spread(&chain, U256::from(fixture::FEE)).await;
    let cheap = fixture::register_spread(&chain, U256::from(1)).await;
    let cheap_estimated_low = fixture::register_spread(&chain, U256::from(1)).await;
    let models = Models::from_provers([paying, cheap, cheap_estimated_low].map(|id| {
        let p: Arc<dyn Prover> = fixture::spread().model.clone();
        (id, p)
    }));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let http_addr = addr();
    let mut cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, Some(http_addr));
    cfg.profit.max_callback_gas = 500_000;
    // Its fulfilment is (wrongly) thought free before proving: only the check before signing catches it.
    cfg.models.iter_mut().find(|m| m.model_id == cheap_estimated_low).unwrap().fulfil_gas = Some(0);
    let daemon = Daemon::start(cfg, models);

    let burner = chain.deploy_consumer(common::BURN_GAS).await;
    let drain = chain.consumer_request(burner, paying, &fixture::input(1), 1_500_000).await;
    let (underpaid, _) = chain.request(cheap, &fixture::input(2)).await;
    let (underpaid_late, _) = chain.request(cheap_estimated_low, &fixture::input(3)).await;
    let served = chain.consumer_request(burner, paying, &fixture::input(4), 300_000).await;

    let reason = wait_state(&db, drain, State::Skipped, MINUTE).await.unwrap();
    assert!(reason.contains("max_callback_gas"), "{reason}");
    assert_eq!(row(&db, drain).prove_attempts, 0, "refused before proving");
    let reason = wait_state(&db, underpaid, State::Skipped, MINUTE).await.unwrap();
    assert!(reason.contains("unprofitable"), "{reason}");
    assert_eq!(row(&db, underpaid).prove_attempts, 0, "refused before proving");
    let reason = wait_state(&db, underpaid_late, State::Skipped, MINUTE).await.unwrap();
    assert!(reason.contains("unprofitable"), "{reason}");
    assert_eq!(row(&db, underpaid_late).prove_attempts, 1, "proved, then refused before signing");
    wait_state(&db, served, State::Confirmed, MINUTE).await;

    for id in [drain, underpaid, underpaid_late] {
        assert_eq!(chain.status(id).await, RequestStatus::Pending);
    }
    assert_eq!(chain.relayer_nonce().await, 1, "only the paying request cost the relayer gas");
    let (_, body) = http(http_addr, "GET", "/metrics", "", "").await;
    assert!(body.contains(r#"zkoracle_relayer_requests_skipped_total{reason="callback_gas"} 1"#), "{body}");
    assert!(body.contains(r#"zkoracle_relayer_requests_skipped_total{reason="unprofitable"} 2"#), "{body}");
    daemon.stop().await;
}

/// Issue #22 item 6: behind a stuck nonce, later fulfilments are not fee-bumped (they cannot be mined
/// before it), and the next nonce's bumps stop at the fee cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_next_nonce_is_bumped_and_never_above_the_cap() {
    // Nothing is mined from now on: every fulfilment stays in the pool.
    let common::Stalled { mut chain, models, ids, db, mut cfg, dir: _dir } = common::stalled(3).await;
    cfg.gas.bump_after_secs = 1;
    cfg.gas.rebroadcast_secs = 1;
    let (max_fee, _) = {
        let f = chain.owner.estimate_eip1559_fees().await.unwrap();
        (f.max_fee_per_gas, f.max_priority_fee_per_gas)
    };
    let cap = max_fee * 3;
    cfg.gas.max_fee_per_gas_wei = cap;
    let daemon = Daemon::start(cfg, models);

    let subs = common::wait_for("the next nonce bumped up to the cap", 2 * MINUTE, || async {
        let subs = zkoracle_relayer::Db::open(&db).ok()?.open_submissions(chain.relayer_address).ok()?;
        let first = subs.iter().find(|s| s.nonce == 0)?;
        (subs.len() == 3 && first.attempts.iter().any(|a| a.max_fee_per_gas == cap)).then_some(subs)
    })
    .await;
    for s in &subs {
        assert!(s.attempts.iter().all(|a| a.max_fee_per_gas <= cap), "nonce {}: above the cap", s.nonce);
        if s.nonce > 0 {
            assert_eq!(s.attempts.len(), 1, "nonce {} was bumped behind the stuck nonce 0", s.nonce);
        }
    }
    assert!(subs[0].attempts.len() >= 3);

    chain.owner.anvil_set_auto_mine(true).await.unwrap();
    chain.start_miner(Duration::from_millis(200));
    for id in &ids {
        wait_state(&db, *id, State::Confirmed, MINUTE).await;
    }
    assert_eq!(chain.relayer_nonce().await, 3);
    daemon.stop().await;
}

/// Issue #22 item 6: a pending fulfilment whose request expired can only revert; the relayer replaces it
/// with a self-transfer at its nonce instead of re-sending it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fulfilment_that_can_only_revert_is_cancelled() {
    let common::Stalled { mut chain, models, ids, db, mut cfg, dir: _dir } = common::stalled(1).await;
    let id = ids[0];
    cfg.gas.bump_after_secs = 3600;
    cfg.gas.rebroadcast_secs = 1;

    let daemon = Daemon::start(cfg.clone(), models.clone());
    let hash = common::wait_for("the fulfilment broadcast", MINUTE, || async {
        let subs = zkoracle_relayer::Db::open(&db).ok()?.open_submissions(chain.relayer_address).ok()?;
        let a = subs.first()?.attempts.first()?.clone();
        a.broadcast_at.map(|_| a.hash)
    })
    .await;
    daemon.kill().await;
    // The transaction leaves the pool and the request's deadline (one hour) passes.
    chain.owner.anvil_drop_transaction(hash).await.unwrap();
    chain.owner.anvil_increase_time(7200).await.unwrap();
    chain.owner.anvil_mine(Some(1), None).await.unwrap();
    chain.owner.anvil_set_auto_mine(true).await.unwrap();
    chain.start_miner(Duration::from_millis(200));

    let daemon = Daemon::start(cfg, models);
    let (state, reason) = wait_settled(&db, id).await;
    assert_eq!(state, State::Skipped, "{reason:?}");
    assert!(reason.unwrap().contains("cancelled"));
    assert_eq!(chain.relayer_nonce().await, 1);
    let tx: B256 = row(&db, id).fulfil_tx.unwrap().parse().unwrap();
    let receipt = chain.owner.get_transaction_receipt(tx).await.unwrap().unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.to, Some(chain.relayer_address), "a self-transfer, not a reverting fulfil");
    assert_eq!(chain.status(id).await, RequestStatus::Pending);
    daemon.stop().await;
}

/// Issue #22 item 7: `POST /v1/prove` is not on the metrics listener, needs its token, answers 429 when its
/// worker is busy, keeps the worker busy after a timeout (a proof still running holds it), and never takes
/// the on-chain worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prove_api_needs_a_token_and_cannot_starve_onchain_proving() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let model = fixture::register_spread(&chain, U256::from(fixture::FEE)).await;
    let (gate, handle) = fixture::Wrapped::gated(fixture::spread().model.clone());
    let gate: Arc<dyn Prover> = Arc::new(gate);
    let models = Models::from_provers([(model, gate)]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let (http_addr, api_addr) = (addr(), addr());
    let mut cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, Some(http_addr));
    cfg.workers = 1;
    let token = "test-token-0123456789";
    std::env::set_var("ZKORACLE_PROVE_API_TEST_TOKEN", token);
    cfg.prove_api.enabled = true;
    cfg.prove_api.listen = api_addr;
    cfg.prove_api.token_env = Some("ZKORACLE_PROVE_API_TEST_TOKEN".into());
    cfg.prove_api.timeout_secs = 2;
    cfg.validate().unwrap();
    let daemon = Daemon::start(cfg, models);
    common::wait_for("the proving API listening", MINUTE, || async {
        tokio::net::TcpStream::connect(api_addr).await.ok()
    })
    .await;

    let mut held = fixture::input(1);
    held[0] = fixture::Wrapped::HOLD;
    let body = |input: &[i64]| format!(r#"{{"model": "{model}", "input": {input:?}}}"#);
    let auth = format!("Authorization: Bearer {token}\r\n");
    let (code, _) = http(http_addr, "POST", "/v1/prove", &auth, &body(&fixture::input(2))).await;
    assert_eq!(code, 404, "not served next to /metrics");
    assert_eq!(http(http_addr, "GET", "/metrics", "", "").await.0, 200);
    let (code, _) = http(api_addr, "POST", "/v1/prove", "", &body(&fixture::input(2))).await;
    assert_eq!(code, 401, "no token");
    let wrong = "Authorization: Bearer test-token-0123456788\r\n";
    assert_eq!(http(api_addr, "POST", "/v1/prove", wrong, &body(&fixture::input(2))).await.0, 401);

    // A proof that outlives the timeout: 504, and it keeps its worker.
    let (code, body_504) = http(api_addr, "POST", "/v1/prove", &auth, &body(&held)).await;
    assert_eq!(code, 504, "{body_504}");
    tokio::task::block_in_place(|| handle.started.recv_timeout(MINUTE)).unwrap();
    let (code, _) = http(api_addr, "POST", "/v1/prove", &auth, &body(&fixture::input(2))).await;
    assert_eq!(code, 429, "the held proof still occupies the API's only worker");

    // On-chain work has its own worker (workers = 1) and is not held up.
    let (id, _) = chain.request(model, &fixture::input(3)).await;
    wait_state(&db, id, State::Confirmed, MINUTE).await;

    handle.release.send(()).unwrap();
    let ok = common::wait_for("the API worker free again", MINUTE, || async {
        let (code, body) = http(api_addr, "POST", "/v1/prove", &auth, &body(&fixture::input(2))).await;
        (code != 429).then_some((code, body))
    })
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    daemon.stop().await;
}

/// Issue #22 (low): a request whose gas estimate fails without revert data backs off alone instead of
/// holding up every later request; it is fulfilled once its estimate works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estimate_failing_without_revert_data_does_not_block_the_queue() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let (model, models) = fixture::spread_model(&chain, Duration::ZERO).await;
    let proxy = common::rpc_proxy::RpcProxy::start(common::anvil_addr(&chain)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let url = format!("http://{}/v2/SECRETKEY", proxy.addr);
    let cfg = common::config(&chain, &url, &db, &models, None);
    let mut ids = vec![];
    for i in 0..3 {
        ids.push(chain.request(model, &fixture::input(i)).await.0);
    }
    proxy.poison(ids[0]);
    let daemon = Daemon::start(cfg, models);
    for id in &ids[1..] {
        wait_state(&db, *id, State::Confirmed, MINUTE).await;
    }
    assert_eq!(common::db_state(&db, ids[0]).unwrap().0, State::Proved);
    proxy.cure(ids[0]);
    wait_state(&db, ids[0], State::Confirmed, MINUTE).await;
    assert_eq!(chain.relayer_nonce().await, 3);
    daemon.stop().await;
}

/// Issue #22 (low): the relayer refuses to serve a model id that is not registered, or whose registration
/// differs from its own key or from what the config pins, with a one-line error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mismatched_registration_is_refused_at_start() {
    let chain = Chain::start().await;
    let bad_digest = fixture::register_spread_with(&chain, |p| p.vkDigest = B256::repeat_byte(9)).await;
    let (good, _) = fixture::spread_model(&chain, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let start = |id: U256, edit: &dyn Fn(&mut zkoracle_relayer::ModelConfig)| {
        let p: Arc<dyn Prover> = fixture::spread().model.clone();
        let models = Models::from_provers([(id, p)]);
        let mut cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, None);
        edit(&mut cfg.models[0]);
        async move {
            let run = zkoracle_relayer::run_with_models(cfg, models, std::future::pending());
            let outcome = tokio::time::timeout(MINUTE, run).await.expect("refused at start, not served");
            let e = outcome.unwrap_err().to_string();
            assert!(!e.contains('\n'), "one line: {e}");
            e
        }
    };
    let e = start(U256::from(999), &|_| {}).await;
    assert!(e.contains("999") && e.contains("not registered"), "{e}");
    let e = start(bad_digest, &|_| {}).await;
    assert!(e.contains("vkDigest"), "{e}");
    let e = start(good, &|m| m.verifier = Some(Address::repeat_byte(7))).await;
    assert!(e.contains("verifier"), "{e}");
    let e = start(good, &|m| m.min_fee_wei = Some(U256::from(fixture::FEE) + U256::from(1))).await;
    assert!(e.contains("min_fee_wei"), "{e}");
    // A verifier whose code changed after registration: the oracle would reject every proof.
    let verifier = chain.oracle_as(&chain.owner).getModel(good).call().await.unwrap().params.verifier;
    chain.owner.anvil_set_code(verifier, alloy::primitives::Bytes::from_static(&[0x00])).await.unwrap();
    let e = start(good, &|_| {}).await;
    assert!(e.contains("code hash"), "{e}");
}
