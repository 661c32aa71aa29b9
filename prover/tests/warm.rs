//! The warm prover (#18): a proof made with the proving key's coset cache and the SRS window-multiple tables
//! is byte for byte the proof made without them from the same randomness, and verifies under the golden
//! verifying key.

use std::path::{Path, PathBuf};

use alloy_primitives::Address;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkoracle_prover::files;
use zkoracle_prover::{compile, CompileOptions};
use zkoracle_prover::{quantize_inputs, read_input};
use zkoracle_prover::{read_bundle, verify_bundle, ProofBundle};
use zkoracle_prover::{setup, ProvingModel, SrsSource};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compiles and sets up `name` as `zkoracle compile` + `zkoracle setup` do by default (dev SRS).
fn model_dir(name: &str, dir: &Path) -> ProvingModel {
    let m = root().join("models");
    let settings = compile(
        &m.join(format!("{name}.onnx")),
        &m.join(format!("{name}.input.json")),
        &CompileOptions::default(),
    )
    .expect("compile");
    settings.write(&dir.join(files::CIRCUIT)).expect("circuit.json");
    setup(dir, &SrsSource::Dev { cache: dir.join("srs") }).expect("setup");
    ProvingModel::load(dir).expect("load")
}

fn prove(model: &ProvingModel, input: &[i64], fulfiller: Address, seed: u64) -> ProofBundle {
    model.prove_quantized_with_rng(input, fulfiller, ChaCha20Rng::seed_from_u64(seed)).expect("prove")
}

#[test]
fn warm_proof_equals_cold_proof_and_verifies_under_the_golden_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mut model = model_dir("spread_mlp", dir);
    let golden = read_bundle(&root().join("tests/golden/spread_mlp/proof.json")).expect("golden proof.json");
    assert_eq!(model.vk_digest(), golden.vk_digest, "not the golden verifier's key");

    let input = read_input(&root().join("models/spread_mlp.input.json")).expect("input");
    let q = quantize_inputs(&input, model.settings().scale).expect("quantize");
    let fulfiller = golden.fulfiller;
    let cold = prove(&model, &q, fulfiller, 7);
    let again = prove(&model, &q, fulfiller, 7);
    let first = again.proof.iter().zip(&cold.proof).position(|(a, b)| a != b);
    assert!(
        again == cold,
        "the prover is not deterministic in its rng: first difference at byte {first:?} of {}",
        cold.proof.len()
    );
    assert_eq!(model.coset_cache_stats().parts_cached, 0);

    // Part of the extended domain cached (the budget of one part), then all of it.
    let one_part = model.coset_cache_stats().part_bytes;
    let partial = model.cache_cosets(one_part + one_part / 2);
    assert_eq!(partial.parts_cached, 1, "{partial:?}");
    assert!(partial.parts_total > 1, "{partial:?}");
    assert!(prove(&model, &q, fulfiller, 7) == cold, "a partly cached proof differs");

    // The SRS window-multiple tables: the Lagrange one alone (a budget that fits one), then both.
    let one_table = model.cache_msm_tables(usize::MAX) / 2;
    assert!(one_table > 0);
    assert_eq!(model.cache_msm_tables(one_table + one_table / 2), one_table);
    assert!(prove(&model, &q, fulfiller, 7) == cold, "a proof with the Lagrange table differs");
    assert_eq!(model.cache_msm_tables(usize::MAX), 2 * one_table);

    let full = model.cache_cosets(usize::MAX);
    assert_eq!(full.parts_cached, full.parts_total, "{full:?}");
    assert_eq!(full.bytes(), full.parts_total * one_part);
    let warm = prove(&model, &q, fulfiller, 7);
    assert!(warm == cold, "the warm proof differs from the cold one");
    // What the golden verifier checks: the proof, instances and every field of proof.json.
    assert_eq!(warm.instances, golden.instances, "instances of the golden proof");
    verify_bundle(dir, &warm).expect("the warm proof verifies");

    // Another randomness: another proof, still valid with the cache.
    let other = prove(&model, &q, fulfiller, 8);
    assert!(other.proof != warm.proof, "another rng gave the same proof");
    verify_bundle(dir, &other).expect("a second warm proof verifies");

    model.cache_cosets(0);
    assert_eq!(model.coset_cache_stats().bytes(), 0);
    assert_eq!(model.cache_msm_tables(0), 0);
}
