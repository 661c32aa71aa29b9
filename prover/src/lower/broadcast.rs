//! Data movement that repeats or pads: Expand (numpy broadcasting to a shape), Tile, and Pad in the modes
//! `constant`, `reflect`, `edge` and `wrap`, with negative pads cropping. Like the other data-movement ops
//! they cost nothing in the circuit: every output is an input value, or (Pad, constant mode) one constant
//! neuron holding the pad value.

use tract_onnx::pb::NodeProto;

use super::elementwise::from_vec;
use super::pool::{ndindex, strides};
use super::{input, invalid, Ctx, OpLowering, Value};
use crate::ir::Var;
use crate::Result;

/// Expand, Tile and Pad.
pub(crate) struct Broadcast;

impl OpLowering for Broadcast {
    fn op_types(&self) -> &'static [&'static str] {
        &["Expand", "Tile", "Pad"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let x = input(node, inputs, 0)?;
        let shape = x.shape().to_vec();
        // `Some(i)`: the output takes input element `i` (flat, row-major); `None`: the pad value.
        let (out_shape, source): (Vec<usize>, Vec<Option<usize>>) = match node.op_type.as_str() {
            "Expand" => expand(node, &shape, &const_ints(node, inputs, 1, "shape")?)?,
            "Tile" => tile(node, &shape, &const_ints(node, inputs, 1, "repeats")?)?,
            _ => pad(node, inputs, &shape)?,
        };
        let pad_value = match inputs.get(2).and_then(|v| v.as_ref()) {
            Some(Value::Const(c)) if node.op_type == "Pad" => c.iter().next().copied().unwrap_or(0.0),
            Some(Value::Dyn(_)) if node.op_type == "Pad" => {
                return Err(invalid(node, "the pad value must be a constant"))
            }
            _ => f64::from(
                node.get_attr_opt::<f32>("value").map_err(|e| invalid(node, e.to_string()))?.unwrap_or(0.0),
            ),
        };
        let out = match x {
            Value::Const(c) => {
                let flat: Vec<f64> = c.iter().copied().collect();
                Value::Const(from_vec(
                    node,
                    &out_shape,
                    source.iter().map(|s| s.map_or(pad_value, |i| flat[i])).collect(),
                )?)
            }
            Value::Dyn(d) => {
                let flat: Vec<Var> = d.iter().copied().collect();
                let mut padding = None;
                let mut vars = Vec::with_capacity(source.len());
                for s in &source {
                    vars.push(match s {
                        Some(i) => flat[*i],
                        None => *padding.get_or_insert_with(|| cx.affine(&[], pad_value)),
                    });
                }
                Value::Dyn(from_vec(node, &out_shape, vars)?)
            }
        };
        Ok(vec![out])
    }
}

/// A constant integer input (`shape`, `repeats`, `pads`…): folded by tract's analysis when computed.
fn const_ints(node: &NodeProto, inputs: &[Option<Value>], i: usize, what: &str) -> Result<Vec<i64>> {
    match inputs.get(i).and_then(|v| v.as_ref()) {
        Some(Value::Const(c)) => Ok(c.iter().map(|&v| v as i64).collect()),
        Some(Value::Dyn(_)) => Err(invalid(node, format!("input #{i} ({what}) must be a constant"))),
        None => Err(invalid(node, format!("missing input #{i} ({what})"))),
    }
}

/// For every output position (row-major) the input element it takes, from a per-axis map.
fn gather_map(
    out_shape: &[usize],
    in_shape: &[usize],
    axis_map: &[Vec<Option<usize>>],
) -> Vec<Option<usize>> {
    let in_strides = strides(in_shape);
    ndindex(out_shape)
        .iter()
        .map(|idx| {
            idx.iter()
                .enumerate()
                .try_fold(0usize, |f, (a, &o)| axis_map[a][o].map(|i| f + i * in_strides[a]))
        })
        .collect()
}

/// Expand: numpy broadcasting of the input to `target` (right-aligned; a 1 keeps the other side's size).
fn expand(node: &NodeProto, shape: &[usize], target: &[i64]) -> Result<(Vec<usize>, Vec<Option<usize>>)> {
    let rank = shape.len().max(target.len());
    let padded: Vec<usize> =
        std::iter::repeat_n(1, rank - shape.len()).chain(shape.iter().copied()).collect();
    let wanted: Vec<i64> =
        std::iter::repeat_n(1, rank - target.len()).chain(target.iter().copied()).collect();
    let mut out = Vec::with_capacity(rank);
    for (&d, &t) in padded.iter().zip(&wanted) {
        let t = usize::try_from(t).map_err(|_| invalid(node, format!("invalid target dimension {t}")))?;
        out.push(match (d, t) {
            (d, t) if d == t || t == 1 => d,
            (1, t) => t,
            (d, t) => {
                return Err(invalid(node, format!("cannot broadcast {shape:?} to {target:?} ({d} vs {t})")))
            }
        });
    }
    let maps: Vec<Vec<Option<usize>>> = out
        .iter()
        .zip(&padded)
        .map(|(&o, &d)| (0..o).map(|i| Some(if d == 1 { 0 } else { i })).collect())
        .collect();
    Ok((out.clone(), gather_map(&out, &padded, &maps)))
}

/// Tile: each axis repeated `repeats[a]` times.
fn tile(node: &NodeProto, shape: &[usize], repeats: &[i64]) -> Result<(Vec<usize>, Vec<Option<usize>>)> {
    if repeats.len() != shape.len() || repeats.iter().any(|&r| r < 0) {
        return Err(invalid(node, format!("repeats {repeats:?} do not fit an input of shape {shape:?}")));
    }
    let out: Vec<usize> = shape.iter().zip(repeats).map(|(&d, &r)| d * r as usize).collect();
    let maps: Vec<Vec<Option<usize>>> =
        out.iter().zip(shape).map(|(&o, &d)| (0..o).map(|i| Some(i % d.max(1))).collect()).collect();
    Ok((out.clone(), gather_map(&out, shape, &maps)))
}

/// Pad (`pads` as input #1 from opset 11, else the attribute; optional `axes` input #3, opset 18).
fn pad(
    node: &NodeProto,
    inputs: &[Option<Value>],
    shape: &[usize],
) -> Result<(Vec<usize>, Vec<Option<usize>>)> {
    let rank = shape.len();
    let pads = match inputs.get(1).and_then(|v| v.as_ref()) {
        Some(_) => const_ints(node, inputs, 1, "pads")?,
        None => super::attr_ints(node, "pads")?.ok_or_else(|| invalid(node, "missing pads"))?,
    };
    let axes: Vec<usize> = match inputs.get(3).and_then(|v| v.as_ref()) {
        Some(_) => const_ints(node, inputs, 3, "axes")?
            .iter()
            .map(|&a| super::axis(node, a, rank))
            .collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(invalid(node, format!("{} pads for {} axes", pads.len(), axes.len())));
    }
    let mode = node.get_attr_opt::<String>("mode").map_err(|e| invalid(node, e.to_string()))?;
    let mode = mode.as_deref().unwrap_or("constant");
    let mut begin = vec![0i64; rank];
    let mut end = vec![0i64; rank];
    for (k, &a) in axes.iter().enumerate() {
        begin[a] = pads[k];
        end[a] = pads[k + axes.len()];
    }
    let mut out = Vec::with_capacity(rank);
    let mut maps = Vec::with_capacity(rank);
    for a in 0..rank {
        let d = shape[a] as i64;
        let o = d + begin[a] + end[a];
        if o < 0 || (d == 0 && o > 0 && mode != "constant") {
            return Err(invalid(node, format!("pads {pads:?} do not fit an input of shape {shape:?}")));
        }
        let map: Vec<Option<usize>> = (0..o)
            .map(|i| {
                let s = i - begin[a];
                if (0..d).contains(&s) {
                    return Ok(Some(s as usize));
                }
                Ok(match mode {
                    "constant" => None,
                    "edge" => Some(s.clamp(0, d - 1) as usize),
                    "wrap" => Some(s.rem_euclid(d) as usize),
                    "reflect" => Some(reflect(s, d) as usize),
                    other => return Err(invalid(node, format!("unsupported mode `{other}`"))),
                })
            })
            .collect::<Result<_>>()?;
        out.push(o as usize);
        maps.push(map);
    }
    Ok((out.clone(), gather_map(&out, shape, &maps)))
}

/// The reflected index of `s` in `0..d` (the edge itself is not repeated), for any distance.
fn reflect(s: i64, d: i64) -> i64 {
    if d == 1 {
        return 0;
    }
    let period = 2 * (d - 1);
    let m = s.rem_euclid(period);
    if m < d {
        m
    } else {
        period - m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_mirrors_without_repeating_the_edge() {
        // numpy.pad(range(4), 5, mode="reflect") = [1 2 3 2 1 | 0 1 2 3 | 2 1 0 1 2]
        let got: Vec<i64> = (-5..9).map(|s| reflect(s, 4)).collect();
        assert_eq!(got, vec![1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
        assert_eq!(reflect(-3, 1), 0);
    }

    #[test]
    fn expand_broadcasts_right_aligned_and_refuses_a_mismatch() {
        let node = NodeProto { op_type: "Expand".into(), ..NodeProto::default() };
        let (shape, src) = expand(&node, &[2, 1], &[3, 1, 2]).expect("expand");
        assert_eq!(shape, vec![3, 2, 2]);
        let src: Vec<usize> = src.into_iter().map(|s| s.expect("no padding")).collect();
        assert_eq!(src, vec![0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
        assert!(expand(&node, &[2, 3], &[2, 4]).is_err());
        let (shape, src) = tile(&node, &[2], &[3]).expect("tile");
        assert_eq!((shape, src), (vec![6], vec![Some(0), Some(1), Some(0), Some(1), Some(0), Some(1)]));
    }
}
