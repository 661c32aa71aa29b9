//! End-to-end tests on a real anvil chain with the real forge scripts, verifiers and relayer:
//! `zkoracle demo` itself, the RiskParameterGate path through `zkoracle relay`, and the requests the oracle
//! or the relayer must refuse.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use alloy::primitives::{I256, U256};
use alloy::providers::DynProvider;
use alloy::sol_types::SolInterface;
use common::*;
use serde_json::Value;
use zkoracle_relayer::IInferenceOracle::{self, IInferenceOracleErrors, RequestStatus};
use zkoracle_relayer::{Db, State};

/// `contracts/RiskParameterGate.sol`, from its forge artifact (`make` builds `out/` first).
#[allow(clippy::too_many_arguments)]
mod gate {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc, all_derives)]
        RiskParameterGate,
        "out/RiskParameterGate.sol/RiskParameterGate.json"
    );
}
use gate::RiskParameterGate;

const FEE_WEI: u128 = 1_000_000_000_000_000;

fn ints(v: &[i64]) -> Vec<I256> {
    v.iter().map(|&x| I256::try_from(x).unwrap()).collect()
}

/// Moves `current` toward `target` by at most `step` (the pool's rule).
fn step_toward(current: i64, target: i64, step: i64) -> i64 {
    current + (target - current).clamp(-step, step)
}

/// Runs `zkoracle demo <args>` on a chain of its own; asserts it succeeded and printed `labels`. Returns its
/// `--json` summary, its stdout and the chain id.
fn run_demo(work: &tempfile::TempDir, args: &[&str], labels: &[&str]) -> (Value, String, u64) {
    let chain_id = unique_chain_id();
    let summary_path = work.path().join("summary.json");
    let mut cmd = zkoracle();
    cmd.arg("demo")
        .args(args)
        .args(["--chain-id", &chain_id.to_string(), "--timeout", "120"])
        .arg("--work-dir")
        .arg(work.path())
        .arg("--json")
        .arg(&summary_path);
    let out = output_within(cmd, Duration::from_secs(600));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    for label in labels {
        assert!(stdout.contains(label), "no `{label}` line in:\n{stdout}");
    }
    (serde_json::from_slice(&std::fs::read(&summary_path).unwrap()).unwrap(), stdout, chain_id)
}

#[test]
fn demo_runs_end_to_end_and_cleans_up() {
    let _lock = chain_lock();
    let work = work_dir("demo-");
    let (s, stdout, chain_id) =
        run_demo(&work, &[], &["request id", "proving time", "fulfil gas", "spread", "swap quote"]);
    let int = |k: &str| s[k].as_i64().unwrap_or_else(|| panic!("{k} missing in {s}"));
    let dec = |k: &str| s[k].as_str().unwrap().parse::<U256>().unwrap();
    assert_eq!(dec("request_id"), U256::from(1));
    assert_eq!(s["relayer_state"], "confirmed", "the relayer settled its own fulfilment");
    assert_eq!(s["features"].as_array().unwrap().len(), 8);
    assert!(int("proving_ms") > 0);
    assert!(int("fulfil_gas") > 100_000, "a verified fulfilment costs more than {}", int("fulfil_gas"));
    // The verified output is the model's: close to float inference on the pool's features.
    let circuit: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("spread_mlp/circuit.json")).unwrap()).unwrap();
    let (in_scale, out_scale) =
        (circuit["scale"].as_i64().unwrap(), circuit["output_scale"].as_i64().unwrap());
    let features: Vec<f64> = s["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_f64().unwrap() / f64::powi(2.0, in_scale as i32))
        .collect();
    let onnx = zkoracle_prover::OnnxModel::load(&root().join("models/spread_mlp.onnx")).unwrap();
    let float = onnx.float_inference(&[vec![1, 8]], &features).unwrap()[0];
    let verified = int("model_output") as f64 / f64::powi(2.0, out_scale as i32);
    assert!((verified - float).abs() < 0.05, "verified output {verified} vs float {float}");
    // The pool read it at the registered output scale: fee = clamp(max(y, 0) * 100 bps >> scale, 5, 100).
    let target = ((int("model_output").max(0) * 100) >> out_scale).clamp(5, 100);
    assert_eq!(int("target_fee_bps"), target);
    assert_eq!(int("fee_before_bps"), 30, "the pool starts at its default spread");
    assert_eq!(int("fee_after_bps"), step_toward(30, int("target_fee_bps"), 10));
    assert_eq!(dec("swap_out"), dec("quote_after"), "the executed swap pays what was quoted");
    assert_eq!(dec("quote_before") == dec("quote_after"), int("fee_before_bps") == int("fee_after_bps"));

    // The relayer's own record: proved and confirmed.
    let db = Db::open(&work.path().join("relayer.sqlite")).unwrap();
    let row = db.request(U256::from(1)).unwrap().unwrap();
    assert_eq!(row.state, State::Confirmed, "{row:?}");
    assert_eq!(row.output.unwrap(), vec![int("model_output")]);

    // anvil is gone, and the checkout has no address book or forge records of this chain.
    let endpoint = stdout.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).unwrap();
    assert!(!is_listening(endpoint), "anvil at {endpoint} is still running");
    assert!(!root().join(format!("deployments/{chain_id}.json")).exists());
    assert!(!root().join(format!("broadcast/01_DeployOracle.s.sol/{chain_id}")).exists());
    assert!(work.path().join("deployments.json").is_file());
}

#[test]
fn demo_uniswap_v4_moves_the_pool_fee() {
    let _lock = chain_lock();
    let work = work_dir("demo-v4-");
    let labels = ["hook", "request id", "fulfil gas", "LP fee", "pool slot0", "swap quote"];
    let (s, _, chain_id) = run_demo(&work, &["--consumer", "uniswap-v4"], &labels);
    let int = |k: &str| s[k].as_i64().unwrap_or_else(|| panic!("{k} missing in {s}"));
    let dec = |k: &str| s[k].as_str().unwrap().parse::<U256>().unwrap();
    assert_eq!(s["consumer"], "uniswap-v4");
    assert_eq!(s["relayer_state"], "confirmed");
    assert_eq!(s["features"].as_array().unwrap().len(), 8);
    // script 05's rails: fee 5..100 bps, base 30, step 10, 100 bps per unit of output (output scale from circuit.json)
    let circuit: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("spread_mlp/circuit.json")).unwrap()).unwrap();
    let out_scale = circuit["output_scale"].as_i64().unwrap();
    assert_eq!(int("target_fee_bps"), ((int("model_output").max(0) * 100) >> out_scale).clamp(5, 100));
    assert_eq!(int("fee_before_bps"), 30, "the hook starts at its base fee");
    assert_eq!(int("fee_after_bps"), step_toward(30, int("target_fee_bps"), 10));
    // The pool's own LP fee (slot0, hundredths of a bps) followed, and the swap paid it.
    assert_eq!(int("lp_fee_before"), 3000);
    assert_eq!(int("lp_fee_after"), int("fee_after_bps") * 100);
    assert_eq!(int("swap_fee"), int("lp_fee_after"));
    assert_eq!(dec("swap_out"), dec("quote_after"), "the executed swap pays what was quoted");
    assert_eq!(dec("quote_before") == dec("quote_after"), int("fee_before_bps") == int("fee_after_bps"));
    assert!(!root().join(format!("deployments/{chain_id}.json")).exists());
}

/// The decoded custom error of a reverted oracle call.
fn oracle_error(e: alloy::contract::Error) -> IInferenceOracleErrors {
    let data = e.as_revert_data().unwrap_or_else(|| panic!("not a revert: {e}"));
    IInferenceOracleErrors::abi_decode(&data).unwrap()
}

async fn status(oracle: &IInferenceOracle::IInferenceOracleInstance<DynProvider>, id: U256) -> RequestStatus {
    oracle.getRequestStatus(id).call().await.unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_gate_path_and_refused_requests() {
    let _lock = chain_lock();
    let work = work_dir("risk-");
    let spread = ModelDir::prepare(work.path(), "spread_mlp");
    let risk = ModelDir::prepare(work.path(), "risk_mlp");
    let chain = TestChain::start();

    // Deploy as a user would: oracle, verifiers, registrations, consumers.
    chain.script("01_DeployOracle.s.sol", &[]);
    let spread_id = chain.register(&spread, "spread_mlp", None, FEE_WEI);
    // The risk model's verifier keeps its verifying key in a separate contract (the layout for models
    // whose embedded verifier would exceed EIP-170).
    let risk_verifier = chain.deploy_separate_verifier(&risk, "risk_mlp");
    let risk_id = chain.register(&risk, "risk_mlp", Some(risk_verifier), FEE_WEI);
    let unserved_id = chain.register(&risk, "unserved", Some(chain.address("risk_mlpVerifier")), FEE_WEI);
    chain.script("04_DeployConsumers.s.sol", &[]);
    let oracle_addr = chain.address("InferenceOracle");
    let gate_addr = chain.address("RiskParameterGate");
    assert_eq!((spread_id, risk_id, unserved_id), (1, 2, 3));

    let p = chain.provider(0).await;
    let oracle = IInferenceOracle::new(oracle_addr, p.clone());
    let gate = RiskParameterGate::new(gate_addr, p.clone());
    let config = relayer_config(
        work.path(),
        &chain,
        &oracle_addr.to_string(),
        block_number(&p).await,
        &[(spread_id, &spread.dir), (risk_id, &risk.dir)],
    );
    let mut relay = RelayProcess::spawn(&config, RELAYER_KEY_ENV, &chain.key_hex(1));
    relay.wait_started(Duration::from_secs(60));
    let fee = U256::from(FEE_WEI);
    let features = risk.sample_input();
    let max = risk.max_abs_input();

    // Refused by the oracle, with its custom errors.
    let err =
        oracle.requestInference(U256::from(999), ints(&features), 0).value(fee).call().await.unwrap_err();
    assert!(
        matches!(oracle_error(err), IInferenceOracleErrors::UnknownModel(e) if e.modelId == U256::from(999))
    );
    let short = &features[..features.len() - 1];
    let err =
        oracle.requestInference(U256::from(risk_id), ints(short), 0).value(fee).call().await.unwrap_err();
    match oracle_error(err) {
        IInferenceOracleErrors::InputLengthMismatch(e) => {
            assert_eq!((e.expected, e.actual), (U256::from(features.len()), U256::from(short.len())));
        }
        other => panic!("expected InputLengthMismatch, got {other:?}"),
    }
    let mut wide = features.clone();
    wide[3] = -(max + 1);
    let err =
        oracle.requestInference(U256::from(risk_id), ints(&wide), 0).value(fee).call().await.unwrap_err();
    match oracle_error(err) {
        IInferenceOracleErrors::InputOutOfRange(e) => {
            assert_eq!((e.index, e.value), (U256::from(3), I256::try_from(-(max + 1)).unwrap()));
        }
        other => panic!("expected InputOutOfRange, got {other:?}"),
    }
    let err = oracle.requestInference(U256::from(risk_id), ints(&features), 0).call().await.unwrap_err();
    assert!(matches!(oracle_error(err), IInferenceOracleErrors::IncorrectFee(e) if e.required == fee));
    // The edge of the calibrated range is accepted (dry run).
    let mut edge = features.clone();
    edge[0] = max;
    oracle.requestInference(U256::from(risk_id), ints(&edge), 0).value(fee).call().await.unwrap();
    assert_eq!(oracle.requestCount().call().await.unwrap(), U256::ZERO, "refused calls left no request");

    // A valid request for a model this relayer does not serve: accepted on-chain, skipped by the relayer.
    let tx =
        oracle.requestInference(U256::from(unserved_id), ints(&features), 0).value(fee).send().await.unwrap();
    assert!(tx.get_receipt().await.unwrap().status());
    let unserved_req = U256::from(1);
    let db_path = work.path().join("relayer.sqlite");
    let reason = wait_for("the relayer to skip the unserved request", Duration::from_secs(60), || {
        relay.assert_running();
        let db = Db::open(&db_path).ok();
        async move {
            let row = db?.request(unserved_req).ok()??;
            (row.state == State::Skipped).then(|| row.reason.unwrap_or_default())
        }
    })
    .await;
    assert!(reason.contains("unknown model"), "{reason}");
    assert_eq!(status(&oracle, unserved_req).await, RequestStatus::Pending);

    // The risk path: the keeper asks, the relayer proves, the gate moves inside its rails.
    let expected = risk.expected_outputs();
    let preview = gate.preview(ints(&expected)).call().await.unwrap();
    // `IRiskParameterGate.RejectReason.None` (an ABI artifact carries the enum as its uint8).
    assert_eq!(preview.reason, 0);
    // The gate's rails (script/04): LTV 50..80% stepping 2%, LT 60..90% stepping 3%, from 70% / 75%, with
    // outputs read at the model's output scale.
    let bps = |y: i64| (y.max(0) * 10_000) >> risk.output_scale();
    let ltv = step_toward(7000, bps(expected[0]).clamp(5000, 8000), 200);
    let lt = step_toward(7500, bps(expected[1]).clamp(6000, 9000), 300);
    assert_eq!((i64::from(preview.newLtvBps), i64::from(preview.newLiquidationThresholdBps)), (ltv, lt));
    let (ltv0, lt0) =
        (gate.ltvBps().call().await.unwrap(), gate.liquidationThresholdBps().call().await.unwrap());
    // The gate's request also pays for its callback gas.
    let gate_gas = gate.callbackGasLimit().call().await.unwrap();
    let gate_fee = oracle.estimateFee(U256::from(risk_id), gate_gas).call().await.unwrap();
    let tx = gate.requestUpdate(ints(&features)).value(gate_fee).send().await.unwrap();
    assert!(tx.get_receipt().await.unwrap().status());
    let id = gate.pendingRequestId().call().await.unwrap();
    assert_eq!(id, U256::from(2));
    wait_for("the risk request's fulfilment", Duration::from_secs(120), || {
        relay.assert_running();
        let oracle = oracle.clone();
        async move { (status(&oracle, id).await == RequestStatus::Fulfilled).then_some(()) }
    })
    .await;
    let result: Vec<I256> = oracle.getResult(id).call().await.unwrap();
    assert_eq!(result, ints(&expected), "the relayer posted the locally proven output");
    assert_eq!(gate.ltvBps().call().await.unwrap(), preview.newLtvBps);
    assert_eq!(gate.liquidationThresholdBps().call().await.unwrap(), preview.newLiquidationThresholdBps);
    assert_ne!(
        (preview.newLtvBps, preview.newLiquidationThresholdBps),
        (ltv0, lt0),
        "the sample moves the rails"
    );
    assert_eq!(gate.pendingRequestId().call().await.unwrap(), U256::ZERO);
    assert_eq!(status(&oracle, unserved_req).await, RequestStatus::Pending, "still unanswered");
    let row = wait_for("the relayer to confirm its fulfilment", Duration::from_secs(30), || {
        let db = Db::open(&db_path).ok();
        async move {
            let row = db?.request(id).ok()??;
            matches!(row.state, State::Confirmed | State::Failed | State::Skipped).then_some(row)
        }
    })
    .await;
    assert_eq!(row.state, State::Confirmed, "{:?}", row.reason);
    assert_eq!(row.output.unwrap(), expected);

    let exit = relay.stop();
    assert!(exit.success(), "the relayer did not shut down cleanly on SIGTERM: {exit}");
}
