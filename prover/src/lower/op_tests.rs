//! Unit tests of the recurrent, comparison and dynamic-gather lowerings on small hand-built ONNX graphs,
//! against float computations written out here.

use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_shape_proto::dimension, tensor_shape_proto::Dimension, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};

use super::{lower_model, LowerOptions};
use crate::ir::Activation;
use crate::Error;

fn tensor(name: &str, dims: &[usize], data: &[f64]) -> TensorProto {
    assert_eq!(dims.iter().product::<usize>(), data.len(), "{name}");
    TensorProto {
        name: name.into(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: 1,
        float_data: data.iter().map(|&x| x as f32).collect(),
        ..TensorProto::default()
    }
}

fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| Dimension { value: Some(dimension::Value::DimValue(d as i64)), ..Dimension::default() });
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: 1,
                shape: Some(TensorShapeProto { dim: dim.collect() }),
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}

fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: ty as i32, ..AttributeProto::default() }
}

fn attr_s(name: &str, s: &str) -> AttributeProto {
    AttributeProto { s: s.as_bytes().to_vec(), ..attr(name, AttributeType::String) }
}

fn attr_i(name: &str, i: i64) -> AttributeProto {
    AttributeProto { i, ..attr(name, AttributeType::Int) }
}

fn attr_f(name: &str, f: f32) -> AttributeProto {
    AttributeProto { f, ..attr(name, AttributeType::Float) }
}

fn attr_strs(name: &str, s: &[&str]) -> AttributeProto {
    AttributeProto {
        strings: s.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..attr(name, AttributeType::Strings)
    }
}

fn attr_fs(name: &str, f: &[f32]) -> AttributeProto {
    AttributeProto { floats: f.to_vec(), ..attr(name, AttributeType::Floats) }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str], attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: format!("{op}_node"),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..NodeProto::default()
    }
}

fn model(nodes: Vec<NodeProto>, inits: Vec<TensorProto>, input: &[usize], outputs: &[&str]) -> ModelProto {
    ModelProto {
        graph: Some(GraphProto {
            node: nodes,
            initializer: inits,
            input: vec![value_info("x", input)],
            output: outputs.iter().map(|o| value_info(o, &[])).collect(),
            ..GraphProto::default()
        }),
        ..ModelProto::default()
    }
}

const SCALE: u8 = 10;

/// Lowers and evaluates exactly; returns the real-valued outputs.
fn run(m: &ModelProto, x: &[f64]) -> crate::Result<Vec<f64>> {
    let folded = super::Folded::analyse(m, &super::input_shapes(m)?);
    let lowered = lower_model(m, &folded, LowerOptions { scale: SCALE, weight_scale: 12, private: false })?;
    let s = f64::powi(2.0, i32::from(SCALE));
    let q: Vec<i64> = x.iter().map(|v| (v * s).round() as i64).collect();
    let ev = lowered.graph.evaluate(&q, SCALE, None)?;
    Ok(ev.outputs(&lowered.graph).iter().map(|&o| o as f64 / s).collect())
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "output count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol, "output {i}: {g} vs {w} (tol {tol})");
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Deterministic pseudo-random weights in [-r, r].
fn weights(n: usize, seed: u64, r: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * r
        })
        .collect()
}

const SEQ: usize = 3;
const IN: usize = 2;
const H: usize = 3;

fn matvec(w: &[f64], row: usize, v: &[f64]) -> f64 {
    v.iter().enumerate().map(|(k, x)| w[row * v.len() + k] * x).sum()
}

#[test]
fn rnn_relu_activation_with_clip() {
    let (w, r, b) = (weights(H * IN, 1, 0.8), weights(H * H, 2, 0.8), weights(2 * H, 3, 0.3));
    let x = weights(SEQ * IN, 4, 0.9);
    let clip = 0.4;
    let attrs = vec![
        attr_i("hidden_size", H as i64),
        attr_strs("activations", &["Relu"]),
        attr_f("clip", clip as f32),
    ];
    let m = model(
        vec![node("RNN", &["x", "W", "R", "B"], &["y", "yh"], attrs)],
        vec![tensor("W", &[1, H, IN], &w), tensor("R", &[1, H, H], &r), tensor("B", &[1, 2 * H], &b)],
        &[SEQ, 1, IN],
        &["y", "yh"],
    );
    let mut h = vec![0.0; H];
    let mut want = vec![];
    for t in 0..SEQ {
        let xt = &x[t * IN..(t + 1) * IN];
        h = (0..H)
            .map(|j| (matvec(&w, j, xt) + matvec(&r, j, &h) + b[j] + b[H + j]).clamp(-clip, clip).max(0.0))
            .collect();
        want.extend(&h);
    }
    want.extend(h);
    assert_close(&run(&m, &x).expect("lower"), &want, 0.01);
}

#[test]
fn lstm_custom_activations_consume_alpha_beta_in_order() {
    let (w, r, b) = (weights(4 * H * IN, 5, 0.8), weights(4 * H * H, 6, 0.8), weights(8 * H, 7, 0.3));
    let x = weights(SEQ * IN, 8, 0.9);
    // f = HardSigmoid(0.3, 0.4), g = Tanh, h = Affine(0.8, 0.1).
    let attrs = vec![
        attr_i("hidden_size", H as i64),
        attr_strs("activations", &["HardSigmoid", "Tanh", "Affine"]),
        attr_fs("activation_alpha", &[0.3, 0.8]),
        attr_fs("activation_beta", &[0.4, 0.1]),
    ];
    let m = model(
        vec![node("LSTM", &["x", "W", "R", "B"], &["y", "yh", "yc"], attrs)],
        vec![tensor("W", &[1, 4 * H, IN], &w), tensor("R", &[1, 4 * H, H], &r), tensor("B", &[1, 8 * H], &b)],
        &[SEQ, 1, IN],
        &["y", "yh", "yc"],
    );
    let f = |v: f64| (0.3 * v + 0.4).clamp(0.0, 1.0);
    let (mut h, mut c) = (vec![0.0; H], vec![0.0; H]);
    let mut want = vec![];
    for t in 0..SEQ {
        let xt = &x[t * IN..(t + 1) * IN];
        let pre = |g: usize, j: usize, h: &[f64]| {
            let row = g * H + j;
            matvec(&w, row, xt) + matvec(&r, row, h) + b[row] + b[4 * H + row]
        };
        let (mut nh, mut nc) = (vec![0.0; H], vec![0.0; H]);
        for j in 0..H {
            let (i, o, fg, g) = (f(pre(0, j, &h)), f(pre(1, j, &h)), f(pre(2, j, &h)), pre(3, j, &h).tanh());
            nc[j] = fg * c[j] + i * g;
            nh[j] = o * (0.8 * nc[j] + 0.1);
        }
        h = nh;
        c = nc;
        want.extend(&h);
    }
    want.extend(&h);
    want.extend(&c);
    assert_close(&run(&m, &x).expect("lower"), &want, 0.01);
}

#[test]
fn gru_with_sigmoid_and_default_reset() {
    let (w, r, b) = (weights(3 * H * IN, 9, 0.8), weights(3 * H * H, 10, 0.8), weights(6 * H, 11, 0.3));
    let x = weights(SEQ * IN, 12, 0.9);
    let h0 = weights(H, 13, 0.5);
    let m = model(
        vec![node("GRU", &["x", "W", "R", "B", "", "h0"], &["y"], vec![attr_i("hidden_size", H as i64)])],
        vec![
            tensor("W", &[1, 3 * H, IN], &w),
            tensor("R", &[1, 3 * H, H], &r),
            tensor("B", &[1, 6 * H], &b),
            tensor("h0", &[1, 1, H], &h0),
        ],
        &[SEQ, 1, IN],
        &["y"],
    );
    let mut h = h0.clone();
    let mut want = vec![];
    for t in 0..SEQ {
        let xt = &x[t * IN..(t + 1) * IN];
        let gate = |g: usize, j: usize, h: &[f64]| {
            let row = g * H + j;
            matvec(&w, row, xt) + matvec(&r, row, h) + b[row] + b[3 * H + row]
        };
        let z: Vec<f64> = (0..H).map(|j| sigmoid(gate(0, j, &h))).collect();
        let rr: Vec<f64> = (0..H).map(|j| sigmoid(gate(1, j, &h))).collect();
        let rh: Vec<f64> = (0..H).map(|k| rr[k] * h[k]).collect();
        h = (0..H)
            .map(|j| {
                let row = 2 * H + j;
                let ht = (matvec(&w, row, xt) + matvec(&r, row, &rh) + b[row] + b[3 * H + row]).tanh();
                (1.0 - z[j]) * ht + z[j] * h[j]
            })
            .collect();
        want.extend(&h);
    }
    assert_close(&run(&m, &x).expect("lower"), &want, 0.01);
}

fn rnn_error(attrs: Vec<AttributeProto>, extra_inputs: &[&str], inits: Vec<TensorProto>) -> String {
    let mut inputs = vec!["x", "W", "R"];
    inputs.extend(extra_inputs);
    let mut all = vec![
        tensor("W", &[1, H, IN], &weights(H * IN, 1, 0.5)),
        tensor("R", &[1, H, H], &weights(H * H, 2, 0.5)),
    ];
    all.extend(inits);
    let op = if attrs.iter().any(|a| a.name == "input_forget") { "LSTM" } else { "RNN" };
    let m = model(vec![node(op, &inputs, &["y"], attrs)], all, &[SEQ, 1, IN], &["y"]);
    match run(&m, &[0.0; SEQ * IN]) {
        Err(e @ Error::InvalidNode { .. }) => e.to_string(),
        other => panic!("expected an invalid-node error, got {other:?}"),
    }
}

#[test]
fn unsupported_recurrent_variants_name_node_and_attribute() {
    let e = rnn_error(vec![attr_strs("activations", &["Softsign"])], &[], vec![]);
    assert!(e.contains("RNN_node") && e.contains("`activations`") && e.contains("Softsign"), "{e}");
    let e = rnn_error(vec![attr_s("direction", "sideways")], &[], vec![]);
    assert!(e.contains("RNN_node") && e.contains("`direction`"), "{e}");
    let e = rnn_error(vec![], &["", "lens"], vec![tensor("lens", &[1], &[2.0])]);
    assert!(e.contains("`sequence_lens`"), "{e}");
    let e = rnn_error(vec![attr_strs("activations", &["Tanh", "Tanh"])], &[], vec![]);
    assert!(e.contains("`activations` has 2 entries, expected 1"), "{e}");
    let e = rnn_error(vec![attr_i("input_forget", 1)], &[], vec![]);
    assert!(e.contains("LSTM_node") && e.contains("`input_forget`"), "{e}");
}

/// Comparisons are decided on the quantized values: exactly at, one unit above and one unit below a
/// threshold on the grid, and a threshold between grid points rounds to the nearest one.
#[test]
fn comparisons_are_exact_at_the_decision_boundary() {
    let ops = ["Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Equal"];
    let nodes: Vec<NodeProto> = ops.iter().map(|op| node(op, &["x", "t"], &[op], vec![])).collect();
    let unit = f64::powi(2.0, -i32::from(SCALE));
    for (t, x, want) in [
        (0.25, 0.25, [0.0, 1.0, 0.0, 1.0, 1.0]),
        (0.25, 0.25 + unit, [0.0, 0.0, 1.0, 1.0, 0.0]),
        (0.25, 0.25 - unit, [1.0, 1.0, 0.0, 0.0, 0.0]),
        (-0.5, -0.5 - unit, [1.0, 1.0, 0.0, 0.0, 0.0]),
        // 0.3 is 307.2 units: it compares as 307, so x = 307 units (< 0.3 as reals) is "equal".
        (0.3, 307.0 * unit, [0.0, 1.0, 0.0, 1.0, 1.0]),
        (0.3, 306.0 * unit, [1.0, 1.0, 0.0, 0.0, 0.0]),
    ] {
        let m = model(nodes.clone(), vec![tensor("t", &[1], &[t])], &[1], &ops);
        assert_eq!(run(&m, &[x]).expect("lower"), want, "x = {x}, t = {t}");
    }
    // Two computed operands: x[0] op x[1].
    let nodes: Vec<NodeProto> = ops.iter().map(|op| node(op, &["a", "b"], &[op], vec![])).collect();
    let mut all = vec![
        node("Slice", &["x", "s0", "s1"], &["a"], vec![]),
        node("Slice", &["x", "s1", "s2"], &["b"], vec![]),
    ];
    all.extend(nodes);
    let inits = vec![tensor("s0", &[1], &[0.0]), tensor("s1", &[1], &[1.0]), tensor("s2", &[1], &[2.0])];
    let m = model(all, inits, &[2], &ops);
    assert_eq!(run(&m, &[0.5, 0.5]).expect("lower"), [0.0, 1.0, 0.0, 1.0, 1.0]);
    assert_eq!(run(&m, &[0.5 - unit, 0.5]).expect("lower"), [1.0, 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(run(&m, &[0.5 + unit, 0.5]).expect("lower"), [0.0, 0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn step_and_is_zero_tables_are_exact_on_integers() {
    for q in -3i64..=3 {
        assert_eq!(Activation::Step.apply(q, 6), if q >= 0 { 64 } else { 0 });
        assert_eq!(Activation::IsZero.apply(q, 6), if q == 0 { 64 } else { 0 });
    }
}

/// Gather with computed indices selects table rows exactly; an index outside the table selects nothing.
#[test]
fn dynamic_gather_selects_rows_and_out_of_range_gives_zero() {
    let table = [0.5, -1.25, 2.0, 0.75, -0.5, 1.5];
    let m = model(
        vec![node("Gather", &["table", "x"], &["y"], vec![])],
        vec![tensor("table", &[3, 2], &table)],
        &[4],
        &["y"],
    );
    let got = run(&m, &[2.0, 0.0, 1.0, 3.0]).expect("lower");
    assert_eq!(got, [-0.5, 1.5, 0.5, -1.25, 2.0, 0.75, 0.0, 0.0]);
    // GatherElements with computed indices on computed data: y[i] = x[idx[i]], idx = x[2..4].
    let m = model(
        vec![
            node("Slice", &["x", "s0", "s2"], &["d"], vec![]),
            node("Slice", &["x", "s2", "s4"], &["i"], vec![]),
            node("GatherElements", &["d", "i"], &["y"], vec![attr_i("axis", 0)]),
        ],
        vec![tensor("s0", &[1], &[0.0]), tensor("s2", &[1], &[2.0]), tensor("s4", &[1], &[4.0])],
        &[4],
        &["y"],
    );
    assert_eq!(run(&m, &[0.75, -0.25, 1.0, 0.0]).expect("lower"), [-0.25, 0.75]);
}

fn attr_is(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { ints: v.to_vec(), ..attr(name, AttributeType::Ints) }
}

/// Two trees on features 0 and 1: tree 0 splits on x0 at 0.25 (`mode`), tree 1 on x1 > −0.5, then x0 == 0.5.
fn ensemble_node(op: &str, mode: &str, aggregate: &str, extra: Vec<AttributeProto>) -> NodeProto {
    let prefix = if op == "TreeEnsembleClassifier" { "class" } else { "target" };
    let mut attrs = vec![
        attr_is("nodes_treeids", &[0, 0, 0, 1, 1, 1, 1, 1]),
        attr_is("nodes_nodeids", &[0, 1, 2, 0, 1, 2, 3, 4]),
        attr_is("nodes_featureids", &[0, 0, 0, 1, 0, 0, 0, 0]),
        attr_strs("nodes_modes", &[mode, "LEAF", "LEAF", "BRANCH_GT", "BRANCH_EQ", "LEAF", "LEAF", "LEAF"]),
        attr_fs("nodes_values", &[0.25, 0.0, 0.0, -0.5, 0.5, 0.0, 0.0, 0.0]),
        attr_is("nodes_truenodeids", &[1, 0, 0, 1, 3, 0, 0, 0]),
        attr_is("nodes_falsenodeids", &[2, 0, 0, 2, 4, 0, 0, 0]),
        attr_is(&format!("{prefix}_treeids"), &[0, 0, 1, 1, 1]),
        attr_is(&format!("{prefix}_nodeids"), &[1, 2, 2, 3, 4]),
        attr_is(&format!("{prefix}_ids"), &[0, 0, 0, 0, 0]),
        attr_fs(&format!("{prefix}_weights"), &[1.5, -0.5, -1.0, 2.0, 0.25]),
        attr_s("aggregate_function", aggregate),
    ];
    attrs.extend(extra);
    node(op, &["x"], if op == "TreeEnsembleClassifier" { &["label", "probs"] } else { &["y"] }, attrs)
}

/// The circuit's tree ensemble equals its float reference (the semantics `compile` calibrates against) on
/// every branch mode and aggregate, at, just above and just below every threshold.
#[test]
fn tree_ensembles_match_their_float_reference_at_every_threshold() {
    let unit = f64::powi(2.0, -i32::from(SCALE));
    let grid = [0.25, 0.25 + unit, 0.25 - unit, 0.5, -1.0];
    let grid1 = [-0.5, -0.5 + unit, -0.5 - unit, 1.0];
    for mode in ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"] {
        for aggregate in ["SUM", "AVERAGE", "MIN", "MAX"] {
            let n = ensemble_node("TreeEnsembleRegressor", mode, aggregate, vec![attr_i("n_targets", 1)]);
            let reference = super::trees::Ensemble::parse(&n).expect("parse");
            let m = model(vec![n], vec![], &[1, 2], &["y"]);
            for &x0 in &grid {
                for &x1 in &grid1 {
                    let got = run(&m, &[x0, x1]).expect("lower");
                    let (_, want) = reference.eval(&[x0, x1]);
                    assert_close(&got, &want, 1e-9);
                }
            }
        }
    }
}

/// The binary layout (two labels, every leaf on class 0) gives `[1 − p, p]` and the label of `s > 0`; other
/// labels than `0..n` map through the label list.
#[test]
fn binary_tree_classifier_uses_the_label_list() {
    let extra = vec![attr_is("classlabels_int64s", &[7, 9]), attr_s("post_transform", "LOGISTIC")];
    let n = ensemble_node("TreeEnsembleClassifier", "BRANCH_LEQ", "SUM", extra);
    let reference = super::trees::Ensemble::parse(&n).expect("parse");
    let m = model(vec![n], vec![], &[1, 2], &["label", "probs"]);
    for x in [[0.0, 0.0], [1.0, 1.0], [0.5, 1.0], [0.0, -1.0]] {
        let got = run(&m, &x).expect("lower");
        let (label, p) = reference.eval(&x);
        assert_eq!(got[0], label.expect("label"), "label at {x:?}");
        assert!(got[0] == 7.0 || got[0] == 9.0);
        assert_close(&got[1..], &p, 0.01);
    }
}

/// Malformed ensembles are one-line errors naming the node and the problem.
#[test]
fn malformed_tree_ensembles_name_node_and_problem() {
    let err = |f: &dyn Fn(&mut NodeProto)| {
        let mut n = ensemble_node("TreeEnsembleRegressor", "BRANCH_LEQ", "SUM", vec![]);
        f(&mut n);
        let m = model(vec![n], vec![], &[1, 2], &["y"]);
        match run(&m, &[0.0, 0.0]) {
            Err(e) => e.to_string(),
            Ok(v) => panic!("lowered: {v:?}"),
        }
    };
    let set = |name: &'static str, v: Vec<i64>| {
        move |n: &mut NodeProto| {
            for a in &mut n.attribute {
                if a.name == name {
                    a.ints = v.clone();
                }
            }
        }
    };
    let e = err(&set("nodes_truenodeids", vec![1, 0, 0, 1, 7, 0, 0, 0]));
    assert!(e.contains("TreeEnsembleRegressor_node") && e.contains("missing node 7"), "{e}");
    let e = err(&set("nodes_truenodeids", vec![1, 0, 0, 1, 1, 0, 0, 0]));
    assert!(e.contains("more than one root") || e.contains("not a tree"), "{e}");
    let e = err(&set("nodes_featureids", vec![5, 0, 0, 1, 0, 0, 0, 0]));
    assert!(e.contains("feature 5 of 2"), "{e}");
    let e = err(&set("nodes_nodeids", vec![0, 1, 2, 0, 1, 2, 3]));
    assert!(e.contains("nodes_nodeids has 7 entries"), "{e}");
}

/// Computed indices: ScatterElements writes each update where its index points (the rest keeps `data`),
/// GatherND and ScatterND address the flattened leading axes.
#[test]
fn computed_scatter_and_gather_nd_follow_their_indices() {
    let bounds = vec![
        tensor("s0", &[1], &[0.0]),
        tensor("s2", &[1], &[2.0]),
        tensor("s4", &[1], &[4.0]),
        tensor("data", &[4], &[10.0, 20.0, 30.0, 40.0]),
        tensor("grid", &[2, 2], &[1.5, -2.5, 3.5, 0.25]),
    ];
    // x = [i0, i1, u0, u1]: out = data with data[i0] = u0, data[i1] = u1.
    let m = model(
        vec![
            node("Slice", &["x", "s0", "s2"], &["i"], vec![]),
            node("Slice", &["x", "s2", "s4"], &["u"], vec![]),
            node("ScatterElements", &["data", "i", "u"], &["y"], vec![attr_i("axis", 0)]),
        ],
        bounds.clone(),
        &[4],
        &["y"],
    );
    assert_eq!(run(&m, &[3.0, 0.0, -1.0, 2.5]).expect("lower"), [2.5, 20.0, 30.0, -1.0]);
    assert_eq!(run(&m, &[1.0, 2.0, 7.0, 8.0]).expect("lower"), [10.0, 7.0, 8.0, 40.0]);
    // GatherND: x[0..2] is one (row, column) tuple into grid.
    let m = model(
        vec![
            node("Slice", &["x", "s0", "s2"], &["i"], vec![]),
            node("GatherND", &["grid", "i"], &["y"], vec![]),
        ],
        bounds.clone(),
        &[4],
        &["y"],
    );
    assert_eq!(run(&m, &[1.0, 0.0, 0.0, 0.0]).expect("lower"), [3.5]);
    assert_eq!(run(&m, &[0.0, 1.0, 0.0, 0.0]).expect("lower"), [-2.5]);
    // ScatterND: x[0..1] a row index into grid, x[2..4] the new row.
    let m = model(
        vec![
            node("Slice", &["x", "s0", "s1"], &["i"], vec![]),
            node("Slice", &["x", "s2", "s4"], &["u"], vec![]),
            node("ScatterND", &["grid", "i", "u"], &["y"], vec![]),
        ],
        [bounds, vec![tensor("s1", &[1], &[1.0])]].concat(),
        &[4],
        &["y"],
    );
    assert_eq!(run(&m, &[1.0, 0.0, 5.0, 6.0]).expect("lower"), [1.5, -2.5, 5.0, 6.0]);
}

/// EZKL's `log` example in small: `Log` straight on the input, whose sample has a value near 0 that the
/// calibration's perturbed copies push below 0. Those copies are not inputs the float model serves (its output is
/// NaN there), so they no longer drop the range-reduced logarithm: compile picks it, not the full-range table.
#[test]
fn a_log_of_the_input_is_range_reduced_although_perturbed_copies_leave_its_domain() {
    let mut m = model(vec![node("Log", &["x"], &["y"], vec![])], vec![], &[1, 4], &["y"]);
    m.opset_import = vec![tract_onnx::pb::OperatorSetIdProto { domain: String::new(), version: 17 }];
    let dir = tempfile::tempdir().expect("tmp");
    let (onnx, input) = (dir.path().join("log.onnx"), dir.path().join("input.json"));
    std::fs::write(&onnx, prost::Message::encode_to_vec(&m)).expect("write model");
    std::fs::write(&input, r#"{"input_data": [[1.9252, 0.8400, 0.0156, 2.2689]]}"#).expect("write input");
    let s =
        crate::compile::compile(&onnx, &input, &crate::compile::CompileOptions::default()).expect("compile");
    assert!(
        s.graph.acts.iter().any(|a| matches!(a, Activation::LogReduced { .. })),
        "compile kept the table: {:?}",
        s.graph.acts
    );
    assert!(s.calibration.max_abs_error < 1e-3, "{:?}", s.calibration);
}
