//! Gathers whose indices are computed (Gather, GatherElements), as in Hummingbird's `tree_trav` strategy,
//! plus GatherElements with constant indices (pure data movement).
//!
//! A computed index `i` into an axis of size `n` becomes a one-hot vector `[i == j]` for `j` in `0..n`
//! (one [`Activation::IsZero`] neuron each, shared by every gather that reads the same index), and the
//! gathered value is `Σ_j data[j] · [i == j]`: one affine neuron for constant data (a model parameter), a
//! product per entry plus a sum for computed data. Indices are integers at the model scale; each one-hot
//! neuron first rescales `i − j` to whole units, so an index off by less than half a unit still selects its
//! nearest entry. A computed index outside `[0, n)` (negative indices are not wrapped) selects no entry and
//! gathers 0: the circuit cannot reject it, so models must compute in-range indices (tree traversals do).

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::ArrayD;

use super::compare::{assemble, elems, Elem};
use super::pool::ndindex;
use super::{attr_i, axis, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, Var};
use crate::Result;

pub(crate) struct Select;

impl OpLowering for Select {
    fn op_types(&self) -> &'static [&'static str] {
        &["GatherElements", "OneHot"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        if node.op_type == "OneHot" {
            return Ok(vec![one_hot_op(cx, node, inputs)?]);
        }
        Ok(vec![gather_elements(cx, node, inputs)?])
    }
}

/// ONNX OneHot of computed indices: `off + (on − off)·[i == j]` along a new axis of size `depth` (the shared
/// one-hot vectors above; an index outside `[0, depth)` gives `off` everywhere).
fn one_hot_op(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let Value::Dyn(ind) = input(node, inputs, 0)? else {
        return Err(invalid(node, "constant indices: nothing to prove"));
    };
    let konst = |i: usize, what: &str| -> Result<Vec<f64>> {
        match input(node, inputs, i)? {
            Value::Const(c) => Ok(c.iter().copied().collect()),
            Value::Dyn(_) => Err(invalid(node, format!("{what} must be a constant"))),
        }
    };
    let depth = konst(1, "depth")?.first().copied().unwrap_or(0.0);
    let values = konst(2, "values")?;
    let (Some(&off), Some(&on)) = (values.first(), values.get(1)) else {
        return Err(invalid(node, "values must be [off, on]"));
    };
    if !(1.0..=65_536.0).contains(&depth) {
        return Err(invalid(node, format!("depth {depth} out of range")));
    }
    let n = depth as usize;
    let rank = ind.ndim() + 1;
    let a = axis(node, attr_i(node, "axis", -1)?, rank)?;
    let mut shape = ind.shape().to_vec();
    shape.insert(a, n);
    let hots: Vec<Vec<Var>> = ind.iter().map(|&i| one_hot(cx, i, n)).collect();
    // Output element (…, j at axis a, …): the index element without axis a, entry j.
    let mut out = Vec::with_capacity(hots.len() * n);
    for full in ndindex(&shape) {
        let j = full[a];
        let mut rest = full.clone();
        rest.remove(a);
        let flat = rest.iter().zip(ind.shape()).fold(0usize, |acc, (&r, &d)| acc * d + r);
        out.push(cx.affine(&[(hots[flat][j], on - off)], off));
    }
    ArrayD::from_shape_vec(tract_onnx::prelude::tract_ndarray::IxDyn(&shape), out)
        .map(Value::Dyn)
        .map_err(|e| invalid(node, e.to_string()))
}

/// The one-hot vector `[idx == j]`, `j in 0..n`, of a computed index (memoized per index value).
pub(crate) fn one_hot(cx: &mut Ctx<'_>, idx: Var, n: usize) -> Vec<Var> {
    if let Some(v) = cx.one_hots.get(&(idx, n)) {
        return v.clone();
    }
    let unit = f64::powi(2.0, -i32::from(cx.scale));
    let v: Vec<Var> = (0..n)
        .map(|j| {
            // `i − j` in whole units (`round((i_q − j·2^s) / 2^s)`) keeps the table input within ±n; it
            // needs the weight scale to hold `2^-scale` exactly, otherwise `i − j` is tested at full scale.
            let d = if cx.weight_scale >= cx.scale {
                cx.affine(&[(idx, unit)], -(j as f64) * unit)
            } else {
                cx.affine(&[(idx, 1.0)], -(j as f64))
            };
            cx.activation(d, Activation::IsZero)
        })
        .collect();
    cx.one_hots.insert((idx, n), v.clone());
    v
}

/// `Σ_j entries[j] · hot[j]`.
pub(crate) fn pick(cx: &mut Ctx<'_>, entries: &[Elem], hot: &[Var]) -> Var {
    let mut terms = Vec::with_capacity(entries.len());
    for (e, &h) in entries.iter().zip(hot) {
        match *e {
            Elem::C(c) => terms.push((h, c)),
            Elem::V(v) => terms.push((cx.mul(v, h), 1.0)),
        }
    }
    if entries.iter().any(|e| matches!(e, Elem::C(_))) {
        // Constant entries are model parameters (thresholds, child indices, leaf values).
        cx.affine_params(&terms, 0.0)
    } else {
        cx.affine(&terms, 0.0)
    }
}

/// Gather along `axis` with computed `indices`: `out = data[..axis] ++ indices ++ data[axis + 1..]`.
pub(crate) fn dynamic_gather(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    data: &Value,
    indices: &ArrayD<Var>,
) -> Result<Value> {
    let shape = data.shape().to_vec();
    let a = axis(node, attr_i(node, "axis", 0)?, shape.len())?;
    let n = shape[a];
    let flat = elems(node, data, &shape)?;
    let (pre, post): (usize, usize) = (shape[..a].iter().product(), shape[a + 1..].iter().product());
    let mut out_shape = shape[..a].to_vec();
    out_shape.extend(indices.shape());
    out_shape.extend(&shape[a + 1..]);
    let mut out = Vec::with_capacity(pre * indices.len() * post);
    for p in 0..pre {
        for &idx in indices.iter() {
            let hot = one_hot(cx, idx, n);
            for q in 0..post {
                let entries: Vec<Elem> = (0..n).map(|j| flat[(p * n + j) * post + q]).collect();
                out.push(Elem::V(pick(cx, &entries, &hot)));
            }
        }
    }
    assemble(cx, node, &out_shape, out)
}

/// GatherElements: `out[i] = data[i with axis replaced by indices[i]]`, `out` shaped like `indices`.
fn gather_elements(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let data = input(node, inputs, 0)?;
    let indices = input(node, inputs, 1)?;
    let shape = data.shape().to_vec();
    let rank = shape.len();
    if indices.shape().len() != rank {
        return Err(invalid(
            node,
            format!("indices rank {} differs from data rank {rank}", indices.shape().len()),
        ));
    }
    let a = axis(node, attr_i(node, "axis", 0)?, rank)?;
    let n = shape[a];
    let out_shape = indices.shape().to_vec();
    if let Some(d) = (0..rank).find(|&d| d != a && out_shape[d] > shape[d]) {
        return Err(invalid(
            node,
            format!("indices dimension {d} exceeds the data's ({out_shape:?} vs {shape:?})"),
        ));
    }
    let flat = elems(node, data, &shape)?;
    let offset = |pos: &[usize]| pos.iter().zip(&shape).fold(0, |acc, (&p, &d)| acc * d + p);
    let idx_elems = elems(node, indices, &out_shape)?;
    let mut out = Vec::with_capacity(idx_elems.len());
    for (mut pos, ie) in ndindex(&out_shape).into_iter().zip(idx_elems) {
        match ie {
            Elem::C(c) => {
                let i = c as i64;
                if i < -(n as i64) || i >= n as i64 {
                    return Err(invalid(node, format!("index {i} out of range for axis of size {n}")));
                }
                pos[a] = if i < 0 { (i + n as i64) as usize } else { i as usize };
                out.push(flat[offset(&pos)]);
            }
            Elem::V(idx) => {
                let hot = one_hot(cx, idx, n);
                let entries: Vec<Elem> = (0..n)
                    .map(|j| {
                        pos[a] = j;
                        flat[offset(&pos)]
                    })
                    .collect();
                out.push(Elem::V(pick(cx, &entries, &hot)));
            }
        }
    }
    // Constant indices on constant data fold to a constant; a computed tensor otherwise.
    assemble(cx, node, &out_shape, out)
}
