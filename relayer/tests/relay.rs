//! End-to-end tests of the relayer against a real anvil and the real InferenceOracle.
//!
//! Run: `cargo test -p zkoracle-relayer --test relay` (needs `npm ci` for anvil/forge).

#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use alloy::{
    primitives::{I256, U256},
    providers::{ext::AnvilApi, Provider},
    rpc::types::{
        anvil::{ReorgOptions, TransactionData},
        Filter,
    },
    sol_types::SolEvent,
};
use common::{fixture, Chain, Daemon, Proxy};
use std::{collections::HashMap, net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zkoracle_relayer::{IInferenceOracle::RequestStatus, State};

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

/// The proving API's bearer token in the happy-path test.
const TOKEN: &str = "relay-test-token-0123456789";

/// Minimal HTTP/1.1 client (GET or POST with a JSON body, the bearer token on POST); returns (status, body).
async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = if body.is_some() { format!("Authorization: Bearer {TOKEN}\r\n") } else { String::new() };
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// `InferenceFulfilled` counts per request id on the canonical chain.
async fn fulfilments(chain: &Chain) -> HashMap<U256, usize> {
    let f = Filter::new()
        .address(chain.oracle)
        .event_signature(zkoracle_relayer::IInferenceOracle::InferenceFulfilled::SIGNATURE_HASH)
        .from_block(0);
    let mut m = HashMap::new();
    for log in chain.owner.get_logs(&f).await.unwrap() {
        let ev = log.log_decode::<zkoracle_relayer::IInferenceOracle::InferenceFulfilled>().unwrap();
        *m.entry(ev.inner.data.requestId).or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_api_metrics_and_unknown_model() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let (model, models) = fixture::spread_model(&chain, Duration::ZERO).await;
    // A second registered model this relayer does not serve.
    let (other_model, _) = fixture::spread_model(&chain, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let addr: SocketAddr = format!("127.0.0.1:{}", common::free_port()).parse().unwrap();
    let api: SocketAddr = format!("127.0.0.1:{}", common::free_port()).parse().unwrap();
    let mut cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, Some(addr));
    cfg.prove_api.enabled = true;
    cfg.prove_api.listen = api;
    cfg.prove_api.token = Some(TOKEN.into());
    let daemon = Daemon::start(cfg, models);

    let input = fixture::input(1);
    let (id, _) = chain.request(model, &input).await;
    let (unknown, _) = chain.request(other_model, &fixture::input(2)).await;
    wait_state(&db, id, State::Confirmed, MINUTE).await;
    let reason = wait_state(&db, unknown, State::Skipped, MINUTE).await.unwrap();
    assert!(reason.contains("unknown model"), "{reason}");

    assert_eq!(chain.status(id).await, RequestStatus::Fulfilled);
    assert_eq!(chain.status(unknown).await, RequestStatus::Pending);
    let result = chain.oracle_as(&chain.owner).getResult(id).call().await.unwrap();
    let proven = zkoracle_relayer::Db::open(&db).unwrap().request(id).unwrap().unwrap().output.unwrap();
    assert_eq!(result, proven.iter().map(|&v| I256::try_from(v).unwrap()).collect::<Vec<_>>());
    assert_eq!(chain.fulfil_count(id).await, 1);
    assert_eq!(chain.relayer_nonce().await, 1);

    let (code, body) = http(addr, "GET", &format!("/v1/requests/{id}"), None).await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["state"], "confirmed");
    assert_eq!(v["output"][0], proven[0]);
    assert!(v["fulfil_tx"].as_str().unwrap().starts_with("0x"));
    assert_eq!(http(addr, "GET", "/v1/requests/999", None).await.0, 404);

    let (code, body) = http(addr, "GET", "/metrics", None).await;
    assert_eq!(code, 200);
    assert!(body.contains("zkoracle_relayer_requests_fulfilled_total 1"), "{body}");
    assert!(body.contains(r#"zkoracle_relayer_requests_skipped_total{reason="unknown_model"} 1"#), "{body}");
    assert!(body.contains("zkoracle_relayer_proving_seconds_count 1"), "{body}");
    assert!(body.contains("zkoracle_relayer_wallet_balance_eth"), "{body}");
    let (code, body) = http(addr, "GET", "/healthz", None).await;
    assert_eq!(code, 200, "{body}");

    let req = format!(r#"{{"model": "{model}", "input": {:?}}}"#, input);
    let (code, body) = http(api, "POST", "/v1/prove", Some(&req)).await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["outputs_quantized"][0], proven[0], "same input, same proven output");
    // 8 inputs, 1 output and the fulfiller (the zero address: the request named none).
    assert_eq!(v["instances"].as_array().unwrap().len(), 10);
    assert!(v["proof"].as_str().unwrap().starts_with("0x"));
    assert!(v["calldata"].as_str().unwrap().starts_with("0x"));
    let (code, body) = http(api, "POST", "/v1/prove", Some(r#"{"model": 1, "input": [1]}"#)).await;
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("wrong input length"), "{body}");
    let (code, _) =
        http(api, "POST", "/v1/prove", Some(r#"{"model": 77, "input": [1, 2, 3, 4, 5, 6, 7, 8]}"#)).await;
    assert_eq!(code, 404);

    daemon.stop().await;
}

/// A transient proving failure (an I/O error) is retried with backoff, not turned into a `failed` request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_proving_failures_are_retried() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let model = fixture::register_spread(&chain, alloy::primitives::U256::from(fixture::FEE)).await;
    let flaky = Arc::new(fixture::Wrapped::flaky(fixture::spread().model.clone(), 2));
    let models =
        zkoracle_relayer::Models::from_provers([(model, flaky.clone() as Arc<dyn zkoracle_relayer::Prover>)]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let addr: SocketAddr = format!("127.0.0.1:{}", common::free_port()).parse().unwrap();
    let cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, Some(addr));
    let daemon = Daemon::start(cfg, models);

    let (id, _) = chain.request(model, &fixture::input(3)).await;
    wait_state(&db, id, State::Confirmed, MINUTE).await;
    assert_eq!(flaky.failures_left(), 0, "both injected failures were met");
    assert_eq!(chain.status(id).await, RequestStatus::Fulfilled);
    assert_eq!(chain.fulfil_count(id).await, 1);
    let (_, body) = http(addr, "GET", "/metrics", None).await;
    assert!(body.contains("zkoracle_relayer_prove_retries_total 2"), "{body}");
    assert!(body.contains("zkoracle_relayer_requests_failed_total 0"), "{body}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_and_restart_mid_proving_and_at_random_points() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(200));
    let (model, models) = fixture::spread_model(&chain, Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, None);

    // Kill while a proof is running; the restart re-proves from the persisted `seen`.
    let daemon = Daemon::start(cfg.clone(), models.clone());
    let (first, _) = chain.request(model, &fixture::input(0)).await;
    wait_state(&db, first, State::Proving, MINUTE).await;
    daemon.kill().await;
    assert_eq!(common::db_state(&db, first).unwrap().0, State::Proving);

    // Then kill/restart every 0.3–1.7 s while 12 more requests flow through.
    let mut ids = vec![first];
    for i in 0..12 {
        ids.push(chain.request(model, &fixture::input(i)).await.0);
    }
    for round in 0..10u64 {
        let d = Daemon::start(cfg.clone(), models.clone());
        tokio::time::sleep(Duration::from_millis(300 + (round * 397) % 1400)).await;
        d.kill().await;
    }
    let daemon = Daemon::start(cfg, models);
    for id in &ids {
        wait_state(&db, *id, State::Confirmed, 2 * MINUTE).await;
    }
    let counts = fulfilments(&chain).await;
    for id in &ids {
        assert_eq!(counts.get(id), Some(&1), "request {id}");
    }
    // Exactly one transaction per request: nothing was signed twice or wasted.
    assert_eq!(chain.relayer_nonce().await, ids.len() as u64);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_drop_removed_requests_and_process_reincluded_ones_once() {
    let chain = Chain::start().await;
    let (model, models) = fixture::spread_model(&chain, Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, None);
    let daemon = Daemon::start(cfg, models);
    let mine = |n: u64| {
        let p = chain.owner.clone();
        async move { p.anvil_mine(Some(n), None).await.unwrap() }
    };

    // 1. A request whose log is removed while it is being proved: dropped, never submitted.
    let (gone, block) = chain.request(model, &fixture::input(3)).await;
    mine(2).await;
    wait_state(&db, gone, State::Proving, MINUTE).await;
    let head = chain.owner.get_block_number().await.unwrap();
    chain.owner.anvil_reorg(ReorgOptions { depth: head - block + 1, tx_block_pairs: vec![] }).await.unwrap();
    mine(1).await;
    wait_state(&db, gone, State::Dropped, MINUTE).await;
    tokio::time::sleep(Duration::from_secs(3)).await; // the proof finishes meanwhile and is discarded
    assert_eq!(common::db_state(&db, gone).unwrap().0, State::Dropped);
    assert_eq!(chain.relayer_nonce().await, 0);

    // 2. A fulfilled request reorged out and re-included (the id counter was rolled back too, so it reuses
    //    `gone`'s id with a different input: it must be proved afresh): fulfilled once on the final chain, same tx.
    let (id, block) = chain.request(model, &fixture::input(4)).await;
    let req_tx = {
        let b = chain.owner.get_block_by_number(block.into()).await.unwrap().unwrap();
        let h = b.transactions.hashes().next().unwrap();
        chain.owner.get_raw_transaction_by_hash(h).await.unwrap().unwrap()
    };
    mine(2).await;
    common::wait_for("fulfilment mined", MINUTE, || async {
        (chain.status(id).await == RequestStatus::Fulfilled).then_some(())
    })
    .await;
    mine(3).await;
    wait_state(&db, id, State::Confirmed, MINUTE).await;
    assert_eq!(chain.relayer_nonce().await, 1);

    let head = chain.owner.get_block_number().await.unwrap();
    let reorg =
        ReorgOptions { depth: head - block + 1, tx_block_pairs: vec![(TransactionData::Raw(req_tx), 0)] };
    chain.owner.anvil_reorg(reorg).await.unwrap();
    assert_eq!(chain.relayer_nonce().await, 0, "the reorg removed the fulfilment");
    let mut chain = chain;
    chain.start_miner(Duration::from_millis(200));
    common::wait_for("re-fulfilled", 2 * MINUTE, || async {
        (chain.status(id).await == RequestStatus::Fulfilled).then_some(())
    })
    .await;
    wait_state(&db, id, State::Confirmed, MINUTE).await;
    assert_eq!(chain.fulfil_count(id).await, 1);
    assert_eq!(chain.relayer_nonce().await, 1, "the persisted fulfilment was re-broadcast, not re-signed");
    daemon.stop().await;
}

async fn outage(ws: bool, down: Duration) {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(250));
    let (model, models) = fixture::spread_model(&chain, Duration::ZERO).await;
    let mut proxy = Proxy::start(common::anvil_addr(&chain)).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let url = if ws { proxy.ws_url() } else { proxy.http_url() };
    let cfg = common::config(&chain, &url, &db, &models, None);
    let daemon = Daemon::start(cfg, models);

    let (before, _) = chain.request(model, &fixture::input(0)).await;
    wait_state(&db, before, State::Confirmed, MINUTE).await;
    proxy.cut();
    let mut during = vec![];
    for i in 0..3 {
        during.push(chain.request(model, &fixture::input(i + 1)).await.0);
    }
    tokio::time::sleep(down).await;
    assert!(!daemon.is_finished(), "the daemon must survive the outage");
    for id in &during {
        assert_eq!(chain.status(*id).await, RequestStatus::Pending);
    }
    proxy.restore().await;
    for id in &during {
        wait_state(&db, *id, State::Confirmed, 2 * MINUTE).await;
    }
    let counts = fulfilments(&chain).await;
    for id in during.iter().chain([&before]) {
        assert_eq!(counts.get(id), Some(&1));
    }
    assert_eq!(chain.relayer_nonce().await, 4);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_rpc_down_for_30s_then_back() {
    outage(true, Duration::from_secs(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_rpc_down_then_back() {
    outage(false, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_200_requests_each_fulfilled_exactly_once() {
    let mut chain = Chain::start().await;
    chain.start_miner(Duration::from_millis(500));
    let (model, models) = fixture::spread_model(&chain, Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relayer.sqlite");
    let cfg = common::config(&chain, &chain.anvil.endpoint(), &db, &models, None);
    let daemon = Daemon::start(cfg, models);
    let started = std::time::Instant::now();
    let mut ids = Vec::with_capacity(200);
    for i in 0..200i64 {
        ids.push(chain.request(model, &fixture::input(i)).await.0);
    }
    // One deadline for the whole burst (~55 s alone on 2 cores; longer beside the other tests).
    let deadline = std::time::Instant::now() + 8 * MINUTE;
    for id in &ids {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        wait_state(&db, *id, State::Confirmed, left).await;
    }
    eprintln!("200 requests fulfilled and confirmed in {:.1}s", started.elapsed().as_secs_f64());
    let counts = fulfilments(&chain).await;
    assert_eq!(counts.len(), 200);
    assert!(counts.values().all(|&n| n == 1));
    assert_eq!(chain.relayer_nonce().await, 200);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_fulfilment_is_replaced_with_bumped_fees_same_nonce() {
    // Nothing gets mined from now on until we say so: the fulfilment is stuck in the pool.
    let common::Stalled { mut chain, models, ids, db, mut cfg, dir: _dir } = common::stalled(1).await;
    let id = ids[0];
    cfg.gas.bump_after_secs = 2;
    let daemon = Daemon::start(cfg, models);
    let sub = common::wait_for("a fee-bumped replacement", MINUTE, || async {
        let subs = zkoracle_relayer::Db::open(&db).ok()?.open_submissions(chain.relayer_address).ok()?;
        subs.into_iter().next().filter(|s| s.attempts.len() >= 2)
    })
    .await;
    let (first, second) = (&sub.attempts[0], &sub.attempts[1]);
    assert!(second.max_fee_per_gas * 10 >= first.max_fee_per_gas * 12, "+20% (fee_bump_bps = 2000)");
    assert!(second.max_priority_fee_per_gas * 10 >= first.max_priority_fee_per_gas * 12);
    assert_eq!(chain.status(id).await, RequestStatus::Pending);

    chain.owner.anvil_set_auto_mine(true).await.unwrap();
    chain.start_miner(Duration::from_millis(200));
    wait_state(&db, id, State::Confirmed, MINUTE).await;
    let row = zkoracle_relayer::Db::open(&db).unwrap().request(id).unwrap().unwrap();
    let mined = row.fulfil_tx.unwrap();
    assert!(sub.attempts[1..].iter().any(|a| a.hash.to_string() == mined), "a replacement was mined");
    assert_eq!(chain.fulfil_count(id).await, 1);
    assert_eq!(chain.relayer_nonce().await, 1, "replacements share the nonce");
    daemon.stop().await;
}
