//! BatchNormalization (a per-channel affine map), LayerNormalization and InstanceNormalization (mean,
//! variance by products, reciprocal square root by table), Softmax (max-subtract, exp table, sum, reciprocal
//! table, products) and LogSoftmax (max-subtract, exp table, sum, log table: `x − m − ln Σ e^(x − m)`).

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};

use super::elementwise::from_vec;
use super::pool::{max_of, ndindex, shifted_log_sum_exp};
use super::{attr_f, attr_i, axis, const_input, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, Var};
use crate::Result;

pub(crate) struct Normalization;

impl OpLowering for Normalization {
    fn op_types(&self) -> &'static [&'static str] {
        &["BatchNormalization", "LayerNormalization", "InstanceNormalization", "Softmax", "LogSoftmax"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let Value::Dyn(x) = input(node, inputs, 0)? else {
            return Err(invalid(node, "constant input: nothing to prove"));
        };
        let out = match node.op_type.as_str() {
            "BatchNormalization" => batch_norm(cx, node, inputs, x)?,
            "LayerNormalization" => layer_norm(cx, node, inputs, x)?,
            "InstanceNormalization" => instance_norm(cx, node, inputs, x)?,
            op => {
                let a = axis(node, attr_i(node, "axis", -1)?, x.ndim())?;
                if op == "LogSoftmax" {
                    along_axis(node, x, &[a], |group| log_softmax(cx, group))?
                } else {
                    along_axis(node, x, &[a], |group| softmax(cx, group))?
                }
            }
        };
        Ok(vec![Value::Dyn(out)])
    }
}

fn batch_norm(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    inputs: &[Option<Value>],
    x: &ArrayD<Var>,
) -> Result<ArrayD<Var>> {
    if x.ndim() < 2 {
        return Err(invalid(node, "expects N x C x ..."));
    }
    let c = x.shape()[1];
    let eps = attr_f(node, "epsilon", 1e-5)?;
    let param = |i: usize| channel_param(node, inputs, i, c);
    let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
    let mut out = Vec::with_capacity(x.len());
    for (idx, &v) in x.indexed_iter() {
        let ch = idx[1];
        let a = scale[ch] / (var[ch] + eps).sqrt();
        out.push(cx.affine_params(&[(v, a)], bias[ch] - mean[ch] * a));
    }
    from_vec(node, x.shape(), out)
}

fn layer_norm(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    inputs: &[Option<Value>],
    x: &ArrayD<Var>,
) -> Result<ArrayD<Var>> {
    let rank = x.ndim();
    let a = axis(node, attr_i(node, "axis", -1)?, rank)?;
    let eps = attr_f(node, "epsilon", 1e-5)?;
    let norm_shape = &x.shape()[a..];
    let n: usize = norm_shape.iter().product();
    let gamma = const_input(node, inputs, 1)?;
    let gamma = gamma
        .broadcast(IxDyn(norm_shape))
        .ok_or_else(|| invalid(node, "scale does not broadcast to the normalized shape"))?
        .iter()
        .copied()
        .collect::<Vec<_>>();
    let beta = match inputs.get(2).and_then(|b| b.as_ref()) {
        Some(Value::Const(b)) => b
            .broadcast(IxDyn(norm_shape))
            .ok_or_else(|| invalid(node, "bias does not broadcast to the normalized shape"))?
            .iter()
            .copied()
            .collect(),
        Some(Value::Dyn(_)) => return Err(invalid(node, "bias must be constant")),
        None => vec![0.0; n],
    };
    let axes: Vec<usize> = (a..rank).collect();
    along_axis(node, x, &axes, |group| {
        let normed = standardize(cx, group, eps);
        normed.iter().enumerate().map(|(i, &v)| cx.affine_params(&[(v, gamma[i])], beta[i])).collect()
    })
}

/// `(x − mean) / sqrt(var + eps)` over one group: mean and variance by affine sums and products, the
/// reciprocal square root by table.
fn standardize(cx: &mut Ctx<'_>, group: &[Var], eps: f64) -> Vec<Var> {
    let inv_n = 1.0 / group.len().max(1) as f64;
    let mean = cx.affine(&group.iter().map(|&v| (v, inv_n)).collect::<Vec<_>>(), 0.0);
    let centered: Vec<Var> = group.iter().map(|&v| cx.affine(&[(v, 1.0), (mean, -1.0)], 0.0)).collect();
    let squares: Vec<(Var, f64)> = centered.iter().map(|&d| (cx.mul(d, d), inv_n)).collect();
    let var = cx.affine(&squares, 0.0);
    let rinv = cx.activation(var, Activation::Rsqrt { eps });
    centered.iter().map(|&d| cx.mul(d, rinv)).collect()
}

/// InstanceNormalization: every `(n, c)` plane standardized over its spatial axes, then
/// `scale[c] · x̂ + B[c]`.
fn instance_norm(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    inputs: &[Option<Value>],
    x: &ArrayD<Var>,
) -> Result<ArrayD<Var>> {
    if x.ndim() < 3 {
        return Err(invalid(node, "expects N x C x D1 x ..."));
    }
    let c = x.shape()[1];
    let eps = attr_f(node, "epsilon", 1e-5)?;
    let param = |i: usize| channel_param(node, inputs, i, c);
    let (scale, bias) = (param(1)?, param(2)?);
    let plane: usize = x.shape()[2..].iter().product();
    let flat: Vec<Var> = x.iter().copied().collect();
    let mut out = Vec::with_capacity(flat.len());
    for (i, group) in flat.chunks(plane.max(1)).enumerate() {
        let ch = i % c;
        for v in standardize(cx, group, eps) {
            out.push(cx.affine_params(&[(v, scale[ch])], bias[ch]));
        }
    }
    from_vec(node, x.shape(), out)
}

/// Constant input `i`: one value per channel.
fn channel_param(node: &NodeProto, inputs: &[Option<Value>], i: usize, c: usize) -> Result<Vec<f64>> {
    let p = const_input(node, inputs, i)?;
    if p.len() != c {
        return Err(invalid(node, format!("parameter #{i} has {} values for {c} channels", p.len())));
    }
    Ok(p.iter().copied().collect())
}

/// LogSoftmax of one group: `x − m − ln Σ e^(x − m)` with `m` the exact maximum.
fn log_softmax(cx: &mut Ctx<'_>, group: &[Var]) -> Vec<Var> {
    let (_, shifted, lse) = shifted_log_sum_exp(cx, group);
    shifted.iter().map(|&d| cx.affine(&[(d, 1.0), (lse, -1.0)], 0.0)).collect()
}

/// Softmax of one group: max-subtract, exp table, sum, reciprocal table, products.
pub(crate) fn softmax(cx: &mut Ctx<'_>, group: &[Var]) -> Vec<Var> {
    let m = max_of(cx, group);
    let exps: Vec<Var> = group
        .iter()
        .map(|&v| {
            let d = cx.affine(&[(v, 1.0), (m, -1.0)], 0.0);
            cx.activation(d, Activation::Exp)
        })
        .collect();
    let sum = cx.affine(&exps.iter().map(|&e| (e, 1.0)).collect::<Vec<_>>(), 0.0);
    let rinv = cx.activation(sum, Activation::Recip);
    exps.iter().map(|&e| cx.mul(e, rinv)).collect()
}

/// Applies `f` to every group of values spanning `axes` (all other indices fixed), keeping the shape.
fn along_axis(
    node: &NodeProto,
    x: &ArrayD<Var>,
    axes: &[usize],
    mut f: impl FnMut(&[Var]) -> Vec<Var>,
) -> Result<ArrayD<Var>> {
    let shape = x.shape().to_vec();
    let outer: Vec<usize> =
        shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let inner: Vec<usize> = axes.iter().map(|&a| shape[a]).collect();
    let mut out = x.clone();
    for idx in ndindex(&outer) {
        let positions: Vec<Vec<usize>> = ndindex(&inner)
            .into_iter()
            .map(|sub| {
                let mut full = idx.clone();
                for (k, &a) in axes.iter().enumerate() {
                    full[a] = sub[k];
                }
                full
            })
            .collect();
        let group: Vec<Var> = positions.iter().map(|p| x[IxDyn(p)]).collect();
        let res = f(&group);
        for (p, v) in positions.iter().zip(res) {
            out[IxDyn(p)] = v;
        }
    }
    from_vec(node, &shape, out.iter().copied().collect())
}
