//! Gemm, MatMul and Conv: dot products with constant weights become single affine neurons (one dense row
//! per `width` terms in the circuit); products of two computed tensors become `Mul` neurons.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{Array2, ArrayD, Axis, Ix2, IxDyn};

use super::window::Window;
use super::{attr_f, attr_i, attr_ints, const_input, input, invalid, Ctx, OpLowering, Value};
use crate::ir::Var;
use crate::Result;

pub(crate) struct Linear;

impl OpLowering for Linear {
    fn op_types(&self) -> &'static [&'static str] {
        &["Gemm", "MatMul", "Conv", "ConvTranspose"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let out = match node.op_type.as_str() {
            "Gemm" => gemm(cx, node, inputs)?,
            "MatMul" => matmul(cx, node, inputs)?,
            "Conv" => conv(cx, node, inputs)?,
            // 1-D transposed convolution: the 2-D one over a height-1 image.
            _ if matches!(inputs.first(), Some(Some(x)) if x.shape().len() == 3) => {
                let lifted: Vec<Option<Value>> = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_ref().map(|v| if i < 2 { super::with_unit_axis(v, 2, true) } else { v.clone() })
                    })
                    .collect();
                let lifted_node = super::lift_1d(node);
                super::with_unit_axis(&conv_transpose(cx, &lifted_node, &lifted)?, 2, false)
            }
            _ => conv_transpose(cx, node, inputs)?,
        };
        Ok(vec![out])
    }
}

enum Mat {
    Const(Array2<f64>),
    Dyn(Array2<Var>),
}

fn as_matrix(node: &NodeProto, v: &Value, transpose: bool) -> Result<Mat> {
    let err = |_| invalid(node, format!("expected a 2-D operand, got shape {:?}", v.shape()));
    Ok(match v {
        Value::Const(c) => {
            let m = c.clone().into_dimensionality::<Ix2>().map_err(err)?;
            Mat::Const(if transpose { m.reversed_axes() } else { m })
        }
        Value::Dyn(d) => {
            let m = d.clone().into_dimensionality::<Ix2>().map_err(err)?;
            Mat::Dyn(if transpose { m.reversed_axes() } else { m })
        }
    })
}

/// `alpha · A·B + beta · C` for 2-D A, B with at least one computed operand.
fn matmul_2d(
    cx: &mut Ctx<'_>,
    node: &NodeProto,
    a: &Mat,
    b: &Mat,
    alpha: f64,
    bias: &Array2<f64>,
) -> Result<Array2<Var>> {
    let (m, k, n) = match (a, b) {
        (Mat::Dyn(a), Mat::Const(b)) => (a.nrows(), a.ncols(), (b.nrows(), b.ncols())),
        (Mat::Const(a), Mat::Dyn(b)) => (a.nrows(), a.ncols(), (b.nrows(), b.ncols())),
        (Mat::Dyn(a), Mat::Dyn(b)) => (a.nrows(), a.ncols(), (b.nrows(), b.ncols())),
        (Mat::Const(_), Mat::Const(_)) => return Err(invalid(node, "both operands constant")),
    };
    let (kb, n) = n;
    if k != kb {
        return Err(invalid(node, format!("inner dimensions differ: {k} vs {kb}")));
    }
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let b_ij = bias[[i, j]];
            let v = match (a, b) {
                (Mat::Dyn(a), Mat::Const(b)) => {
                    let terms: Vec<(Var, f64)> = (0..k).map(|t| (a[[i, t]], alpha * b[[t, j]])).collect();
                    cx.affine_params(&terms, b_ij)
                }
                (Mat::Const(a), Mat::Dyn(b)) => {
                    let terms: Vec<(Var, f64)> = (0..k).map(|t| (b[[t, j]], alpha * a[[i, t]])).collect();
                    cx.affine_params(&terms, b_ij)
                }
                (Mat::Dyn(a), Mat::Dyn(b)) => {
                    let prods: Vec<(Var, f64)> =
                        (0..k).map(|t| (cx.mul(a[[i, t]], b[[t, j]]), alpha)).collect();
                    cx.affine_params(&prods, b_ij)
                }
                (Mat::Const(_), Mat::Const(_)) => return Err(invalid(node, "both operands constant")),
            };
            out.push(v);
        }
    }
    Array2::from_shape_vec((m, n), out).map_err(|e| invalid(node, e.to_string()))
}

fn gemm(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let a = as_matrix(node, input(node, inputs, 0)?, attr_i(node, "transA", 0)? != 0)?;
    let b = as_matrix(node, input(node, inputs, 1)?, attr_i(node, "transB", 0)? != 0)?;
    let alpha = attr_f(node, "alpha", 1.0)?;
    let beta = attr_f(node, "beta", 1.0)?;
    let m = match &a {
        Mat::Const(a) => a.nrows(),
        Mat::Dyn(a) => a.nrows(),
    };
    let n = match &b {
        Mat::Const(b) => b.ncols(),
        Mat::Dyn(b) => b.ncols(),
    };
    let bias = match inputs.get(2).and_then(|c| c.as_ref()) {
        None => Array2::zeros((m, n)),
        Some(Value::Const(c)) => c
            .broadcast(IxDyn(&[m, n]))
            .ok_or_else(|| {
                invalid(node, format!("bias of shape {:?} does not broadcast to [{m}, {n}]", c.shape()))
            })?
            .mapv(|x| x * beta)
            .into_dimensionality::<Ix2>()
            .map_err(|e| invalid(node, e.to_string()))?,
        Some(Value::Dyn(c)) => {
            // A computed bias: `alpha · A·B` first, then `+ beta · C` element by element.
            let c = c.broadcast(IxDyn(&[m, n])).ok_or_else(|| {
                invalid(node, format!("bias of shape {:?} does not broadcast to [{m}, {n}]", c.shape()))
            })?;
            let ab = matmul_2d(cx, node, &a, &b, alpha, &Array2::zeros((m, n)))?;
            let out: Vec<Var> =
                ab.iter().zip(c.iter()).map(|(&p, &q)| cx.affine(&[(p, 1.0), (q, beta)], 0.0)).collect();
            return Ok(Value::Dyn(
                ArrayD::from_shape_vec(IxDyn(&[m, n]), out).map_err(|e| invalid(node, e.to_string()))?,
            ));
        }
    };
    Ok(Value::Dyn(matmul_2d(cx, node, &a, &b, alpha, &bias)?.into_dyn()))
}

/// A MatMul operand as a stack of matrices: `[..batch, rows, cols]`.
fn batched(node: &NodeProto, v: &Value, lead: &[usize], rows: usize, cols: usize) -> Result<Vec<Mat>> {
    let shape: Vec<usize> = lead.iter().copied().chain([rows, cols]).collect();
    let err = |e: String| invalid(node, format!("MatMul operand {:?}: {e}", v.shape()));
    let count: usize = lead.iter().product();
    let stack = |n: usize| IxDyn(&[n, rows, cols]);
    Ok(match v {
        Value::Const(c) => {
            let c = c.broadcast(IxDyn(&shape)).ok_or_else(|| err("does not broadcast".into()))?;
            let c = c.to_owned().into_shape_with_order(stack(count)).map_err(|e| err(e.to_string()))?;
            c.axis_iter(Axis(0))
                .map(|m| {
                    m.to_owned().into_dimensionality::<Ix2>().map(Mat::Const).map_err(|e| err(e.to_string()))
                })
                .collect::<Result<_>>()?
        }
        Value::Dyn(d) => {
            let d = d.broadcast(IxDyn(&shape)).ok_or_else(|| err("does not broadcast".into()))?;
            let d = d.to_owned().into_shape_with_order(stack(count)).map_err(|e| err(e.to_string()))?;
            d.axis_iter(Axis(0))
                .map(|m| {
                    m.to_owned().into_dimensionality::<Ix2>().map(Mat::Dyn).map_err(|e| err(e.to_string()))
                })
                .collect::<Result<_>>()?
        }
    })
}

/// ONNX MatMul (numpy semantics): 1-D operands gain a unit row (left) or column (right) that the result
/// drops, leading dimensions broadcast, and either operand may be computed (attention's `Q·Kᵀ` and
/// `P·V` multiply two computed tensors: one `Mul` neuron per product).
fn matmul(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let (a, b) = (input(node, inputs, 0)?, input(node, inputs, 1)?);
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    if sa.is_empty() || sb.is_empty() {
        return Err(invalid(node, "MatMul operands must have rank ≥ 1"));
    }
    let (m, k) = if sa.len() == 1 { (1, sa[0]) } else { (sa[sa.len() - 2], sa[sa.len() - 1]) };
    let (kb, n) = if sb.len() == 1 { (sb[0], 1) } else { (sb[sb.len() - 2], sb[sb.len() - 1]) };
    if k != kb {
        return Err(invalid(node, format!("inner dimensions differ: {sa:?} x {sb:?}")));
    }
    let lead_a = &sa[..sa.len().saturating_sub(2)];
    let lead_b = &sb[..sb.len().saturating_sub(2)];
    let lead = super::elementwise::broadcast_shape(node, lead_a, lead_b)?;
    let (a1, b1) = (sa.len() == 1, sb.len() == 1);
    let a = if a1 { reshaped(node, a, &[1, k])? } else { a.clone() };
    let b = if b1 { reshaped(node, b, &[k, 1])? } else { b.clone() };
    let (am, bm) = (batched(node, &a, &lead, m, k)?, batched(node, &b, &lead, k, n)?);
    let mut out = Vec::with_capacity(am.len() * m * n);
    for (x, y) in am.iter().zip(&bm) {
        out.extend(matmul_2d(cx, node, x, y, 1.0, &Array2::zeros((m, n)))?.iter().copied());
    }
    let mut shape = lead;
    if !a1 {
        shape.push(m);
    }
    if !b1 {
        shape.push(n);
    }
    Ok(Value::Dyn(ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(|e| invalid(node, e.to_string()))?))
}

fn reshaped(node: &NodeProto, v: &Value, shape: &[usize]) -> Result<Value> {
    let err = |e: tract_onnx::prelude::tract_ndarray::ShapeError| invalid(node, e.to_string());
    Ok(match v {
        Value::Const(c) => Value::Const(c.clone().into_shape_with_order(IxDyn(shape)).map_err(err)?),
        Value::Dyn(d) => Value::Dyn(d.clone().into_shape_with_order(IxDyn(shape)).map_err(err)?),
    })
}

/// 2-D convolution with constant weights: strides, padding, dilations and groups.
fn conv(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let Value::Dyn(x) = input(node, inputs, 0)? else {
        return Err(invalid(node, "the convolved tensor must be computed"));
    };
    let w = const_input(node, inputs, 1)?;
    if x.ndim() < 3 || w.ndim() != x.ndim() {
        return Err(invalid(node, "expects N x C x spatial... with weights M x C/group x kernel..."));
    }
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let (m, cg) = (w.shape()[0], w.shape()[1]);
    let group = attr_i(node, "group", 1)? as usize;
    if group == 0 || c != cg * group || !m.is_multiple_of(group) {
        return Err(invalid(
            node,
            format!("channels {c} do not match weights {:?} with group {group}", w.shape()),
        ));
    }
    let win = Window::of(node, &x.shape()[2..], w.shape()[2..].to_vec())?;
    let bias = match inputs.get(2).and_then(|b| b.as_ref()) {
        None => vec![0.0; m],
        Some(Value::Const(b)) if b.len() == m => b.iter().copied().collect(),
        Some(_) => return Err(invalid(node, "bias must be a constant of length M")),
    };
    let windows = win.covered();
    let mg = m / group;
    let mut out = Vec::with_capacity(n * m * windows.len());
    let (mut xi, mut wi) = (vec![0; x.ndim()], vec![0; w.ndim()]);
    for b in 0..n {
        for (oc, &b_oc) in bias.iter().enumerate() {
            let g = oc / mg;
            for window in &windows {
                let mut terms = Vec::with_capacity(cg * window.len());
                for ic in 0..cg {
                    for (tap, at) in window {
                        (xi[0], xi[1], wi[0], wi[1]) = (b, g * cg + ic, oc, ic);
                        xi[2..].copy_from_slice(at);
                        wi[2..].copy_from_slice(tap);
                        terms.push((x[IxDyn(&xi)], w[IxDyn(&wi)]));
                    }
                }
                out.push(cx.affine_params(&terms, b_oc));
            }
        }
    }
    let shape: Vec<usize> = [n, m].into_iter().chain(win.output.iter().copied()).collect();
    Ok(Value::Dyn(ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(|e| invalid(node, e.to_string()))?))
}

/// 2-D transposed convolution with constant weights `[C, M/group, kH, kW]`: every output pixel is one
/// affine neuron over the input pixels whose stride-spaced footprint covers it (`oy + pad_top = iy·s +
/// ky·d`); `pads`, `strides`, `dilations`, `group` and `output_padding` as ONNX defines them.
fn conv_transpose(cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Value> {
    let Value::Dyn(x) = input(node, inputs, 0)? else {
        return Err(invalid(node, "the convolved tensor must be computed"));
    };
    let w = const_input(node, inputs, 1)?;
    if x.ndim() != 4 || w.ndim() != 4 {
        return Err(invalid(node, "only 1-D and 2-D transposed convolutions (NCHW) are supported"));
    }
    let auto_pad = node.get_attr_opt::<String>("auto_pad").ok().flatten().unwrap_or_default();
    if (!auto_pad.is_empty() && auto_pad != "NOTSET") || attr_ints(node, "output_shape")?.is_some() {
        return Err(invalid(node, "auto_pad and output_shape are not supported; export explicit pads"));
    }
    let (n, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (wc, mg, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
    let group = attr_i(node, "group", 1)?.max(1) as usize;
    if wc != c || !c.is_multiple_of(group) {
        return Err(invalid(
            node,
            format!("channels {c} do not match weights {:?} with group {group}", w.shape()),
        ));
    }
    let m = mg * group;
    let two = |name: &str, d: i64| -> Result<Vec<usize>> {
        let v = attr_ints(node, name)?.unwrap_or_else(|| vec![d; 2]);
        if v.len() != 2 || v.iter().any(|&x| x < 0) {
            return Err(invalid(node, format!("{name} must hold two non-negative values")));
        }
        Ok(v.iter().map(|&x| x as usize).collect())
    };
    let (s, d, op) = (two("strides", 1)?, two("dilations", 1)?, two("output_padding", 0)?);
    let pads: Vec<usize> =
        attr_ints(node, "pads")?.unwrap_or_else(|| vec![0; 4]).iter().map(|&p| p.max(0) as usize).collect();
    if pads.len() != 4 || s.contains(&0) || d.contains(&0) {
        return Err(invalid(node, "strides/dilations/pads must describe a 2-D transposed convolution"));
    }
    let full = |i: usize, k: usize, a: usize| s[a] * (i - 1) + op[a] + (k - 1) * d[a] + 1;
    let (fh, fw) = (full(h, kh, 0), full(wd, kw, 1));
    if fh <= pads[0] + pads[2] || fw <= pads[1] + pads[3] {
        return Err(invalid(node, "padding removes the whole output"));
    }
    let (oh, ow) = (fh - pads[0] - pads[2], fw - pads[1] - pads[3]);
    let bias = match inputs.get(2).and_then(|b| b.as_ref()) {
        None => vec![0.0; m],
        Some(Value::Const(b)) if b.len() == m => b.iter().copied().collect(),
        Some(_) => return Err(invalid(node, "bias must be a constant of length M")),
    };
    // Input rows (columns) feeding output row `o` of axis `a`: (input index, kernel index).
    let taps = |o: usize, len: usize, k: usize, a: usize| -> Vec<(usize, usize)> {
        (0..k)
            .filter_map(|t| {
                let at = (o + pads[a]).checked_sub(t * d[a])?;
                (at % s[a] == 0 && at / s[a] < len).then_some((at / s[a], t))
            })
            .collect()
    };
    let cg = c / group;
    let mut out = Vec::with_capacity(n * m * oh * ow);
    for b in 0..n {
        for (oc, &bias_oc) in bias.iter().enumerate() {
            let (g, ocg) = (oc / mg, oc % mg);
            for oy in 0..oh {
                let rows = taps(oy, h, kh, 0);
                for ox in 0..ow {
                    let cols = taps(ox, wd, kw, 1);
                    let mut terms = Vec::with_capacity(cg * rows.len() * cols.len());
                    for ic in g * cg..(g + 1) * cg {
                        for &(iy, ky) in &rows {
                            for &(ix, kx) in &cols {
                                terms.push((x[[b, ic, iy, ix]], w[[ic, ocg, ky, kx]]));
                            }
                        }
                    }
                    out.push(cx.affine_params(&terms, bias_oc));
                }
            }
        }
    }
    Ok(Value::Dyn(
        ArrayD::from_shape_vec(IxDyn(&[n, m, oh, ow]), out).map_err(|e| invalid(node, e.to_string()))?,
    ))
}
