//! `InferenceChip`: dense dot-product, product and rescale/activation gates with their lookup tables.

use std::sync::Arc;

use halo2_proofs::circuit::{Cell, Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Any, Column, ConstraintSystem, Error as PlonkError, Expression, Fixed, Instance, Selector,
    TableColumn,
};
use halo2_proofs::poly::Rotation;

use super::limbs::{self, LimbConfig, PostAct};
use super::nonlinear::{self, Gadget};
use super::poseidon::{PoseidonChip, PoseidonConfig, PoseidonInstructions};
use super::{CircuitParams, CircuitSpec, StoreTails};
pub(crate) use crate::field::to_field;
use crate::ir::{rescale, Evaluation, Neuron, NeuronOp};

/// Columns, selectors and tables of the inference circuit.
#[derive(Clone, Debug)]
pub struct InferenceConfig {
    /// Dot-product operands; in result rows `x[0] = q`, `x[1] = r`, `x[2] = y`.
    pub x: Vec<Column<Advice>>,
    /// Running sum / neuron pre-activation `z`.
    pub acc: Column<Advice>,
    /// Constant coefficients; in result rows `f[0] = 2^shift`, `f[1] = shift`, `f[2] = activation tag`.
    pub f: Vec<Column<Fixed>>,
    /// Bias in a neuron's first row; `2^(shift-1)` (rounding) in result rows.
    pub c: Column<Fixed>,
    /// `acc = c` (a neuron's first row).
    pub q_init: Selector,
    /// `acc[+1] = acc + Σ x·f`.
    pub q_dot: Selector,
    /// `acc[+1] = x[0]·x[1]`.
    pub q_mul: Selector,
    /// `acc + c = x[0]·f[0] + x[1]`, with `(f[1], x[1])` in the range table and `(f[2], x[0], x[2])` in the
    /// activation table.
    pub q_post: Option<Selector>,
    /// Range table: shift.
    pub t_shift: TableColumn,
    /// Range table: remainder in `[0, 2^shift)`.
    pub t_rem: TableColumn,
    /// Activation table: tag, input `q`, output `act(q)` (absent when no activation needs a table).
    pub act_table: Option<[TableColumn; 3]>,
    /// Public inputs, then outputs, then (private parameters) the weights commitment.
    pub instance: Column<Instance>,
    /// Columns and gates of `--params private`.
    pub private: Option<PrivateConfig>,
    /// Limb-decomposed range checks (`limb_bits` > 0).
    pub limbs: Option<LimbConfig>,
}

/// Private parameters: coefficients and biases are committed witnesses instead of fixed constants.
#[derive(Clone, Debug)]
pub struct PrivateConfig {
    /// Private coefficients, beside the operands they multiply.
    pub w: Vec<Column<Advice>>,
    /// `hashed`: the private bias in a neuron's first row.
    pub wb: Option<Column<Advice>>,
    /// `hashed`: `acc = wb` (a private neuron's first row).
    pub q_init_private: Option<Selector>,
    /// `acc[+1] = acc + Σ x·w`.
    pub q_dot_private: Selector,
    /// `private`: `acc[+1] = w[0] + Σ_{j≥1} x_j·w_j` (a neuron's first row: the bias in the first weight slot).
    pub q_dot_first: Option<Selector>,
    /// `--params hashed`: the Poseidon commitment to the parameters.
    pub poseidon: Option<PoseidonConfig>,
}

impl PrivateConfig {
    /// `--params private`: the KZG-committed weight columns (the `w` columns themselves).
    pub fn committed_columns(&self) -> &[Column<Advice>] {
        if self.poseidon.is_some() {
            &[]
        } else {
            &self.w
        }
    }
}

/// The cells every private parameter is copied to or from: the Poseidon gadget's inputs (`hashed`) or the
/// weight columns' slots (`private`).
#[derive(Clone, Debug)]
pub(crate) struct ParamCells {
    /// One cell per parameter, in [`crate::ir::Graph::private_params`] order.
    pub values: Vec<Cell>,
    /// A cell constrained (hashed) or committed (private) to zero.
    pub zero: Cell,
    /// `hashed`: the Poseidon commitment, exposed as a public instance.
    pub hash: Option<Cell>,
}

/// What the inference chip lays out.
pub(crate) trait InferenceInstructions {
    /// Fills the range and activation tables.
    fn load_tables(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), PlonkError>;
    /// Lays out inputs and neurons; returns the cell holding every value. With private parameters,
    /// `commitment` holds the cells every parameter cell is copied to.
    fn assign_graph(
        &self,
        layouter: &mut impl Layouter<Fr>,
        value: &dyn Fn(usize) -> Value<i128>,
        witness: Option<&Evaluation>,
        commitment: Option<&ParamCells>,
    ) -> Result<Vec<Cell>, PlonkError>;
    /// Lays out the private parameters' commitment: their Poseidon hash (`hashed`) or the weight columns
    /// with `tails` in their hiding rows (`private`); `None` for fixed parameters.
    fn assign_commitment(
        &self,
        layouter: &mut impl Layouter<Fr>,
        known: bool,
        tails: Option<&StoreTails>,
    ) -> Result<Option<ParamCells>, PlonkError>;
    /// Constrains inputs, outputs and the Poseidon commitment to the instance column.
    fn expose_instances(
        &self,
        layouter: &mut impl Layouter<Fr>,
        cells: &[Cell],
        commitment: Option<&ParamCells>,
    ) -> Result<(), PlonkError>;
}

/// The chip over one spec.
#[derive(Clone, Debug)]
pub(crate) struct InferenceChip {
    config: InferenceConfig,
    spec: Arc<CircuitSpec>,
    /// The gadget of each activation checked by one (`CircuitSpec::gadgets`).
    gadgets: Vec<Option<Gadget>>,
}

/// Rows of a neuron's operands (its result rows follow). A committed private neuron (`committed_slots`: the
/// weight columns) puts its bias in the first weight slot and as many terms in a row as there are weight
/// columns.
pub(crate) fn operand_rows(n: &Neuron, width: usize, committed_slots: Option<usize>) -> usize {
    match (&n.op, committed_slots) {
        (NeuronOp::Linear { terms, private: true, .. }, Some(j)) => (terms.len() + 1).div_ceil(j.max(1)),
        (NeuronOp::Linear { terms, .. }, _) => terms.len().div_ceil(width).max(1),
        (NeuronOp::Mul { .. }, _) => 1,
    }
}

/// The weight cells of a committed private neuron whose first operand row is `row`: `(column, row, value)`
/// for the bias (slot 0) and every coefficient (slots 1..), row-major over `width` slots per row.
pub(crate) fn committed_weight_cells(
    (terms, bias): (&[(u32, i64)], i64),
    row: usize,
    width: usize,
) -> impl Iterator<Item = (usize, usize, i64)> + '_ {
    std::iter::once(bias)
        .chain(terms.iter().map(|&(_, c)| c))
        .enumerate()
        .map(move |(slot, v)| (slot % width, row + slot / width, v))
}

impl InferenceChip {
    /// A chip for `spec` with `config`.
    pub(crate) fn new(config: InferenceConfig, spec: Arc<CircuitSpec>) -> Self {
        let gadgets = spec.gadgets();
        Self { config, spec, gadgets }
    }

    /// Allocates columns and declares the gates and lookups.
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, params: CircuitParams) -> InferenceConfig {
        let width = params.width.max(if params.hashed() { 8 } else { 4 });
        let x: Vec<_> = (0..width).map(|_| meta.advice_column()).collect();
        let acc = meta.advice_column();
        let f: Vec<_> = (0..width).map(|_| meta.fixed_column()).collect();
        let c = meta.fixed_column();
        let instance = meta.instance_column();
        for col in &x {
            meta.enable_equality(*col);
        }
        meta.enable_equality(acc);
        meta.enable_equality(instance);
        let (q_init, q_dot, q_mul) = (meta.selector(), meta.selector(), meta.selector());
        let t_shift = meta.lookup_table_column();
        let t_rem = meta.lookup_table_column();

        dot_gates(meta, ["dot_init", "dot_step"], (q_init, q_dot), (&x, acc), (c, &f));
        meta.create_gate("mul", |m| {
            let q = m.query_selector(q_mul);
            let prod = m.query_advice(x[0], Rotation::cur()) * m.query_advice(x[1], Rotation::cur());
            vec![q * (m.query_advice(acc, Rotation::next()) - prod)]
        });
        // Which selector enables each lookup: the post row's (tables) or the limb rows' (limbs).
        let (q_post, limbs, q_range, q_act) = if params.limb_bits == 0 {
            let q_post = meta.complex_selector();
            meta.create_gate("rescale", |m| {
                let q = m.query_selector(q_post);
                let lhs = m.query_advice(acc, Rotation::cur()) + m.query_fixed(c, Rotation::cur());
                let rhs = m.query_advice(x[0], Rotation::cur()) * m.query_fixed(f[0], Rotation::cur())
                    + m.query_advice(x[1], Rotation::cur());
                vec![q * (lhs - rhs)]
            });
            (Some(q_post), None, q_post, Some(q_post))
        } else {
            // The post row is `lc.q_rescale`'s.
            let lc = limbs::configure(meta, &x, acc, &f, c, params);
            let (q_range, q_act) = (lc.q_limb, lc.q_act);
            (None, Some(lc), q_range, q_act)
        };
        meta.lookup("range", |m| {
            let q = m.query_selector(q_range);
            vec![
                (q.clone() * m.query_fixed(f[1], Rotation::cur()), t_shift),
                (q * m.query_advice(x[1], Rotation::cur()), t_rem),
            ]
        });
        let act_table = q_act.map(|q_act| {
            let cols = [meta.lookup_table_column(), meta.lookup_table_column(), meta.lookup_table_column()];
            meta.lookup("activation", |m| {
                let q = m.query_selector(q_act);
                vec![
                    (q.clone() * m.query_fixed(f[2], Rotation::cur()), cols[0]),
                    (q.clone() * m.query_advice(x[0], Rotation::cur()), cols[1]),
                    (q * m.query_advice(x[2], Rotation::cur()), cols[2]),
                ]
            });
            cols
        });
        let private = params.private.then(|| configure_private(meta, &x, acc, (&f, c), params));
        InferenceConfig {
            limbs,
            private,
            x,
            acc,
            f,
            c,
            q_init,
            q_dot,
            q_mul,
            q_post,
            t_shift,
            t_rem,
            act_table,
            instance,
        }
    }

    /// Fills the interpolation table: the all-zero row, then for each interpolated activation (by tag) every
    /// node of `[-bound, bound)` with `f(node)` and `f(node + 2^m) − f(node)`.
    fn load_interp_table(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), PlonkError> {
        let spec = &self.spec;
        let Some(table) = self.config.limbs.as_ref().and_then(|l| l.nonlinear.as_ref()?.interp_table) else {
            return Ok(());
        };
        layouter.assign_table(
            || "interpolation",
            |mut t| {
                for col in table {
                    t.assign_cell(|| "zero", col, 0, || Value::known(Fr::zero()))?;
                }
                let mut row = 1;
                for (i, act) in spec.graph.acts.iter().enumerate() {
                    if let Some(gadget) = self.gadgets[i] {
                        for cells in gadget.log_table() {
                            for (col, v) in table.iter().zip(cells) {
                                t.assign_cell(|| "log", *col, row, || Value::known(to_field(v)))?;
                            }
                            row += 1;
                        }
                    }
                    let crate::ir::Activation::Interp { func, bits } = act else { continue };
                    let step = 1i64 << bits;
                    for node in nonlinear::interp_nodes(spec.bound.max(1), *bits) {
                        let f0 = func.apply(node, spec.scale);
                        let d = func.apply(node + step, spec.scale) - f0;
                        let cells = [i as i128 + 1, i128::from(node), i128::from(f0), i128::from(d)];
                        for (col, v) in table.iter().zip(cells) {
                            t.assign_cell(|| "interp", *col, row, || Value::known(to_field(v)))?;
                        }
                        row += 1;
                    }
                }
                Ok(())
            },
        )
    }

    fn tag_of(&self, n: &Neuron) -> u64 {
        match n.act {
            Some(a) => u64::from(a) + 1,
            None => self.spec.identity_tag(),
        }
    }

    /// Lays out an affine neuron's operand rows from `ctx.row`: the bias, then `width` operands per row with
    /// their coefficients in fixed cells or, private, in the `w` columns with every coefficient and the bias
    /// copied into its slot of the commitment. Returns the result row.
    fn assign_linear(
        &self,
        region: &mut Region<'_, Fr>,
        cells: &[Cell],
        ctx: &NeuronCtx<'_>,
        (terms, bias): (&[(u32, i64)], i64),
        coefs: Coefs<'_>,
    ) -> Result<usize, PlonkError> {
        let cfg = &self.config;
        let mut row = ctx.row;
        let known = ctx.witness.is_some();
        let param = |v: i64| if known { Value::known(to_field(i128::from(v))) } else { Value::unknown() };
        let (q_dot, mut slot) = match coefs {
            Coefs::Fixed => {
                cfg.q_init.enable(region, row)?;
                region.assign_fixed(cfg.c, row, to_field(i128::from(bias)));
                (cfg.q_dot, 0)
            }
            Coefs::Private { pc, hash, first } => {
                let (Some(q_init), Some(wb)) = (pc.q_init_private, pc.wb) else {
                    return Err(PlonkError::Synthesis);
                };
                q_init.enable(region, row)?;
                let bias_cell = region.assign_advice(wb, row, param(bias)).cell();
                region.constrain_equal(bias_cell, hash.values[first + terms.len()]);
                (pc.q_dot_private, first)
            }
        };
        let mut acc = value_sum(ctx.witness.map(|_| i128::from(bias)));
        let chunks: Vec<&[(u32, i64)]> =
            if terms.is_empty() { vec![&[]] } else { terms.chunks(cfg.x.len()).collect() };
        for chunk in chunks {
            q_dot.enable(region, row)?;
            region.assign_advice(cfg.acc, row, acc.map(to_field));
            let mut delta = Value::known(0i128);
            for (j, xcol) in cfg.x.iter().enumerate() {
                let term = chunk.get(j);
                let coef = term.map_or(0, |&(_, c)| c);
                match (&coefs, term) {
                    // Padding with fixed coefficients: the slot's coefficient is the fixed 0, so no value of
                    // its operand reaches the sum; the operand is left unassigned (the mutation suite checks
                    // that every assigned cell is constrained).
                    (Coefs::Fixed, None) => {
                        region.assign_fixed(cfg.f[j], row, Fr::zero());
                    }
                    (Coefs::Fixed, Some(&(v, _))) => {
                        region.assign_fixed(cfg.f[j], row, to_field(i128::from(coef)));
                        let xc = region.assign_advice(*xcol, row, (ctx.value)(v as usize).map(to_field));
                        region.constrain_equal(xc.cell(), cells[v as usize]);
                    }
                    (Coefs::Private { pc, hash, .. }, Some(&(v, _))) => {
                        let xc = region.assign_advice(*xcol, row, (ctx.value)(v as usize).map(to_field));
                        region.constrain_equal(xc.cell(), cells[v as usize]);
                        let wc = region.assign_advice(pc.w[j], row, param(coef)).cell();
                        region.constrain_equal(wc, hash.values[slot]);
                        slot += 1;
                    }
                    // Padding with private coefficients: operand and coefficient are both pinned to the zero
                    // cell (hashed: constrained; private: committed), so their product is 0 and neither cell
                    // is free.
                    (Coefs::Private { pc, hash, .. }, None) => {
                        let xc = region.assign_advice(*xcol, row, Value::known(Fr::zero())).cell();
                        region.constrain_equal(xc, hash.zero);
                        let wc = region.assign_advice(pc.w[j], row, Value::known(Fr::zero())).cell();
                        region.constrain_equal(wc, hash.zero);
                    }
                }
                let xv = term.map_or(Value::known(0), |&(v, _)| (ctx.value)(v as usize));
                delta = delta.zip(xv).map(|(d, x)| d + x * i128::from(coef));
            }
            acc = acc.zip(delta).map(|(a, d)| a + d);
            row += 1;
        }
        Ok(row)
    }

    /// `--params private`: an affine neuron over the committed weight columns. Slot 0 of the first row holds
    /// the bias and `q_dot_first` starts the sum from it; the coefficients follow in the other slots, row by
    /// row under `q_dot_private`. Weight cells are not copied anywhere: the registered commitment fixes every
    /// one (padding slots to 0, which makes their unassigned operands irrelevant). Returns the result row.
    fn assign_committed(
        &self,
        region: &mut Region<'_, Fr>,
        cells: &[Cell],
        ctx: &NeuronCtx<'_>,
        (terms, bias): (&[(u32, i64)], i64),
        pc: &PrivateConfig,
    ) -> Result<usize, PlonkError> {
        let cfg = &self.config;
        let width = pc.w.len();
        let q_first = pc.q_dot_first.ok_or(PlonkError::Synthesis)?;
        let known = ctx.witness.is_some();
        let rows = (terms.len() + 1).div_ceil(width);
        let mut acc = value_sum(ctx.witness.map(|_| i128::from(bias)));
        for (k, (c, r, v)) in committed_weight_cells((terms, bias), ctx.row, width).enumerate() {
            if c == 0 && r > ctx.row {
                // A later row starts from the sum so far (the first row's is not used: `q_dot_first`).
                region.assign_advice(cfg.acc, r, acc.map(to_field));
            }
            let w = if known { Value::known(to_field(i128::from(v))) } else { Value::unknown() };
            region.assign_advice(pc.w[c], r, w);
            if k == 0 {
                continue;
            }
            let (src, _) = terms[k - 1];
            let x = (ctx.value)(src as usize);
            let xc = region.assign_advice(cfg.x[c], r, x.map(to_field));
            region.constrain_equal(xc.cell(), cells[src as usize]);
            acc = acc.zip(x).map(|(a, x)| a + x * i128::from(v));
        }
        for r in ctx.row..ctx.row + rows {
            if r == ctx.row {
                q_first.enable(region, r)?;
            } else {
                pc.q_dot_private.enable(region, r)?;
            }
            // Slots past the last coefficient: committed zeros.
            let used = (terms.len() + 1).saturating_sub((r - ctx.row) * width).min(width);
            for col in &pc.w[used..] {
                let zero = if known { Value::known(Fr::zero()) } else { Value::unknown() };
                region.assign_advice(*col, r, zero);
            }
        }
        Ok(ctx.row + rows)
    }

    /// Lays out one neuron starting at `row`; returns the cell of its value and the next free row.
    fn assign_neuron(
        &self,
        region: &mut Region<'_, Fr>,
        cells: &[Cell],
        ctx: NeuronCtx<'_>,
    ) -> Result<(Cell, usize), PlonkError> {
        let cfg = &self.config;
        let NeuronCtx { neuron: n, index, mut row, value, witness, .. } = ctx;
        match &n.op {
            NeuronOp::Linear { terms, bias, private } => {
                let coefs = match (*private, cfg.private.as_ref(), ctx.commitment) {
                    (false, ..) => Some(Coefs::Fixed),
                    // `private`: the weights in the committed columns.
                    (true, Some(pc), _) if pc.q_dot_first.is_some() => None,
                    (true, Some(pc), Some((hash, first))) => Some(Coefs::Private { pc, hash, first }),
                    (true, ..) => return Err(PlonkError::Synthesis),
                };
                row = match (coefs, cfg.private.as_ref()) {
                    (Some(coefs), _) => self.assign_linear(region, cells, &ctx, (terms, *bias), coefs)?,
                    (None, Some(pc)) => self.assign_committed(region, cells, &ctx, (terms, *bias), pc)?,
                    (None, None) => return Err(PlonkError::Synthesis),
                };
            }
            NeuronOp::Mul { a, b } => {
                cfg.q_mul.enable(region, row)?;
                for (col, v) in cfg.x.iter().zip([*a as usize, *b as usize]) {
                    let cell = region.assign_advice(*col, row, value(v).map(to_field)).cell();
                    region.constrain_equal(cell, cells[v]);
                }
                row += 1;
            }
        }
        // Result row.
        let z = witness.map_or(Value::unknown(), |w| Value::known(w.z[index]));
        let z_cell = region.assign_advice(cfg.acc, row, z.map(to_field)).cell();
        if !n.has_post() {
            return Ok((z_cell, row + 1));
        }
        let y = witness.map_or(Value::unknown(), |w| {
            Value::known(w.values[self.spec.graph.num_inputs as usize + index] as i128)
        });
        if let Some(lc) = &cfg.limbs {
            let act = match n.act {
                None => PostAct::None,
                Some(_) if self.spec.sign_relu(n) => PostAct::Relu,
                Some(a) if self.gadgets[a as usize].is_some() => {
                    let gadget = self.gadgets[a as usize].ok_or(PlonkError::Synthesis)?;
                    let func = match &self.spec.graph.acts[a as usize] {
                        crate::ir::Activation::Interp { func, .. } => Some((**func).clone()),
                        _ => None,
                    };
                    PostAct::Precise(gadget, func, self.spec.scale)
                }
                Some(_) => PostAct::Table(self.tag_of(n)),
            };
            let cols = limbs::Columns { x: &cfg.x, acc: cfg.acc, f: &cfg.f, c: cfg.c };
            let post = limbs::Post { row, shift: n.shift, z, y, act, second_bits: self.spec.second_chain(n) };
            return limbs::assign_post(region, &cols, lc, post);
        }
        cfg.q_post.ok_or(PlonkError::Synthesis)?.enable(region, row)?;
        let d = n.shift;
        region.assign_fixed(cfg.f[0], row, to_field(1i128 << d));
        region.assign_fixed(cfg.f[1], row, to_field(i128::from(d)));
        region.assign_fixed(cfg.f[2], row, to_field(i128::from(self.tag_of(n))));
        region.assign_fixed(cfg.c, row, to_field(if d == 0 { 0 } else { 1i128 << (d - 1) }));
        let qr = z.map(|z| rescale(z, d));
        region.assign_advice(cfg.x[0], row, qr.map(|(q, _)| to_field(q)));
        region.assign_advice(cfg.x[1], row, qr.map(|(_, r)| to_field(r)));
        let y_cell = region.assign_advice(cfg.x[2], row, y.map(to_field)).cell();
        Ok((y_cell, row + 1))
    }
}

/// The private-parameter columns and their dot-product gates, with the Poseidon gadget (`hashed`: the
/// parameters are copied into its inputs) or as the KZG-committed weight columns (`private`: only the dot
/// products query them, at the current row; no equality; their hiding rows set by the circuit).
fn configure_private(
    meta: &mut ConstraintSystem<Fr>,
    x: &[Column<Advice>],
    acc: Column<Advice>,
    (f, c): (&[Column<Fixed>], Column<Fixed>),
    params: CircuitParams,
) -> PrivateConfig {
    // Hashed: one coefficient column per operand column; private: `store` weight columns.
    let weights = if params.hashed() { x.len() } else { params.store.clamp(1, x.len()) };
    let w: Vec<_> = (0..weights).map(|_| meta.advice_column()).collect();
    let (wb, q_init_private, q_dot_private) = if params.hashed() {
        let wb = meta.advice_column();
        for col in w.iter().chain([&wb]) {
            meta.enable_equality(*col);
        }
        let (q_init_private, q_dot_private) = (meta.selector(), meta.selector());
        let selectors = (q_init_private, q_dot_private);
        dot_gates(meta, ["dot_init_private", "dot_step_private"], selectors, (x, acc), (wb, &w));
        (Some(wb), Some(q_init_private), q_dot_private)
    } else {
        // `private`: the weight columns are the committed ones, used in place (no copies, no equality); the
        // circuit sets their hiding rows.
        for col in &w {
            meta.set_blinding_by_circuit(*col);
        }
        let q_dot_private = meta.selector();
        dot_step_gate(meta, "dot_step_private", q_dot_private, (x, acc), &w);
        (None, None, q_dot_private)
    };
    let q_dot_first = params.committed().then(|| {
        let q = meta.selector();
        meta.create_gate("dot_first_committed", |m| {
            let q = m.query_selector(q);
            let sum = x.iter().zip(&w).skip(1).fold(m.query_advice(w[0], Rotation::cur()), |s, (xc, wc)| {
                s + m.query_advice(*xc, Rotation::cur()) * m.query_advice(*wc, Rotation::cur())
            });
            vec![q * (m.query_advice(acc, Rotation::next()) - sum)]
        });
        q
    });
    let fixed: Vec<Column<Fixed>> = f.iter().copied().chain([c]).collect();
    let poseidon = params.hashed().then(|| PoseidonChip::configure(meta, x, &fixed));
    PrivateConfig { w, wb, q_init_private, q_dot_private, q_dot_first, poseidon }
}

/// The dot-product gates over coefficient columns of one kind (fixed, or private advice): where `q_init`,
/// `acc = bias`; where `q_dot`, `acc' = acc + Σ x_i·coef_i`.
fn dot_gates<C: Into<Column<Any>> + Copy>(
    meta: &mut ConstraintSystem<Fr>,
    [init_name, step_name]: [&'static str; 2],
    (q_init, q_dot): (Selector, Selector),
    (x, acc): (&[Column<Advice>], Column<Advice>),
    (bias, coefs): (C, &[C]),
) {
    meta.create_gate(init_name, |m| {
        let q = m.query_selector(q_init);
        vec![q * (m.query_advice(acc, Rotation::cur()) - m.query_any(bias, Rotation::cur()))]
    });
    dot_step_gate(meta, step_name, q_dot, (x, acc), coefs);
}

/// The dot-product step over coefficient columns of one kind: where `q_dot`, `acc' = acc + Σ x_i·coef_i`.
fn dot_step_gate<C: Into<Column<Any>> + Copy>(
    meta: &mut ConstraintSystem<Fr>,
    name: &'static str,
    q_dot: Selector,
    (x, acc): (&[Column<Advice>], Column<Advice>),
    coefs: &[C],
) {
    meta.create_gate(name, |m| {
        let q = m.query_selector(q_dot);
        let sum = x.iter().zip(coefs).fold(Expression::Constant(Fr::zero()), |s, (xc, cc)| {
            s + m.query_advice(*xc, Rotation::cur()) * m.query_any(*cc, Rotation::cur())
        });
        let next = m.query_advice(acc, Rotation::next());
        vec![q * (next - m.query_advice(acc, Rotation::cur()) - sum)]
    });
}

/// Where an affine neuron's coefficients live.
enum Coefs<'a> {
    /// Fixed cells (`--params fixed`, or structural coefficients).
    Fixed,
    /// Private witnesses copied to the commitment's cells from slot `first` on.
    Private { pc: &'a PrivateConfig, hash: &'a ParamCells, first: usize },
}

fn value_sum(v: Option<i128>) -> Value<i128> {
    v.map_or(Value::unknown(), Value::known)
}

/// Parameters of one neuron's layout.
struct NeuronCtx<'a> {
    neuron: &'a Neuron,
    index: usize,
    row: usize,
    value: &'a dyn Fn(usize) -> Value<i128>,
    witness: Option<&'a Evaluation>,
    /// The commitment's cells and the index of this neuron's first private parameter.
    commitment: Option<(&'a ParamCells, usize)>,
}

impl InferenceInstructions for InferenceChip {
    fn load_tables(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), PlonkError> {
        let cfg = &self.config;
        let spec = &self.spec;
        let shifts = spec.range_tags();
        layouter.assign_table(
            || "range",
            |mut t| {
                t.assign_cell(|| "shift", cfg.t_shift, 0, || Value::known(Fr::zero()))?;
                t.assign_cell(|| "rem", cfg.t_rem, 0, || Value::known(Fr::zero()))?;
                let mut row = 1;
                for &d in &shifts {
                    for r in 0..(1u64 << d) {
                        t.assign_cell(|| "shift", cfg.t_shift, row, || Value::known(Fr::from(u64::from(d))))?;
                        t.assign_cell(|| "rem", cfg.t_rem, row, || Value::known(Fr::from(r)))?;
                        row += 1;
                    }
                }
                Ok(())
            },
        )?;
        let mut tags: Vec<(u64, Option<&crate::ir::Activation>)> = spec
            .graph
            .acts
            .iter()
            .enumerate()
            .map(|(i, a)| (i as u64 + 1, Some(a)))
            .filter(|(_, a)| a.is_some_and(|a| spec.in_act_table(a)))
            .collect();
        if spec.needs_identity() {
            tags.push((spec.identity_tag(), None));
        }
        self.load_interp_table(layouter)?;
        let Some([t_tag, t_in, t_out]) = cfg.act_table else { return Ok(()) };
        layouter.assign_table(
            || "activation",
            |mut t| {
                for col in [t_tag, t_in, t_out] {
                    t.assign_cell(|| "zero", col, 0, || Value::known(Fr::zero()))?;
                }
                let mut row = 1;
                for (tag, act) in &tags {
                    for q in -spec.bound..spec.bound {
                        let y = act.map_or(q, |a| a.apply(q, spec.scale));
                        t.assign_cell(|| "tag", t_tag, row, || Value::known(Fr::from(*tag)))?;
                        t.assign_cell(|| "in", t_in, row, || Value::known(to_field(q as i128)))?;
                        t.assign_cell(|| "out", t_out, row, || Value::known(to_field(y as i128)))?;
                        row += 1;
                    }
                }
                Ok(())
            },
        )
    }

    fn assign_graph(
        &self,
        layouter: &mut impl Layouter<Fr>,
        value: &dyn Fn(usize) -> Value<i128>,
        witness: Option<&Evaluation>,
        commitment: Option<&ParamCells>,
    ) -> Result<Vec<Cell>, PlonkError> {
        let cfg = &self.config;
        let graph = &self.spec.graph;
        layouter.assign_region(
            || "inference",
            |mut region| {
                let w = cfg.x.len();
                let n_in = graph.num_inputs as usize;
                let mut cells = Vec::with_capacity(n_in + graph.neurons.len());
                for i in 0..n_in {
                    cells.push(region.assign_advice(cfg.x[i % w], i / w, value(i).map(to_field)).cell());
                }
                let mut row = n_in.div_ceil(w);
                let mut param = 0;
                for (index, neuron) in graph.neurons.iter().enumerate() {
                    let ctx = NeuronCtx {
                        neuron,
                        index,
                        row,
                        value,
                        witness,
                        commitment: commitment.map(|c| (c, param)),
                    };
                    let (cell, next) = self.assign_neuron(&mut region, &cells, ctx)?;
                    if let NeuronOp::Linear { terms, private: true, .. } = &neuron.op {
                        param += terms.len() + 1;
                    }
                    cells.push(cell);
                    row = next;
                }
                Ok(cells)
            },
        )
    }

    fn assign_commitment(
        &self,
        layouter: &mut impl Layouter<Fr>,
        known: bool,
        tails: Option<&StoreTails>,
    ) -> Result<Option<ParamCells>, PlonkError> {
        let Some(pc) = &self.config.private else { return Ok(None) };
        let Some(poseidon) = &pc.poseidon else {
            // `private`: the weight cells are laid out with their neurons; here only the proof's values of the
            // committed columns' hiding rows.
            if let Some(t) = tails.filter(|_| known) {
                layouter.assign_region(
                    || "weight columns' hiding rows",
                    |mut region| {
                        for (col, pair) in pc.committed_columns().iter().zip(&t.values) {
                            for (row, v) in t.rows.iter().zip(pair) {
                                region.assign_advice(*col, *row, Value::known(*v));
                            }
                        }
                        Ok(())
                    },
                )?;
            }
            return Ok(None);
        };
        let values = self.spec.graph.private_params();
        let params: Vec<Fr> = values.into_iter().map(|v| to_field(i128::from(v))).collect();
        let chip = PoseidonChip::new(poseidon.clone());
        let hash = layouter.assign_region(
            || "weights commitment",
            // halo2-axiom starts every region at row 0: lay the gadget out after the inference rows.
            |mut region| {
                let start = self.spec.inference_rows();
                chip.assign_hash(&mut region, start, params.len(), known.then_some(params.as_slice()))
            },
        )?;
        Ok(Some(ParamCells { values: hash.inputs, zero: hash.zero, hash: Some(hash.output) }))
    }

    fn expose_instances(
        &self,
        layouter: &mut impl Layouter<Fr>,
        cells: &[Cell],
        commitment: Option<&ParamCells>,
    ) -> Result<(), PlonkError> {
        let graph = &self.spec.graph;
        let n_in = graph.num_inputs as usize;
        for (i, cell) in cells.iter().take(n_in).enumerate() {
            layouter.constrain_instance(*cell, self.config.instance, i);
        }
        for (j, &out) in graph.outputs.iter().enumerate() {
            layouter.constrain_instance(cells[out as usize], self.config.instance, n_in + j);
        }
        if let Some(hash) = commitment.and_then(|c| c.hash) {
            layouter.constrain_instance(hash, self.config.instance, n_in + graph.outputs.len());
        }
        Ok(())
    }
}
