//! Element-wise ops with numpy broadcasting: Add, Sub, Mul, Div and the table activations
//! (Relu, LeakyRelu, Sigmoid, Tanh, Exp, Clip, and ONNX's other unary functions: Softplus, Softsign, Elu,
//! Selu, Celu, HardSigmoid, HardSwish, Mish, Erf, Gelu, Log, Sqrt, Abs, Floor, Ceil, Round, Sin, Cos,
//! ThresholdedRelu, Pow by a constant), plus Identity/Dropout/Neg.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn, Zip};

use super::{attr_f, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, UnaryOp, Var};
use crate::Result;

pub(crate) struct Elementwise;

impl OpLowering for Elementwise {
    fn op_types(&self) -> &'static [&'static str] {
        &[
            "Add",
            "Sub",
            "Mul",
            "Div",
            "Neg",
            "Relu",
            "LeakyRelu",
            "Sigmoid",
            "Tanh",
            "Exp",
            "Clip",
            "Identity",
            "Dropout",
            "Softplus",
            "Softsign",
            "Elu",
            "Selu",
            "Celu",
            "HardSigmoid",
            "HardSwish",
            "Mish",
            "Erf",
            "Gelu",
            "Log",
            "Sqrt",
            "Abs",
            "Floor",
            "Ceil",
            "Round",
            "Sin",
            "Cos",
            "Tan",
            "Asin",
            "Acos",
            "Atan",
            "Sinh",
            "Cosh",
            "Asinh",
            "Acosh",
            "Atanh",
            "Sign",
            "Reciprocal",
            "ThresholdedRelu",
            "Pow",
            "Mod",
        ]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let x = input(node, inputs, 0)?;
        let act = match node.op_type.as_str() {
            "Add" | "Sub" | "Mul" | "Div" => return Ok(vec![binary(cx, node, x, input(node, inputs, 1)?)?]),
            "Identity" | "Dropout" => return Ok(vec![x.clone()]),
            "Neg" => return Ok(vec![unary_affine(cx, x, -1.0)]),
            "Relu" => Activation::Relu,
            // Piecewise-linear functions by exact ReLUs: no table resolution, any kink.
            "LeakyRelu" => {
                return Ok(vec![piecewise(
                    cx,
                    x,
                    &Activation::LeakyRelu { alpha: attr_f(node, "alpha", 0.01)? },
                )])
            }
            "Clip" => return Ok(vec![piecewise(cx, x, &clip_bounds(node, inputs)?)]),
            "HardSigmoid" | "HardSwish" => return Ok(vec![piecewise(cx, x, &unary(node)?)]),
            "Sigmoid" => Activation::Sigmoid,
            "Tanh" => Activation::Tanh,
            "Exp" => Activation::Exp,
            "Pow" => return pow(cx, node, x, inputs),
            "Mod" => return Ok(vec![modulo(cx, node, x, input(node, inputs, 1)?)?]),
            _ => unary(node)?,
        };
        Ok(vec![match x {
            Value::Const(c) => Value::Const(c.mapv(|v| act_f64(&act, v))),
            Value::Dyn(d) => Value::Dyn(d.mapv(|v| cx.activation(v, act.clone()))),
        }])
    }
}

fn act_f64(act: &Activation, x: f64) -> f64 {
    match *act {
        Activation::Relu => x.max(0.0),
        Activation::LeakyRelu { alpha } => {
            if x >= 0.0 {
                x
            } else {
                alpha * x
            }
        }
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
        Activation::Exp => x.exp(),
        Activation::Clip { min, max } => x.clamp(min, max),
        Activation::Recip | Activation::RecipExact => 1.0 / x,
        Activation::Rsqrt { eps } | Activation::RsqrtExact { eps } => 1.0 / (x + eps).sqrt(),
        Activation::Interp { ref func, .. } => act_f64(func, x),
        Activation::SqrtExact => x.max(0.0).sqrt(),
        Activation::LogReduced { .. } => UnaryOp::Log.eval(x, 0.0, 0.0),
        Activation::Identity => x,
        Activation::Step => f64::from(u8::from(x >= 0.0)),
        Activation::IsZero => f64::from(u8::from(x == 0.0)),
        Activation::Unary { op, alpha, beta } => op.eval(x, alpha, beta),
    }
}

/// The table function of a unary ONNX op, with ONNX's attribute defaults.
fn unary(node: &NodeProto) -> Result<Activation> {
    let a = |name: &str, default: f64| attr_f(node, name, default);
    let (op, alpha, beta) = match node.op_type.as_str() {
        "Softplus" => (UnaryOp::Softplus, 0.0, 0.0),
        "Softsign" => (UnaryOp::Softsign, 0.0, 0.0),
        "Elu" => (UnaryOp::Elu, a("alpha", 1.0)?, 0.0),
        "Selu" => (UnaryOp::Selu, a("alpha", 1.673_263_192_176_818_8)?, a("gamma", 1.050_701_022_148_132_3)?),
        "Celu" => (UnaryOp::Celu, a("alpha", 1.0)?, 0.0),
        "HardSigmoid" => (UnaryOp::HardSigmoid, a("alpha", 0.2)?, a("beta", 0.5)?),
        "HardSwish" => (UnaryOp::HardSwish, 0.0, 0.0),
        "Mish" => (UnaryOp::Mish, 0.0, 0.0),
        "Erf" => (UnaryOp::Erf, 0.0, 0.0),
        "Gelu" => {
            let approx =
                node.get_attr_opt::<String>("approximate").map_err(|e| invalid(node, e.to_string()))?;
            match approx.as_deref() {
                None | Some("none") => (UnaryOp::Gelu, 0.0, 0.0),
                Some("tanh") => (UnaryOp::GeluTanh, 0.0, 0.0),
                Some(other) => return Err(invalid(node, format!("unsupported approximate `{other}`"))),
            }
        }
        "Log" => (UnaryOp::Log, 0.0, 0.0),
        "Sqrt" => (UnaryOp::Sqrt, 0.0, 0.0),
        "Abs" => (UnaryOp::Abs, 0.0, 0.0),
        "Floor" => (UnaryOp::Floor, 0.0, 0.0),
        "Ceil" => (UnaryOp::Ceil, 0.0, 0.0),
        "Round" => (UnaryOp::Round, 0.0, 0.0),
        "Sin" => (UnaryOp::Sin, 0.0, 0.0),
        "Cos" => (UnaryOp::Cos, 0.0, 0.0),
        "Tan" => (UnaryOp::Tan, 0.0, 0.0),
        "Asin" => (UnaryOp::Asin, 0.0, 0.0),
        "Acos" => (UnaryOp::Acos, 0.0, 0.0),
        "Atan" => (UnaryOp::Atan, 0.0, 0.0),
        "Sinh" => (UnaryOp::Sinh, 0.0, 0.0),
        "Cosh" => (UnaryOp::Cosh, 0.0, 0.0),
        "Asinh" => (UnaryOp::Asinh, 0.0, 0.0),
        "Acosh" => (UnaryOp::Acosh, 0.0, 0.0),
        "Atanh" => (UnaryOp::Atanh, 0.0, 0.0),
        "Sign" => (UnaryOp::Sign, 0.0, 0.0),
        "Reciprocal" => return Ok(Activation::Recip),
        "ThresholdedRelu" => (UnaryOp::ThresholdedRelu, a("alpha", 1.0)?, 0.0),
        op => return Err(invalid(node, format!("{op} is not an element-wise function"))),
    };
    Ok(Activation::Unary { op, alpha, beta })
}

/// `x ^ e` for a constant scalar exponent: `x·x` for 2 (exact), `x` for 1, else the table.
fn pow(cx: &mut Ctx<'_>, node: &NodeProto, x: &Value, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
    let e = match inputs.get(1).and_then(|v| v.as_ref()) {
        Some(Value::Const(c)) if c.len() == 1 => c.iter().next().copied().unwrap_or(1.0),
        Some(y) => return Ok(vec![general_pow(cx, node, x, y)?]),
        None => return Err(invalid(node, "missing exponent")),
    };
    let act = Activation::Unary { op: UnaryOp::Pow, alpha: e, beta: 0.0 };
    // Exponents with an exact form: small integers by multiplication, ±1/2 and −1 by the square root,
    // reciprocal square root and reciprocal (exactly checked in a precise circuit); the rest by table.
    let special = match e {
        0.5 => Some(Activation::Unary { op: UnaryOp::Sqrt, alpha: 0.0, beta: 0.0 }),
        -0.5 => Some(Activation::Rsqrt { eps: 0.0 }),
        -1.0 => Some(Activation::Recip),
        _ => None,
    };
    Ok(vec![match x {
        Value::Const(c) => Value::Const(c.mapv(|v| act_f64(&act, v))),
        Value::Dyn(d) if e == 1.0 => Value::Dyn(d.clone()),
        Value::Dyn(d) if e.fract() == 0.0 && (2.0..=MAX_MUL_EXPONENT).contains(&e) => {
            Value::Dyn(d.mapv(|v| int_pow(cx, v, e as u32)))
        }
        Value::Dyn(d) => {
            let f = special.unwrap_or(act);
            Value::Dyn(d.mapv(|v| cx.activation(v, f.clone())))
        }
    }])
}

/// Largest integer exponent `Pow` computes by multiplication (square and multiply: at most 2·log2 products).
const MAX_MUL_EXPONENT: f64 = 16.0;

/// `v^n` by square and multiply, every product rescaled (rounded) like any other.
fn int_pow(cx: &mut Ctx<'_>, v: Var, n: u32) -> Var {
    let (mut acc, mut base, mut n) = (None::<Var>, v, n);
    while n > 0 {
        if n & 1 == 1 {
            acc = Some(acc.map_or(base, |a| cx.mul(a, base)));
        }
        n >>= 1;
        if n > 0 {
            base = cx.mul(base, base);
        }
    }
    acc.unwrap_or(v)
}

/// `x ^ y` with a computed or tensor exponent: `exp(y · ln x)` for a positive base (ln and exp by table; a
/// constant base folds its logarithm into the affine map).
fn general_pow(cx: &mut Ctx<'_>, node: &NodeProto, x: &Value, y: &Value) -> Result<Value> {
    use super::compare::{elems, Elem};
    if matches!((x, y), (Value::Const(_), Value::Const(_))) {
        return Err(invalid(node, "constant inputs: nothing to prove"));
    }
    let shape = broadcast_shape(node, x.shape(), y.shape())?;
    let log = Activation::Unary { op: UnaryOp::Log, alpha: 0.0, beta: 0.0 };
    let mut out = Vec::with_capacity(shape.iter().product());
    for (b, e) in elems(node, x, &shape)?.into_iter().zip(elems(node, y, &shape)?) {
        let exponent = match (b, e) {
            (Elem::C(b), _) if b <= 0.0 => return Err(invalid(node, "a constant base must be positive")),
            (Elem::C(b), Elem::V(e)) => cx.affine_params(&[(e, b.ln())], 0.0),
            (Elem::C(b), Elem::C(e)) => cx.affine_params(&[], e * b.ln()),
            (Elem::V(b), e) => {
                let l = cx.activation(b, log.clone());
                match e {
                    Elem::V(e) => cx.mul(l, e),
                    Elem::C(e) => cx.affine_params(&[(l, e)], 0.0),
                }
            }
        };
        out.push(cx.activation(exponent, Activation::Exp));
    }
    Ok(Value::Dyn(from_vec(node, &shape, out)?))
}

fn clip_bounds(node: &NodeProto, inputs: &[Option<Value>]) -> Result<Activation> {
    let bound = |i: usize, attr: &str, default: f64| -> Result<f64> {
        match inputs.get(i).and_then(|v| v.as_ref()) {
            Some(Value::Const(c)) if c.len() == 1 => Ok(c.iter().next().copied().unwrap_or(default)),
            Some(_) => Err(invalid(node, format!("bound input #{i} must be a constant scalar"))),
            None => attr_f(node, attr, default),
        }
    };
    let (min, max) = (bound(1, "min", f64::MIN)?, bound(2, "max", f64::MAX)?);
    if min > max {
        return Err(invalid(node, format!("min {min} > max {max}")));
    }
    Ok(Activation::Clip { min, max })
}

/// LeakyRelu, Clip, HardSigmoid and HardSwish from exact ReLUs (`relu` is exact in both range-check modes):
/// `leaky(x) = a·x + (1 − a)·relu(x)`, `clip(x) = max(lo, min(x, hi))` with `min(x, hi) = x − relu(x − hi)`
/// and `max(y, lo) = y + relu(lo − y)`, `hard_sigmoid(x) = clip(α·x + β, 0, 1)`, `hard_swish(x) =
/// x · clip(x/6 + 1/2, 0, 1)`: only the rescales of `a`, `α`, `β`, `hi`, `lo` and of the product round.
fn piecewise(cx: &mut Ctx<'_>, x: &Value, act: &Activation) -> Value {
    match x {
        Value::Const(c) => Value::Const(c.mapv(|v| act_f64(act, v))),
        Value::Dyn(d) => Value::Dyn(d.mapv(|v| piecewise_var(cx, v, act))),
    }
}

fn piecewise_var(cx: &mut Ctx<'_>, v: Var, act: &Activation) -> Var {
    match *act {
        Activation::LeakyRelu { alpha } => {
            let r = cx.activation(v, Activation::Relu);
            cx.affine_params(&[(r, 1.0 - alpha), (v, alpha)], 0.0)
        }
        Activation::Clip { min, max } => clamp(cx, v, min, max),
        Activation::Unary { op: UnaryOp::HardSigmoid, alpha, beta } => {
            let y = cx.affine_params(&[(v, alpha)], beta);
            clamp(cx, y, 0.0, 1.0)
        }
        Activation::Unary { op: UnaryOp::HardSwish, .. } => {
            let y = cx.affine(&[(v, 1.0 / 6.0)], 0.5);
            let gate = clamp(cx, y, 0.0, 1.0);
            cx.mul(v, gate)
        }
        _ => cx.activation(v, act.clone()),
    }
}

/// `min(max(v, lo), hi)` by ReLUs; an unbounded side (ONNX's default ±f32::MAX) costs nothing.
fn clamp(cx: &mut Ctx<'_>, v: Var, lo: f64, hi: f64) -> Var {
    let bounded = |b: f64| b.abs() < 1e30;
    let mut y = v;
    if bounded(hi) {
        let over = cx.affine_params(&[(y, 1.0)], -hi);
        let r = cx.activation(over, Activation::Relu);
        y = cx.affine(&[(y, 1.0), (r, -1.0)], 0.0);
    }
    if bounded(lo) {
        let under = cx.affine_params(&[(y, -1.0)], lo);
        let r = cx.activation(under, Activation::Relu);
        y = cx.affine(&[(y, 1.0), (r, 1.0)], 0.0);
    }
    y
}

fn unary_affine(cx: &mut Ctx<'_>, x: &Value, coef: f64) -> Value {
    match x {
        Value::Const(c) => Value::Const(c.mapv(|v| v * coef)),
        Value::Dyn(d) => Value::Dyn(d.mapv(|v| cx.affine(&[(v, coef)], 0.0))),
    }
}

/// The numpy broadcast of two shapes.
pub(crate) fn broadcast_shape(node: &NodeProto, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let get = |s: &[usize], i: usize| if i + s.len() >= n { s[i + s.len() - n] } else { 1 };
    (0..n)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(invalid(node, format!("shapes {a:?} and {b:?} do not broadcast ({x} vs {y})"))),
        })
        .collect()
}

fn bcast<T: Clone>(node: &NodeProto, a: &ArrayD<T>, shape: &[usize]) -> Result<ArrayD<T>> {
    a.broadcast(IxDyn(shape))
        .map(|v| v.to_owned())
        .ok_or_else(|| invalid(node, format!("cannot broadcast {:?} to {shape:?}", a.shape())))
}

fn binary(cx: &mut Ctx<'_>, node: &NodeProto, a: &Value, b: &Value) -> Result<Value> {
    let op = node.op_type.as_str();
    let integer = node.output.first().is_some_and(|o| cx.folded.is_integer(o));
    let shape = broadcast_shape(node, a.shape(), b.shape())?;
    Ok(match (a, b) {
        (Value::Const(x), Value::Const(y)) => {
            let (x, y) = (bcast(node, x, &shape)?, bcast(node, y, &shape)?);
            Value::Const(Zip::from(&x).and(&y).map_collect(|&p, &q| match op {
                "Add" => p + q,
                "Sub" => p - q,
                "Mul" => p * q,
                _ => p / q,
            }))
        }
        (Value::Dyn(x), Value::Const(y)) => {
            let (x, y) = (bcast(node, x, &shape)?, bcast(node, y, &shape)?);
            if op == "Div" && y.iter().any(|&d| d == 0.0) {
                return Err(invalid(node, "division by a constant zero"));
            }
            let mut out = Vec::with_capacity(x.len());
            for (&v, &c) in x.iter().zip(y.iter()) {
                out.push(match op {
                    "Add" => cx.affine_params(&[(v, 1.0)], c),
                    "Sub" => cx.affine_params(&[(v, 1.0)], -c),
                    "Mul" => cx.affine_params(&[(v, c)], 0.0),
                    // ONNX's integer Div truncates toward zero.
                    _ if integer => {
                        let ratio = cx.affine(&[(v, 1.0 / c)], 0.0);
                        trunc(cx, ratio)
                    }
                    _ => cx.affine_params(&[(v, 1.0 / c)], 0.0),
                });
            }
            Value::Dyn(from_vec(node, &shape, out)?)
        }
        (Value::Const(x), Value::Dyn(y)) => {
            let (x, y) = (bcast(node, x, &shape)?, bcast(node, y, &shape)?);
            let mut out = Vec::with_capacity(y.len());
            for (&c, &v) in x.iter().zip(y.iter()) {
                out.push(match op {
                    "Add" => cx.affine_params(&[(v, 1.0)], c),
                    "Sub" => cx.affine_params(&[(v, -1.0)], c),
                    "Mul" => cx.affine_params(&[(v, c)], 0.0),
                    // c / v = c · (1 / v), the reciprocal through the table
                    _ => {
                        let r = cx.activation(v, Activation::Recip);
                        cx.affine_params(&[(r, c)], 0.0)
                    }
                });
            }
            Value::Dyn(from_vec(node, &shape, out)?)
        }
        (Value::Dyn(x), Value::Dyn(y)) => {
            let (x, y) = (bcast(node, x, &shape)?, bcast(node, y, &shape)?);
            let mut out = Vec::with_capacity(x.len());
            for (&p, &q) in x.iter().zip(y.iter()) {
                out.push(match op {
                    "Add" => cx.affine(&[(p, 1.0), (q, 1.0)], 0.0),
                    "Sub" => cx.affine(&[(p, 1.0), (q, -1.0)], 0.0),
                    "Mul" => cx.mul(p, q),
                    // p / q = p · (1 / q), the reciprocal through the table
                    _ => {
                        let r = cx.activation(q, Activation::Recip);
                        cx.mul(p, r)
                    }
                });
            }
            Value::Dyn(from_vec(node, &shape, out)?)
        }
    })
}

/// Mod by a constant divisor `b`: `a − b·floor(a / b)` (fmod = 0, the result takes the divisor's sign) or
/// `a − b·trunc(a / b)` (fmod = 1, the dividend's sign), the floor (ceiling) of the quantized quotient by
/// table; a quotient within `2^-scale` of an integer can round to either side.
fn modulo(cx: &mut Ctx<'_>, node: &NodeProto, a: &Value, b: &Value) -> Result<Value> {
    let fmod = super::attr_i(node, "fmod", 0)? != 0;
    let (Value::Dyn(x), Value::Const(d)) = (a, b) else {
        return match (a, b) {
            (Value::Const(x), Value::Const(y)) => {
                let shape = broadcast_shape(node, x.shape(), y.shape())?;
                let (x, y) = (bcast(node, x, &shape)?, bcast(node, y, &shape)?);
                Ok(Value::Const(Zip::from(&x).and(&y).map_collect(|&p, &q| {
                    if fmod {
                        p % q
                    } else {
                        p - q * (p / q).floor()
                    }
                })))
            }
            _ => Err(invalid(node, "the divisor must be a constant")),
        };
    };
    let shape = broadcast_shape(node, x.shape(), d.shape())?;
    let (x, d) = (bcast(node, x, &shape)?, bcast(node, d, &shape)?);
    if d.iter().any(|&q| q == 0.0) {
        return Err(invalid(node, "modulo by a constant zero"));
    }
    let floor = Activation::Unary { op: UnaryOp::Floor, alpha: 0.0, beta: 0.0 };
    let mut out = Vec::with_capacity(x.len());
    for (&v, &q) in x.iter().zip(d.iter()) {
        let ratio = cx.affine_params(&[(v, 1.0 / q)], 0.0);
        let whole = if fmod { trunc(cx, ratio) } else { cx.activation(ratio, floor.clone()) };
        out.push(cx.affine_params(&[(v, 1.0), (whole, -q)], 0.0));
    }
    Ok(Value::Dyn(from_vec(node, &shape, out)?))
}

/// `trunc(r) = ceil(r) + [r >= 0]·(floor(r) − ceil(r))`, floor and ceiling by table.
fn trunc(cx: &mut Ctx<'_>, ratio: Var) -> Var {
    let floor = Activation::Unary { op: UnaryOp::Floor, alpha: 0.0, beta: 0.0 };
    let ceil = Activation::Unary { op: UnaryOp::Ceil, alpha: 0.0, beta: 0.0 };
    let (f, c) = (cx.activation(ratio, floor), cx.activation(ratio, ceil));
    let nonneg = cx.activation(ratio, Activation::Step);
    let diff = cx.affine(&[(f, 1.0), (c, -1.0)], 0.0);
    let pick = cx.mul(nonneg, diff);
    cx.affine(&[(c, 1.0), (pick, 1.0)], 0.0)
}

pub(crate) fn from_vec<T>(node: &NodeProto, shape: &[usize], v: Vec<T>) -> Result<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| invalid(node, e.to_string()))
}
