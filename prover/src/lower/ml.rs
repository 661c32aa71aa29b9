//! ONNX-ML's linear models and helpers, as skl2onnx emits them for scikit-learn pipelines:
//!
//! - LinearRegressor and LinearClassifier: `X·coefficientsᵀ + intercepts`, the coefficients model
//!   parameters (private with `--params private`); the classifier's label is the class label of the first
//!   maximal score ([`label_of`]), its scores pass through post_transform NONE, LOGISTIC or SOFTMAX;
//! - Scaler `(x − offset) · scale` per feature; Normalizer (MAX, L1, L2 along the last axis, by the
//!   reciprocal / reciprocal-square-root tables);
//! - ZipMap: the probability tensor itself (zkoracle's outputs are tensors, in class order);
//! - ArrayFeatureExtractor: columns of the last axis, by constant or computed indices (a computed index picks
//!   a class label after ArgMax).

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::ArrayD;

use super::elementwise::from_vec;
use super::norm::softmax;
use super::pool::max_of;
use super::trees::{label_of, Post};
use super::{attr_floats, attr_i, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, Var};
use crate::Result;

/// LinearRegressor, LinearClassifier, Scaler, Normalizer, ZipMap and ArrayFeatureExtractor.
pub(crate) struct MlLinear;

impl OpLowering for MlLinear {
    fn op_types(&self) -> &'static [&'static str] {
        &["LinearRegressor", "LinearClassifier", "Scaler", "Normalizer", "ZipMap", "ArrayFeatureExtractor"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        match node.op_type.as_str() {
            "LinearRegressor" => linear_regressor(cx, node, inputs),
            "LinearClassifier" => linear_classifier(cx, node, inputs),
            "ZipMap" => Ok(vec![input(node, inputs, 0)?.clone()]),
            "ArrayFeatureExtractor" => Ok(vec![feature_extractor(cx, node, inputs)?]),
            op => {
                let Value::Dyn(x) = input(node, inputs, 0)? else {
                    return Err(invalid(node, "constant input: nothing to prove"));
                };
                let out = if op == "Scaler" { scaler(cx, node, x)? } else { normalizer(cx, node, x)? };
                Ok(vec![Value::Dyn(out)])
            }
        }
    }
}

/// `[N, F]` (or `[F]`, one row) as its rows and feature count.
fn rows_of(node: &NodeProto, x: &ArrayD<Var>) -> Result<(usize, usize, Vec<Var>)> {
    match x.shape() {
        [f] => Ok((1, *f, x.iter().copied().collect())),
        [n, f] => Ok((*n, *f, x.iter().copied().collect())),
        s => Err(invalid(node, format!("expects [N, features], got {s:?}"))),
    }
}

/// Per-row scores `X·coefficientsᵀ + intercepts` for `targets` outputs.
fn linear_scores(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    x: &ArrayD<Var>,
    targets: usize,
) -> Result<(usize, Vec<Vec<Var>>)> {
    let (n, f, flat) = rows_of(node, x)?;
    let coef = attr_floats(node, "coefficients")?.ok_or_else(|| invalid(node, "missing coefficients"))?;
    if targets == 0 || coef.len() != targets * f {
        return Err(invalid(
            node,
            format!("{} coefficients for {targets} outputs of {f} features", coef.len()),
        ));
    }
    let intercepts = attr_floats(node, "intercepts")?.unwrap_or_else(|| vec![0.0; targets]);
    if intercepts.len() != targets {
        return Err(invalid(node, format!("{} intercepts for {targets} outputs", intercepts.len())));
    }
    let mut out = Vec::with_capacity(n);
    for row in flat.chunks(f.max(1)) {
        let scores = (0..targets)
            .map(|t| {
                let terms: Vec<(Var, f64)> =
                    row.iter().zip(&coef[t * f..(t + 1) * f]).map(|(&v, &w)| (v, w)).collect();
                cx.affine_params(&terms, intercepts[t])
            })
            .collect();
        out.push(scores);
    }
    Ok((n, out))
}

/// LinearClassifier: label and scores (post-transformed) per row.
fn linear_classifier(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
    let Value::Dyn(x) = input(node, inputs, 0)? else {
        return Err(invalid(node, "constant input: nothing to prove"));
    };
    if node.get_attr_opt_vec::<&str>("classlabels_strings").ok().flatten().is_some() {
        return Err(invalid(node, "string class labels are not supported (export classlabels_ints)"));
    }
    let labels = node
        .get_attr_opt_vec::<i64>("classlabels_ints")
        .map_err(|e| invalid(node, e.to_string()))?
        .ok_or_else(|| invalid(node, "missing classlabels_ints"))?;
    let post = Post::parse(node)?;
    let (n, scores) = linear_scores(cx, node, x, labels.len())
        .map_err(|e| invalid(node, format!("{e} (one coefficient row per class is supported)")))?;
    let (mut out_labels, mut out_scores) = (vec![], vec![]);
    for s in &scores {
        out_labels.push(label_of(cx, &labels, s));
        out_scores.extend(match post {
            Post::None => s.clone(),
            Post::Logistic => s.iter().map(|&v| cx.activation(v, Activation::Sigmoid)).collect(),
            Post::Softmax => softmax(cx, s),
        });
    }
    Ok(vec![
        Value::Dyn(from_vec(node, &[n], out_labels)?),
        Value::Dyn(from_vec(node, &[n, labels.len()], out_scores)?),
    ])
}

/// Scaler: `(x − offset) · scale` per feature of the last axis (one value applies to all).
fn scaler(cx: &mut Ctx<'_>, node: &NodeProto, x: &ArrayD<Var>) -> Result<ArrayD<Var>> {
    let f = x.shape().last().copied().unwrap_or(1);
    let pick = |v: &Option<Vec<f64>>, i: usize, d: f64| -> Result<f64> {
        match v.as_deref() {
            None | Some([]) => Ok(d),
            Some([c]) => Ok(*c),
            Some(v) if v.len() == f => Ok(v[i % f]),
            Some(v) => Err(invalid(node, format!("{} values for {f} features", v.len()))),
        }
    };
    let (offset, scale) = (attr_floats(node, "offset")?, attr_floats(node, "scale")?);
    let mut out = Vec::with_capacity(x.len());
    for (i, &v) in x.iter().enumerate() {
        let (o, s) = (pick(&offset, i, 0.0)?, pick(&scale, i, 1.0)?);
        out.push(cx.affine_params(&[(v, s)], -o * s));
    }
    from_vec(node, x.shape(), out)
}

/// Normalizer along the last axis: `x / max(x)`, `x / Σ|x|` or `x / √Σx²`.
fn normalizer(cx: &mut Ctx<'_>, node: &NodeProto, x: &ArrayD<Var>) -> Result<ArrayD<Var>> {
    let norm = node.get_attr_opt::<String>("norm").map_err(|e| invalid(node, e.to_string()))?;
    let norm = norm.unwrap_or_else(|| "MAX".into()).to_ascii_uppercase();
    let f = x.shape().last().copied().unwrap_or(1).max(1);
    let flat: Vec<Var> = x.iter().copied().collect();
    let mut out = Vec::with_capacity(flat.len());
    for row in flat.chunks(f) {
        let inv = match norm.as_str() {
            "MAX" => {
                let m = max_of(cx, row);
                cx.activation(m, Activation::Recip)
            }
            "L1" => {
                // |v| = relu(v) + relu(−v), exact.
                let mut terms = Vec::with_capacity(2 * row.len());
                for &v in row {
                    let neg = cx.affine(&[(v, -1.0)], 0.0);
                    terms.push((cx.activation(v, Activation::Relu), 1.0));
                    terms.push((cx.activation(neg, Activation::Relu), 1.0));
                }
                let sum = cx.affine(&terms, 0.0);
                cx.activation(sum, Activation::Recip)
            }
            "L2" => {
                let squares: Vec<(Var, f64)> = row.iter().map(|&v| (cx.mul(v, v), 1.0)).collect();
                let sum = cx.affine(&squares, 0.0);
                cx.activation(sum, Activation::Rsqrt { eps: 0.0 })
            }
            other => return Err(invalid(node, format!("norm {other} is not supported"))),
        };
        out.extend(row.iter().map(|&v| cx.mul(v, inv)));
    }
    from_vec(node, x.shape(), out)
}

/// ArrayFeatureExtractor: `X[..., indices]` along the last axis.
fn feature_extractor(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let x = input(node, inputs, 0)?;
    match input(node, inputs, 1)? {
        Value::Dyn(idx) if x.shape().len() == 1 => super::select::dynamic_gather(cx, node, x, idx),
        Value::Dyn(_) => Err(invalid(node, "computed indices need a 1-D tensor (class labels)")),
        Value::Const(idx) => {
            let shape = x.shape().to_vec();
            let f = shape.last().copied().unwrap_or(1);
            let cols: Vec<usize> = idx
                .iter()
                .map(|&i| {
                    let i = i as i64;
                    usize::try_from(if i < 0 { i + f as i64 } else { i })
                        .ok()
                        .filter(|&i| i < f)
                        .ok_or_else(|| invalid(node, format!("index {i} out of range for {f} features")))
                })
                .collect::<Result<_>>()?;
            let mut out_shape = shape.clone();
            *out_shape.last_mut().unwrap_or(&mut 0) = cols.len();
            let gather = |flat: Vec<usize>| -> Vec<usize> {
                flat.chunks(f.max(1))
                    .flat_map(|row| cols.iter().map(|&c| row[c]).collect::<Vec<_>>())
                    .collect()
            };
            let positions = gather((0..x.shape().iter().product()).collect());
            Ok(match x {
                Value::Const(c) => {
                    let flat: Vec<f64> = c.iter().copied().collect();
                    Value::Const(from_vec(node, &out_shape, positions.iter().map(|&p| flat[p]).collect())?)
                }
                Value::Dyn(d) => {
                    let flat: Vec<Var> = d.iter().copied().collect();
                    Value::Dyn(from_vec(node, &out_shape, positions.iter().map(|&p| flat[p]).collect())?)
                }
            })
        }
    }
}

/// LinearRegressor: `X·coefficientsᵀ + intercepts` (post_transform NONE).
fn linear_regressor(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
    let Value::Dyn(x) = input(node, inputs, 0)? else {
        return Err(invalid(node, "constant input: nothing to prove"));
    };
    if Post::parse(node)? != Post::None {
        return Err(invalid(node, "only post_transform NONE is supported"));
    }
    let targets = usize::try_from(attr_i(node, "targets", 1)?).unwrap_or(0);
    let (n, scores) = linear_scores(cx, node, x, targets)?;
    Ok(vec![Value::Dyn(from_vec(node, &[n, targets], scores.concat())?)])
}
