//! Hidden weights (`compile --params private`) through the CLI and on a real chain: two models of one
//! architecture share keys and verifier, the registry binds each to its weights' commitment, and a proof made
//! with one model's weights cannot fulfil a request to the other.
#![allow(missing_docs, clippy::unwrap_used)]

mod common;

use std::time::Duration;

use alloy::primitives::{Address, Bytes, I256, U256};
use alloy::sol_types::SolInterface;
use common::*;
use serde_json::Value;
use zkoracle_relayer::IInferenceOracle::{self, IInferenceOracleErrors, RequestStatus};

/// Covers a private fulfilment (the knowledge proof and weight columns add about 100k gas to the verifier)
/// at anvil's gas price with the relayer's 20% margin.
const FEE_WEI: u128 = 3_000_000_000_000_000;

fn ints(v: &[i64]) -> Vec<I256> {
    v.iter().map(|&x| I256::try_from(x).unwrap()).collect()
}

/// `zkoracle prove` of the model's sample input for `fulfiller`: (quantized outputs, proof bytes, the weights
/// commitment's instance words as `zkoracle commit` prints them).
fn prove(model: &ModelDir, fulfiller: Address) -> (Vec<i64>, Bytes, String) {
    let data = root().join(format!("models/{}.input.json", model.name));
    let out = model.dir.join("proof.json");
    let d = model.dir.to_str().unwrap();
    let who = fulfiller.to_string();
    run_ok(&["prove", d, "--data", data.to_str().unwrap(), "-o", out.to_str().unwrap(), "--fulfiller", &who]);
    run_ok(&["verify", d, out.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let outputs: Vec<i64> =
        v["outputs_quantized"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
    let proof: Bytes = v["proof"].as_str().unwrap().parse().unwrap();
    let instances: Vec<&str> =
        v["instances"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    let first = v["inputs_quantized"].as_array().unwrap().len() + outputs.len();
    (outputs, proof, instances[first..instances.len() - 1].join(","))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_models_share_a_verifier_and_bind_their_commitments() {
    let _lock = chain_lock();
    let work = work_dir("private-");
    let a = ModelDir::prepare_with(work.path(), "a", "spread_mlp", &["--params", "private"]);
    let a_dir = a.dir.to_str().unwrap().to_string();
    let b = ModelDir::prepare_with(
        work.path(),
        "b",
        "spread_mlp_alt",
        &["--params", "private", "--like", &a_dir],
    );

    // One architecture, one verifier: keys and Solidity are identical, weights appear in neither.
    assert_eq!(a.vk_digest, b.vk_digest);
    for f in ["vk.bin", "pk.bin", "Verifier.sol", "Verifier.bytecode"] {
        assert!(
            std::fs::read(a.dir.join(f)).unwrap() == std::fs::read(b.dir.join(f)).unwrap(),
            "{f} differs"
        );
    }
    let (ca, cb) = (a.weights_commitment().unwrap(), b.weights_commitment().unwrap());
    assert_ne!(ca, cb);
    let err = run_err(&["commit", root().join("models").to_str().unwrap()]);
    assert!(err.contains("circuit.json"), "{err}");
    // Proofs for the account that will send `fulfill` (the chain's first key).
    let chain = TestChain::start();
    let (out_a, proof_a, commit_a) = prove(&a, chain.key(0).address());
    let (out_b, proof_b, _) = prove(&b, chain.key(0).address());
    assert_eq!(commit_a, ca, "the proof carries A's commitment");
    assert_ne!(out_a, out_b);
    // A's proof checked against B's model directory names the mismatch.
    let err = run_err(&["verify", b.dir.to_str().unwrap(), a.dir.join("proof.json").to_str().unwrap()]);
    assert!(err.contains("other weights"), "{err}");

    // On-chain: one verifier, two registrations with their own commitments.
    chain.script("01_DeployOracle.s.sol", &[]);
    let id_a = chain.register(&a, "private_a", None, FEE_WEI);
    let id_b = chain.register(&b, "private_b", Some(chain.address("private_aVerifier")), FEE_WEI);
    let p = chain.provider(0).await;
    let oracle = IInferenceOracle::new(chain.address("InferenceOracle"), p.clone());
    let model_b = oracle.getModel(U256::from(id_b)).call().await.unwrap();
    let words: Vec<U256> = cb.split(',').map(|w| w.parse().unwrap()).collect();
    assert_eq!(model_b.params.weightsCommitment, words);

    let fee = U256::from(FEE_WEI);
    let input = ints(&a.sample_input());
    let mut ids = vec![];
    for model in [id_a, id_b] {
        let tx =
            oracle.requestInference(U256::from(model), input.clone(), 0).value(fee).send().await.unwrap();
        assert!(tx.get_receipt().await.unwrap().status());
        ids.push(oracle.requestCount().call().await.unwrap());
    }
    // A's output and proof cannot answer B's request: the oracle rebuilds the instances with B's commitment.
    // Nor can A's proof with its weights knowledge proof tampered (a response, the nonce commitment).
    let mut tampered = vec![(ids[1], proof_a.clone())];
    for at in [proof_a.len() - 1, proof_a.len() - 100] {
        let mut bad = proof_a.to_vec();
        bad[at] ^= 1;
        tampered.push((ids[0], Bytes::from(bad)));
    }
    for (id, proof) in tampered {
        let Err(err) = oracle.fulfill(id, ints(&out_a), proof).call().await else {
            panic!("request {id} fulfilled with another model's or a tampered proof");
        };
        let data = err.as_revert_data().unwrap_or_else(|| panic!("not a revert: {err}"));
        let revert = IInferenceOracleErrors::abi_decode(&data).unwrap();
        assert!(
            matches!(revert, IInferenceOracleErrors::InvalidProof(ref e) if e.requestId == id),
            "{revert:?}"
        );
    }
    for (id, out, proof) in [(ids[0], &out_a, proof_a), (ids[1], &out_b, proof_b)] {
        let tx = oracle.fulfill(id, ints(out), proof).send().await.unwrap();
        assert!(tx.get_receipt().await.unwrap().status());
        assert_eq!(oracle.getRequestStatus(id).call().await.unwrap().status, RequestStatus::Fulfilled);
        assert_eq!(oracle.getResult(id).call().await.unwrap(), ints(out));
    }

    // The relayer refuses to serve a registration whose commitment is not its weights' (every proof would
    // revert), and serves the right one.
    let oracle_addr = chain.address("InferenceOracle").to_string();
    let start = block_number(&p).await;
    let wrong = relayer_config(work.path(), &chain, &oracle_addr, start, &[(id_b, &a.dir)]);
    let mut relay = RelayProcess::spawn(&wrong, RELAYER_KEY_ENV, &chain.key_hex(1));
    assert!(!relay.wait_exit(Duration::from_secs(60)).success());
    assert!(relay.log().contains("weights commitment"), "{}", relay.log());
    let _ = std::fs::remove_file(work.path().join("relayer.sqlite"));
    let right = relayer_config(work.path(), &chain, &oracle_addr, start, &[(id_a, &a.dir)]);
    let mut relay = RelayProcess::spawn(&right, RELAYER_KEY_ENV, &chain.key_hex(1));
    relay.wait_started(Duration::from_secs(60));
    let tx = oracle.requestInference(U256::from(id_a), input, 0).value(fee).send().await.unwrap();
    assert!(tx.get_receipt().await.unwrap().status());
    let id = oracle.requestCount().call().await.unwrap();
    wait_for("the relayer's fulfilment of a private model", Duration::from_secs(120), || {
        relay.assert_running();
        let oracle = oracle.clone();
        async move {
            (oracle.getRequestStatus(id).call().await.unwrap().status == RequestStatus::Fulfilled)
                .then_some(())
        }
    })
    .await;
    assert_eq!(oracle.getResult(id).call().await.unwrap(), ints(&out_a));
    assert!(relay.stop().success());
}
