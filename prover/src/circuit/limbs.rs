//! Limb-decomposed range checks (`CircuitParams::limb_bits` = `T` > 0).
//!
//! With lookup tables alone, a rescale's remainder needs a table of `2^shift` rows and a ReLU a table of
//! `2·bound` rows, so the tables, not the model, set `k` and cap the fixed-point scales (and so accuracy).
//! Here every range check is split into `T`-bit limbs checked against one small table (`2^T` rows per limb
//! width), so scales grow without growing the tables:
//!
//! - rescale: `z + 2^(d-1) = q·2^d + R` with `R = Σ limb_i·2^(T·i)`, each limb in `[0, 2^width_i)`;
//! - ReLU: a sign bit `s` (boolean), `y = s·q` and `U = (2s − 1)·q + s − 1 ∈ [0, bound)` in limbs, which
//!   forces `s = 1` exactly when `q ≥ 0` (if `s = 1`, `U = q`; if `s = 0`, `U = −q − 1`);
//! - no activation: `V = q + bound ∈ [0, 2·bound)` in limbs, so `q` is the small integer the remainder check
//!   implies (without it a prover could pick another remainder and pass on `q ± δ/2^d` as a field element);
//! - other activations keep their lookup table over `[-bound, bound)`.
//!
//! A value `V` of `b` bits is decomposed over consecutive rows: each row holds a limb in `x[1]` (looked up
//! with its width in `f[1]`) and the not-yet-decomposed rest `V_i` in `x[3]`, with `V_i = limb_i +
//! 2^T·V_(i+1)` (`limb_step`) and `V_last = limb_last` (`limb_last`). The neuron's post row is the first row
//! of its remainder's chain; a ReLU adds the rows of `U`'s chain, the first holding `s` in `acc`.

use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error as PlonkError, Expression, Fixed, Selector,
};
use halo2_proofs::poly::Rotation;

use super::nonlinear::{self, Gadget, NonlinearConfig};
use crate::field::to_field;
use crate::ir::{rescale, Activation};

/// Selectors of the limb-decomposed checks.
#[derive(Clone, Debug)]
pub struct LimbConfig {
    /// Limb width `T` in bits.
    pub bits: u8,
    /// `acc + c = x[0]·f[0] + x[3]` (the rescale, remainder in `x[3]`).
    pub q_rescale: Selector,
    /// `(f[1], x[1])` in the range table (a limb and its width).
    pub q_limb: Selector,
    /// `x[3] = x[1] + 2^T·x[3][+1]`.
    pub q_step: Selector,
    /// `x[3] = x[1]`.
    pub q_last: Selector,
    /// ReLU sign: `acc` boolean, `x[2] = acc·x[0]`, `x[3] = (2·acc − 1)·x[0] + acc − 1`.
    pub q_relu: Selector,
    /// Signed range: `x[3] = x[0] + c` (`c` = bound).
    pub q_offset: Selector,
    /// `(f[2], x[0], x[2])` in the activation table (activations other than ReLU; absent when the model has
    /// none, and with it the whole activation lookup).
    pub q_act: Option<Selector>,
    /// The precise non-linear gadgets ([`nonlinear`]; absent unless the circuit has precise activations).
    pub nonlinear: Option<NonlinearConfig>,
}

/// Declares the limb gates over the chip's columns.
pub(super) fn configure(
    meta: &mut ConstraintSystem<Fr>,
    x: &[Column<Advice>],
    acc: Column<Advice>,
    f: &[Column<Fixed>],
    c: Column<Fixed>,
    params: super::CircuitParams,
) -> LimbConfig {
    let bits = params.limb_bits;
    let cfg = LimbConfig {
        bits,
        q_rescale: meta.selector(),
        q_limb: meta.complex_selector(),
        q_step: meta.selector(),
        q_last: meta.selector(),
        q_relu: meta.selector(),
        q_offset: meta.selector(),
        q_act: params.act_table.then(|| meta.complex_selector()),
        nonlinear: None,
    };
    let (x0, x1, x2, x3) = (x[0], x[1], x[2], x[3]);
    meta.create_gate("rescale_limbs", |m| {
        let q = m.query_selector(cfg.q_rescale);
        let lhs = m.query_advice(acc, Rotation::cur()) + m.query_fixed(c, Rotation::cur());
        let rhs = m.query_advice(x0, Rotation::cur()) * m.query_fixed(f[0], Rotation::cur())
            + m.query_advice(x3, Rotation::cur());
        vec![q * (lhs - rhs)]
    });
    meta.create_gate("limb_step", |m| {
        let q = m.query_selector(cfg.q_step);
        let shift = Expression::Constant(Fr::from(1u64 << bits));
        let rest = m.query_advice(x3, Rotation::cur());
        let limb = m.query_advice(x1, Rotation::cur());
        vec![q * (rest - limb - shift * m.query_advice(x3, Rotation::next()))]
    });
    meta.create_gate("limb_last", |m| {
        let q = m.query_selector(cfg.q_last);
        vec![q * (m.query_advice(x3, Rotation::cur()) - m.query_advice(x1, Rotation::cur()))]
    });
    meta.create_gate("signed_range", |m| {
        let q = m.query_selector(cfg.q_offset);
        let v = m.query_advice(x3, Rotation::cur());
        vec![q * (v - m.query_advice(x0, Rotation::cur()) - m.query_fixed(c, Rotation::cur()))]
    });
    meta.create_gate("relu_sign", |m| {
        let q = m.query_selector(cfg.q_relu);
        let s = m.query_advice(acc, Rotation::cur());
        let v = m.query_advice(x0, Rotation::cur());
        let one = Expression::Constant(Fr::one());
        let two = Expression::Constant(Fr::from(2));
        vec![
            q.clone() * s.clone() * (one.clone() - s.clone()),
            q.clone() * (m.query_advice(x2, Rotation::cur()) - s.clone() * v.clone()),
            q * (m.query_advice(x3, Rotation::cur()) - ((two * s.clone() - one.clone()) * v + s - one)),
        ]
    });
    let mut cfg = cfg;
    if params.interp || params.exact {
        let cols = Columns { x, acc, f, c };
        let gates = nonlinear::Gates { interp: params.interp, exact: params.exact, log: params.log };
        cfg.nonlinear = Some(nonlinear::configure(meta, &cols, gates));
    }
    cfg
}

/// Widths of the limbs of a `total`-bit value with `t`-bit limbs (at least one limb).
pub(crate) fn limb_widths(total: u8, t: u8) -> Vec<u8> {
    let n = total.div_ceil(t).max(1);
    (0..n).map(|i| if i + 1 < n { t } else { total - t * (n - 1) }).collect()
}

/// What one neuron's post rows need.
pub(super) struct Post {
    /// The post row (first row of the remainder's chain).
    pub(super) row: usize,
    /// Rescale shift `d`.
    pub(super) shift: u8,
    /// `z`, the pre-activation sum.
    pub(super) z: Value<i128>,
    /// `y`, the neuron's output.
    pub(super) y: Value<i128>,
    /// The activation: ReLU (sign + limbs), a table tag, or none.
    pub(super) act: PostAct,
    /// Bits of the second chain ([`second_chain_bits`]): `U` for a ReLU, `q + bound` without activation.
    pub(super) second_bits: Option<u8>,
}

/// How a neuron's activation is checked.
pub(super) enum PostAct {
    /// No activation: the remainder's and `q`'s range checks.
    None,
    /// ReLU through its sign bit.
    Relu,
    /// A lookup in the activation table under this tag.
    Table(u64),
    /// A precise activation's gadget ([`nonlinear`]) with the interpolated function (interp) and the scale.
    Precise(Gadget, Option<Activation>, u8),
}

/// Columns a post block writes to.
pub(super) struct Columns<'a> {
    pub(super) x: &'a [Column<Advice>],
    pub(super) acc: Column<Advice>,
    pub(super) f: &'a [Column<Fixed>],
    pub(super) c: Column<Fixed>,
}

/// Lays out a decomposition chain of `value` (`total` bits) from `row`; returns the next free row.
fn assign_chain(
    region: &mut Region<'_, Fr>,
    cols: &Columns<'_>,
    lc: &LimbConfig,
    chain: (usize, Value<i128>, u8),
) -> Result<usize, PlonkError> {
    range_chain(region, cols, lc, chain).map(|(_, next)| next)
}

/// Lays out a decomposition chain of `value` (`total` bits) from `row`: `value ∈ [0, 2^total)`. Returns the
/// cell holding `value` (the chain's first `x[3]`, for a copy constraint) and the next free row.
pub(super) fn range_chain(
    region: &mut Region<'_, Fr>,
    cols: &Columns<'_>,
    lc: &LimbConfig,
    (mut row, value, total): (usize, Value<i128>, u8),
) -> Result<(Cell, usize), PlonkError> {
    let widths = limb_widths(total, lc.bits);
    let mut rest = value;
    let mut first = None;
    for (i, &w) in widths.iter().enumerate() {
        lc.q_limb.enable(region, row)?;
        if i + 1 < widths.len() {
            lc.q_step.enable(region, row)?;
        } else {
            lc.q_last.enable(region, row)?;
        }
        region.assign_fixed(cols.f[1], row, Fr::from(u64::from(w)));
        let limb = rest.map(|v| v & ((1i128 << w) - 1));
        region.assign_advice(cols.x[1], row, limb.map(to_field));
        let cell = region.assign_advice(cols.x[3], row, rest.map(to_field)).cell();
        first.get_or_insert(cell);
        rest = rest.map(|v| v >> w);
        row += 1;
    }
    Ok((first.ok_or(PlonkError::Synthesis)?, row))
}

/// Lays out a neuron's post rows; returns the cell of `y` and the next free row.
pub(super) fn assign_post(
    region: &mut Region<'_, Fr>,
    cols: &Columns<'_>,
    lc: &LimbConfig,
    p: Post,
) -> Result<(Cell, usize), PlonkError> {
    let d = p.shift;
    let row = p.row;
    lc.q_rescale.enable(region, row)?;
    region.assign_fixed(cols.f[0], row, to_field(1i128 << d));
    region.assign_fixed(cols.c, row, to_field(if d == 0 { 0 } else { 1i128 << (d - 1) }));
    let qr = p.z.map(|z| rescale(z, d));
    let q = qr.map(|(q, _)| q);
    let q_cell = region.assign_advice(cols.x[0], row, q.map(to_field)).cell();
    // Without an activation the output is `q` itself; otherwise `y` is tied to `q` by the ReLU gate or the
    // activation lookup.
    let y_cell = match p.act {
        PostAct::None | PostAct::Precise(..) => q_cell,
        PostAct::Relu | PostAct::Table(_) => region.assign_advice(cols.x[2], row, p.y.map(to_field)).cell(),
    };
    if let PostAct::Table(tag) = p.act {
        lc.q_act.ok_or(PlonkError::Synthesis)?.enable(region, row)?;
        region.assign_fixed(cols.f[2], row, Fr::from(tag));
    }
    let mut next = assign_chain(region, cols, lc, (row, qr.map(|(_, r)| r), d))?;
    if let PostAct::Precise(gadget, func, scale) = &p.act {
        let at = (next, q_cell, q.map(|q| q as i64));
        return nonlinear::assign(region, cols, lc, (*gadget, func.as_ref(), *scale), at);
    }
    let second_bits = || p.second_bits.ok_or(PlonkError::Synthesis);
    if let PostAct::None = p.act {
        let bits = second_bits()?;
        lc.q_offset.enable(region, next)?;
        let bound = 1i128 << (bits - 1);
        region.assign_fixed(cols.c, next, to_field(bound));
        let qc = region.assign_advice(cols.x[0], next, q.map(to_field)).cell();
        region.constrain_equal(qc, q_cell);
        next = assign_chain(region, cols, lc, (next, q.map(|q| q + bound), bits))?;
    }
    if let PostAct::Relu = p.act {
        lc.q_relu.enable(region, next)?;
        let s = q.map(|q| i128::from(q >= 0));
        region.assign_advice(cols.acc, next, s.map(to_field));
        let qc = region.assign_advice(cols.x[0], next, q.map(to_field)).cell();
        let yc = region.assign_advice(cols.x[2], next, p.y.map(to_field)).cell();
        region.constrain_equal(qc, q_cell);
        region.constrain_equal(yc, y_cell);
        let u = q.map(|q| if q >= 0 { q } else { -q - 1 });
        next = assign_chain(region, cols, lc, (next, u, second_bits()?))?;
    }
    Ok((y_cell, next))
}

/// Bits of the second chain of a post block: `U`'s for a ReLU, `q + bound`'s without an activation.
pub(crate) fn second_chain_bits(relu: bool, identity: bool, relu_bits: u8) -> Option<u8> {
    match (relu, identity) {
        (true, _) => Some(relu_bits),
        (false, true) => Some(relu_bits + 1),
        (false, false) => None,
    }
}

/// Rows of a post block: the remainder's chain, plus the second chain.
pub(crate) fn post_rows(shift: u8, second: Option<u8>, t: u8) -> usize {
    limb_widths(shift, t).len() + second.map_or(0, |b| limb_widths(b, t).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limbs_cover_the_width_exactly() {
        assert_eq!(limb_widths(0, 8), vec![0]);
        assert_eq!(limb_widths(8, 8), vec![8]);
        assert_eq!(limb_widths(14, 8), vec![8, 6]);
        assert_eq!(limb_widths(17, 8), vec![8, 8, 1]);
    }
}
