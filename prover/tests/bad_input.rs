//! Bad input gets a clear error naming the problem, never a panic or a half-written artifact.

use std::path::{Path, PathBuf};

use zkoracle_prover::files;
use zkoracle_prover::{compile, CompileOptions};
use zkoracle_prover::{setup, Error, ProvingModel, SrsSource};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn spread_dir(dir: &Path) {
    let m = models();
    let s = compile(&m.join("spread_mlp.onnx"), &m.join("spread_mlp.input.json"), &CompileOptions::default())
        .expect("compile");
    s.write(&dir.join(files::CIRCUIT)).expect("write");
    setup(dir, &SrsSource::Dev { cache: dir.join("srs") }).expect("setup");
}

#[test]
fn malformed_and_truncated_onnx_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let input = models().join("spread_mlp.input.json");
    let garbage = write(dir.path(), "garbage.onnx", b"this is not protobuf at all \xff\xff\xff");
    let err = compile(&garbage, &input, &CompileOptions::default()).expect_err("garbage");
    assert!(matches!(&err, Error::Onnx { path, .. } if path.ends_with("garbage.onnx")), "{err}");
    let full = std::fs::read(models().join("spread_mlp.onnx")).expect("read");
    let cut = write(dir.path(), "cut.onnx", &full[..full.len() / 2]);
    let err = compile(&cut, &input, &CompileOptions::default()).expect_err("truncated");
    assert!(matches!(&err, Error::Onnx { path, .. } if path.ends_with("cut.onnx")), "{err}");
}

#[test]
fn wrong_length_and_non_finite_inputs_are_rejected() {
    let dir = tempfile::tempdir().expect("tmp");
    let onnx = models().join("spread_mlp.onnx");
    let short = write(dir.path(), "short.json", br#"{"input_data": [[0.1, 0.2]]}"#);
    let err = compile(&onnx, &short, &CompileOptions::default()).expect_err("short");
    assert!(matches!(&err, Error::InvalidInput(m) if m.contains("8")), "{err}");
    let nan = write(dir.path(), "nan.json", br#"{"input_data": [["NaN", 0, 0, 0, 0, 0, 0, 0]]}"#);
    let err = compile(&onnx, &nan, &CompileOptions::default()).expect_err("nan");
    assert!(
        matches!(&err, Error::Json { path, message } if path.ends_with("nan.json") && message.contains("NaN")),
        "{err}"
    );
    let missing = write(dir.path(), "missing.json", br#"{"data": [1]}"#);
    let err = compile(&onnx, &missing, &CompileOptions::default()).expect_err("missing key");
    assert!(
        matches!(&err, Error::Json { path, message } if path.ends_with("missing.json") && message.contains("input_data")),
        "{err}"
    );
}

#[test]
fn unsupported_op_names_op_and_node() {
    // A one-node model with an op zkoracle does not lower (Hardmax), built as raw protobuf with tract's types.
    use tract_onnx::pb;
    use tract_onnx::prelude::tract_ndarray as _;
    let vi = |name: &str| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto {
                    dim: vec![pb::tensor_shape_proto::Dimension {
                        value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(2)),
                        ..Default::default()
                    }],
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 17 }],
        graph: Some(pb::GraphProto {
            name: "g".into(),
            node: vec![pb::NodeProto {
                input: vec!["x".into()],
                output: vec!["y".into()],
                name: "the_hardmax".into(),
                op_type: "Hardmax".into(),
                ..Default::default()
            }],
            input: vec![vi("x")],
            output: vec![vi("y")],
            ..Default::default()
        }),
        ..Default::default()
    };
    let dir = tempfile::tempdir().expect("tmp");
    let path = write(dir.path(), "hardmax.onnx", &prost::Message::encode_to_vec(&model));
    let input = write(dir.path(), "in.json", br#"{"input_data": [[0.5, 0.25]]}"#);
    let err = compile(&path, &input, &CompileOptions::default()).expect_err("unsupported");
    assert!(
        matches!(&err, Error::UnsupportedOp { op, node } if op == "Hardmax" && node == "the_hardmax"),
        "{err}"
    );
}

#[test]
fn out_of_range_input_is_refused_at_prove_time() {
    let dir = tempfile::tempdir().expect("tmp");
    spread_dir(dir.path());
    let model = ProvingModel::load(dir.path()).expect("load");
    let err = model.prove(&[1000.0; 8], Default::default()).expect_err("out of range");
    assert!(matches!(err, Error::OutOfRange(_)), "{err}");
    let err = model.prove(&[f64::NAN; 8], Default::default()).expect_err("nan");
    assert!(matches!(&err, Error::InvalidInput(m) if m.contains("NaN")), "{err}");
    let err = model.prove(&[0.0; 3], Default::default()).expect_err("length");
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

#[test]
fn corrupt_keys_and_srs_are_named_and_small_srs_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    spread_dir(d);
    for f in [files::PK, files::VK, files::SRS] {
        let path = d.join(f);
        let good = std::fs::read(&path).expect("read");
        let mut bad = good.clone();
        let mid = bad.len() / 2;
        bad[mid] ^= 0x55;
        std::fs::write(&path, &bad).expect("write");
        let err = ProvingModel::load(d)
            .map(|_| ())
            .and_then(|_| zkoracle_prover::verify_bundle(d, &dummy_bundle()).map(|_| ()));
        let err = err.expect_err("corrupt file accepted");
        assert!(err.to_string().contains(f), "{f}: {err}");
        std::fs::write(&path, &good[..good.len() - 7]).expect("write");
        let err = ProvingModel::load(d)
            .map(|_| ())
            .and_then(|_| zkoracle_prover::verify_bundle(d, &dummy_bundle()).map(|_| ()));
        assert!(err.expect_err("truncated file accepted").to_string().contains(f), "{f}");
        std::fs::write(&path, &good).expect("restore");
    }
    // An SRS smaller than the circuit's k.
    let small = d.join("small.srs");
    let k = zkoracle_prover::CircuitSettings::read(&d.join(files::CIRCUIT)).expect("settings").k;
    zkoracle_prover::write_srs(&small, &zkoracle_prover::dev_srs(k - 1, &d.join("srs")).expect("srs"))
        .expect("write");
    let err = setup(d, &SrsSource::File(small.clone())).expect_err("small srs");
    assert!(matches!(err, Error::SrsTooSmall { .. }), "{err}");
    // A larger SRS is downsized, and keys match the ones made at exactly k.
    let big = d.join("big.srs");
    zkoracle_prover::write_srs(&big, &zkoracle_prover::dev_srs(k + 1, &d.join("srs")).expect("srs"))
        .expect("write");
    setup(d, &SrsSource::File(big.clone())).expect("downsized setup");
    ProvingModel::load(d).expect("load after downsized setup");
}

fn dummy_bundle() -> zkoracle_prover::ProofBundle {
    zkoracle_prover::ProofBundle {
        outputs: vec![],
        outputs_quantized: vec![],
        inputs_quantized: vec![],
        scale: 0,
        output_scale: 0,
        instances: vec![],
        weights_commitment: None,
        fulfiller: Default::default(),
        proof: Default::default(),
        calldata: Default::default(),
        vk_digest: Default::default(),
    }
}

/// A model above `--max-k` is refused before it is built, naming the k and rows it needs: by tract's
/// multiply-accumulate count when that alone exceeds the limit (cnn_mnist: ~0.1 M MACs), else by the
/// inference rows of the lowered graph or the smallest calibrated layout.
#[test]
fn model_above_max_k_is_refused_at_once_naming_k_and_rows() {
    let m = models();
    for (max_k, what) in [(6, "multiply-accumulates"), (9, "k = "), (11, "k = ")] {
        let opts = CompileOptions { max_k: Some(max_k), ..CompileOptions::default() };
        let t = std::time::Instant::now();
        let err = compile(&m.join("cnn_mnist.onnx"), &m.join("cnn_mnist.input.json"), &opts)
            .expect_err("too large");
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(what) && msg.contains(&format!("--max-k {max_k}")) && msg.contains("rows"),
            "{msg}"
        );
        // Refused before calibration's lowering at every scale: well under the full compile's time.
        assert!(t.elapsed().as_secs() < 30, "{msg}");
    }
    let ok = CompileOptions { max_k: Some(12), ..CompileOptions::default() };
    let s = compile(&m.join("cnn_mnist.onnx"), &m.join("cnn_mnist.input.json"), &ok).expect("fits");
    assert!(s.k <= 12);
}
