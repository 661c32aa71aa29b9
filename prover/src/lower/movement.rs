//! More data movement, free in the circuit: Split (several outputs), DepthToSpace / SpaceToDepth (DCR and CRD
//! modes), Trilu (the kept triangle; the other elements become one constant-zero neuron), and with constant
//! indices GatherND, ScatterND and ScatterElements (`reduction = none`; computed indices: `scatter.rs`).

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, Axis, Dimension, IxDyn};

use super::pool::strides;
use super::{attr_i, attr_ints, axis, input, invalid, Ctx, OpLowering, Value};
use crate::ir::Var;
use crate::Result;

/// Split, DepthToSpace, SpaceToDepth, Trilu.
pub(crate) struct Movement;

impl OpLowering for Movement {
    fn op_types(&self) -> &'static [&'static str] {
        &["Split", "DepthToSpace", "SpaceToDepth", "Trilu", "GatherND", "ScatterND", "ScatterElements"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let x = input(node, inputs, 0)?;
        let computed_indices = matches!(inputs.get(1), Some(Some(Value::Dyn(_))));
        match node.op_type.as_str() {
            "GatherND" if computed_indices => Ok(vec![super::scatter::gather_nd(cx, node, inputs)?]),
            "ScatterND" | "ScatterElements" if computed_indices => {
                Ok(vec![super::scatter::scatter(cx, node, inputs)?])
            }
            "Split" => split(node, inputs, x),
            "Trilu" => Ok(vec![trilu(cx, node, inputs, x)?]),
            "GatherND" => Ok(vec![gather_nd(node, inputs, x)?]),
            "ScatterND" | "ScatterElements" => Ok(vec![scatter(cx, node, inputs, x)?]),
            _ => Ok(vec![depth_space(node, x)?]),
        }
    }
}

/// Applies an index move to a constant or computed tensor.
fn apply(x: &Value, f: impl Fn(&ArrayD<usize>) -> Result<ArrayD<usize>>) -> Result<Value> {
    let idx = ArrayD::from_shape_vec(IxDyn(x.shape()), (0..x.shape().iter().product()).collect())
        .map_err(|e| crate::Error::InvalidModel(e.to_string()))?;
    let moved = f(&idx)?;
    Ok(match x {
        Value::Const(c) => {
            let flat: Vec<f64> = c.iter().copied().collect();
            Value::Const(moved.mapv(|i| flat[i]))
        }
        Value::Dyn(d) => {
            let flat: Vec<Var> = d.iter().copied().collect();
            Value::Dyn(moved.mapv(|i| flat[i]))
        }
    })
}

fn split(node: &NodeProto, inputs: &[Option<Value>], x: &Value) -> Result<Vec<Value>> {
    let a = axis(node, attr_i(node, "axis", 0)?, x.shape().len())?;
    let dim = x.shape()[a];
    let n_out = node.output.len().max(1);
    let sizes: Vec<usize> = match inputs.get(1).and_then(|v| v.as_ref()) {
        Some(Value::Const(c)) => c.iter().map(|&v| v as usize).collect(),
        Some(Value::Dyn(_)) => return Err(invalid(node, "split sizes must be constant")),
        None => match attr_ints(node, "split")? {
            Some(s) => s.iter().map(|&v| v as usize).collect(),
            None => {
                let chunk = dim.div_ceil(n_out);
                (0..n_out).map(|i| chunk.min(dim.saturating_sub(i * chunk))).collect()
            }
        },
    };
    if sizes.iter().sum::<usize>() != dim || sizes.len() != n_out {
        return Err(invalid(
            node,
            format!("split {sizes:?} does not cover an axis of {dim} in {n_out} outputs"),
        ));
    }
    let mut start = 0;
    let mut outs = Vec::with_capacity(n_out);
    for s in sizes {
        let picked: Vec<usize> = (start..start + s).collect();
        outs.push(apply(x, |idx| Ok(idx.select(Axis(a), &picked)))?);
        start += s;
    }
    Ok(outs)
}

/// DepthToSpace (`[N, C·b², H, W] → [N, C, H·b, W·b]`) and SpaceToDepth (its inverse), as ONNX's reshape →
/// transpose → reshape.
fn depth_space(node: &NodeProto, x: &Value) -> Result<Value> {
    let &[n, c, h, w] = x.shape() else { return Err(invalid(node, "expects N x C x H x W")) };
    let b = usize::try_from(attr_i(node, "blocksize", 0)?).unwrap_or(0);
    if b == 0 {
        return Err(invalid(node, "blocksize must be positive"));
    }
    let crd = node.get_attr_opt::<String>("mode").map_err(|e| invalid(node, e.to_string()))?.as_deref()
        == Some("CRD");
    let to_space = node.op_type == "DepthToSpace";
    if to_space && c % (b * b) != 0 || !to_space && (h % b != 0 || w % b != 0) {
        return Err(invalid(node, format!("shape {:?} does not fit blocksize {b}", x.shape())));
    }
    let reshape = |a: ArrayD<usize>, s: &[usize]| -> Result<ArrayD<usize>> {
        let flat: Vec<usize> = a.iter().copied().collect();
        ArrayD::from_shape_vec(IxDyn(s), flat).map_err(|e| invalid(node, e.to_string()))
    };
    apply(x, |idx| {
        let (shape6, perm, out): (Vec<usize>, [usize; 6], Vec<usize>) = if to_space {
            let c2 = c / (b * b);
            if crd {
                (vec![n, c2, b, b, h, w], [0, 1, 4, 2, 5, 3], vec![n, c2, h * b, w * b])
            } else {
                (vec![n, b, b, c2, h, w], [0, 3, 4, 1, 5, 2], vec![n, c2, h * b, w * b])
            }
        } else {
            (vec![n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4], vec![n, c * b * b, h / b, w / b])
        };
        let six = reshape(idx.clone(), &shape6)?;
        let moved = six.permuted_axes(IxDyn(&perm)).as_standard_layout().to_owned();
        reshape(moved, &out)
    })
}

/// Trilu: keeps the upper (`upper = 1`, default) or lower triangle of the last two axes, offset by `k`.
fn trilu(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>], x: &Value) -> Result<Value> {
    let rank = x.shape().len();
    if rank < 2 {
        return Err(invalid(node, "expects at least 2 dimensions"));
    }
    let k = match inputs.get(1).and_then(|v| v.as_ref()) {
        Some(Value::Const(c)) => c.iter().next().copied().unwrap_or(0.0) as i64,
        Some(Value::Dyn(_)) => return Err(invalid(node, "k must be a constant")),
        None => 0,
    };
    let upper = attr_i(node, "upper", 1)? != 0;
    let keep = |ix: &[usize]| {
        let (i, j) = (ix[rank - 2] as i64, ix[rank - 1] as i64);
        if upper {
            j - i >= k
        } else {
            j - i <= k
        }
    };
    Ok(match x {
        Value::Const(c) => {
            Value::Const(ArrayD::from_shape_fn(c.raw_dim(), |ix| if keep(ix.slice()) { c[&ix] } else { 0.0 }))
        }
        Value::Dyn(d) => {
            let mut zero = None;
            let mut out = Vec::with_capacity(d.len());
            for (ix, &v) in d.indexed_iter() {
                out.push(if keep(ix.slice()) { v } else { *zero.get_or_insert_with(|| cx.affine(&[], 0.0)) });
            }
            Value::Dyn(ArrayD::from_shape_vec(d.raw_dim(), out).map_err(|e| invalid(node, e.to_string()))?)
        }
    })
}

/// Constant integer indices (negative ones wrapped by `dim` where given per element by the caller).
fn const_indices(node: &NodeProto, inputs: &[Option<Value>]) -> Result<ArrayD<i64>> {
    match input(node, inputs, 1)? {
        Value::Const(c) => Ok(c.mapv(|v| v as i64)),
        Value::Dyn(_) => {
            Err(invalid(node, "computed indices are not supported here (constant indices only)"))
        }
    }
}

fn wrap(node: &NodeProto, i: i64, dim: usize) -> Result<usize> {
    let d = dim as i64;
    if i < -d || i >= d {
        return Err(invalid(node, format!("index {i} out of range for a dimension of {dim}")));
    }
    Ok(if i < 0 { (i + d) as usize } else { i as usize })
}

/// GatherND (`batch_dims = 0`): each index tuple of the last axis of `indices` picks a slice of `data`.
fn gather_nd(node: &NodeProto, inputs: &[Option<Value>], x: &Value) -> Result<Value> {
    if attr_i(node, "batch_dims", 0)? != 0 {
        return Err(invalid(node, "batch_dims > 0 is not supported"));
    }
    let ind = const_indices(node, inputs)?;
    let shape = x.shape().to_vec();
    let k = *ind.shape().last().ok_or_else(|| invalid(node, "indices must have rank ≥ 1"))?;
    if k > shape.len() {
        return Err(invalid(node, format!("index tuples of {k} for data of rank {}", shape.len())));
    }
    let strides = strides(&shape);
    let slice: usize = shape[k..].iter().product();
    let tuples: Vec<i64> = ind.iter().copied().collect();
    let mut flat = Vec::with_capacity(tuples.len() / k.max(1) * slice);
    for t in tuples.chunks(k.max(1)) {
        let mut base = 0;
        for (a, &i) in t.iter().enumerate().take(k) {
            base += wrap(node, i, shape[a])? * strides[a];
        }
        flat.extend(base..base + slice);
    }
    let mut out_shape = ind.shape()[..ind.ndim() - 1].to_vec();
    out_shape.extend(&shape[k..]);
    let idx = ArrayD::from_shape_vec(IxDyn(&out_shape), flat).map_err(|e| invalid(node, e.to_string()))?;
    apply(x, |_| Ok(idx.clone()))
}

/// ScatterND and ScatterElements with constant indices: the output is `data` with some elements taken from
/// `updates` instead.
fn scatter(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>], x: &Value) -> Result<Value> {
    let reduction = node.get_attr_opt::<String>("reduction").map_err(|e| invalid(node, e.to_string()))?;
    if reduction.as_deref().is_some_and(|r| r != "none") {
        return Err(invalid(node, "only reduction = none is supported"));
    }
    let ind = const_indices(node, inputs)?;
    let updates = input(node, inputs, 2)?;
    let shape = x.shape().to_vec();
    let strides = strides(&shape);
    let n: usize = shape.iter().product();
    // source(i) < n: data element i; source(n + j): update element j.
    let mut source: Vec<usize> = (0..n).collect();
    if node.op_type == "ScatterElements" {
        let a = axis(node, attr_i(node, "axis", 0)?, shape.len())?;
        if ind.shape() != updates.shape() || ind.ndim() != shape.len() {
            return Err(invalid(node, "indices and updates must have the data's rank and one shape"));
        }
        for (j, (pos, &i)) in ind.indexed_iter().enumerate() {
            let mut flat = 0;
            for (d, &p) in pos.slice().iter().enumerate() {
                flat += if d == a { wrap(node, i, shape[a])? } else { p } * strides[d];
            }
            source[flat] = n + j;
        }
    } else {
        let k = *ind.shape().last().ok_or_else(|| invalid(node, "indices must have rank ≥ 1"))?;
        let slice: usize = shape.get(k..).map_or(0, |s| s.iter().product());
        for (t, tuple) in ind.iter().copied().collect::<Vec<_>>().chunks(k.max(1)).enumerate() {
            let mut base = 0;
            for (a, &i) in tuple.iter().enumerate().take(k) {
                base += wrap(node, i, shape[a])? * strides[a];
            }
            for s in 0..slice {
                source[base + s] = n + t * slice + s;
            }
        }
    }
    let pick =
        |data: &[f64], up: &[f64]| source.iter().map(|&s| if s < n { data[s] } else { up[s - n] }).collect();
    let out = match (x, updates) {
        (Value::Const(d), Value::Const(u)) => {
            let (d, u): (Vec<f64>, Vec<f64>) = (d.iter().copied().collect(), u.iter().copied().collect());
            Value::Const(
                ArrayD::from_shape_vec(IxDyn(&shape), pick(&d, &u))
                    .map_err(|e| invalid(node, e.to_string()))?,
            )
        }
        _ => {
            let mut vars = |v: &Value| -> Vec<Var> {
                match v {
                    Value::Dyn(a) => a.iter().copied().collect(),
                    Value::Const(c) => c.iter().map(|&f| cx.affine(&[], f)).collect(),
                }
            };
            let (d, u) = (vars(x), vars(updates));
            let out: Vec<Var> = source.iter().map(|&s| if s < n { d[s] } else { u[s - n] }).collect();
            Value::Dyn(ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(|e| invalid(node, e.to_string()))?)
        }
    };
    Ok(out)
}
