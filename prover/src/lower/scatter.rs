//! GatherND, ScatterND and ScatterElements whose indices are computed (the constant-index forms are data
//! movement in `movement.rs`).
//!
//! As for the other computed gathers (`select.rs`), an index becomes a one-hot vector `[i == j]` over the
//! positions it can address (for GatherND and ScatterND: the flattened leading `k` axes, index `Σ i_a ·
//! stride_a`, exact on integers). A gather is `Σ_j data[j]·[i == j]`; a scatter (`reduction = none`) writes
//! `out[e] = data[e] + Σ_u [index_u == e]·(update_u − data[e])`: one product per update that can reach
//! `e`. Indices must be distinct and in range (ONNX leaves duplicates undefined); a computed index outside
//! `[0, n)` (negative indices are not wrapped) addresses nothing.

use tract_onnx::pb::NodeProto;

use super::compare::{assemble, elems, to_var, Elem};
use super::pool::strides;
use super::select::{one_hot, pick};
use super::{attr_i, axis, input, invalid, Ctx, Value};
use crate::ir::Var;
use crate::Result;

/// GatherND (`batch_dims = 0`) with computed index tuples.
pub(crate) fn gather_nd(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let (data, ind) = (input(node, inputs, 0)?, input(node, inputs, 1)?);
    let shape = data.shape().to_vec();
    let k = *ind.shape().last().ok_or_else(|| invalid(node, "indices must have rank ≥ 1"))?;
    if k == 0 || k > shape.len() {
        return Err(invalid(node, format!("index tuples of {k} for data of rank {}", shape.len())));
    }
    let flat = elems(node, data, &shape)?;
    let (lead, slice): (usize, usize) = (shape[..k].iter().product(), shape[k..].iter().product());
    let tuples = elems(node, ind, ind.shape())?;
    let mut out = Vec::with_capacity(tuples.len() / k * slice);
    for t in tuples.chunks(k) {
        let li = linear_index(cx, t, &shape[..k]);
        let hot = one_hot(cx, li, lead);
        for s in 0..slice {
            let entries: Vec<Elem> = (0..lead).map(|l| flat[l * slice + s]).collect();
            out.push(Elem::V(pick(cx, &entries, &hot)));
        }
    }
    let mut out_shape = ind.shape()[..ind.shape().len() - 1].to_vec();
    out_shape.extend(&shape[k..]);
    assemble(cx, node, &out_shape, out)
}

/// `Σ_a i_a · stride_a` over the leading axes `dims` (a circuit value).
fn linear_index(cx: &mut Ctx<'_>, tuple: &[Elem], dims: &[usize]) -> Var {
    let st = strides(dims);
    let (mut terms, mut constant) = (vec![], 0.0);
    for (e, &s) in tuple.iter().zip(&st) {
        match *e {
            Elem::C(c) => constant += c * s as f64,
            Elem::V(v) => terms.push((v, s as f64)),
        }
    }
    cx.affine(&terms, constant)
}

/// ScatterND and ScatterElements (`reduction = none`) with computed indices.
pub(crate) fn scatter(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let reduction = node.get_attr_opt::<String>("reduction").map_err(|e| invalid(node, e.to_string()))?;
    if reduction.as_deref().is_some_and(|r| r != "none") {
        return Err(invalid(node, "only reduction = none is supported"));
    }
    let (data, ind, upd) = (input(node, inputs, 0)?, input(node, inputs, 1)?, input(node, inputs, 2)?);
    let shape = data.shape().to_vec();
    let n: usize = shape.iter().product();
    let flat = elems(node, data, &shape)?;
    let updates = elems(node, upd, upd.shape())?;
    // For every output element, the updates that can reach it: (update element, its one-hot entry).
    let mut reach: Vec<Vec<(Elem, Var)>> = vec![vec![]; n];
    if node.op_type == "ScatterElements" {
        let a = axis(node, attr_i(node, "axis", 0)?, shape.len())?;
        if ind.shape() != upd.shape() || ind.shape().len() != shape.len() {
            return Err(invalid(node, "indices and updates must have the data's rank and one shape"));
        }
        let st = strides(&shape);
        let idx = elems(node, ind, ind.shape())?;
        for ((pos, &i), &u) in super::pool::ndindex(ind.shape()).iter().zip(&idx).zip(&updates) {
            let i = to_var(cx, i);
            let hot = one_hot(cx, i, shape[a]);
            let base: usize = pos.iter().enumerate().filter(|&(d, _)| d != a).map(|(d, &p)| p * st[d]).sum();
            for (j, &h) in hot.iter().enumerate() {
                reach[base + j * st[a]].push((u, h));
            }
        }
    } else {
        let k = *ind.shape().last().ok_or_else(|| invalid(node, "indices must have rank ≥ 1"))?;
        if k == 0 || k > shape.len() {
            return Err(invalid(node, format!("index tuples of {k} for data of rank {}", shape.len())));
        }
        let (lead, slice): (usize, usize) = (shape[..k].iter().product(), shape[k..].iter().product());
        let tuples = elems(node, ind, ind.shape())?;
        if updates.len() != tuples.len() / k * slice {
            return Err(invalid(
                node,
                format!("{} updates for {} index tuples", updates.len(), tuples.len() / k),
            ));
        }
        for (t, tuple) in tuples.chunks(k).enumerate() {
            let li = linear_index(cx, tuple, &shape[..k]);
            let hot = one_hot(cx, li, lead);
            for (l, &h) in hot.iter().enumerate() {
                for s in 0..slice {
                    reach[l * slice + s].push((updates[t * slice + s], h));
                }
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for (e, hits) in flat.into_iter().zip(reach) {
        if hits.is_empty() {
            out.push(e);
            continue;
        }
        let d = to_var(cx, e);
        let mut terms = vec![(d, 1.0)];
        for (u, h) in hits {
            let u = to_var(cx, u);
            let diff = cx.affine(&[(u, 1.0), (d, -1.0)], 0.0);
            terms.push((cx.mul(h, diff), 1.0));
        }
        out.push(Elem::V(cx.affine(&terms, 0.0)));
    }
    assemble(cx, node, &shape, out)
}
