//! `--params hashed`: weights as witnesses hashed by Poseidon in the circuit. Same architecture, other
//! weights → identical keys; a proof binds the weights' Poseidon commitment; no key or settings file carries
//! a weight.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use zkoracle_prover::files;
use zkoracle_prover::testing::InferenceCircuit;
use zkoracle_prover::to_field;
use zkoracle_prover::ParamsVisibility;
use zkoracle_prover::{collect_weights, fill_weights, poseidon_commitment, PrivateWeights};
use zkoracle_prover::{compile, CompileOptions};
use zkoracle_prover::{quantize_inputs, read_input};
use zkoracle_prover::{setup, CircuitSettings, Error, ProvingModel, SrsSource};
use zkoracle_prover::{verify_bundle, verify_with};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn compile_private(onnx: &Path, like: Option<CircuitSettings>, dir: &Path) -> CircuitSettings {
    let opts = CompileOptions { params: ParamsVisibility::Hashed, like, ..CompileOptions::default() };
    let s = compile(onnx, &models().join("spread_mlp.input.json"), &opts).expect("compile private");
    PrivateWeights::from_graph(&s.graph).write(&dir.join(files::WEIGHTS)).expect("weights");
    s.write(&dir.join(files::CIRCUIT)).expect("circuit");
    s
}

#[test]
fn private_circuit_is_satisfied_and_binds_the_commitment() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = compile_private(&models().join("spread_mlp.onnx"), None, dir.path());
    assert!(s.circuit_params.private && s.circuit_params.width >= 8);
    assert!(s.calibration.max_abs_error < 0.05, "private error {}", s.calibration.max_abs_error);
    let input = read_input(&models().join("spread_mlp.input.json")).expect("input");
    let q = quantize_inputs(&input, s.scale).expect("quantize");
    let ev = s.graph.evaluate(&q, s.scale, Some(s.bound)).expect("evaluate");
    let weights = collect_weights(&s.graph);
    let mut instances: Vec<Fr> =
        q.iter().chain(&ev.outputs(&s.graph)).map(|&v| to_field(i128::from(v))).collect();
    instances.push(poseidon_commitment(&weights));
    let circuit =
        InferenceCircuit { spec: Arc::new(s.spec()), witness: Some(Arc::new(ev.clone())), tails: None };
    let ok = MockProver::run(s.k, &circuit, vec![instances.clone()]).expect("mock");
    assert!(ok.verify().is_ok(), "honest private witness rejected: {:?}", ok.verify());
    let mut bad = instances.clone();
    *bad.last_mut().expect("commitment") += Fr::one();
    let wrong = MockProver::run(s.k, &circuit, vec![bad]).expect("mock");
    assert!(wrong.verify().is_err(), "a wrong commitment was accepted");
    // Weights changed in the witness but not in the commitment: rejected.
    let mut tampered = s.graph.clone();
    let mut w = weights.clone();
    w[0] += 1;
    fill_weights(&mut tampered, &w).expect("fill");
    let spec = zkoracle_prover::CircuitSpec { graph: tampered, ..s.spec() };
    let circuit = InferenceCircuit { spec: Arc::new(spec), witness: Some(Arc::new(ev)), tails: None };
    let forged = MockProver::run(s.k, &circuit, vec![instances]).expect("mock");
    assert!(forged.verify().is_err(), "weights that differ from the commitment were accepted");
}

#[test]
fn same_architecture_shares_keys_and_proofs_bind_their_weights() {
    let root = tempfile::tempdir().expect("tmp");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let sa = compile_private(&models().join("spread_mlp.onnx"), None, &a);
    let sb = compile_private(&models().join("spread_mlp_alt.onnx"), Some(sa.clone()), &b);
    let (wa, wb) = (PrivateWeights::from_graph(&sa.graph), PrivateWeights::from_graph(&sb.graph));
    assert_ne!(wa.values, wb.values);
    assert_ne!(wa.commitment, wb.commitment);

    // circuit.json holds the architecture only: identical graphs, every private value zeroed.
    let graph_of = |d: &Path| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(files::CIRCUIT)).expect("read")).expect("json");
        v["graph"].clone()
    };
    assert_eq!(graph_of(&a), graph_of(&b));
    let stored = CircuitSettings::read(&a.join(files::CIRCUIT)).expect("read");
    assert!(collect_weights(&stored.graph).iter().all(|&v| v == 0), "circuit.json carries weights");

    // Keys depend on the architecture only.
    let srs = SrsSource::Dev { cache: root.path().join("srs") };
    setup(&a, &srs).expect("setup a");
    setup(&b, &srs).expect("setup b");
    for f in [files::VK, files::PK] {
        let (fa, fb) = (std::fs::read(a.join(f)).expect("a"), std::fs::read(b.join(f)).expect("b"));
        assert!(fa == fb, "{f} differs between models that differ only in their weights");
    }

    let input = read_input(&models().join("spread_mlp.input.json")).expect("input");
    let ma = ProvingModel::load(&a).expect("load a");
    let pa = ma.prove(&input, Default::default()).expect("prove a");
    assert_eq!(pa.weights_commitment.as_ref().map(ToString::to_string), Some(wa.commitment.clone()));
    let n = pa.instances.len();
    assert_eq!(pa.instances[n - 2].to_string(), wa.commitment, "the commitment precedes the fulfiller");
    let verified = verify_bundle(&a, &pa).expect("A's proof verifies against A");
    assert_eq!(verified.weights_commitment, pa.weights_commitment, "verify names the weights commitment");
    let err = verify_bundle(&b, &pa).expect_err("A's proof against B's weights");
    assert!(matches!(err, Error::OtherWeights { .. }), "{err}");

    // Cryptographically: A's proof with B's commitment as the instance fails.
    let (_, srs) = zkoracle_prover::load_settings_and_srs(&b).expect("srs");
    let vk = zkoracle_prover::read_vk(&b.join(files::VK), &sb).expect("vk");
    let mut inst: Vec<Fr> =
        pa.instances.iter().map(|w| zkoracle_prover::fr_from_b256(w).expect("fr")).collect();
    verify_with(&srs, &vk, &pa.proof, &inst).expect("A's proof verifies with A's commitment");
    let at = sb.input_len() + sb.output_len();
    inst[at] = wb.commitment_fr().expect("fr");
    assert!(verify_with(&srs, &vk, &pa.proof, &inst).is_err(), "A's proof verified against B's commitment");

    // B proves with its own weights; the proof carries no weight (inputs, outputs, commitment, fulfiller).
    let pb = ProvingModel::load(&b).expect("load b").prove(&input, Default::default()).expect("prove b");
    verify_bundle(&b, &pb).expect("B verifies");
    assert_ne!(pa.outputs_quantized, pb.outputs_quantized);
    assert_eq!(pb.instances.len(), sb.input_len() + sb.output_len() + 2);
}

/// `--like` refuses a reference whose range is narrower than the worst case this model can reach on the
/// inputs the oracle accepts (limb mode): such a registration would fail to prove some valid requests.
#[test]
fn like_refuses_a_reference_narrower_than_the_models_worst_case() {
    let dir = tempfile::tempdir().expect("tmp");
    let sa = compile_private(&models().join("spread_mlp.onnx"), None, dir.path());
    assert!(sa.circuit_params.limb_bits > 0, "spread_mlp compiles with limbs");
    let mut narrow = sa.clone();
    narrow.bound = sa.bound / 2;
    assert!(
        sa.calibration.max_abs_preactivation < narrow.bound,
        "the calibrated values alone still fit the narrower range"
    );
    let opts =
        CompileOptions { params: ParamsVisibility::Hashed, like: Some(narrow), ..CompileOptions::default() };
    let err = compile(&models().join("spread_mlp_alt.onnx"), &models().join("spread_mlp.input.json"), &opts)
        .expect_err("a narrower reference range was accepted");
    let msg = err.to_string();
    assert!(msg.contains("--like") && msg.contains("could not be proved"), "{msg}");
    // The reference's own range is wide enough.
    let opts =
        CompileOptions { params: ParamsVisibility::Hashed, like: Some(sa), ..CompileOptions::default() };
    compile(&models().join("spread_mlp_alt.onnx"), &models().join("spread_mlp.input.json"), &opts)
        .expect("the reference's own range");
}
