//! End-to-end prover tests on the committed test models: MockProver satisfaction, accuracy against the float
//! reference, real proofs that verify, and tampering that must not.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy_primitives::{Address, Bytes, B256};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use zkoracle_prover::testing::InferenceCircuit;
use zkoracle_prover::to_field;
use zkoracle_prover::{address_to_field, fr_from_b256, fr_to_b256, verify_bundle, verify_with, write_bundle};
use zkoracle_prover::{compile, CompileOptions, Prefer};
use zkoracle_prover::{quantize_inputs, read_input};
use zkoracle_prover::{setup, CircuitSettings, Error, ProvingModel, SrsSource};

/// `bytes` with bit 0 of byte `pos` flipped.
fn flip(bytes: &Bytes, pos: usize) -> Bytes {
    let mut v = bytes.to_vec();
    v[pos] ^= 1;
    v.into()
}

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn expected(name: &str) -> Vec<f64> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models().join(format!("{name}.expected.json"))).expect("read"))
            .expect("json");
    let mut out = vec![];
    fn flat(v: &serde_json::Value, out: &mut Vec<f64>) {
        match v {
            serde_json::Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
            serde_json::Value::Number(n) => out.push(n.as_f64().expect("f64")),
            _ => {}
        }
    }
    flat(&v["output_data"], &mut out);
    out
}

fn compiled(name: &str, opts: &CompileOptions) -> CircuitSettings {
    let m = models();
    compile(&m.join(format!("{name}.onnx")), &m.join(format!("{name}.input.json")), opts).expect("compile")
}

/// MockProver accepts the witness, and outputs match the float reference within `tol`.
fn check_model(name: &str, tol: f64) {
    check_settings(name, &compiled(name, &CompileOptions::default()), tol);
}

/// [`check_model`], and the quantized outputs also match tract's float inference on the sample (recorded
/// by `compile` in the calibration), which itself matches the ONNX reference evaluator.
fn check_model_vs_tract(name: &str, tol: f64) {
    let settings = compiled(name, &CompileOptions::default());
    let tract = &settings.calibration.float_outputs;
    let reference = expected(name);
    assert_eq!(tract.len(), reference.len(), "{name}: tract output count");
    for (i, (t, r)) in tract.iter().zip(&reference).enumerate() {
        assert!((t - r).abs() <= 1e-4, "{name}: tract output {i} = {t} vs ONNX reference {r}");
    }
    let input = read_input(&models().join(format!("{name}.input.json"))).expect("input");
    let q = quantize_inputs(&input, settings.scale).expect("quantize");
    let ev = settings.graph.evaluate(&q, settings.scale, Some(settings.bound)).expect("evaluate");
    let s = f64::powi(2.0, i32::from(settings.output_scale));
    for (i, (o, t)) in ev.outputs(&settings.graph).iter().zip(tract).enumerate() {
        let err = (*o as f64 / s - t).abs();
        assert!(err <= tol, "{name}: output {i} = {} vs tract {t} (error {err} > {tol})", *o as f64 / s);
    }
    assert!(settings.k <= 14, "{name}: k = {} > 14", settings.k);
    check_settings(name, &settings, tol);
}

fn check_settings(name: &str, settings: &CircuitSettings, tol: f64) {
    let input = read_input(&models().join(format!("{name}.input.json"))).expect("input");
    let q = quantize_inputs(&input, settings.scale).expect("quantize");
    let ev = settings.graph.evaluate(&q, settings.scale, Some(settings.bound)).expect("evaluate");
    let outs = ev.outputs(&settings.graph);
    let s = f64::powi(2.0, i32::from(settings.output_scale));
    let reference = expected(name);
    assert_eq!(outs.len(), reference.len(), "{name}: output count");
    for (i, (o, r)) in outs.iter().zip(&reference).enumerate() {
        let err = (*o as f64 / s - r).abs();
        assert!(err <= tol, "{name}: output {i} = {} vs float {r} (error {err} > {tol})", *o as f64 / s);
    }
    let instances: Vec<Fr> = q.iter().chain(&outs).map(|&v| to_field(i128::from(v))).collect();
    let circuit =
        InferenceCircuit { spec: Arc::new(settings.spec()), witness: Some(Arc::new(ev)), tails: None };
    let prover = MockProver::run(settings.k, &circuit, vec![instances.clone()]).expect("mock run");
    assert!(prover.verify().is_ok(), "{name}: MockProver rejected an honest witness");
    // A wrong output instance must be rejected.
    let mut bad = instances;
    let last = bad.len() - 1;
    bad[last] += Fr::one();
    let prover = MockProver::run(settings.k, &circuit, vec![bad]).expect("mock run");
    assert!(prover.verify().is_err(), "{name}: MockProver accepted a wrong output");
}

#[test]
fn spread_mlp_gemm_relu() {
    check_model("spread_mlp", 0.02);
}

#[test]
fn risk_mlp_gemm_relu() {
    check_model("risk_mlp", 0.03);
}

#[test]
fn act_mlp_sigmoid_tanh_leakyrelu_softmax() {
    check_model("act_mlp", 0.08);
}

#[test]
fn pool_cnn_conv_groups_maxpool_avgpool_globalavgpool() {
    check_model("pool_cnn", 0.04);
}

#[test]
fn norm_mlp_batchnorm_layernorm() {
    check_model("norm_mlp", 0.15);
}

#[test]
fn shape_ops_data_movement_and_elementwise() {
    check_model("shape_ops", 0.15);
}

#[test]
fn cnn_mnist_conv_strides_padding() {
    check_model("cnn_mnist", 0.1);
}

#[test]
fn lstm_seq_peepholes_initial_state() {
    check_model_vs_tract("lstm_seq", 0.05);
}

#[test]
fn gru_seq_stacked_bidirectional_linear_before_reset() {
    check_model_vs_tract("gru_seq", 0.05);
}

#[test]
fn rnn_seq_batch_first() {
    check_model_vs_tract("rnn_seq", 0.05);
}

/// Against the ONNX reference only: tract 0.23 ignores `direction` and runs a one-direction RNN forward.
#[test]
fn rnn_reverse_direction() {
    check_model("rnn_reverse", 0.05);
}

/// Hummingbird's tree_trav strategy: the quantized traversal takes the float model's branches, so the
/// class probabilities differ only by the rounding of the leaf values.
#[test]
fn tree_trav_forest_dynamic_gather_where() {
    check_model_vs_tract("tree_trav_forest", 0.02);
}

#[test]
fn tree_gemm_compare_equal_matmul() {
    check_model_vs_tract("tree_gemm", 0.02);
}

#[test]
fn logic_ops_compare_not_and_or_where_gather() {
    check_model_vs_tract("logic_ops", 0.02);
}

/// The account a proof is made for.
const FULFILLER: Address = Address::repeat_byte(0xa1);

/// Compile → setup → prove → verify for the spread model, then tampering with every part of the proof.
#[test]
fn real_proof_verifies_and_tampering_fails() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let settings = compiled("spread_mlp", &CompileOptions::default());
    settings.write(&d.join("circuit.json")).expect("write");
    setup(d, &SrsSource::Dev { cache: d.join("srs") }).expect("setup");
    let model = ProvingModel::load(d).expect("load");
    let input = read_input(&models().join("spread_mlp.input.json")).expect("input");
    let bundle = model.prove(&input, FULFILLER).expect("prove");
    verify_bundle(d, &bundle).expect("honest proof verifies");
    write_bundle(&d.join("proof.json"), &bundle).expect("write proof");

    // Flip one byte in each 32-byte word of the proof.
    for pos in (0..bundle.proof.len()).step_by(32) {
        let mut b = bundle.clone();
        b.proof = flip(&b.proof, pos);
        assert!(verify_bundle(d, &b).is_err(), "flipped proof byte {pos} verified");
    }
    let mut b = bundle.clone();
    b.proof = b.proof.slice(..b.proof.len() - 1);
    assert!(verify_bundle(d, &b).is_err(), "truncated proof verified");
    // Change each instance.
    for i in 0..bundle.instances.len() {
        let mut b = bundle.clone();
        b.instances[i] = fr_to_b256(&(fr_from_b256(&b.instances[i]).expect("fr") + Fr::one()));
        assert!(verify_bundle(d, &b).is_err(), "changed instance {i} verified");
    }
    // An instance at or above the modulus is refused outright.
    let mut b = bundle.clone();
    b.instances[0] = B256::repeat_byte(0xff);
    assert!(matches!(verify_bundle(d, &b), Err(Error::Verification(_))));

    // Every field a reader reads is checked against the verified instances: an edit names its field.
    type Edit = Box<dyn Fn(&mut zkoracle_prover::ProofBundle)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("outputs[0]", Box::new(|b| b.outputs[0] += 1.0)),
        ("outputs_quantized[0]", Box::new(|b| b.outputs_quantized[0] += 1)),
        ("inputs_quantized[1]", Box::new(|b| b.inputs_quantized[1] -= 1)),
        ("outputs_quantized", Box::new(|b| b.outputs_quantized.push(0))),
        ("scale", Box::new(|b| b.scale += 1)),
        ("output_scale", Box::new(|b| b.output_scale += 1)),
        ("weights_commitment", Box::new(|b| b.weights_commitment = Some(Bytes::from_static(&[1])))),
        ("calldata", Box::new(|b| b.calldata = flip(&b.calldata, 100))),
        ("vk_digest", Box::new(|b| b.vk_digest = B256::ZERO)),
    ];
    for (field, edit) in edits {
        let mut b = bundle.clone();
        edit(&mut b);
        match verify_bundle(d, &b) {
            Err(Error::BundleField { field: f, .. }) => assert_eq!(f, field),
            other => panic!("edited {field} gave {other:?}"),
        }
    }
    // Bound to its fulfiller: the same proof with another fulfiller's address as the last instance fails
    // (the transcript absorbs it), and a bundle that names another fulfiller is refused.
    let (_, srs) = zkoracle_prover::load_settings_and_srs(d).expect("srs");
    let vk = zkoracle_prover::read_vk(&d.join("vk.bin"), &settings).expect("vk");
    let mut inst: Vec<Fr> = bundle.instances.iter().map(|w| fr_from_b256(w).expect("fr")).collect();
    assert_eq!(inst.last(), Some(&address_to_field(FULFILLER)), "the fulfiller is the last instance");
    verify_with(&srs, &vk, &bundle.proof, &inst).expect("verifies for its fulfiller");
    *inst.last_mut().expect("fulfiller") = address_to_field(Address::repeat_byte(0xb2));
    assert!(
        verify_with(&srs, &vk, &bundle.proof, &inst).is_err(),
        "a copied proof verified for another sender"
    );
    let mut b = bundle.clone();
    b.fulfiller = Address::repeat_byte(0xb2);
    assert!(verify_bundle(d, &b).is_err(), "a bundle naming another fulfiller verified");
    let verified = verify_bundle(d, &bundle).expect("verifies");
    assert_eq!(verified.weights_commitment, None, "fixed weights carry no commitment");
    assert_eq!(verified.vk_digest, bundle.vk_digest);
}

/// Automatic selection: accuracy first (cnn_mnist's coarse table layouts are no longer chosen over limbs at
/// 2^15–2^16), then `--prefer gas` spends up to 1.5x proving work on fewer verifier terms (narrower, deeper)
/// while `--prefer proving` takes the least work.
#[test]
fn selection_is_accurate_and_prefer_trades_gas_for_proving_work() {
    let onnx = models().join("cnn_mnist.onnx");
    let data = models().join("cnn_mnist.input.json");
    let gas = compile(&onnx, &data, &CompileOptions::default()).expect("compile gas");
    let proving =
        compile(&onnx, &data, &CompileOptions { prefer: Prefer::Proving, ..CompileOptions::default() })
            .expect("compile proving");
    for s in [&gas, &proving] {
        assert!(s.calibration.max_abs_error < 1e-4, "error {}", s.calibration.max_abs_error);
    }
    let layout = |s: &CircuitSettings| (s.k, s.circuit_params.width);
    assert_ne!(layout(&gas), layout(&proving), "cnn_mnist has a gas/proving trade-off");
    assert!(proving.k <= gas.k, "proving-first k {} > gas-first k {}", proving.k, gas.k);
    assert!(
        proving.circuit_params.width >= gas.circuit_params.width,
        "gas-first should not be the wider layout"
    );
    let cells = |s: &CircuitSettings| (1u64 << s.k) * s.circuit_params.width as u64;
    assert!(cells(&proving) <= cells(&gas), "proving-first lays out more cells");
}
