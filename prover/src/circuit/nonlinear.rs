//! Precise non-linear functions (docs/NONLINEAR.md): interpolated lookups for the smooth activations and
//! witness-and-check gadgets for the reciprocal and the reciprocal square root. Limb mode only: every value
//! the gadgets need in a range is checked by a limb chain ([`super::limbs`]) whose first value cell is a
//! copy of the gadget's cell.
//!
//! - Interpolation ([`Gadget::Interp`], `q_interp`): `q = node + lo`, `(tag, node, f0, d)` in the
//!   interpolation table, `y·2^m + r = f0·2^m + d·lo + 2^(m−1)`, `lo` and `r` in `[0, 2^m)`, and
//!   `w = y − f0 + 2^(b−1)` in `[0, 2^b)` (pins `y` to the integer the rounding defines).
//! - Reciprocal ([`Gadget::Recip`], `q_recip`, `q_recip_rem`): `2N + x = 2·y·x + r` with `r` and
//!   `u = 2x − 1 − r` in `[0, 2^b)` and `y` in `[0, 2^c)`: `y = round(N / x)` (half up), `N = 2^(2s)`.
//! - Square roots ([`Gadget::Rsqrt`], [`Gadget::Sqrt`], `q_root`, `q_root_high`): `a = f0 + f2·q −
//!   (f3·q + c)·(2y − 1)^2` and `b = (f3·q + c)·(2y + 1)^2 − f0 − 1 − f2·q` in `[0, 2^b)`, `y` in `[0, 2^c)`.
//!   Reciprocal square root (`f0 = 4N`, `f2 = 0`, `f3 = 1`, `c = e`, `N = 2^(3s)`): `y = round(sqrt(N /
//!   (q + e)))`. Square root (`f0 = 0`, `f2 = 4·2^s`, `f3 = 0`, `c = 1`, and `q − 1` in `[0, 2^d)` by
//!   `signed_range`): `y = round(sqrt(q·2^s))`.
//! - Logarithm ([`Gadget::Log`], `q_log`): `z = q·p` with `(tag', e, p, c)` in the interpolation table
//!   (`p = 2^(b−e)`, `c = round((e − s)·ln 2·2^s)`), `z` interpolated under the mantissa's tag (which puts it
//!   in `[2^(b−1), 2^b)`, so `e` is the bit length of `q`), `y = y_m + c`, and `q − 1` in `[0, 2^d)`:
//!   `y = log_reduced(q)`.
//!
//! Row layout (each block follows the neuron's rescale chain; `x0..x3`, `acc` are the chip's columns):
//!
//! | block | row | cells | fixed |
//! |---|---|---|---|
//! | interp | A | `x0 = q` (copy), `x1 = node`, `x2 = f0`, `x3 = d`, `acc = lo` | `f0 = 2^m`, `c = 2^(m−1)`, `f2 = tag` |
//! | | B.. | `x0 = y`, `acc = r`, `x3 = w` (first row of `w`'s chain) | `c = 2^(b−1)` |
//! | | | `lo`'s chain, then `r`'s chain (copies) | |
//! | recip | A.. | `x0 = x` (copy of `q`), `acc = y`, `x3 = r` (first row of `r`'s chain) | `c = 2N` |
//! | | A2.. | `x0 = x` (copy), `x2 = r` (copy), `x3 = u` (first row of `u`'s chain) | |
//! | | | `y`'s chain (copy) | |
//! | root | A.. | `x0 = q` (copy), `acc = y`, `x3 = a` (first row of `a`'s chain) | `f0`, `f2`, `f3`, `c` |
//! | | A2.. | `x0 = q`, `acc = y` (copies), `x3 = b` (first row of `b`'s chain) | `f0 + 1`, `f2`, `f3`, `c` |
//! | | | `y`'s chain (copy); square root: `q − 1`'s chain, its first row `signed_range`'s (`c = −1`) | |
//! | log | P | `x0 = q` (copy), `x1 = e`, `x2 = p`, `x3 = c`, `acc = z` | `f2 = tag'` |
//! | | P+1 | `x0 = y`, `x1 = y_m` (copy) | |
//! | | | an interp block on `z` (copy) under the mantissa's tag, then `q − 1`'s chain as for the square root | |

use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error as PlonkError, Expression, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

use super::limbs::{range_chain, Columns, LimbConfig};
use crate::field::to_field;
use crate::ir::{
    interp_node, log_exponent, log_mantissa, log_reduced, recip_exact, rsqrt_exact, rsqrt_offset, sqrt_exact,
    Activation, InterpStep,
};

/// Selectors and table of the precise non-linear gadgets.
#[derive(Clone, Debug)]
pub struct NonlinearConfig {
    /// Interpolation rows (row A of an interp block); absent without interpolated activations.
    pub q_interp: Option<Selector>,
    /// Interpolation table: tag, node, `f(node)`, `f(node + 2^m) − f(node)`.
    pub interp_table: Option<[TableColumn; 4]>,
    /// Reciprocal division rows; absent without exact reciprocals or square roots.
    pub q_recip: Option<Selector>,
    /// Reciprocal remainder bound rows.
    pub q_recip_rem: Option<Selector>,
    /// Square roots (reciprocal or not), lower bound.
    pub q_root: Option<Selector>,
    /// Square roots (reciprocal or not), upper bound.
    pub q_root_high: Option<Selector>,
    /// Logarithm normalisation rows (row P of a log block); absent without range-reduced logarithms.
    pub q_log: Option<Selector>,
}

/// Which of the gadgets' gates a circuit declares.
#[derive(Clone, Copy, Debug)]
pub(super) struct Gates {
    /// Interpolation (also needed by the logarithm).
    pub(super) interp: bool,
    /// Reciprocal and square roots.
    pub(super) exact: bool,
    /// The logarithm's normalisation.
    pub(super) log: bool,
}

/// The exponent rows of a log's table are tagged `LOG_EXPONENT_TAG + tag` (its mantissa rows `tag`).
const LOG_EXPONENT_TAG: u64 = 1 << 32;

/// The gadget checking one neuron's precise activation, with the widths of its range checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gadget {
    /// Interpolated lookup under `tag` over `bits` low bits; `w` has `slack_bits` bits.
    Interp {
        /// Table tag.
        tag: u64,
        /// Interpolated low bits `m` (at most the limb width).
        bits: u8,
        /// Bits of `w = y − f0 + 2^(slack_bits − 1)`.
        slack_bits: u8,
    },
    /// Exact reciprocal: `r`, `u` of `rem_bits`, `y` of `y_bits`.
    Recip {
        /// Bits of `r` and `u`.
        rem_bits: u8,
        /// Bits of `y`.
        y_bits: u8,
        /// The scale `s` (`N = 2^(2s)`).
        scale: u8,
    },
    /// Exact reciprocal square root: `a`, `b` of `rem_bits`, `y` of `y_bits`; `x = q + offset`.
    Rsqrt {
        /// Bits of `a` and `b`.
        rem_bits: u8,
        /// Bits of `y`.
        y_bits: u8,
        /// The scale `s` (`N = 2^(3s)`).
        scale: u8,
        /// `e = max(1, round(eps·2^s))`.
        offset: i64,
    },
    /// Exact square root: `a`, `b` of `rem_bits`, `y` of `y_bits`, `q − 1` of `q_bits`.
    Sqrt {
        /// Bits of `a` and `b`.
        rem_bits: u8,
        /// Bits of `y`.
        y_bits: u8,
        /// Bits of `q − 1` (the operand's own range check: `4·2^s·q` alone would accept a fraction `q`).
        q_bits: u8,
        /// The scale `s`.
        scale: u8,
    },
    /// Range-reduced natural logarithm: `q` normalised to `z = q·2^(width − e)`, whose mantissa is
    /// interpolated (`interp`, over `width − node_bits` low bits) under `interp`'s tag; `q − 1` of `q_bits`.
    Log {
        /// The interpolation of the mantissa `z` (its tag is the activation's).
        interp: InterpBlock,
        /// `b`: `z ∈ [2^(b−1), 2^b)`.
        width: u8,
        /// Bits of `q − 1`.
        q_bits: u8,
        /// The scale `s`.
        scale: u8,
    },
}

/// One interpolated lookup: its table tag, the interpolated low bits `m` and the bits of its slack `w`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterpBlock {
    /// Table tag.
    pub tag: u64,
    /// Interpolated low bits `m`.
    pub bits: u8,
    /// Bits of `w = y − f0 + 2^(slack_bits − 1)`.
    pub slack_bits: u8,
}

/// The slack bits of an interpolation whose node steps `f(n + 2^m) − f(n)` are at most `dmax` in magnitude:
/// `2^(b−1) ≥ dmax + 2 > |y − f0| + 1`.
fn slack_bits(dmax: u64) -> u8 {
    1 + bits_of(u128::from(dmax) + 1)
}

/// `ceil(log2(v + 1))`: the bits of the values `0..=v`.
fn bits_of(v: u128) -> u8 {
    (128 - v.leading_zeros()) as u8
}

impl Gadget {
    /// The gadget of activation `act` (tag `tag`) in a circuit of `scale` and range `[-bound, bound)`.
    pub fn of(act: &Activation, tag: u64, scale: u8, bound: i64) -> Option<Self> {
        let bound = bound.max(1);
        match *act {
            Activation::Interp { ref func, bits } => {
                let dmax = interp_nodes(bound, bits)
                    .map(|node| {
                        let step = 1i64 << bits;
                        (func.apply(node + step, scale) - func.apply(node, scale)).unsigned_abs()
                    })
                    .max()
                    .unwrap_or(0);
                Some(Self::Interp { tag, bits, slack_bits: slack_bits(dmax) })
            }
            Activation::LogReduced { node_bits } => {
                let (q_bits, width) = log_widths(bound, node_bits);
                let bits = width - node_bits;
                let dmax = log_nodes(width, bits)
                    .map(|n| {
                        (log_mantissa(n + (1 << bits), width, scale) - log_mantissa(n, width, scale))
                            .unsigned_abs()
                    })
                    .max()
                    .unwrap_or(0);
                let interp = InterpBlock { tag, bits, slack_bits: slack_bits(dmax) };
                Some(Self::Log { interp, width, q_bits, scale })
            }
            Activation::RecipExact => Some(Self::Recip {
                // r, u < 2x ≤ 2·bound; y ≤ 2^(2s).
                rem_bits: bits_of(2 * bound as u128 - 1),
                y_bits: bits_of(1u128 << (2 * scale)),
                scale,
            }),
            Activation::RsqrtExact { eps } => {
                let offset = rsqrt_offset(eps, scale);
                let xmax = (bound + offset) as f64;
                let n = f64::powi(2.0, 3 * i32::from(scale));
                // a, b < 8·x·y ≤ 8·(sqrt(N·x) + x); y ≤ sqrt(N / e) + 1.
                let ab = 8.0 * ((n * xmax).sqrt() + xmax + 2.0);
                let y = (n / offset as f64).sqrt() + 2.0;
                Some(Self::Rsqrt { rem_bits: bits_of(ab as u128), y_bits: bits_of(y as u128), scale, offset })
            }
            Activation::SqrtExact => {
                // a, b < 8y; y ≤ sqrt(bound·2^s) + 1.
                let y = ((bound as f64) * f64::powi(2.0, i32::from(scale))).sqrt() + 2.0;
                Some(Self::Sqrt {
                    rem_bits: bits_of((8.0 * y) as u128),
                    y_bits: bits_of(y as u128),
                    q_bits: bits_of(bound as u128 - 1),
                    scale,
                })
            }
            _ => None,
        }
    }

    /// The widths of the gadget's range-check chains, in layout order.
    pub fn chains(&self) -> Vec<u8> {
        match *self {
            Self::Interp { bits, slack_bits, .. } => vec![slack_bits, bits, bits],
            Self::Recip { rem_bits, y_bits, .. } | Self::Rsqrt { rem_bits, y_bits, .. } => {
                vec![rem_bits, rem_bits, y_bits]
            }
            Self::Sqrt { rem_bits, y_bits, q_bits, .. } => vec![rem_bits, rem_bits, y_bits, q_bits],
            Self::Log { interp, q_bits, .. } => vec![interp.slack_bits, interp.bits, interp.bits, q_bits],
        }
    }

    /// Rows of the block with `t`-bit limbs: interp's row A (log: rows P, P+1 and A), then one row per limb
    /// of every chain.
    pub fn rows(&self, t: u8) -> usize {
        let head = match self {
            Self::Interp { .. } => 1,
            Self::Log { .. } => 3,
            _ => 0,
        };
        head + self.chains().iter().map(|&b| super::limbs::limb_widths(b, t).len()).sum::<usize>()
    }

    /// A log's interpolation-table rows `(tag, node, f0, d)`: the exponent rows `(tag', e, 2^(b−e), c(e))`,
    /// then the mantissa's nodes with `round(ln(node / 2^b)·2^s)` and its step.
    pub fn log_table(&self) -> Vec<[i128; 4]> {
        let Self::Log { interp, width, scale, .. } = *self else { return vec![] };
        let exponent_tag = i128::from(LOG_EXPONENT_TAG + interp.tag);
        let exponents = (1..=width)
            .map(|e| [exponent_tag, i128::from(e), 1i128 << (width - e), i128::from(log_exponent(e, scale))]);
        let f = move |n: i64| log_mantissa(n, width, scale);
        let nodes = log_nodes(width, interp.bits).map(move |n| {
            [
                i128::from(interp.tag),
                i128::from(n),
                i128::from(f(n)),
                i128::from(f(n + (1 << interp.bits)) - f(n)),
            ]
        });
        exponents.chain(nodes).collect()
    }
}

/// A log's `(q_bits, b)` in a circuit of range `[-bound, bound)`: `q − 1` has `q_bits` bits, so the bit length
/// `e` of `q` is at most `q_bits + 1 <= b`, and `b > node_bits` leaves at least one interpolated bit.
fn log_widths(bound: i64, node_bits: u8) -> (u8, u8) {
    let q_bits = bits_of(bound.max(1) as u128 - 1);
    (q_bits, (q_bits + 1).max(node_bits + 1))
}

/// The interpolation-table rows of a range-reduced logarithm in a circuit of range `[-bound, bound)`: its
/// `2^(node_bits − 1)` mantissa nodes and its exponents `1..=b`.
pub(crate) fn log_table_rows(bound: i64, node_bits: u8) -> usize {
    let (_, width) = log_widths(bound, node_bits);
    (1usize << (node_bits - 1)) + usize::from(width)
}

/// A log's mantissa nodes: the multiples of `2^bits` in `[2^(width−1), 2^width)`.
fn log_nodes(width: u8, bits: u8) -> impl Iterator<Item = i64> {
    let count = 1i64 << (width - 1 - bits);
    (count..2 * count).map(move |j| j << bits)
}

/// The interpolation nodes of a table over `[-bound, bound)`: the multiples of `2^bits` from the one at or
/// below `-bound` to the one at or below `bound − 1`.
pub(crate) fn interp_nodes(bound: i64, bits: u8) -> impl Iterator<Item = i64> {
    let (first, last) = (interp_node(-bound, bits), interp_node(bound - 1, bits));
    (0..=((last - first) >> bits)).map(move |i| first + (i << bits))
}

/// Declares the gadgets' gates (and the interpolation lookup) over the chip's columns.
pub(super) fn configure(
    meta: &mut ConstraintSystem<Fr>,
    cols: &Columns<'_>,
    gates: Gates,
) -> NonlinearConfig {
    let Gates { interp, exact, log } = gates;
    let (x, acc, f, c) = (cols.x, cols.acc, cols.f, cols.c);
    let (x0, x1, x2, x3) = (x[0], x[1], x[2], x[3]);
    let mut cfg = NonlinearConfig {
        q_interp: None,
        interp_table: None,
        q_recip: None,
        q_recip_rem: None,
        q_root: None,
        q_root_high: None,
        q_log: None,
    };
    let one = || Expression::Constant(Fr::one());
    let two = || Expression::Constant(Fr::from(2));
    if interp {
        let q_interp = meta.complex_selector();
        // interp_split: q = node + lo (lo's chain puts it in [0, 2^m), the table makes node a node).
        meta.create_gate("interp_split", |m| {
            let q = m.query_selector(q_interp);
            let (qv, node, lo) = (
                m.query_advice(x0, Rotation::cur()),
                m.query_advice(x1, Rotation::cur()),
                m.query_advice(acc, Rotation::cur()),
            );
            vec![q * (qv - node - lo)]
        });
        // interp_round: y·2^m + r = f0·2^m + d·lo + 2^(m−1) (r's chain puts it in [0, 2^m)): y is f0 + d·lo/2^m
        // rounded half up, once y is an integer.
        meta.create_gate("interp_round", |m| {
            let q = m.query_selector(q_interp);
            let scale = m.query_fixed(f[0], Rotation::cur());
            let (f0, d, lo) = (
                m.query_advice(x2, Rotation::cur()),
                m.query_advice(x3, Rotation::cur()),
                m.query_advice(acc, Rotation::cur()),
            );
            let (y, r) = (m.query_advice(x0, Rotation::next()), m.query_advice(acc, Rotation::next()));
            let half = m.query_fixed(c, Rotation::cur());
            vec![q * (y * scale.clone() + r - f0 * scale - d * lo - half)]
        });
        // interp_slack: w = y − f0 + 2^(b−1) (w's chain puts it in [0, 2^b)): y is an integer near f0.
        meta.create_gate("interp_slack", |m| {
            let q = m.query_selector(q_interp);
            let f0 = m.query_advice(x2, Rotation::cur());
            let (y, w) = (m.query_advice(x0, Rotation::next()), m.query_advice(x3, Rotation::next()));
            let offset = m.query_fixed(c, Rotation::next());
            vec![q * (w - y + f0 - offset)]
        });
        let table = [
            meta.lookup_table_column(),
            meta.lookup_table_column(),
            meta.lookup_table_column(),
            meta.lookup_table_column(),
        ];
        let q_log = log.then(|| configure_log(meta, cols));
        // interp lookup: (tag, node, f0, d) is a row of the activation's interpolation table (log rows: (tag',
        // e, p, c) a row of its exponents).
        meta.lookup("interp", |m| {
            let q = m.query_selector(q_interp);
            let q = match q_log {
                Some(q_log) => q + m.query_selector(q_log),
                None => q,
            };
            vec![
                (q.clone() * m.query_fixed(f[2], Rotation::cur()), table[0]),
                (q.clone() * m.query_advice(x1, Rotation::cur()), table[1]),
                (q.clone() * m.query_advice(x2, Rotation::cur()), table[2]),
                (q * m.query_advice(x3, Rotation::cur()), table[3]),
            ]
        });
        cfg.q_interp = Some(q_interp);
        cfg.interp_table = Some(table);
        cfg.q_log = q_log;
    }
    if exact {
        let (q_recip, q_recip_rem, q_root, q_root_high) =
            (meta.selector(), meta.selector(), meta.selector(), meta.selector());
        // recip_div: 2N + x = 2·y·x + r (c = 2N). With recip_rem and the chains of r, u and y: y = round(N/x).
        meta.create_gate("recip_div", |m| {
            let q = m.query_selector(q_recip);
            let (xv, y, r) = (
                m.query_advice(x0, Rotation::cur()),
                m.query_advice(acc, Rotation::cur()),
                m.query_advice(x3, Rotation::cur()),
            );
            let two_n = m.query_fixed(c, Rotation::cur());
            vec![q * (two_n + xv.clone() - two() * y * xv - r)]
        });
        // recip_rem: u = 2x − 1 − r (u's chain puts it in [0, 2^b)): r < 2x, and x ≥ 1 is an integer.
        meta.create_gate("recip_rem", |m| {
            let q = m.query_selector(q_recip_rem);
            let (xv, r, u) = (
                m.query_advice(x0, Rotation::cur()),
                m.query_advice(x2, Rotation::cur()),
                m.query_advice(x3, Rotation::cur()),
            );
            vec![q * (u - two() * xv + one() + r)]
        });
        // root_low: a = f0 + f2·x − (f3·x + c)·(2y − 1)^2 (a's chain puts it in [0, 2^b)). Reciprocal square
        // root: f0 = 4N, f2 = 0, f3 = 1, c = e; square root: f0 = 0, f2 = 4·2^s, f3 = 0, c = 1.
        root_gate(meta, cols, ("root_low", q_root), false);
        // root_high: b = (f3·x + c)·(2y + 1)^2 − f0 − f2·x (b's chain puts it in [0, 2^b)); f0 is root_low's + 1.
        root_gate(meta, cols, ("root_high", q_root_high), true);
        cfg.q_recip = Some(q_recip);
        cfg.q_recip_rem = Some(q_recip_rem);
        cfg.q_root = Some(q_root);
        cfg.q_root_high = Some(q_root_high);
    }
    cfg
}

/// The logarithm's gates on row P (and P+1); its lookup is the interpolation lookup's, which `q_log` also
/// enables.
fn configure_log(meta: &mut ConstraintSystem<Fr>, cols: &Columns<'_>) -> Selector {
    let (x, acc) = (cols.x, cols.acc);
    let q_log = meta.complex_selector();
    // log_normalize: z = q·p. With (tag', e, p, c) in the table (p a power of two, p = 2^(b−e)) and z in
    // [2^(b−1), 2^b) (its interp block), q is in [2^(e−1), 2^e) once it is an integer (q − 1's chain).
    meta.create_gate("log_normalize", |m| {
        let q = m.query_selector(q_log);
        let (qv, p, z) = (
            m.query_advice(x[0], Rotation::cur()),
            m.query_advice(x[2], Rotation::cur()),
            m.query_advice(acc, Rotation::cur()),
        );
        vec![q * (z - qv * p)]
    });
    // log_sum: y = y_m + c, the mantissa's logarithm (copied from its interp block) plus the exponent's.
    meta.create_gate("log_sum", |m| {
        let q = m.query_selector(q_log);
        let c = m.query_advice(x[3], Rotation::cur());
        let (y, y_m) = (m.query_advice(x[0], Rotation::next()), m.query_advice(x[1], Rotation::next()));
        vec![q * (y - y_m - c)]
    });
    q_log
}

/// A square-root bound: with `σ = 1` (`high`) or `−1`, `x3 = σ·((f3·x0 + c)·(2·acc + σ)^2 − f0 − f2·x0)`.
fn root_gate(
    meta: &mut ConstraintSystem<Fr>,
    cols: &Columns<'_>,
    (name, q): (&'static str, Selector),
    high: bool,
) {
    let (x, acc, f, c) = (cols.x, cols.acc, cols.f, cols.c);
    meta.create_gate(name, |m| {
        let q = m.query_selector(q);
        let xv = m.query_advice(x[0], Rotation::cur());
        let [f0, f2, f3] = [0, 2, 3].map(|i| m.query_fixed(f[i], Rotation::cur()));
        let scaled = f3 * xv.clone() + m.query_fixed(c, Rotation::cur());
        let sigma = Expression::Constant(if high { Fr::one() } else { -Fr::one() });
        let t = Expression::Constant(Fr::from(2)) * m.query_advice(acc, Rotation::cur()) + sigma.clone();
        let bound = sigma * (scaled * t.clone() * t - f0 - f2 * xv);
        vec![q * (m.query_advice(x[3], Rotation::cur()) - bound)]
    });
}

fn on(s: Option<Selector>, region: &mut Region<'_, Fr>, row: usize) -> Result<(), PlonkError> {
    s.ok_or(PlonkError::Synthesis)?.enable(region, row)
}

/// Lays out `gadget` for the neuron whose rescaled value `q` is in `q_cell`, from `row`; `func` is the
/// interpolated function (interp only), `scale` the circuit's. Returns the cell of `y` and the next free row.
pub(super) fn assign(
    region: &mut Region<'_, Fr>,
    cols: &Columns<'_>,
    lc: &LimbConfig,
    (gadget, func, scale): (Gadget, Option<&Activation>, u8),
    (row, q_cell, q): (usize, Cell, Value<i64>),
) -> Result<(Cell, usize), PlonkError> {
    let nl = lc.nonlinear.as_ref().ok_or(PlonkError::Synthesis)?;
    let (x, acc, f, c) = (cols.x, cols.acc, cols.f, cols.c);
    let adv = |region: &mut Region<'_, Fr>, col, row, v: Value<i128>| {
        region.assign_advice(col, row, v.map(to_field)).cell()
    };
    let copy = |region: &mut Region<'_, Fr>, col, row, v: Value<i128>, of: Cell| {
        let cell = adv(region, col, row, v);
        region.constrain_equal(cell, of);
    };
    let qv = q.map(i128::from);
    match gadget {
        Gadget::Interp { tag, bits, slack_bits } => {
            let func = func.ok_or(PlonkError::Synthesis)?;
            let f = |n: i64| func.apply(n, scale);
            assign_interp(region, cols, lc, (InterpBlock { tag, bits, slack_bits }, &f), (row, q_cell, q))
        }
        Gadget::Log { interp, width, q_bits, scale } => {
            // Row P: e, p = 2^(b−e), c, z = q·p.
            let e = q.map(|q| (64 - q.max(1).leading_zeros()) as u8);
            let p = e.map(|e| 1i128 << width.saturating_sub(e));
            let z = qv.zip(p).map(|(q, p)| q * p);
            on(nl.q_log, region, row)?;
            region.assign_fixed(f[2], row, Fr::from(LOG_EXPONENT_TAG + interp.tag));
            copy(region, x[0], row, qv, q_cell);
            adv(region, x[1], row, e.map(i128::from));
            adv(region, x[2], row, p);
            adv(region, x[3], row, e.map(|e| i128::from(log_exponent(e, scale))));
            let z_cell = adv(region, acc, row, z);
            // Row P+1: y and the mantissa's y_m (copied from the interp block below).
            let y = q.map(|q| i128::from(log_reduced(q, scale, width - interp.bits).unwrap_or(0)));
            let y_cell = adv(region, x[0], row + 1, y);
            let y_m = y.zip(e).map(|(y, e)| y - i128::from(log_exponent(e, scale)));
            let y_m_cell = adv(region, x[1], row + 1, y_m);
            let f = |n: i64| log_mantissa(n, width, scale);
            let z64 = z.map(|z| z as i64);
            let (m_cell, next) = assign_interp(region, cols, lc, (interp, &f), (row + 2, z_cell, z64))?;
            region.constrain_equal(m_cell, y_m_cell);
            let next = assign_positive(region, cols, lc, (next, q_cell, qv, q_bits))?;
            Ok((y_cell, next))
        }
        Gadget::Recip { rem_bits, y_bits, scale } => {
            let n = 1i128 << (2 * scale);
            let y = q.map(|q| recip_exact(q, scale).map_or(0, i128::from));
            let r = qv.zip(y).map(|(x, y)| 2 * n + x - 2 * y * x);
            let u = qv.zip(r).map(|(x, r)| 2 * x - 1 - r);
            on(nl.q_recip, region, row)?;
            region.assign_fixed(c, row, to_field(2 * n));
            copy(region, x[0], row, qv, q_cell);
            let y_cell = adv(region, acc, row, y);
            let (r_cell, next) = range_chain(region, cols, lc, (row, r, rem_bits))?;
            on(nl.q_recip_rem, region, next)?;
            copy(region, x[0], next, qv, q_cell);
            copy(region, x[2], next, r, r_cell);
            let (_, next) = range_chain(region, cols, lc, (next, u, rem_bits))?;
            let (y_chain, next) = range_chain(region, cols, lc, (next, y, y_bits))?;
            region.constrain_equal(y_chain, y_cell);
            Ok((y_cell, next))
        }
        Gadget::Rsqrt { rem_bits, y_bits, scale, offset } => {
            let four_n = 4i128 << (3 * u32::from(scale));
            let y = q.map(|q| rsqrt_exact(q, scale, offset).map_or(0, i128::from));
            // a = 4N − (q + e)(2y − 1)^2: f0 = 4N, f2 = 0, f3 = 1, c = e.
            let root = Root { f0: four_n, f2: 0, f3: 1, c: i128::from(offset), rem_bits, y_bits };
            let (y_cell, next) = assign_root(region, cols, lc, root, (row, q_cell, qv, y))?;
            Ok((y_cell, next))
        }
        Gadget::Sqrt { rem_bits, y_bits, q_bits, scale } => {
            let y = q.map(|q| sqrt_exact(q, scale).map_or(0, i128::from));
            // a = 4·2^s·q − (2y − 1)^2: f0 = 0, f2 = 4·2^s, f3 = 0, c = 1.
            let root = Root { f0: 0, f2: 4i128 << scale, f3: 0, c: 1, rem_bits, y_bits };
            let (y_cell, next) = assign_root(region, cols, lc, root, (row, q_cell, qv, y))?;
            let next = assign_positive(region, cols, lc, (next, q_cell, qv, q_bits))?;
            Ok((y_cell, next))
        }
    }
}

/// An interpolated lookup of `f` on `q` (in `q_cell`) from `row`: row A, row B with `w`'s chain, then the
/// chains of `lo` and `r`. Returns the cell of `y = round(f0 + d·lo / 2^m)` and the next free row.
fn assign_interp(
    region: &mut Region<'_, Fr>,
    cols: &Columns<'_>,
    lc: &LimbConfig,
    (block, f): (InterpBlock, &dyn Fn(i64) -> i64),
    (row, q_cell, q): (usize, Cell, Value<i64>),
) -> Result<(Cell, usize), PlonkError> {
    let nl = lc.nonlinear.as_ref().ok_or(PlonkError::Synthesis)?;
    let (x, acc, fx, c) = (cols.x, cols.acc, cols.f, cols.c);
    let InterpBlock { tag, bits, slack_bits } = block;
    let adv = |region: &mut Region<'_, Fr>, col, row, v: Value<i128>| {
        region.assign_advice(col, row, v.map(to_field)).cell()
    };
    let step = q.map(|q| InterpStep::of(f, bits, q));
    let (node, f0, d, lo) = (step.map(|s| s.node), step.map(|s| s.f0), step.map(|s| s.d), step.map(|s| s.lo));
    let (y, r) = (step.map(|s| s.y), step.map(|s| s.r));
    let offset = 1i128 << (slack_bits - 1);
    let w = y.zip(f0).map(|(y, f0)| y - i128::from(f0) + offset);
    // Row A.
    on(nl.q_interp, region, row)?;
    region.assign_fixed(fx[0], row, to_field(1i128 << bits));
    region.assign_fixed(c, row, to_field(1i128 << bits >> 1));
    region.assign_fixed(fx[2], row, Fr::from(tag));
    let qc = adv(region, x[0], row, q.map(i128::from));
    region.constrain_equal(qc, q_cell);
    adv(region, x[1], row, node.map(i128::from));
    adv(region, x[2], row, f0.map(i128::from));
    adv(region, x[3], row, d.map(i128::from));
    let lo_cell = adv(region, acc, row, lo.map(i128::from));
    // Row B: y, r, and w's chain.
    let row_b = row + 1;
    let y_cell = adv(region, x[0], row_b, y);
    let r_cell = adv(region, acc, row_b, r);
    region.assign_fixed(c, row_b, to_field(offset));
    let (_, next) = range_chain(region, cols, lc, (row_b, w, slack_bits))?;
    let (lo_chain, next) = range_chain(region, cols, lc, (next, lo.map(i128::from), bits))?;
    region.constrain_equal(lo_chain, lo_cell);
    let (r_chain, next) = range_chain(region, cols, lc, (next, r, bits))?;
    region.constrain_equal(r_chain, r_cell);
    Ok((y_cell, next))
}

/// `q − 1 ∈ [0, 2^q_bits)` from `row`: `q ≥ 1` is an integer (`signed_range`: `x3 = x0 + c`, `c = −1`, the
/// first row of `q − 1`'s chain). Returns the next free row.
fn assign_positive(
    region: &mut Region<'_, Fr>,
    cols: &Columns<'_>,
    lc: &LimbConfig,
    (row, q_cell, qv, q_bits): (usize, Cell, Value<i128>, u8),
) -> Result<usize, PlonkError> {
    lc.q_offset.enable(region, row)?;
    region.assign_fixed(cols.c, row, to_field(-1));
    let qc = region.assign_advice(cols.x[0], row, qv.map(to_field)).cell();
    region.constrain_equal(qc, q_cell);
    Ok(range_chain(region, cols, lc, (row, qv.map(|q| q - 1), q_bits))?.1)
}

/// The fixed coefficients and chain widths of a root block: `a = f0 + f2·x − (f3·x + c)·(2y − 1)^2` on its
/// first row, `b = (f3·x + c)·(2y + 1)^2 − (f0 + 1) − f2·x` on the second.
struct Root {
    f0: i128,
    f2: i128,
    f3: i128,
    c: i128,
    rem_bits: u8,
    y_bits: u8,
}

/// Lays out a root block (rows A and A2 with the chains of `a`, `b` and `y`); returns `y`'s cell and the next
/// free row.
fn assign_root(
    region: &mut Region<'_, Fr>,
    cols: &Columns<'_>,
    lc: &LimbConfig,
    root: Root,
    (row, q_cell, qv, y): (usize, Cell, Value<i128>, Value<i128>),
) -> Result<(Cell, usize), PlonkError> {
    let nl = lc.nonlinear.as_ref().ok_or(PlonkError::Synthesis)?;
    let (x, acc, f, c) = (cols.x, cols.acc, cols.f, cols.c);
    let scaled = qv.map(|x| root.f3 * x + root.c);
    let linear = qv.map(|x| root.f0 + root.f2 * x);
    let a = linear.zip(scaled).zip(y).map(|((l, s), y)| l - s * (2 * y - 1) * (2 * y - 1));
    let b = linear.zip(scaled).zip(y).map(|((l, s), y)| s * (2 * y + 1) * (2 * y + 1) - l - 1);
    let mut y_cell = None;
    let mut next = row;
    for (selector, f0, value) in [(nl.q_root, root.f0, a), (nl.q_root_high, root.f0 + 1, b)] {
        on(selector, region, next)?;
        region.assign_fixed(f[0], next, to_field(f0));
        region.assign_fixed(f[2], next, to_field(root.f2));
        region.assign_fixed(f[3], next, to_field(root.f3));
        region.assign_fixed(c, next, to_field(root.c));
        let qc = region.assign_advice(x[0], next, qv.map(to_field)).cell();
        region.constrain_equal(qc, q_cell);
        let yc = region.assign_advice(acc, next, y.map(to_field)).cell();
        match y_cell {
            None => y_cell = Some(yc),
            Some(first) => region.constrain_equal(yc, first),
        }
        next = range_chain(region, cols, lc, (next, value, root.rem_bits))?.1;
    }
    let y_cell = y_cell.ok_or(PlonkError::Synthesis)?;
    let (y_chain, next) = range_chain(region, cols, lc, (next, y, root.y_bits))?;
    region.constrain_equal(y_chain, y_cell);
    Ok((y_cell, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logs_table_has_the_rows_the_layout_reserves() {
        let act = Activation::LogReduced { node_bits: crate::ir::LOG_NODE_BITS };
        for bound in [1i64, 2, 1 << 10, 1 << 19, (1 << 30) + 5] {
            let gadget = Gadget::of(&act, 3, 16, bound).expect("log gadget");
            assert_eq!(gadget.log_table().len(), log_table_rows(bound, crate::ir::LOG_NODE_BITS), "{bound}");
        }
    }
}
