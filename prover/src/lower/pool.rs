//! Pooling and reductions: MaxPool, AveragePool (1-D, 2-D, 3-D, …), GlobalAveragePool, GlobalMaxPool, ReduceSum, ReduceMean,
//! ReduceMax, ReduceLogSumExp (max-subtracted). Sums and means are single affine neurons; maxima are chains of `relu(a − b) + b`.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};

use super::elementwise::from_vec;
use super::window::Window;
use super::{attr_i, attr_ints, axis, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, UnaryOp, Var};
use crate::Result;

pub(crate) struct Pooling;

impl OpLowering for Pooling {
    fn op_types(&self) -> &'static [&'static str] {
        &[
            "MaxPool",
            "AveragePool",
            "GlobalAveragePool",
            "GlobalMaxPool",
            "ReduceSum",
            "ReduceMean",
            "ReduceMax",
            "ReduceMin",
            "ReduceL1",
            "ReduceL2",
            "ReduceSumSquare",
            "ReduceLogSumExp",
        ]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let Value::Dyn(x) = input(node, inputs, 0)? else {
            return Err(invalid(node, "constant input: nothing to prove"));
        };
        let out = match node.op_type.as_str() {
            "MaxPool" | "AveragePool" => pool(cx, node, x)?,
            "GlobalAveragePool" | "GlobalMaxPool" => {
                if x.ndim() < 3 {
                    return Err(invalid(node, "expects N x C x spatial..."));
                }
                let axes: Vec<usize> = (2..x.ndim()).collect();
                reduce(cx, node, x, &axes, true, node.op_type == "GlobalMaxPool")?
            }
            _ => {
                let rank = x.ndim();
                let axes = match inputs.get(1).and_then(|v| v.as_ref()) {
                    Some(Value::Const(a)) => Some(a.iter().map(|&v| v as i64).collect::<Vec<_>>()),
                    Some(Value::Dyn(_)) => return Err(invalid(node, "axes must be constant")),
                    None => attr_ints(node, "axes")?,
                };
                let axes: Vec<usize> = match axes {
                    Some(a) if !a.is_empty() => {
                        a.iter().map(|&a| axis(node, a, rank)).collect::<Result<_>>()?
                    }
                    _ if attr_i(node, "noop_with_empty_axes", 0)? != 0 => {
                        return Ok(vec![Value::Dyn(x.clone())])
                    }
                    _ => (0..rank).collect(),
                };
                let keep = attr_i(node, "keepdims", 1)? != 0;
                let unary = |op| Activation::Unary { op, alpha: 0.0, beta: 0.0 };
                match node.op_type.as_str() {
                    // min(x) = −max(−x)
                    "ReduceMin" => {
                        let neg = x.mapv(|v| cx.affine(&[(v, -1.0)], 0.0));
                        reduce(cx, node, &neg, &axes, keep, true)?.mapv(|v| cx.affine(&[(v, -1.0)], 0.0))
                    }
                    // Σ|x|, √Σx², Σx²: the element map, a sum, then the outer function (ln Σ e^x: `combine`).
                    "ReduceL1" => {
                        let abs = x.mapv(|v| cx.activation(v, unary(UnaryOp::Abs)));
                        reduce(cx, node, &abs, &axes, keep, false)?
                    }
                    "ReduceL2" | "ReduceSumSquare" => {
                        let sq = x.mapv(|v| cx.mul(v, v));
                        let sum = reduce(cx, node, &sq, &axes, keep, false)?;
                        if node.op_type == "ReduceL2" {
                            sum.mapv(|v| cx.activation(v, unary(UnaryOp::Sqrt)))
                        } else {
                            sum
                        }
                    }
                    op => reduce(cx, node, x, &axes, keep, op == "ReduceMax")?,
                }
            }
        };
        Ok(vec![Value::Dyn(out)])
    }
}

/// Max of several values as a balanced tree of `relu(a − b) + b`.
pub(crate) fn max_of(cx: &mut Ctx<'_>, vals: &[Var]) -> Var {
    let mut layer = vals.to_vec();
    while layer.len() > 1 {
        layer = layer.chunks(2).map(|p| if p.len() == 2 { cx.max(p[0], p[1]) } else { p[0] }).collect();
    }
    layer[0]
}

fn combine(cx: &mut Ctx<'_>, vals: &[Var], mode: Mode) -> Var {
    match mode {
        Mode::Max => max_of(cx, vals),
        Mode::Sum => cx.affine(&vals.iter().map(|&v| (v, 1.0)).collect::<Vec<_>>(), 0.0),
        Mode::Mean(n) => cx.affine(&vals.iter().map(|&v| (v, 1.0 / n as f64)).collect::<Vec<_>>(), 0.0),
        Mode::LogSumExp => log_sum_exp(cx, vals),
    }
}

/// `ln Σ e^x` in its stable form `m + ln Σ e^(x − m)`, `m` the exact maximum: `exp` only meets inputs `<= 0`
/// (as in softmax) and the logarithm a sum `>= 1`.
fn log_sum_exp(cx: &mut Ctx<'_>, vals: &[Var]) -> Var {
    let (m, _, lse) = shifted_log_sum_exp(cx, vals);
    cx.affine(&[(lse, 1.0), (m, 1.0)], 0.0)
}

/// `(m, x − m, ln Σ e^(x − m))` with `m` the exact maximum of `vals`: the stable core of LogSumExp and
/// LogSoftmax.
pub(crate) fn shifted_log_sum_exp(cx: &mut Ctx<'_>, vals: &[Var]) -> (Var, Vec<Var>, Var) {
    let m = max_of(cx, vals);
    let shifted: Vec<Var> = vals.iter().map(|&v| cx.affine(&[(v, 1.0), (m, -1.0)], 0.0)).collect();
    let exps: Vec<(Var, f64)> = shifted.iter().map(|&d| (cx.activation(d, Activation::Exp), 1.0)).collect();
    let sum = cx.affine(&exps, 0.0);
    let lse = cx.activation(sum, Activation::Unary { op: UnaryOp::Log, alpha: 0.0, beta: 0.0 });
    (m, shifted, lse)
}

#[derive(Clone, Copy)]
enum Mode {
    Max,
    Sum,
    Mean(usize),
    LogSumExp,
}

fn reduce(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    x: &ArrayD<Var>,
    axes: &[usize],
    keep: bool,
    max: bool,
) -> Result<ArrayD<Var>> {
    let shape = x.shape();
    let count: usize = axes.iter().map(|&a| shape[a]).product();
    let mode = if max {
        Mode::Max
    } else if node.op_type == "ReduceLogSumExp" {
        Mode::LogSumExp
    } else if matches!(node.op_type.as_str(), "ReduceSum" | "ReduceL1" | "ReduceL2" | "ReduceSumSquare") {
        Mode::Sum
    } else {
        Mode::Mean(count)
    };
    let out_full: Vec<usize> =
        shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let mut out = Vec::with_capacity(out_full.iter().product());
    for idx in ndindex(&out_full) {
        let mut group = Vec::with_capacity(count);
        for sub in ndindex(&axes.iter().map(|&a| shape[a]).collect::<Vec<_>>()) {
            let mut full = idx.clone();
            for (k, &a) in axes.iter().enumerate() {
                full[a] = sub[k];
            }
            group.push(x[IxDyn(&full)]);
        }
        out.push(combine(cx, &group, mode));
    }
    let out_shape: Vec<usize> = if keep {
        out_full
    } else {
        shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
    };
    from_vec(node, &out_shape, out)
}

/// MaxPool / AveragePool over any number of spatial dims (`N × C × spatial…`).
fn pool(cx: &mut Ctx<'_>, node: &NodeProto, x: &ArrayD<Var>) -> Result<ArrayD<Var>> {
    if x.ndim() < 3 {
        return Err(invalid(node, "expects N x C x spatial..."));
    }
    let kernel = attr_ints(node, "kernel_shape")?.ok_or_else(|| invalid(node, "kernel_shape is required"))?;
    if attr_i(node, "ceil_mode", 0)? != 0 {
        return Err(invalid(node, "ceil_mode = 1 is not supported"));
    }
    if kernel.iter().any(|&k| k < 1) {
        return Err(invalid(node, "kernel_shape must be positive"));
    }
    let win = Window::of(node, &x.shape()[2..], kernel.into_iter().map(|k| k as usize).collect())?;
    let include_pad = attr_i(node, "count_include_pad", 0)? != 0;
    let is_max = node.op_type == "MaxPool";
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let windows = win.covered();
    let mut out = Vec::with_capacity(n * c * windows.len());
    let mut xi = vec![0; x.ndim()];
    for b in 0..n {
        for ch in 0..c {
            for window in &windows {
                let mut vals = Vec::with_capacity(window.len());
                for (_, at) in window {
                    (xi[0], xi[1]) = (b, ch);
                    xi[2..].copy_from_slice(at);
                    vals.push(x[IxDyn(&xi)]);
                }
                if vals.is_empty() {
                    return Err(invalid(node, "a pooling window lies entirely in the padding"));
                }
                let mode = if is_max {
                    Mode::Max
                } else {
                    Mode::Mean(if include_pad { win.taps() } else { vals.len() })
                };
                out.push(combine(cx, &vals, mode));
            }
        }
    }
    let shape: Vec<usize> = [n, c].into_iter().chain(win.output.iter().copied()).collect();
    from_vec(node, &shape, out)
}

/// Row-major strides of `shape` (the flat offset of one step along each axis).
pub(crate) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        s[a] = s[a + 1] * shape[a + 1];
    }
    s
}

/// All multi-indices of `shape` in row-major order.
pub(crate) fn ndindex(shape: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        out.push(idx.clone());
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}
