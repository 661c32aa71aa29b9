//! Element-wise ops over several tensors and index reductions: Max, Min, Sum and Mean (variadic, numpy
//! broadcasting), PRelu (a per-channel slope), ArgMax and ArgMin (the first extreme index along an axis) and
//! TopK (k rounds of the first extreme, each excluding the ones already taken).

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, Axis, IxDyn};

use super::elementwise::{broadcast_shape, from_vec};
use super::pool::max_of;
use super::{attr_i, axis, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, Var};
use crate::Result;

/// Max, Min, Sum, Mean, PRelu, ArgMax, ArgMin, TopK.
pub(crate) struct Variadic;

impl OpLowering for Variadic {
    fn op_types(&self) -> &'static [&'static str] {
        &["Max", "Min", "Sum", "Mean", "PRelu", "ArgMax", "ArgMin", "TopK"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let out = match node.op_type.as_str() {
            "TopK" => return top_k(cx, node, inputs),
            "PRelu" => prelu(cx, node, inputs)?,
            "ArgMax" | "ArgMin" => arg_extreme(cx, node, input(node, inputs, 0)?)?,
            _ => elementwise_n(cx, node, inputs)?,
        };
        Ok(vec![out])
    }
}

/// Every input as circuit values broadcast to the common shape (constants become constant neurons).
fn operands(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    inputs: &[Option<Value>],
) -> Result<(Vec<usize>, Vec<Vec<Var>>)> {
    let parts: Vec<&Value> = inputs.iter().flatten().collect();
    let mut shape: Vec<usize> = vec![];
    for p in &parts {
        shape = broadcast_shape(node, &shape, p.shape())?;
    }
    let mut cols = Vec::with_capacity(parts.len());
    for p in parts {
        let vars: ArrayD<Var> = match p {
            Value::Dyn(d) => d.clone(),
            Value::Const(c) => c.mapv(|v| cx.affine(&[], v)),
        };
        let b = vars
            .broadcast(IxDyn(&shape))
            .ok_or_else(|| invalid(node, format!("cannot broadcast {:?} to {shape:?}", vars.shape())))?;
        cols.push(b.iter().copied().collect());
    }
    Ok((shape, cols))
}

fn elementwise_n(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    if inputs.iter().flatten().all(|v| matches!(v, Value::Const(_))) {
        return Err(invalid(node, "constant inputs: nothing to prove"));
    }
    let (shape, cols) = operands(cx, node, inputs)?;
    let n = cols.len();
    let len: usize = shape.iter().product();
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let vals: Vec<Var> = cols.iter().map(|c| c[i]).collect();
        out.push(match node.op_type.as_str() {
            "Max" => max_of(cx, &vals),
            "Min" => {
                let neg: Vec<Var> = vals.iter().map(|&v| cx.affine(&[(v, -1.0)], 0.0)).collect();
                let m = max_of(cx, &neg);
                cx.affine(&[(m, -1.0)], 0.0)
            }
            "Sum" => cx.affine(&vals.iter().map(|&v| (v, 1.0)).collect::<Vec<_>>(), 0.0),
            _ => cx.affine(&vals.iter().map(|&v| (v, 1.0 / n as f64)).collect::<Vec<_>>(), 0.0),
        });
    }
    Ok(Value::Dyn(from_vec(node, &shape, out)?))
}

/// `max(0, x) + slope·min(0, x) = (1 − slope)·relu(x) + slope·x`, the slope a (broadcast) model parameter.
fn prelu(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let Value::Dyn(x) = input(node, inputs, 0)? else {
        return Err(invalid(node, "constant input: nothing to prove"));
    };
    let Value::Const(slope) = input(node, inputs, 1)? else {
        return Err(invalid(node, "the slope must be a constant"));
    };
    let shape = broadcast_shape(node, x.shape(), slope.shape())?;
    let (xb, sb) = match (x.broadcast(IxDyn(&shape)), slope.broadcast(IxDyn(&shape))) {
        (Some(a), Some(b)) => (a, b),
        _ => return Err(invalid(node, format!("cannot broadcast {:?} and {:?}", x.shape(), slope.shape()))),
    };
    let mut out = Vec::with_capacity(xb.len());
    for (&v, &s) in xb.iter().zip(sb.iter()) {
        let r = cx.activation(v, Activation::Relu);
        out.push(cx.affine_params(&[(r, 1.0 - s), (v, s)], 0.0));
    }
    Ok(Value::Dyn(from_vec(node, &shape, out)?))
}

/// The index of the first maximum (ArgMax) or minimum (ArgMin) along `axis`: with `m` the extreme,
/// `e_i = [x_i == m]` (exact on the quantized values), `f_i = e_i · Π_{j<i} (1 − e_j)` the first one, and the
/// index `Σ i · f_i`. `select_last_index = 1` scans from the end.
fn arg_extreme(cx: &mut Ctx<'_>, node: &NodeProto, x: &Value) -> Result<Value> {
    let Value::Dyn(x) = x else { return Err(invalid(node, "constant input: nothing to prove")) };
    let a = axis(node, attr_i(node, "axis", 0)?, x.ndim())?;
    let keep = attr_i(node, "keepdims", 1)? != 0;
    let last = attr_i(node, "select_last_index", 0)? != 0;
    let sign = if node.op_type == "ArgMax" { 1.0 } else { -1.0 };
    let lanes: Vec<Vec<Var>> = x.lanes(Axis(a)).into_iter().map(|l| l.iter().copied().collect()).collect();
    let out: Vec<Var> = lanes.iter().map(|lane| first_extreme_index(cx, lane, sign, last)).collect();
    let mut shape = x.shape().to_vec();
    if keep {
        shape[a] = 1;
    } else {
        shape.remove(a);
    }
    Ok(Value::Dyn(from_vec(node, &shape, out)?))
}

/// The index (at the model scale) of the first maximum of `sign · lane` (the last one with `last`): see
/// [`arg_extreme`].
pub(crate) fn first_extreme_index(cx: &mut Ctx<'_>, lane: &[Var], sign: f64, last: bool) -> Var {
    let signed: Vec<Var> = lane.iter().map(|&v| cx.affine(&[(v, sign)], 0.0)).collect();
    first_max(cx, &signed, last).index
}

/// The first maximum of a lane: its value, its index and the one-hot vector that marks it.
struct FirstMax {
    value: Var,
    index: Var,
    hot: Vec<Var>,
}

/// `m = max(lane)`, `e_i = [lane_i == m]` (exact), `f_i = e_i · Π_{j before i} (1 − e_j)`, index `Σ i·f_i`.
fn first_max(cx: &mut Ctx<'_>, lane: &[Var], last: bool) -> FirstMax {
    let m = max_of(cx, lane);
    let order: Vec<usize> = if last { (0..lane.len()).rev().collect() } else { (0..lane.len()).collect() };
    let mut none_yet: Option<Var> = None; // Π (1 − e_j) over the positions scanned so far
    let mut hot = vec![m; lane.len()];
    let mut terms = Vec::with_capacity(lane.len());
    for i in order {
        let d = cx.affine(&[(lane[i], 1.0), (m, -1.0)], 0.0);
        let e = cx.activation(d, Activation::IsZero);
        let first = match none_yet {
            None => e,
            Some(p) => cx.mul(e, p),
        };
        let not_e = cx.affine(&[(e, -1.0)], 1.0);
        none_yet = Some(match none_yet {
            None => not_e,
            Some(p) => cx.mul(p, not_e),
        });
        hot[i] = first;
        terms.push((first, i as f64));
    }
    FirstMax { value: m, index: cx.affine(&terms, 0.0), hot }
}

/// TopK with a constant k along `axis`: `k` rounds, each the first maximum of `sign · x` with the elements
/// already taken pushed below the lane's minimum; values in order (ties by lower index, as ONNX), indices at
/// the model scale.
fn top_k(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
    let Value::Dyn(x) = input(node, inputs, 0)? else {
        return Err(invalid(node, "constant input: nothing to prove"));
    };
    let k = match input(node, inputs, 1)? {
        Value::Const(c) if c.len() == 1 => c.iter().next().map_or(0, |&v| v as usize),
        _ => return Err(invalid(node, "k must be a constant scalar")),
    };
    let a = axis(node, attr_i(node, "axis", -1)?, x.ndim())?;
    let n = x.shape()[a];
    if k == 0 || k > n {
        return Err(invalid(node, format!("k = {k} for an axis of {n}")));
    }
    let sign = if attr_i(node, "largest", 1)? != 0 { 1.0 } else { -1.0 };
    // Lanes along `a`, each producing k values and k indices; reassembled with `a` of length k.
    let moved = x.view().permuted_axes(moved_axes(x.ndim(), a));
    let lanes: Vec<Vec<Var>> = moved.lanes(Axis(x.ndim() - 1)).into_iter().map(|l| l.to_vec()).collect();
    let (mut values, mut indices) =
        (Vec::with_capacity(lanes.len() * k), Vec::with_capacity(lanes.len() * k));
    for lane in &lanes {
        let signed: Vec<Var> = lane.iter().map(|&v| cx.affine(&[(v, sign)], 0.0)).collect();
        let negated: Vec<Var> = signed.iter().map(|&v| cx.affine(&[(v, -1.0)], 0.0)).collect();
        let neg_min = max_of(cx, &negated);
        let mut taken: Vec<Option<Var>> = vec![None; n];
        for _ in 0..k {
            let masked: Vec<Var> = signed
                .iter()
                .zip(&taken)
                .map(|(&v, t)| match t {
                    None => v,
                    // v + t·(min − 1 − v): below every untaken element when taken.
                    Some(t) => {
                        let d = cx.affine(&[(neg_min, -1.0), (v, -1.0)], -1.0);
                        let m = cx.mul(*t, d);
                        cx.affine(&[(v, 1.0), (m, 1.0)], 0.0)
                    }
                })
                .collect();
            let best = first_max(cx, &masked, false);
            values.push(cx.affine(&[(best.value, sign)], 0.0));
            indices.push(best.index);
            for (t, &h) in taken.iter_mut().zip(&best.hot) {
                *t = Some(match *t {
                    None => h,
                    Some(prev) => cx.affine(&[(prev, 1.0), (h, 1.0)], 0.0),
                });
            }
        }
    }
    let mut moved_shape: Vec<usize> = moved.shape().to_vec();
    *moved_shape.last_mut().unwrap_or(&mut 0) = k;
    let back = inverse_axes(x.ndim(), a);
    let restore = |v: Vec<Var>| -> Result<ArrayD<Var>> {
        Ok(from_vec(node, &moved_shape, v)?.permuted_axes(back.clone()).as_standard_layout().to_owned())
    };
    Ok(vec![Value::Dyn(restore(values)?), Value::Dyn(restore(indices)?)])
}

/// Axis order moving `a` last.
fn moved_axes(rank: usize, a: usize) -> Vec<usize> {
    (0..rank).filter(|&i| i != a).chain([a]).collect()
}

/// The inverse of [`moved_axes`].
fn inverse_axes(rank: usize, a: usize) -> Vec<usize> {
    let fwd = moved_axes(rank, a);
    let mut inv = vec![0; rank];
    for (i, &f) in fwd.iter().enumerate() {
        inv[f] = i;
    }
    inv
}
