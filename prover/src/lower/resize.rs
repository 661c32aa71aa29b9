//! Resize (opset 10+) and Upsample: `nearest` is data movement (free), `linear` (bilinear, trilinear…) is an
//! affine combination of at most `2^axes` inputs with coefficients fixed by the geometry — never a model
//! parameter. ONNX's coordinate transformations (`half_pixel`, `pytorch_half_pixel`, `align_corners`,
//! `asymmetric`, `tf_half_pixel_for_nn`) and nearest modes (`round_prefer_floor`, `round_prefer_ceil`,
//! `floor`, `ceil`); opset 10's Resize and Upsample are `asymmetric` with `floor`.

use tract_onnx::pb::NodeProto;

use super::elementwise::from_vec;
use super::pool::{ndindex, strides};
use super::{input, invalid, Ctx, OpLowering, Value};
use crate::Result;

/// Resize and Upsample.
pub(crate) struct Resize;

impl OpLowering for Resize {
    fn op_types(&self) -> &'static [&'static str] {
        &["Resize", "Upsample"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let x = input(node, inputs, 0)?;
        let shape = x.shape().to_vec();
        let legacy = node.op_type == "Upsample" || inputs.len() <= 2;
        let (out_shape, scales) = sizes(node, inputs, &shape, legacy)?;
        let s = |name: &str, default: &str| -> Result<String> {
            let v = node.get_attr_opt::<String>(name).map_err(|e| invalid(node, e.to_string()))?;
            Ok(v.unwrap_or_else(|| default.to_string()))
        };
        let mode = s("mode", "nearest")?;
        let coord = if legacy {
            "asymmetric".to_string()
        } else {
            s("coordinate_transformation_mode", "half_pixel")?
        };
        let nearest = if legacy { "floor".to_string() } else { s("nearest_mode", "round_prefer_floor")? };
        let maps: Vec<Vec<Vec<(usize, f64)>>> = (0..shape.len())
            .map(|a| axis_map(node, (shape[a], out_shape[a], scales[a]), &coord, &mode, &nearest))
            .collect::<Result<_>>()?;
        let combos = combine(&shape, &out_shape, &maps);
        let out = match x {
            Value::Const(c) => {
                let flat: Vec<f64> = c.iter().copied().collect();
                Value::Const(from_vec(
                    node,
                    &out_shape,
                    combos.iter().map(|t| t.iter().map(|(i, w)| flat[*i] * w).sum()).collect(),
                )?)
            }
            Value::Dyn(d) => {
                let flat: Vec<_> = d.iter().copied().collect();
                let mut vars = Vec::with_capacity(combos.len());
                for terms in &combos {
                    vars.push(match terms.as_slice() {
                        [(i, w)] if *w == 1.0 => flat[*i],
                        _ => cx.affine(&terms.iter().map(|(i, w)| (flat[*i], *w)).collect::<Vec<_>>(), 0.0),
                    });
                }
                Value::Dyn(from_vec(node, &out_shape, vars)?)
            }
        };
        Ok(vec![out])
    }
}

/// Output shape and per-axis scales, from `sizes` (input #3) or `scales` (input #2; #1 for opset 10 and
/// Upsample, or Upsample's attribute).
fn sizes(
    node: &NodeProto,
    inputs: &[Option<Value>],
    shape: &[usize],
    legacy: bool,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let konst = |i: usize| -> Result<Option<Vec<f64>>> {
        match inputs.get(i).and_then(|v| v.as_ref()) {
            Some(Value::Const(c)) if c.is_empty() => Ok(None),
            Some(Value::Const(c)) => Ok(Some(c.iter().copied().collect())),
            Some(Value::Dyn(_)) => Err(invalid(node, format!("input #{i} must be a constant"))),
            None => Ok(None),
        }
    };
    if !legacy {
        if let Some(sz) = konst(3)? {
            if sz.len() != shape.len() {
                return Err(invalid(node, format!("sizes {sz:?} do not fit rank {}", shape.len())));
            }
            let out: Vec<usize> = sz.iter().map(|&v| v as usize).collect();
            let scales = out.iter().zip(shape).map(|(&o, &i)| o as f64 / i.max(1) as f64).collect();
            return Ok((out, scales));
        }
    }
    let scales = match konst(if legacy { 1 } else { 2 })? {
        Some(s) => s,
        None => node
            .get_attr_opt_vec::<f32>("scales")
            .map_err(|e| invalid(node, e.to_string()))?
            .map(|v| v.iter().map(|&x| f64::from(x)).collect())
            .ok_or_else(|| invalid(node, "neither sizes nor scales"))?,
    };
    if scales.len() != shape.len() || scales.iter().any(|&s| s <= 0.0) {
        return Err(invalid(node, format!("scales {scales:?} do not fit rank {}", shape.len())));
    }
    Ok((shape.iter().zip(&scales).map(|(&d, &s)| (d as f64 * s).floor() as usize).collect(), scales))
}

/// For each output position along one axis, the input positions and weights it combines.
fn axis_map(
    node: &NodeProto,
    (len, out, scale): (usize, usize, f64),
    coord: &str,
    mode: &str,
    nearest: &str,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let last = len.saturating_sub(1) as f64;
    (0..out)
        .map(|o| {
            let x = o as f64;
            let src = match coord {
                "half_pixel" => (x + 0.5) / scale - 0.5,
                "pytorch_half_pixel" if out > 1 => (x + 0.5) / scale - 0.5,
                "pytorch_half_pixel" => 0.0,
                "align_corners" if out > 1 => x * last / (out - 1) as f64,
                "align_corners" => 0.0,
                "asymmetric" => x / scale,
                "tf_half_pixel_for_nn" => (x + 0.5) / scale,
                other => {
                    return Err(invalid(
                        node,
                        format!("unsupported coordinate_transformation_mode `{other}`"),
                    ))
                }
            };
            Ok(match mode {
                "nearest" => {
                    let i = match nearest {
                        "round_prefer_floor" if src.fract() == 0.5 => src.floor(),
                        "round_prefer_ceil" if src.fract() == 0.5 => src.ceil(),
                        "round_prefer_floor" | "round_prefer_ceil" => src.round(),
                        "floor" => src.floor(),
                        "ceil" => src.ceil(),
                        other => return Err(invalid(node, format!("unsupported nearest_mode `{other}`"))),
                    };
                    vec![(i.clamp(0.0, last) as usize, 1.0)]
                }
                "linear" => {
                    let s = src.clamp(0.0, last);
                    let (lo, t) = (s.floor(), s - s.floor());
                    let hi = (lo + 1.0).min(last);
                    if t == 0.0 || hi == lo {
                        vec![(lo as usize, 1.0)]
                    } else {
                        vec![(lo as usize, 1.0 - t), (hi as usize, t)]
                    }
                }
                other => return Err(invalid(node, format!("unsupported mode `{other}`"))),
            })
        })
        .collect()
}

/// The separable product of the per-axis maps: for each output element (row-major), its flat input terms.
fn combine(shape: &[usize], out_shape: &[usize], maps: &[Vec<Vec<(usize, f64)>>]) -> Vec<Vec<(usize, f64)>> {
    let strides = strides(shape);
    ndindex(out_shape)
        .iter()
        .map(|idx| {
            let mut terms = vec![(0usize, 1.0f64)];
            for (a, &o) in idx.iter().enumerate() {
                let stride = strides[a];
                terms = terms
                    .iter()
                    .flat_map(|&(f, w)| maps[a][o].iter().map(move |&(i, v)| (f + i * stride, w * v)))
                    .collect();
            }
            terms
        })
        .collect()
}
