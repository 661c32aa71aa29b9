//! The quantized neuron graph every ONNX model is lowered to, and its exact integer evaluation.
//!
//! Every value is a fixed-point integer at one global scale `s` (real value = q / 2^s). A neuron computes
//! `z` — an affine combination of earlier values with constant integer coefficients, or the product of two
//! values — then optionally rescales it by `2^shift` with rounding and applies a table activation:
//! `q = round(z / 2^shift)`, `y = act(q)`. The circuit lays out exactly this computation, and the evaluation
//! here is bit-for-bit what the prover's witness contains.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Index of a value: `0..num_inputs` are the model inputs, `num_inputs + i` is the output of neuron `i`.
pub type Var = u32;

/// How a neuron computes its pre-activation value `z`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeuronOp {
    /// `z = bias + Σ coef · v`.
    Linear {
        /// `(value, integer coefficient)` pairs.
        terms: Vec<(Var, i64)>,
        /// Integer bias.
        bias: i64,
        /// Whether the coefficients and the bias are private model parameters (`--params private`): the
        /// circuit then takes them as committed witnesses instead of fixed constants.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        private: bool,
    },
    /// `z = a · b`.
    Mul {
        /// Left factor.
        a: Var,
        /// Right factor.
        b: Var,
    },
}

/// One neuron of the quantized graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neuron {
    /// How `z` is computed.
    pub op: NeuronOp,
    /// `q = round(z / 2^shift)`; 0 keeps `z`.
    pub shift: u8,
    /// Index into [`Graph::acts`] of the activation applied to `q`, if any.
    pub act: Option<u16>,
}

impl Neuron {
    /// Whether the neuron needs the rescale/activation row (and its range and table lookups).
    pub fn has_post(&self) -> bool {
        self.shift > 0 || self.act.is_some()
    }
}

/// A non-linear function evaluated through a lookup table over the calibrated range `[-L, L)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x >= 0`, `alpha · x` otherwise.
    LeakyRelu {
        /// Negative slope.
        alpha: f64,
    },
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `e^x` (saturated far outside any calibrated range).
    Exp,
    /// `min(max(x, min), max)`.
    Clip {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// `1 / x` (0 at 0); used by Softmax.
    Recip,
    /// `1 / sqrt(x + eps)` (0 for x + eps <= 0); used by LayerNormalization.
    Rsqrt {
        /// Added before the square root.
        eps: f64,
    },
    /// `x`: only range-checks a rescaled value.
    Identity,
    /// `1` for `x >= 0`, `0` otherwise: comparisons. Decided exactly on the quantized integer, so
    /// `a >= b` is `step(a_q - b_q)` and `a > b` is `step(a_q - b_q - 1)`: the circuit compares the
    /// rounded fixed-point values, and reals closer than `2^-scale` to each other can compare either way.
    Step,
    /// `1` for `x == 0`, `0` otherwise (exactly, on the quantized integer): equality and one-hot selection.
    IsZero,
    /// `func` by linear interpolation between table nodes `2^bits` quantized steps apart (docs/NONLINEAR.md):
    /// `q = node + lo` with `node` a multiple of `2^bits` and `0 <= lo < 2^bits`, the table holds
    /// `(node, f(node), f(node + 2^bits) − f(node))` and the output is `round(f0 + d·lo / 2^bits)`, half up.
    /// The table has `2·bound / 2^bits` rows instead of `2·bound`, so the scale is not bounded by the table.
    Interp {
        /// The smooth function interpolated (one of the [`Activation::interpolable`] ones).
        func: Box<Activation>,
        /// Low bits of `q` interpolated over.
        bits: u8,
    },
    /// `1 / x`, exactly rounded by witness and check: `y = round(2^(2s) / q)` (half up) for `q > 0`; a
    /// non-positive `q` cannot be proved.
    RecipExact,
    /// `1 / sqrt(x + eps)`, exactly rounded by witness and check: `y = round(sqrt(2^(3s) / (q + e)))`,
    /// `e = max(1, round(eps·2^s))`; `q + e <= 0` cannot be proved.
    RsqrtExact {
        /// Added before the square root.
        eps: f64,
    },
    /// `sqrt(x)`, exactly rounded by witness and check: `y = round(sqrt(q·2^s))` for `q >= 1`; `q <= 0`
    /// cannot be proved.
    SqrtExact,
    /// `ln x` by range reduction (`log_reduced`, docs/NONLINEAR.md): `q = u·2^e` with `e` the bit length
    /// of `q` and `u ∈ [1/2, 1)`, `ln(u)` interpolated between `2^(node_bits − 1)` nodes, `(e − s)·ln 2` from
    /// a table of `e`; `q <= 0` cannot be proved.
    LogReduced {
        /// The mantissa's nodes are `2^-node_bits` apart.
        node_bits: u8,
    },
    /// One of ONNX's other element-wise functions, through the table like every smooth activation.
    Unary {
        /// The function.
        op: UnaryOp,
        /// Its first parameter (ONNX's `alpha`, or Pow's exponent); 0 when unused.
        #[serde(default)]
        alpha: f64,
        /// Its second parameter (ONNX's `beta` or `gamma`); 0 when unused.
        #[serde(default)]
        beta: f64,
    },
}

/// ONNX element-wise functions evaluated through the activation table (`Activation::Unary`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnaryOp {
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x` for `x > 0`, `alpha·(e^x − 1)` otherwise.
    Elu,
    /// `gamma·x` for `x > 0`, `gamma·alpha·(e^x − 1)` otherwise (`alpha`, `gamma` in `alpha`, `beta`).
    Selu,
    /// `max(0, x) + min(0, alpha·(e^(x/alpha) − 1))`.
    Celu,
    /// `max(0, min(1, alpha·x + beta))`.
    HardSigmoid,
    /// `x · max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `x · tanh(softplus(x))`.
    Mish,
    /// The error function.
    Erf,
    /// `x · Φ(x)` (exact GELU).
    Gelu,
    /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
    GeluTanh,
    /// `ln x` (saturated at the table's floor for `x ≤ 0`).
    Log,
    /// `√x` (0 for `x < 0`).
    Sqrt,
    /// `|x|`.
    Abs,
    /// `⌊x⌋`.
    Floor,
    /// `⌈x⌉`.
    Ceil,
    /// Round half to even.
    Round,
    /// `sin x`.
    Sin,
    /// `cos x`.
    Cos,
    /// `tan x`.
    Tan,
    /// `asin x` (clamped to `[-1, 1]`).
    Asin,
    /// `acos x` (clamped to `[-1, 1]`).
    Acos,
    /// `atan x`.
    Atan,
    /// `sinh x`.
    Sinh,
    /// `cosh x`.
    Cosh,
    /// `asinh x`.
    Asinh,
    /// `acosh x` (0 below 1).
    Acosh,
    /// `atanh x` (saturated at ±1).
    Atanh,
    /// `−1`, `0` or `1` (exact on the quantized value).
    Sign,
    /// `x` for `x > alpha`, 0 otherwise.
    ThresholdedRelu,
    /// `x^alpha` (a non-integer power of a negative `x` is 0).
    Pow,
}

impl UnaryOp {
    /// The function on a real `x` with ONNX's parameters.
    pub fn eval(self, x: f64, alpha: f64, beta: f64) -> f64 {
        let softplus = |x: f64| if x > 30.0 { x } else { x.exp().ln_1p() };
        match self {
            Self::Softplus => softplus(x),
            Self::Softsign => x / (1.0 + x.abs()),
            Self::Elu => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Self::Selu => {
                if x > 0.0 {
                    beta * x
                } else {
                    beta * alpha * x.exp_m1()
                }
            }
            Self::Celu => x.max(0.0) + (alpha * (x / alpha).exp_m1()).min(0.0),
            Self::HardSigmoid => (alpha * x + beta).clamp(0.0, 1.0),
            Self::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Self::Mish => x * softplus(x).tanh(),
            Self::Erf => erf(x),
            Self::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Self::GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Self::Log => {
                if x > 0.0 {
                    x.ln()
                } else {
                    -SATURATE
                }
            }
            Self::Sqrt => x.max(0.0).sqrt(),
            Self::Abs => x.abs(),
            Self::Floor => x.floor(),
            Self::Ceil => x.ceil(),
            Self::Round => x.round_ties_even(),
            Self::Sin => x.sin(),
            Self::Cos => x.cos(),
            Self::Tan => x.tan(),
            Self::Asin => x.clamp(-1.0, 1.0).asin(),
            Self::Acos => x.clamp(-1.0, 1.0).acos(),
            Self::Atan => x.atan(),
            Self::Sinh => x.sinh(),
            Self::Cosh => x.cosh(),
            Self::Asinh => x.asinh(),
            Self::Acosh => x.max(1.0).acosh(),
            Self::Atanh => x.clamp(-1.0 + 1e-12, 1.0 - 1e-12).atanh(),
            Self::Sign => x.signum() * f64::from(u8::from(x != 0.0)),
            Self::ThresholdedRelu => {
                if x > alpha {
                    x
                } else {
                    0.0
                }
            }
            Self::Pow => {
                if x < 0.0 && alpha.fract() != 0.0 {
                    0.0
                } else {
                    x.powf(alpha)
                }
            }
        }
    }

    /// A bound on `|f(x)|` for `|x| ≤ m` (real values), or `None` when it grows faster than linearly.
    fn output_bound(self, m: f64, alpha: f64, beta: f64) -> Option<f64> {
        match self {
            Self::Softsign | Self::Erf | Self::HardSigmoid | Self::Sin | Self::Cos | Self::Sign => Some(1.0),
            Self::Softplus | Self::Mish | Self::Gelu | Self::GeluTanh | Self::HardSwish | Self::Abs => {
                Some(m + 1.0)
            }
            Self::Floor | Self::Ceil | Self::Round | Self::ThresholdedRelu => Some(m + 1.0),
            Self::Elu | Self::Celu => Some(m.max(alpha.abs()) + 1.0),
            Self::Selu => Some(beta.abs() * m.max(alpha.abs()) + 1.0),
            Self::Sqrt => Some(m.sqrt() + 1.0),
            Self::Asin | Self::Acos | Self::Atan => Some(std::f64::consts::PI),
            Self::Asinh => Some(m.asinh().abs() + 1.0),
            Self::Acosh => Some(m.max(1.0).acosh() + 1.0),
            Self::Log | Self::Pow | Self::Tan | Self::Sinh | Self::Cosh | Self::Atanh => None,
        }
    }
}

/// The error function: its Taylor series for |x| < 0.5, Numerical Recipes' Chebyshev fit of erfc above
/// (fractional error < 1.2e-7, below every table's resolution).
fn erf(x: f64) -> f64 {
    if x.abs() < 0.5 {
        let x2 = x * x;
        let mut term = x;
        let mut sum = x;
        for n in 1..30 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 {
                break;
            }
        }
        return sum * 2.0 / std::f64::consts::PI.sqrt();
    }
    // Numerical Recipes' erfc (Chebyshev fit, fractional error < 1.2e-7).
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - erfc
    } else {
        erfc - 1.0
    }
}

/// Table outputs are saturated here: far beyond any calibrated value, far below the field's wrap-around.
const SATURATE: f64 = (1u64 << 50) as f64;

impl Activation {
    /// The activation on a fixed-point integer at `scale`, returning a fixed-point integer at `scale`.
    pub fn apply(&self, q: i64, scale: u8) -> i64 {
        let s = (1u64 << scale) as f64;
        let x = q as f64 / s;
        let y = match *self {
            Self::Relu => return q.max(0),
            Self::Identity => return q,
            Self::Step => return if q >= 0 { 1i64 << scale } else { 0 },
            Self::IsZero => return if q == 0 { 1i64 << scale } else { 0 },
            Self::LeakyRelu { alpha } => {
                if q >= 0 {
                    return q;
                }
                alpha * x
            }
            Self::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Self::Tanh => x.tanh(),
            Self::Exp => x.exp(),
            Self::Clip { min, max } => x.clamp(min, max),
            Self::Recip => {
                if q == 0 {
                    return 0;
                }
                1.0 / x
            }
            Self::Rsqrt { eps } => {
                if x + eps <= 0.0 {
                    return 0;
                }
                1.0 / (x + eps).sqrt()
            }
            Self::Unary { op, alpha, beta } => op.eval(x, alpha, beta),
            Self::Interp { ref func, bits } => return interpolate(func, bits, q, scale),
            Self::RecipExact => return recip_exact(q, scale).unwrap_or(0),
            Self::SqrtExact => return sqrt_exact(q, scale).unwrap_or(0),
            Self::LogReduced { node_bits } => return log_reduced(q, scale, node_bits).unwrap_or(0),
            Self::RsqrtExact { eps } => return rsqrt_exact(q, scale, rsqrt_offset(eps, scale)).unwrap_or(0),
        };
        (y * s).round().clamp(-SATURATE, SATURATE) as i64
    }

    /// Whether linear interpolation between table nodes approximates this activation within
    /// docs/NONLINEAR.md's bound: continuous, with a bounded second derivative on the table's range except at
    /// kinks that fall on a node (0). Discontinuous functions (steps, rounding), kinks off the node grid
    /// (Clip, HardSigmoid, HardSwish) and singular ones (log, sqrt, tan, pow) keep the full table.
    pub fn interpolable(&self) -> bool {
        match self {
            Self::Sigmoid | Self::Tanh | Self::Exp | Self::LeakyRelu { .. } => true,
            Self::Unary { op, .. } => matches!(
                op,
                UnaryOp::Softplus
                    | UnaryOp::Softsign
                    | UnaryOp::Elu
                    | UnaryOp::Selu
                    | UnaryOp::Celu
                    | UnaryOp::Mish
                    | UnaryOp::Erf
                    | UnaryOp::Gelu
                    | UnaryOp::GeluTanh
                    | UnaryOp::Sin
                    | UnaryOp::Cos
                    | UnaryOp::Atan
                    | UnaryOp::Sinh
                    | UnaryOp::Cosh
                    | UnaryOp::Asinh
                    | UnaryOp::Abs
            ),
            _ => false,
        }
    }

    /// The precise form of this activation at `scale` (docs/NONLINEAR.md): interpolation over `bits` low
    /// bits for the smooth functions and for the piecewise ones whose kinks fall on the interpolation nodes
    /// ([`Activation::kinks_on_nodes`]), witness and check for the reciprocal and the reciprocal square
    /// root; `None` when it keeps its table.
    pub fn precise(&self, bits: u8, scale: u8) -> Option<Self> {
        match *self {
            Self::Recip => Some(Self::RecipExact),
            Self::Rsqrt { eps } => Some(Self::RsqrtExact { eps }),
            Self::Unary { op: UnaryOp::Sqrt, .. } => Some(Self::SqrtExact),
            Self::Unary { op: UnaryOp::Log, .. } => Some(Self::LogReduced { node_bits: LOG_NODE_BITS }),
            _ if self.interpolable() || self.kinks_on_nodes(bits, scale) => {
                Some(Self::Interp { func: Box::new(self.clone()), bits })
            }
            _ => None,
        }
    }

    /// Whether this is Clip, HardSigmoid or HardSwish with every kink on a node of the `2^bits` grid at
    /// `scale`: between nodes Clip and HardSigmoid are linear (interpolation is exact up to rounding) and
    /// HardSwish is linear or `x²/6 + x/2` (error at most `h²/24`, `h = 2^(bits − scale)`), so only the
    /// kinks could put a node interval off the function.
    pub fn kinks_on_nodes(&self, bits: u8, scale: u8) -> bool {
        let on_grid = |x: f64| {
            let q = x * f64::powi(2.0, i32::from(scale));
            let step = f64::powi(2.0, i32::from(bits));
            q.is_finite() && q.abs() < 1e15 && q.fract() == 0.0 && (q / step).fract() == 0.0
        };
        let bounded = |x: f64| x > -1e300 && x < 1e300;
        match *self {
            Self::Clip { min, max } => [min, max].into_iter().filter(|x| bounded(*x)).all(on_grid),
            Self::Unary { op: UnaryOp::HardSigmoid, alpha, beta } if alpha != 0.0 => {
                on_grid(-beta / alpha) && on_grid((1.0 - beta) / alpha)
            }
            Self::Unary { op: UnaryOp::HardSwish, .. } => on_grid(-3.0) && on_grid(3.0),
            _ => false,
        }
    }

    /// Whether the activation is checked by a gadget of its own rather than by the activation table.
    pub fn is_precise(&self) -> bool {
        matches!(
            self,
            Self::Interp { .. }
                | Self::RecipExact
                | Self::RsqrtExact { .. }
                | Self::SqrtExact
                | Self::LogReduced { .. }
        )
    }

    /// Why `q` is outside the domain the circuit can prove (the exact gadgets need a positive operand).
    fn domain_error(&self, q: i64, scale: u8) -> Option<String> {
        match *self {
            Self::RecipExact if q <= 0 => Some(format!("reciprocal of {q} <= 0")),
            Self::SqrtExact if q <= 0 => Some(format!("exact square root of {q} <= 0")),
            Self::LogReduced { .. } if q <= 0 => Some(format!("logarithm of {q} <= 0")),
            Self::RsqrtExact { eps } if q + rsqrt_offset(eps, scale) <= 0 => {
                Some(format!("reciprocal square root of {q} + eps <= 0"))
            }
            _ => None,
        }
    }
}

/// The interpolation node at or below `q`: `q` rounded down to a multiple of `2^bits`.
pub(crate) fn interp_node(q: i64, bits: u8) -> i64 {
    q.div_euclid(1i64 << bits) << bits
}

/// [`Activation::Interp`] on `q`: `f0 + d·lo / 2^bits` rounded half up, with `f0 = f(node)`,
/// `d = f(node + 2^bits) − f0` and `lo = q − node`.
pub(crate) fn interpolate(func: &Activation, bits: u8, q: i64, scale: u8) -> i64 {
    InterpStep::of(|n| func.apply(n, scale), bits, q).y as i64
}

/// One interpolation of `f` between nodes `2^bits` apart, with every value the circuit's interpolation block
/// holds: `q = node + lo`, `d = f(node + 2^bits) − f0`, and `y·2^bits + r = f0·2^bits + d·lo + 2^(bits−1)` with
/// `0 <= r < 2^bits` (`y` is `f0 + d·lo / 2^bits` rounded half up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InterpStep {
    /// The node at or below `q`.
    pub(crate) node: i64,
    /// `f(node)`.
    pub(crate) f0: i64,
    /// `f(node + 2^bits) − f(node)`.
    pub(crate) d: i64,
    /// `q − node`.
    pub(crate) lo: i64,
    /// The interpolated value.
    pub(crate) y: i128,
    /// The rounding's remainder.
    pub(crate) r: i128,
}

impl InterpStep {
    /// The interpolation of `f` on `q` over `bits` low bits.
    pub(crate) fn of(f: impl Fn(i64) -> i64, bits: u8, q: i64) -> Self {
        let node = interp_node(q, bits);
        let f0 = f(node);
        let d = f(node + (1i64 << bits)) - f0;
        let lo = q - node;
        let v = (i128::from(f0) << bits) + i128::from(d) * i128::from(lo) + (1i128 << bits >> 1);
        Self { node, f0, d, lo, y: v.div_euclid(1i128 << bits), r: v.rem_euclid(1i128 << bits) }
    }
}

/// Node spacing of [`Activation::LogReduced`]'s mantissa table: `2^-10` (512 nodes on `[1/2, 1)`, where
/// `|ln''| <= 4`: interpolation within `2^-20 / 2 < 5e-7`).
pub(crate) const LOG_NODE_BITS: u8 = 10;

/// `round(ln(u)·2^s)` for the mantissa `u = node / 2^bits` of a [`log_reduced`] table node.
pub(crate) fn log_mantissa(node: i64, bits: u8, scale: u8) -> i64 {
    let u = node as f64 / f64::powi(2.0, i32::from(bits));
    (u.ln() * f64::powi(2.0, i32::from(scale))).round() as i64
}

/// `round((e − s)·ln 2·2^s)`: the exponent's share of [`log_reduced`] for a `q` of bit length `e`.
pub(crate) fn log_exponent(e: u8, scale: u8) -> i64 {
    ((f64::from(e) - f64::from(scale)) * std::f64::consts::LN_2 * f64::powi(2.0, i32::from(scale))).round()
        as i64
}

/// `ln(q / 2^s)` at scale `s` for `q > 0`, as [`Activation::LogReduced`]'s gadget checks it: with `e` the bit
/// length of `q`, `B = max(e, node_bits + 1)`, `z = q·2^(B − e)` (in `[2^(B−1), 2^B)`) and `m = B −
/// node_bits`, `z = node + lo` (`node` a multiple of `2^m`), `y = ⌊(f0·2^m + d·lo + 2^(m−1)) / 2^m⌋ +
/// log_exponent(e)` with `f0 = log_mantissa(node)`, `d = log_mantissa(node + 2^m) − f0` over `B` bits. The
/// result does not depend on `B` (any `B ≥ max(e, node_bits + 1)` gives the same `y`), so the circuit's
/// choice (from its range) agrees with this one.
pub(crate) fn log_reduced(q: i64, scale: u8, node_bits: u8) -> Option<i64> {
    if q <= 0 {
        return None;
    }
    let e = (64 - q.leading_zeros()) as u8;
    let b = e.max(node_bits + 1);
    let z = q << (b - e);
    let y_m = InterpStep::of(|n| log_mantissa(n, b, scale), b - node_bits, z).y as i64;
    Some(y_m + log_exponent(e, scale))
}

/// `round(2^(2s) / q)`, half up, for `q > 0`: the `y` with `2·2^(2s) + q = 2·y·q + r`, `0 <= r < 2q`.
pub(crate) fn recip_exact(q: i64, scale: u8) -> Option<i64> {
    (q > 0).then(|| ((2i128 << (2 * scale)) + i128::from(q)).div_euclid(2 * i128::from(q)) as i64)
}

/// `round(sqrt(q·2^s))` for `q >= 1`: the integer `y` with `(2y − 1)^2 <= 4·q·2^s < (2y + 1)^2`.
pub(crate) fn sqrt_exact(q: i64, scale: u8) -> Option<i64> {
    if q <= 0 {
        return None;
    }
    let x4 = 4 * (i128::from(q) << scale);
    let guess = (q as f64 * f64::powi(2.0, i32::from(scale))).sqrt().round() as i128;
    let fits = |y: i128| (2 * y - 1) * (2 * y - 1) <= x4 && x4 < (2 * y + 1) * (2 * y + 1);
    (guess.saturating_sub(3).max(0)..=guess + 3).find(|&y| fits(y)).map(|y| y as i64)
}

/// The integer `e = max(1, round(eps·2^s))` added to the operand of [`Activation::RsqrtExact`].
pub(crate) fn rsqrt_offset(eps: f64, scale: u8) -> i64 {
    ((eps * f64::powi(2.0, i32::from(scale))).round() as i64).max(1)
}

/// `round(sqrt(2^(3s) / x))`, `x = q + offset`, for `x > 0`: the integer `y` with
/// `x·(2y − 1)^2 <= 4·2^(3s) < x·(2y + 1)^2`.
pub(crate) fn rsqrt_exact(q: i64, scale: u8, offset: i64) -> Option<i64> {
    let x = i128::from(q + offset);
    if x <= 0 {
        return None;
    }
    let four_n = 4i128 << (3 * u32::from(scale));
    let guess = (f64::powi(2.0, 3 * i32::from(scale)) / x as f64).sqrt().round() as i128;
    let fits = |y: i128| x * (2 * y - 1) * (2 * y - 1) <= four_n && four_n < x * (2 * y + 1) * (2 * y + 1);
    (guess.saturating_sub(3).max(0)..=guess + 3).find(|&y| fits(y)).map(|y| y as i64)
}

/// The whole quantized model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Number of model inputs (flattened).
    pub num_inputs: u32,
    /// Neurons in topological order.
    pub neurons: Vec<Neuron>,
    /// Distinct activations used.
    pub acts: Vec<Activation>,
    /// The values that are the model's outputs (flattened).
    pub outputs: Vec<Var>,
}

/// Integer division rounding half up, for any sign of `z`.
pub(crate) fn rescale(z: i128, shift: u8) -> (i128, i128) {
    if shift == 0 {
        return (z, 0);
    }
    let d = 1i128 << shift;
    let half = d >> 1;
    let q = (z + half).div_euclid(d);
    let r = (z + half).rem_euclid(d);
    (q, r)
}

/// The witness of one evaluation: every value, plus each neuron's `z` and pre-activation `q`.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Every value by [`Var`].
    pub values: Vec<i64>,
    /// Each neuron's `z`.
    pub z: Vec<i128>,
    /// Each neuron's rescaled pre-activation `q`.
    pub q: Vec<i64>,
}

impl Evaluation {
    /// The model outputs.
    pub fn outputs(&self, graph: &Graph) -> Vec<i64> {
        graph.outputs.iter().map(|&v| self.values[v as usize]).collect()
    }
}

impl Graph {
    /// The private parameters (`--params private` / `hashed`): neuron by neuron in graph order, every
    /// private affine neuron's coefficients in term order followed by its bias.
    pub fn private_params(&self) -> Vec<i64> {
        self.private_linears()
            .flat_map(|(terms, bias)| terms.iter().map(|(_, c)| *c).chain(std::iter::once(bias)))
            .collect()
    }

    /// Number of private parameters.
    pub fn private_param_count(&self) -> usize {
        self.private_linears().map(|(terms, _)| terms.len() + 1).sum()
    }

    /// Every private affine neuron's terms and bias.
    fn private_linears(&self) -> impl Iterator<Item = (&[(Var, i64)], i64)> {
        self.neurons.iter().filter_map(|n| match &n.op {
            NeuronOp::Linear { terms, bias, private: true } => Some((terms.as_slice(), *bias)),
            _ => None,
        })
    }
}

impl Graph {
    /// Adds an activation (deduplicated) and returns its index.
    pub fn act_id(&mut self, act: Activation) -> u16 {
        if let Some(i) = self.acts.iter().position(|a| *a == act) {
            return i as u16;
        }
        self.acts.push(act);
        (self.acts.len() - 1) as u16
    }

    /// Appends a neuron and returns its value.
    pub fn push(&mut self, neuron: Neuron) -> Var {
        self.neurons.push(neuron);
        self.num_inputs + self.neurons.len() as u32 - 1
    }

    /// Evaluates the graph exactly as the circuit does. With `bound = Some(L)`, every rescaled
    /// pre-activation must lie in `[-L, L)`, as the circuit's lookup tables require.
    pub fn evaluate(&self, inputs: &[i64], scale: u8, bound: Option<i64>) -> Result<Evaluation> {
        if inputs.len() != self.num_inputs as usize {
            return Err(Error::InvalidInput(format!(
                "expected {} input values, got {}",
                self.num_inputs,
                inputs.len()
            )));
        }
        let mut values = inputs.to_vec();
        values.reserve(self.neurons.len());
        let mut zs = Vec::with_capacity(self.neurons.len());
        let mut qs = Vec::with_capacity(self.neurons.len());
        for (i, n) in self.neurons.iter().enumerate() {
            let z: i128 = match &n.op {
                NeuronOp::Linear { terms, bias, .. } => terms
                    .iter()
                    .fold(*bias as i128, |acc, (v, c)| acc + *c as i128 * values[*v as usize] as i128),
                NeuronOp::Mul { a, b } => values[*a as usize] as i128 * values[*b as usize] as i128,
            };
            let (q, _) = rescale(z, n.shift);
            let q = i64::try_from(q)
                .map_err(|_| Error::OutOfRange(format!("neuron {i}: value {q} overflows 64 bits")))?;
            if n.has_post() {
                if let Some(l) = bound {
                    if q < -l || q >= l {
                        return Err(Error::OutOfRange(format!(
                            "neuron {i}: rescaled value {q} outside the circuit's range [-{l}, {l}); \
                             recompile with calibration data that covers this input"
                        )));
                    }
                }
            }
            let y = match n.act {
                Some(a) => {
                    let act = &self.acts[a as usize];
                    if let Some(why) = act.domain_error(q, scale) {
                        return Err(Error::OutOfRange(format!(
                            "neuron {i}: {why}: the circuit cannot prove it"
                        )));
                    }
                    act.apply(q, scale)
                }
                None => q,
            };
            zs.push(z);
            qs.push(q);
            values.push(y);
        }
        Ok(Evaluation { values, z: zs, q: qs })
    }

    /// Folds each single-input activation neuron into the neuron that feeds it when that neuron has no
    /// activation and no other consumer, and drops neurons nothing depends on.
    pub fn fuse_activations(&mut self) {
        let n_in = self.num_inputs;
        let mut uses = vec![0u32; (n_in as usize) + self.neurons.len()];
        for n in &self.neurons {
            for v in n.op.inputs() {
                uses[v as usize] += 1;
            }
        }
        for &o in &self.outputs {
            uses[o as usize] += 1;
        }
        // alias[v] = the value v is replaced by.
        let mut alias: Vec<Var> = (0..uses.len() as u32).collect();
        for i in 0..self.neurons.len() {
            let n = &self.neurons[i];
            let NeuronOp::Linear { terms, bias, .. } = &n.op else { continue };
            let (Some(act), 0, 0, [(src, 1)]) = (n.act, n.shift, *bias, terms.as_slice()) else { continue };
            let src = alias[*src as usize];
            if src < n_in || uses[src as usize] != 1 {
                continue;
            }
            let s = (src - n_in) as usize;
            if self.neurons[s].act.is_some() {
                continue;
            }
            self.neurons[s].act = Some(act);
            alias[(n_in as usize) + i] = src;
        }
        // Rebuild without the fused neurons, renumbering values.
        let mut new_index: Vec<Var> = (0..n_in).collect();
        let mut kept = Vec::with_capacity(self.neurons.len());
        for (i, n) in std::mem::take(&mut self.neurons).into_iter().enumerate() {
            let old = n_in + i as u32;
            if alias[old as usize] != old {
                new_index.push(Var::MAX);
                continue;
            }
            new_index.push(n_in + kept.len() as u32);
            kept.push(n);
        }
        let resolve = |v: Var| new_index[alias[v as usize] as usize];
        for n in &mut kept {
            n.op.map_inputs(resolve);
        }
        self.outputs = self.outputs.iter().map(|&v| resolve(v)).collect();
        self.neurons = kept;
    }
}

impl Activation {
    /// A bound on `|act(q)|` given `|q| <= m` (`None`: unbounded, e.g. `e^x`).
    fn output_bound(&self, m: f64, scale: u8) -> Option<f64> {
        let one = f64::powi(2.0, i32::from(scale));
        match *self {
            Self::Relu | Self::Identity => Some(m),
            Self::LeakyRelu { alpha } => Some(m * alpha.abs().max(1.0) + 1.0),
            Self::Sigmoid | Self::Tanh | Self::Step | Self::IsZero => Some(one),
            Self::Clip { min, max } => Some(min.abs().max(max.abs()) * one + 1.0),
            Self::Exp | Self::Recip | Self::Rsqrt { .. } | Self::RecipExact | Self::RsqrtExact { .. } => None,
            Self::SqrtExact => Some((m * one).sqrt() + 1.0),
            Self::LogReduced { .. } => None,
            Self::Unary { op, alpha, beta } => op.output_bound(m / one, alpha, beta).map(|b| b * one + 1.0),
            // Interpolation stays within one unit of the function's values at the nodes around `q`.
            Self::Interp { ref func, bits } => {
                func.output_bound(m + f64::powi(2.0, i32::from(bits)), scale).map(|b| b + 1.0)
            }
        }
    }
}

impl Graph {
    /// The largest `|q|` any rescaled neuron can reach over *every* input with `|x| <= max_abs_input`
    /// (interval arithmetic on magnitudes, rounding included), or `None` when an activation is unbounded or
    /// the bound passes 2^62. A circuit whose range covers it proves every input the oracle accepts.
    pub fn worst_case_bound(&self, max_abs_input: i64, scale: u8) -> Option<i64> {
        let mut m: Vec<f64> = vec![max_abs_input as f64; self.num_inputs as usize];
        let mut worst = 0f64;
        for n in &self.neurons {
            let z = match &n.op {
                NeuronOp::Linear { terms, bias, .. } => {
                    terms.iter().map(|(v, c)| (*c as f64).abs() * m[*v as usize]).sum::<f64>()
                        + (*bias as f64).abs()
                }
                NeuronOp::Mul { a, b } => m[*a as usize] * m[*b as usize],
            };
            let q = (z / f64::powi(2.0, i32::from(n.shift))).ceil() + 1.0;
            if n.has_post() {
                worst = worst.max(q);
            }
            let y = match n.act {
                Some(a) => self.acts[a as usize].output_bound(q, scale)?,
                None => q,
            };
            if !(y.is_finite() && q < 4.6e18) {
                return None;
            }
            m.push(y);
        }
        Some(worst as i64)
    }

    /// Keeps the model outputs unrounded: when every output is an affine neuron read by nothing else, with
    /// no activation and the same rescale `shift`, its rescale is dropped, so outputs carry `shift` more
    /// fractional bits (no rounding error added at the end, and one lookup fewer per output). Returns the
    /// extra bits (0 when the graph does not qualify).
    pub fn keep_outputs_exact(&mut self) -> u8 {
        let n_in = self.num_inputs;
        let mut used = vec![false; self.neurons.len()];
        for n in &self.neurons {
            for v in n.op.inputs() {
                if v >= n_in {
                    used[(v - n_in) as usize] = true;
                }
            }
        }
        let mut shift = None;
        for &o in &self.outputs {
            if o < n_in || used[(o - n_in) as usize] {
                return 0;
            }
            let n = &self.neurons[(o - n_in) as usize];
            if n.act.is_some() || n.shift == 0 || !matches!(n.op, NeuronOp::Linear { .. }) {
                return 0;
            }
            if *shift.get_or_insert(n.shift) != n.shift {
                return 0;
            }
        }
        let mut sorted = self.outputs.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return 0;
        }
        for &o in &self.outputs {
            self.neurons[(o - n_in) as usize].shift = 0;
        }
        shift.unwrap_or(0)
    }
}

impl NeuronOp {
    /// The values this op reads.
    pub fn inputs(&self) -> Vec<Var> {
        match self {
            Self::Linear { terms, .. } => terms.iter().map(|(v, _)| *v).collect(),
            Self::Mul { a, b } => vec![*a, *b],
        }
    }

    fn map_inputs(&mut self, f: impl Fn(Var) -> Var) {
        match self {
            Self::Linear { terms, .. } => terms.iter_mut().for_each(|(v, _)| *v = f(*v)),
            Self::Mul { a, b } => {
                *a = f(*a);
                *b = f(*b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piecewise_functions_interpolate_exactly_when_their_kinks_are_nodes() {
        let (scale, bits) = (8u8, 6u8);
        let relu6 = Activation::Clip { min: 0.0, max: 6.0 };
        let hsig = Activation::Unary { op: UnaryOp::HardSigmoid, alpha: 0.2, beta: 0.5 };
        let hswish = Activation::Unary { op: UnaryOp::HardSwish, alpha: 0.0, beta: 0.0 };
        for a in [&relu6, &hsig, &hswish] {
            assert!(a.kinks_on_nodes(bits, scale), "{a:?}");
            assert!(matches!(a.precise(bits, scale), Some(Activation::Interp { .. })), "{a:?}");
        }
        for q in -4096i64..4096 {
            for a in [&relu6, &hsig] {
                assert!((interpolate(a, bits, q, scale) - a.apply(q, scale)).abs() <= 1, "{a:?} at {q}");
            }
            // x²/6 + x/2 between the kinks: at most h²/24 (h = 2^(bits − scale)) plus rounding, in units.
            let err = (interpolate(&hswish, bits, q, scale) - hswish.apply(q, scale)).abs();
            assert!(err <= 2, "HardSwish at {q}: {err}");
        }
        // A kink between nodes keeps the table.
        let off = Activation::Clip { min: 0.3, max: 1.0 };
        assert!(!off.kinks_on_nodes(bits, scale));
        assert_eq!(off.precise(bits, scale), None);
        assert!(
            Activation::Clip { min: f64::MIN, max: 6.0 }.kinks_on_nodes(bits, scale),
            "an open side has no kink"
        );
    }

    #[test]
    fn reduced_log_is_within_its_bound_and_independent_of_the_width() {
        let log = Activation::LogReduced { node_bits: LOG_NODE_BITS };
        for scale in [8u8, 12, 16] {
            let ulp = f64::powi(2.0, -i32::from(scale));
            let mut q = 1i64;
            while q < 1 << 40 {
                let y = log_reduced(q, scale, LOG_NODE_BITS).expect("positive");
                let exact = (q as f64 * ulp).ln();
                // 1.5 ulp of rounding (node values, result, exponent term) and < 5e-7 of interpolation.
                assert!((y as f64 * ulp - exact).abs() <= 1.5 * ulp + 5e-7, "q {q} at scale {scale}: {y}");
                assert_eq!(log.apply(q, scale), y);
                // The circuit's wider normalisation gives the same value.
                let e = (64 - q.leading_zeros()) as u8;
                for b in [e.max(LOG_NODE_BITS + 1) + 3, 50] {
                    let step = InterpStep::of(|n| log_mantissa(n, b, scale), b - LOG_NODE_BITS, q << (b - e));
                    assert_eq!(step.y as i64 + log_exponent(e, scale), y, "q {q}, b {b}");
                }
                q += 1 + q / 7;
            }
            assert_eq!(log_reduced(0, scale, LOG_NODE_BITS), None);
            assert_eq!(log_reduced(-3, scale, LOG_NODE_BITS), None);
        }
    }

    #[test]
    fn rescale_rounds_half_up_for_both_signs() {
        assert_eq!(rescale(5, 1), (3, 0)); // 2.5 -> 3
        assert_eq!(rescale(-5, 1), (-2, 0)); // -2.5 -> -2
        assert_eq!(rescale(-6, 2), (-1, 0)); // -1.5 -> -1
        assert_eq!(rescale(7, 2), (2, 1)); // 1.75 -> 2, 7 + 2 = 2*4 + 1
        assert_eq!(rescale(9, 0), (9, 0));
    }

    #[test]
    fn fusion_moves_activation_into_producer() {
        let mut g = Graph { num_inputs: 1, neurons: vec![], acts: vec![], outputs: vec![] };
        let relu = g.act_id(Activation::Relu);
        let a = g.push(Neuron {
            op: NeuronOp::Linear { terms: vec![(0, 3)], bias: 1, private: false },
            shift: 2,
            act: None,
        });
        let b = g.push(Neuron {
            op: NeuronOp::Linear { terms: vec![(a, 1)], bias: 0, private: false },
            shift: 0,
            act: Some(relu),
        });
        g.outputs = vec![b];
        let before = g.evaluate(&[-5], 4, None).expect("eval").outputs(&g);
        g.fuse_activations();
        assert_eq!(g.neurons.len(), 1);
        assert_eq!(g.neurons[0].act, Some(relu));
        assert_eq!(g.evaluate(&[-5], 4, None).expect("eval").outputs(&g), before);
        assert_eq!(g.evaluate(&[5], 4, None).expect("eval").outputs(&g), vec![4]);
    }
}
