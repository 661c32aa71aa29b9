//! Comparisons and boolean logic, as emitted by converted tree ensembles (Hummingbird's `tree_trav` and
//! `gemm` strategies): Less, LessOrEqual, Greater, GreaterOrEqual, Equal, Where, Not, And, Or, Xor.
//!
//! Booleans are the fixed-point values 0 and 1 (`1 = 2^scale`). A comparison is one affine neuron (the
//! difference of its operands) whose table activation is [`Activation::Step`] (`d >= 0`) or
//! [`Activation::IsZero`] (`d == 0`), decided exactly on the quantized integers:
//!
//! - `a >= b` is `step(a_q − b_q)`, `a > b` is `step(a_q − b_q − 1)` (one unit of `2^-scale` less),
//!   `a <= b` and `a < b` likewise with the operands swapped, `a == b` is `is_zero(a_q − b_q)`;
//! - a constant threshold `t` is `round(t · 2^scale)`, so a real input `x` with `|x − t| >= 2^-scale` is
//!   decided as the float model decides it, while an input closer than `2^-scale` to a threshold (or a
//!   computed value whose rounding error reaches the threshold) can take the other branch.
//!
//! Logic on computed booleans is arithmetic: `not a = 1 − a`, `a and b = a·b`, `a or b = a + b − a·b`,
//! `a xor b = a + b − 2·a·b`, `where(c, x, y) = y + c·(x − y)`. They assume 0/1 operands, which every
//! comparison produces.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::IxDyn;

use super::elementwise::{broadcast_shape, from_vec};
use super::{input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, Var};
use crate::Result;

pub(crate) struct Compare;

impl OpLowering for Compare {
    fn op_types(&self) -> &'static [&'static str] {
        &["Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Equal", "Where", "Not", "And", "Or", "Xor"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let op = node.op_type.as_str();
        let out = match op {
            "Not" => {
                let x = input(node, inputs, 0)?;
                let shape = x.shape().to_vec();
                let out = elems(node, x, &shape)?
                    .into_iter()
                    .map(|e| match e {
                        Elem::C(c) => Elem::C(bool_f(c == 0.0)),
                        Elem::V(v) => Elem::V(cx.affine(&[(v, -1.0)], 1.0)),
                    })
                    .collect();
                assemble(cx, node, &shape, out)?
            }
            "Where" => {
                let (c, x, y) = (input(node, inputs, 0)?, input(node, inputs, 1)?, input(node, inputs, 2)?);
                let shape = broadcast_shape(node, c.shape(), x.shape())?;
                let shape = broadcast_shape(node, &shape, y.shape())?;
                let (c, x, y) = (elems(node, c, &shape)?, elems(node, x, &shape)?, elems(node, y, &shape)?);
                let out = c.iter().zip(&x).zip(&y).map(|((&c, &x), &y)| select(cx, c, x, y)).collect();
                assemble(cx, node, &shape, out)?
            }
            _ => {
                let (a, b) = (input(node, inputs, 0)?, input(node, inputs, 1)?);
                let shape = broadcast_shape(node, a.shape(), b.shape())?;
                let (a, b) = (elems(node, a, &shape)?, elems(node, b, &shape)?);
                let out = a
                    .iter()
                    .zip(&b)
                    .map(|(&a, &b)| match op {
                        "And" | "Or" | "Xor" => logic(cx, op, a, b),
                        _ => compare(cx, op, a, b),
                    })
                    .collect();
                assemble(cx, node, &shape, out)?
            }
        };
        Ok(vec![out])
    }
}

/// One element of a tensor that may mix constants and circuit values.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Elem {
    /// A constant.
    C(f64),
    /// A circuit value.
    V(Var),
}

fn bool_f(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// `v` broadcast to `shape`, flattened in row-major order.
pub(crate) fn elems(node: &NodeProto, v: &Value, shape: &[usize]) -> Result<Vec<Elem>> {
    let err = || invalid(node, format!("cannot broadcast {:?} to {shape:?}", v.shape()));
    Ok(match v {
        Value::Const(c) => c.broadcast(IxDyn(shape)).ok_or_else(err)?.iter().map(|&x| Elem::C(x)).collect(),
        Value::Dyn(d) => d.broadcast(IxDyn(shape)).ok_or_else(err)?.iter().map(|&x| Elem::V(x)).collect(),
    })
}

/// A tensor of elements: constant when every element is, otherwise a circuit tensor whose constant
/// elements become constant neurons.
pub(crate) fn assemble(cx: &mut Ctx<'_>, node: &NodeProto, shape: &[usize], out: Vec<Elem>) -> Result<Value> {
    if out.iter().all(|e| matches!(e, Elem::C(_))) {
        let c = out.iter().map(|e| if let Elem::C(c) = e { *c } else { 0.0 }).collect();
        return Ok(Value::Const(from_vec(node, shape, c)?));
    }
    let vars = out.into_iter().map(|e| to_var(cx, e)).collect();
    Ok(Value::Dyn(from_vec(node, shape, vars)?))
}

/// A circuit value for `e` (a constant neuron for a constant).
pub(crate) fn to_var(cx: &mut Ctx<'_>, e: Elem) -> Var {
    match e {
        Elem::V(v) => v,
        Elem::C(c) => cx.affine_params(&[], c),
    }
}

/// One unit of the fixed-point grid, `2^-scale`.
fn unit(cx: &Ctx<'_>) -> f64 {
    f64::powi(2.0, -i32::from(cx.scale))
}

/// A comparison of two elements (see the module documentation for the exact decision rule).
fn compare(cx: &mut Ctx<'_>, op: &str, a: Elem, b: Elem) -> Elem {
    // `pos − neg − margin` is tested for `>= 0` (or `== 0` for Equal).
    let (pos, neg, strict) = match op {
        "Less" => (b, a, true),
        "LessOrEqual" => (b, a, false),
        "Greater" => (a, b, true),
        _ => (a, b, false), // GreaterOrEqual, Equal
    };
    let equal = op == "Equal";
    let margin = if strict { unit(cx) } else { 0.0 };
    let d = match (pos, neg) {
        (Elem::C(p), Elem::C(n)) => {
            return Elem::C(bool_f(if equal {
                p == n
            } else if strict {
                p > n
            } else {
                p >= n
            }))
        }
        // A constant operand is a model parameter (a threshold): committed with `--params private`.
        (Elem::V(p), Elem::C(n)) => cx.affine_params(&[(p, 1.0)], -n - margin),
        (Elem::C(p), Elem::V(n)) => cx.affine_params(&[(n, -1.0)], p - margin),
        (Elem::V(p), Elem::V(n)) => cx.affine(&[(p, 1.0), (n, -1.0)], -margin),
    };
    Elem::V(cx.activation(d, if equal { Activation::IsZero } else { Activation::Step }))
}

/// `x <op> t` for a circuit value and a constant threshold `t` (a model parameter), as a 0/1 circuit value.
pub(crate) fn compare_const(cx: &mut Ctx<'_>, op: &str, x: Var, t: f64) -> Var {
    match compare(cx, op, Elem::V(x), Elem::C(t)) {
        Elem::V(v) => v,
        Elem::C(c) => cx.affine(&[], c),
    }
}

/// And / Or / Xor of two 0/1 elements.
fn logic(cx: &mut Ctx<'_>, op: &str, a: Elem, b: Elem) -> Elem {
    match (a, b) {
        (Elem::C(x), Elem::C(y)) => {
            let (x, y) = (x != 0.0, y != 0.0);
            Elem::C(bool_f(match op {
                "And" => x && y,
                "Or" => x || y,
                _ => x != y,
            }))
        }
        (Elem::V(v), Elem::C(c)) | (Elem::C(c), Elem::V(v)) => match (op, c != 0.0) {
            ("And", true) | ("Or", false) | ("Xor", false) => Elem::V(v),
            ("And", false) => Elem::C(0.0),
            ("Or", true) => Elem::C(1.0),
            _ => Elem::V(cx.affine(&[(v, -1.0)], 1.0)), // Xor with true: not v
        },
        (Elem::V(x), Elem::V(y)) => {
            let p = cx.mul(x, y);
            Elem::V(match op {
                "And" => p,
                "Or" => cx.affine(&[(x, 1.0), (y, 1.0), (p, -1.0)], 0.0),
                _ => cx.affine(&[(x, 1.0), (y, 1.0), (p, -2.0)], 0.0),
            })
        }
    }
}

/// `where(c, x, y) = y + c·(x − y)` for a 0/1 condition `c`.
pub(crate) fn select(cx: &mut Ctx<'_>, c: Elem, x: Elem, y: Elem) -> Elem {
    let c = match c {
        Elem::C(c) => return if c != 0.0 { x } else { y },
        Elem::V(c) => c,
    };
    match (x, y) {
        // Equal constant branches fold, except for private parameters (the circuit must not reveal them).
        (Elem::C(x), Elem::C(y)) if x == y && !cx.private => Elem::C(x),
        // Both branches are model parameters (e.g. a tree's child indices or leaf values).
        (Elem::C(x), Elem::C(y)) => Elem::V(cx.affine_params(&[(c, x - y)], y)),
        (Elem::V(x), Elem::C(y)) => {
            let d = cx.affine_params(&[(x, 1.0)], -y);
            let m = cx.mul(c, d);
            Elem::V(cx.affine_params(&[(m, 1.0)], y))
        }
        (Elem::C(x), Elem::V(y)) => {
            let d = cx.affine_params(&[(y, -1.0)], x);
            let m = cx.mul(c, d);
            Elem::V(cx.affine(&[(m, 1.0), (y, 1.0)], 0.0))
        }
        (Elem::V(x), Elem::V(y)) => {
            let d = cx.affine(&[(x, 1.0), (y, -1.0)], 0.0);
            let m = cx.mul(c, d);
            Elem::V(cx.affine(&[(m, 1.0), (y, 1.0)], 0.0))
        }
    }
}
