//! Pure data movement — Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Slice, Gather (constant
//! indices; computed indices go to `select.rs`) — plus Constant, Shape and Cast. No constraints: each op
//! permutes an index array that is then gathered from the input, so constants and circuit values share one
//! implementation.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, Axis, IxDyn};

use super::elementwise::from_vec;
use super::{attr_i, attr_ints, axis, input, invalid, tensor_to_f64, Ctx, OpLowering, Value};
use crate::ir::Var;
use crate::Result;

pub(crate) struct Shape;

impl OpLowering for Shape {
    fn op_types(&self) -> &'static [&'static str] {
        &[
            "Reshape",
            "Flatten",
            "Transpose",
            "Squeeze",
            "Unsqueeze",
            "Concat",
            "Slice",
            "Gather",
            "Constant",
            "Shape",
            "Cast",
        ]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let out = match node.op_type.as_str() {
            "Constant" => constant(node)?,
            "Concat" => concat(cx, node, inputs)?,
            "Shape" => {
                let s = input(node, inputs, 0)?.shape().iter().map(|&d| d as f64).collect::<Vec<_>>();
                Value::Const(from_vec(node, &[s.len()], s)?)
            }
            "Cast" => input(node, inputs, 0)?.clone(),
            "Gather" if matches!(inputs.get(1), Some(Some(Value::Dyn(_)))) => {
                let Some(Some(Value::Dyn(ind))) = inputs.get(1) else {
                    return Err(invalid(node, "missing input #1"));
                };
                super::select::dynamic_gather(cx, node, input(node, inputs, 0)?, ind)?
            }
            _ => {
                let x = input(node, inputs, 0)?;
                let idx = index_array(node, x.shape())?;
                let moved = move_indices(node, inputs, idx)?;
                gather(node, x, &moved)?
            }
        };
        Ok(vec![out])
    }
}

fn index_array(node: &NodeProto, shape: &[usize]) -> Result<ArrayD<usize>> {
    from_vec(node, shape, (0..shape.iter().product()).collect())
}

fn gather(node: &NodeProto, x: &Value, idx: &ArrayD<usize>) -> Result<Value> {
    let shape = idx.shape().to_vec();
    Ok(match x {
        Value::Const(c) => {
            let flat: Vec<f64> = c.iter().copied().collect();
            Value::Const(from_vec(node, &shape, idx.iter().map(|&i| flat[i]).collect())?)
        }
        Value::Dyn(d) => {
            let flat: Vec<Var> = d.iter().copied().collect();
            Value::Dyn(from_vec(node, &shape, idx.iter().map(|&i| flat[i]).collect())?)
        }
    })
}

/// A constant integer list from input `i` or attribute `attr`.
fn ints(node: &NodeProto, inputs: &[Option<Value>], i: usize, attr: &str) -> Result<Option<Vec<i64>>> {
    match inputs.get(i).and_then(|v| v.as_ref()) {
        Some(Value::Const(c)) => Ok(Some(c.iter().map(|&v| v as i64).collect())),
        Some(Value::Dyn(_)) => Err(invalid(node, format!("input #{i} ({attr}) must be constant"))),
        None => attr_ints(node, attr),
    }
}

fn move_indices(node: &NodeProto, inputs: &[Option<Value>], x: ArrayD<usize>) -> Result<ArrayD<usize>> {
    let shape = x.shape().to_vec();
    let rank = shape.len();
    let reshape = |x: ArrayD<usize>, to: &[usize]| -> Result<ArrayD<usize>> {
        let flat: Vec<usize> = x.iter().copied().collect();
        if flat.len() != to.iter().product::<usize>() {
            return Err(invalid(node, format!("cannot reshape {shape:?} to {to:?}")));
        }
        from_vec(node, to, flat)
    };
    match node.op_type.as_str() {
        "Reshape" => {
            let target = ints(node, inputs, 1, "shape")?.ok_or_else(|| invalid(node, "missing shape"))?;
            let total: usize = shape.iter().product();
            let mut out: Vec<usize> = Vec::with_capacity(target.len());
            let mut infer = None;
            for (i, &t) in target.iter().enumerate() {
                match t {
                    0 => {
                        out.push(*shape.get(i).ok_or_else(|| invalid(node, "0 refers past the input rank"))?)
                    }
                    -1 if infer.is_none() => {
                        infer = Some(i);
                        out.push(1);
                    }
                    t if t > 0 => out.push(t as usize),
                    _ => return Err(invalid(node, format!("invalid target dimension {t}"))),
                }
            }
            if let Some(i) = infer {
                let known: usize = out.iter().product();
                if known == 0 || !total.is_multiple_of(known) {
                    return Err(invalid(node, format!("cannot infer -1 reshaping {shape:?} to {target:?}")));
                }
                out[i] = total / known;
            }
            reshape(x, &out)
        }
        "Flatten" => {
            let a = axis(node, attr_i(node, "axis", 1)?, rank + 1)?;
            let (l, r): (usize, usize) = (shape[..a].iter().product(), shape[a..].iter().product());
            reshape(x, &[l, r])
        }
        "Transpose" => {
            let perm = attr_ints(node, "perm")?.unwrap_or_else(|| (0..rank as i64).rev().collect());
            let perm: Vec<usize> = perm.iter().map(|&p| axis(node, p, rank)).collect::<Result<_>>()?;
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..rank).collect::<Vec<_>>() {
                return Err(invalid(node, format!("perm {perm:?} is not a permutation")));
            }
            Ok(x.permuted_axes(IxDyn(&perm)).as_standard_layout().to_owned())
        }
        "Squeeze" => {
            let axes = match ints(node, inputs, 1, "axes")? {
                Some(a) => a.iter().map(|&a| axis(node, a, rank)).collect::<Result<Vec<_>>>()?,
                None => (0..rank).filter(|&i| shape[i] == 1).collect(),
            };
            if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
                return Err(invalid(node, format!("cannot squeeze axis {a} of size {}", shape[a])));
            }
            let out: Vec<usize> = (0..rank).filter(|i| !axes.contains(i)).map(|i| shape[i]).collect();
            reshape(x, &out)
        }
        "Unsqueeze" => {
            let axes = ints(node, inputs, 1, "axes")?.ok_or_else(|| invalid(node, "missing axes"))?;
            let new_rank = rank + axes.len();
            let axes: Vec<usize> = axes.iter().map(|&a| axis(node, a, new_rank)).collect::<Result<_>>()?;
            let mut it = shape.iter();
            let out: Vec<usize> = (0..new_rank)
                .map(|i| if axes.contains(&i) { 1 } else { it.next().copied().unwrap_or(1) })
                .collect();
            reshape(x, &out)
        }
        "Slice" => slice(node, inputs, x),
        "Gather" => {
            let a = axis(node, attr_i(node, "axis", 0)?, rank)?;
            let Some(Value::Const(ind)) = inputs.get(1).and_then(|v| v.as_ref()) else {
                return Err(invalid(node, "Gather indices must be constant"));
            };
            let dim = shape[a] as i64;
            let mut picked = Vec::with_capacity(ind.len());
            for &i in ind.iter() {
                let i = i as i64;
                if i < -dim || i >= dim {
                    return Err(invalid(node, format!("index {i} out of range for axis of size {dim}")));
                }
                picked.push(if i < 0 { (i + dim) as usize } else { i as usize });
            }
            let sel = x.select(Axis(a), &picked);
            // Output shape: shape[..a] ++ indices.shape ++ shape[a+1..].
            let mut out: Vec<usize> = shape[..a].to_vec();
            out.extend(ind.shape());
            out.extend(&shape[a + 1..]);
            reshape(sel.as_standard_layout().to_owned(), &out)
        }
        op => Err(invalid(node, format!("{op} is not a data-movement op"))),
    }
}

fn slice(node: &NodeProto, inputs: &[Option<Value>], x: ArrayD<usize>) -> Result<ArrayD<usize>> {
    let rank = x.ndim();
    let starts = ints(node, inputs, 1, "starts")?.ok_or_else(|| invalid(node, "missing starts"))?;
    let ends = ints(node, inputs, 2, "ends")?.ok_or_else(|| invalid(node, "missing ends"))?;
    let axes = ints(node, inputs, 3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = ints(node, inputs, 4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(invalid(node, "starts/ends/axes/steps lengths differ"));
    }
    let mut cur = x;
    for k in 0..starts.len() {
        let a = axis(node, axes[k], rank)?;
        let dim = cur.shape()[a] as i64;
        let step = steps[k];
        if step == 0 {
            return Err(invalid(node, "step 0"));
        }
        let clampi = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi);
        let norm = |v: i64| if v < 0 { v + dim } else { v };
        let picked: Vec<usize> = if step > 0 {
            let (s, e) = (clampi(norm(starts[k]), 0, dim), clampi(norm(ends[k]), 0, dim));
            (s..e).step_by(step as usize).map(|i| i as usize).collect()
        } else {
            let (s, e) = (clampi(norm(starts[k]), -1, dim - 1), clampi(norm(ends[k]), -1, dim - 1));
            let mut v = vec![];
            let mut i = s;
            while i > e {
                v.push(i as usize);
                i += step;
            }
            v
        };
        cur = cur.select(Axis(a), &picked);
    }
    Ok(cur)
}

fn concat(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let parts: Vec<&Value> = inputs.iter().flatten().collect();
    let first = parts.first().ok_or_else(|| invalid(node, "no inputs"))?;
    let a = axis(node, attr_i(node, "axis", 0)?, first.shape().len())?;
    let to_err = |e: tract_onnx::prelude::tract_ndarray::ShapeError| invalid(node, e.to_string());
    if parts.iter().all(|p| matches!(p, Value::Const(_))) {
        let views: Vec<_> = parts
            .iter()
            .filter_map(|p| if let Value::Const(c) = p { Some(c.view()) } else { None })
            .collect();
        return Ok(Value::Const(
            tract_onnx::prelude::tract_ndarray::concatenate(Axis(a), &views).map_err(to_err)?,
        ));
    }
    // Constants inside a computed tensor become constant neurons.
    let dyns: Vec<ArrayD<Var>> = parts
        .iter()
        .map(|p| match p {
            Value::Dyn(d) => d.clone(),
            Value::Const(c) => c.mapv(|v| cx.affine(&[], v)),
        })
        .collect();
    let views: Vec<_> = dyns.iter().map(|d| d.view()).collect();
    Ok(Value::Dyn(tract_onnx::prelude::tract_ndarray::concatenate(Axis(a), &views).map_err(to_err)?))
}

fn constant(node: &NodeProto) -> Result<Value> {
    if let Some(t) = node
        .get_attr_opt::<&tract_onnx::pb::TensorProto>("value")
        .map_err(|e| invalid(node, e.to_string()))?
    {
        return Ok(Value::Const(tensor_to_f64(t, &super::node_name(node))?));
    }
    if let Some(v) = node.get_attr_opt::<f32>("value_float").map_err(|e| invalid(node, e.to_string()))? {
        return Ok(Value::Const(from_vec(node, &[], vec![f64::from(v)])?));
    }
    if let Some(v) = node.get_attr_opt::<i64>("value_int").map_err(|e| invalid(node, e.to_string()))? {
        return Ok(Value::Const(from_vec(node, &[], vec![v as f64])?));
    }
    if let Some(v) = attr_ints(node, "value_ints")? {
        return Ok(Value::Const(from_vec(node, &[v.len()], v.iter().map(|&x| x as f64).collect())?));
    }
    if let Some(v) = node.get_attr_opt_vec::<f32>("value_floats").map_err(|e| invalid(node, e.to_string()))? {
        return Ok(Value::Const(from_vec(node, &[v.len()], v.iter().map(|&x| f64::from(x)).collect())?));
    }
    Err(invalid(node, "Constant without a supported value attribute"))
}
