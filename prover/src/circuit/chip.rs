//! `InferenceChip`: dense dot-product, product and rescale/activation gates with their lookup tables.

use std::sync::Arc;

use halo2_proofs::circuit::{Cell, Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error as PlonkError, Expression, Fixed, Instance, Selector, TableColumn,
};
use halo2_proofs::poly::Rotation;

use super::{CircuitParams, CircuitSpec};
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
    pub q_post: Selector,
    /// Range table: shift.
    pub t_shift: TableColumn,
    /// Range table: remainder in `[0, 2^shift)`.
    pub t_rem: TableColumn,
    /// Activation table: tag.
    pub t_tag: TableColumn,
    /// Activation table: input `q`.
    pub t_in: TableColumn,
    /// Activation table: output `act(q)`.
    pub t_out: TableColumn,
    /// Public inputs then outputs.
    pub instance: Column<Instance>,
}

/// What the inference chip lays out.
pub trait InferenceInstructions {
    /// Fills the range and activation tables.
    fn load_tables(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), PlonkError>;
    /// Lays out inputs and neurons; returns the cell holding every value.
    fn assign_graph(
        &self,
        layouter: &mut impl Layouter<Fr>,
        value: &dyn Fn(usize) -> Value<i128>,
        witness: Option<&Evaluation>,
    ) -> Result<Vec<Cell>, PlonkError>;
    /// Constrains inputs and outputs to the instance column.
    fn expose_instances(&self, layouter: &mut impl Layouter<Fr>, cells: &[Cell]) -> Result<(), PlonkError>;
}

/// The chip over one spec.
#[derive(Clone, Debug)]
pub struct InferenceChip {
    config: InferenceConfig,
    spec: Arc<CircuitSpec>,
}

/// A signed integer as a field element (negative values are `p − |x|`).
pub fn to_field(x: i128) -> Fr {
    let f = Fr::from_u128(x.unsigned_abs());
    if x < 0 {
        -f
    } else {
        f
    }
}

/// Rows a neuron occupies: its operand rows plus the result row.
pub(crate) fn neuron_rows(n: &Neuron, width: usize) -> usize {
    match &n.op {
        NeuronOp::Linear { terms, .. } => terms.len().div_ceil(width).max(1) + 1,
        NeuronOp::Mul { .. } => 2,
    }
}

impl InferenceChip {
    /// A chip for `spec` with `config`.
    pub fn new(config: InferenceConfig, spec: Arc<CircuitSpec>) -> Self {
        Self { config, spec }
    }

    /// Allocates columns and declares the gates and lookups.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, params: CircuitParams) -> InferenceConfig {
        let width = params.width.max(4);
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
        let q_post = meta.complex_selector();
        let t_shift = meta.lookup_table_column();
        let t_rem = meta.lookup_table_column();
        let t_tag = meta.lookup_table_column();
        let t_in = meta.lookup_table_column();
        let t_out = meta.lookup_table_column();

        meta.create_gate("dot_init", |m| {
            let q = m.query_selector(q_init);
            vec![q * (m.query_advice(acc, Rotation::cur()) - m.query_fixed(c, Rotation::cur()))]
        });
        meta.create_gate("dot_step", |m| {
            let q = m.query_selector(q_dot);
            let sum = x.iter().zip(&f).fold(Expression::Constant(Fr::zero()), |s, (xc, fc)| {
                s + m.query_advice(*xc, Rotation::cur()) * m.query_fixed(*fc, Rotation::cur())
            });
            let next = m.query_advice(acc, Rotation::next());
            vec![q * (next - m.query_advice(acc, Rotation::cur()) - sum)]
        });
        meta.create_gate("mul", |m| {
            let q = m.query_selector(q_mul);
            let prod = m.query_advice(x[0], Rotation::cur()) * m.query_advice(x[1], Rotation::cur());
            vec![q * (m.query_advice(acc, Rotation::next()) - prod)]
        });
        meta.create_gate("rescale", |m| {
            let q = m.query_selector(q_post);
            let lhs = m.query_advice(acc, Rotation::cur()) + m.query_fixed(c, Rotation::cur());
            let rhs = m.query_advice(x[0], Rotation::cur()) * m.query_fixed(f[0], Rotation::cur())
                + m.query_advice(x[1], Rotation::cur());
            vec![q * (lhs - rhs)]
        });
        meta.lookup("range", |m| {
            let q = m.query_selector(q_post);
            vec![
                (q.clone() * m.query_fixed(f[1], Rotation::cur()), t_shift),
                (q * m.query_advice(x[1], Rotation::cur()), t_rem),
            ]
        });
        meta.lookup("activation", |m| {
            let q = m.query_selector(q_post);
            vec![
                (q.clone() * m.query_fixed(f[2], Rotation::cur()), t_tag),
                (q.clone() * m.query_advice(x[0], Rotation::cur()), t_in),
                (q * m.query_advice(x[2], Rotation::cur()), t_out),
            ]
        });
        InferenceConfig {
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
            t_tag,
            t_in,
            t_out,
            instance,
        }
    }

    fn tag_of(&self, n: &Neuron) -> u64 {
        match n.act {
            Some(a) => u64::from(a) + 1,
            None => self.spec.identity_tag(),
        }
    }

    /// Lays out one neuron starting at `row`; returns the cell of its value and the next free row.
    fn assign_neuron(
        &self,
        region: &mut Region<'_, Fr>,
        cells: &[Cell],
        ctx: NeuronCtx<'_>,
    ) -> Result<(Cell, usize), PlonkError> {
        let cfg = &self.config;
        let w = cfg.x.len();
        let NeuronCtx { neuron: n, index, mut row, value, witness } = ctx;
        match &n.op {
            NeuronOp::Linear { terms, bias } => {
                cfg.q_init.enable(region, row)?;
                region.assign_fixed(cfg.c, row, to_field(*bias as i128));
                let mut acc = value_sum(witness.map(|_| *bias as i128));
                let chunks: Vec<&[(u32, i64)]> =
                    if terms.is_empty() { vec![&[]] } else { terms.chunks(w).collect() };
                for chunk in chunks {
                    cfg.q_dot.enable(region, row)?;
                    region.assign_advice(cfg.acc, row, acc.map(to_field));
                    let mut delta = Value::known(0i128);
                    for (j, col) in cfg.x.iter().enumerate() {
                        let (v, coef) = chunk.get(j).map_or((None, 0), |(v, c)| (Some(*v as usize), *c));
                        let xv = v.map_or(Value::known(0), value);
                        let cell = region.assign_advice(*col, row, xv.map(to_field)).cell();
                        region.assign_fixed(cfg.f[j], row, to_field(coef as i128));
                        if let Some(v) = v {
                            region.constrain_equal(cell, cells[v]);
                        }
                        delta = delta.zip(xv).map(|(d, x)| d + x * coef as i128);
                    }
                    acc = acc.zip(delta).map(|(a, d)| a + d);
                    row += 1;
                }
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
        cfg.q_post.enable(region, row)?;
        let d = n.shift;
        region.assign_fixed(cfg.f[0], row, to_field(1i128 << d));
        region.assign_fixed(cfg.f[1], row, to_field(i128::from(d)));
        region.assign_fixed(cfg.f[2], row, to_field(i128::from(self.tag_of(n))));
        region.assign_fixed(cfg.c, row, to_field(if d == 0 { 0 } else { 1i128 << (d - 1) }));
        let qr = z.map(|z| rescale(z, d));
        region.assign_advice(cfg.x[0], row, qr.map(|(q, _)| to_field(q)));
        region.assign_advice(cfg.x[1], row, qr.map(|(_, r)| to_field(r)));
        let y = witness.map_or(Value::unknown(), |w| {
            Value::known(w.values[self.spec.graph.num_inputs as usize + index] as i128)
        });
        let y_cell = region.assign_advice(cfg.x[2], row, y.map(to_field)).cell();
        Ok((y_cell, row + 1))
    }
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
}

impl InferenceInstructions for InferenceChip {
    fn load_tables(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), PlonkError> {
        let cfg = &self.config;
        let spec = &self.spec;
        let shifts = spec.shifts();
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
        let mut tags: Vec<(u64, Option<&crate::ir::Activation>)> =
            spec.graph.acts.iter().enumerate().map(|(i, a)| (i as u64 + 1, Some(a))).collect();
        if spec.needs_identity() {
            tags.push((spec.identity_tag(), None));
        }
        layouter.assign_table(
            || "activation",
            |mut t| {
                for col in [cfg.t_tag, cfg.t_in, cfg.t_out] {
                    t.assign_cell(|| "zero", col, 0, || Value::known(Fr::zero()))?;
                }
                let mut row = 1;
                for (tag, act) in &tags {
                    for q in -spec.bound..spec.bound {
                        let y = act.map_or(q, |a| a.apply(q, spec.scale));
                        t.assign_cell(|| "tag", cfg.t_tag, row, || Value::known(Fr::from(*tag)))?;
                        t.assign_cell(|| "in", cfg.t_in, row, || Value::known(to_field(q as i128)))?;
                        t.assign_cell(|| "out", cfg.t_out, row, || Value::known(to_field(y as i128)))?;
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
                for (index, neuron) in graph.neurons.iter().enumerate() {
                    let ctx = NeuronCtx { neuron, index, row, value, witness };
                    let (cell, next) = self.assign_neuron(&mut region, &cells, ctx)?;
                    cells.push(cell);
                    row = next;
                }
                Ok(cells)
            },
        )
    }

    fn expose_instances(&self, layouter: &mut impl Layouter<Fr>, cells: &[Cell]) -> Result<(), PlonkError> {
        let graph = &self.spec.graph;
        let n_in = graph.num_inputs as usize;
        for (i, cell) in cells.iter().take(n_in).enumerate() {
            layouter.constrain_instance(*cell, self.config.instance, i);
        }
        for (j, &out) in graph.outputs.iter().enumerate() {
            layouter.constrain_instance(cells[out as usize], self.config.instance, n_in + j);
        }
        Ok(())
    }
}
