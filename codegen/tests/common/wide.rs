//! A wider circuit closer to a real model's: 8 advice columns (all under copy constraints, so 5
//! permutation product sets), two fixed columns, four gates (degree 3 and 4, rotations -1/0/+1,
//! scaled constants, a gate with two polynomials) and three lookups (1-, 2- and 3-tuples) into three
//! table columns; instances are full-width field elements copied into the first advice column.

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    halo2curves::{bn256::Fr, ff::Field},
    plonk::{
        Advice, Circuit, Column, ConstraintSystem, Error, Expression, Fixed, Instance, Selector, TableColumn,
    },
    poly::Rotation,
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const TABLE: u64 = 16;
const COEFFS: [u64; 8] = [3, 5, 7, 11, 13, 17, 19, 23];

#[derive(Clone, Debug)]
pub struct WideConfig {
    a: [Column<Advice>; 8],
    f: [Column<Fixed>; 2],
    q_dot: Selector,
    q_prod: Selector,
    q_lin: Selector,
    q_pair: Selector,
    q_l: Selector,
    t: [TableColumn; 3],
    instance: Column<Instance>,
}

#[derive(Clone, Debug, Default)]
pub struct WideCircuit {
    pub instances: Vec<Fr>,
    pub seed: u64,
}

impl WideCircuit {
    pub fn new(num_instances: usize, seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        WideCircuit { instances: (0..num_instances).map(|_| Fr::random(&mut rng)).collect(), seed }
    }
}

impl Circuit<Fr> for WideCircuit {
    type Config = WideConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        WideCircuit { instances: vec![Fr::ZERO; self.instances.len()], seed: self.seed }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> WideConfig {
        let a: [Column<Advice>; 8] = std::array::from_fn(|_| meta.advice_column());
        let f = [meta.fixed_column(), meta.fixed_column()];
        let instance = meta.instance_column();
        for c in a {
            meta.enable_equality(c);
        }
        meta.enable_equality(instance);
        let (q_dot, q_prod, q_lin, q_pair) =
            (meta.selector(), meta.selector(), meta.selector(), meta.selector());
        let q_l = meta.complex_selector();
        let t = [meta.lookup_table_column(), meta.lookup_table_column(), meta.lookup_table_column()];
        meta.create_gate("dot", |m| {
            let q = m.query_selector(q_dot);
            let v: Vec<Expression<Fr>> = a.iter().map(|c| m.query_advice(*c, Rotation::cur())).collect();
            let next = m.query_advice(a[7], Rotation::next());
            let f0 = m.query_fixed(f[0], Rotation::cur());
            let dot =
                (0..3).map(|i| v[2 * i].clone() * v[2 * i + 1].clone()).fold(f0 * v[0].clone(), |s, x| s + x);
            vec![q * (dot - next)]
        });
        meta.create_gate("prod", |m| {
            let q = m.query_selector(q_prod);
            let v: Vec<Expression<Fr>> = (0..4).map(|i| m.query_advice(a[i], Rotation::cur())).collect();
            vec![q * v[0].clone() * v[1].clone() * (v[2].clone() - v[3].clone())]
        });
        meta.create_gate("linear", |m| {
            let q = m.query_selector(q_lin);
            let lin = a.iter().zip(COEFFS).fold(m.query_fixed(f[1], Rotation::cur()), |s, (c, k)| {
                s + m.query_advice(*c, Rotation::cur()) * Fr::from(k)
            });
            let prev = m.query_advice(a[1], Rotation::prev());
            let next = m.query_advice(a[0], Rotation::next());
            vec![q * (lin + prev - next)]
        });
        meta.create_gate("pair", |m| {
            let q = m.query_selector(q_pair);
            let (x, y, b) = (
                m.query_advice(a[4], Rotation::cur()),
                m.query_advice(a[5], Rotation::cur()),
                m.query_advice(a[6], Rotation::cur()),
            );
            vec![q.clone() * (x - y), q * b.clone() * (b - Expression::Constant(Fr::ONE))]
        });
        meta.lookup("single", |m| {
            let q = m.query_selector(q_l);
            vec![(q * m.query_advice(a[2], Rotation::cur()), t[0])]
        });
        meta.lookup("pair", |m| {
            let q = m.query_selector(q_l);
            vec![
                (q.clone() * m.query_advice(a[0], Rotation::cur()), t[0]),
                (q * m.query_advice(a[1], Rotation::cur()), t[1]),
            ]
        });
        meta.lookup("triple", |m| {
            let q = m.query_selector(q_l);
            vec![
                (q.clone() * m.query_advice(a[3], Rotation::cur()), t[0]),
                (q.clone() * m.query_advice(a[4], Rotation::cur()), t[1]),
                (q * m.query_advice(a[5], Rotation::cur()), t[2]),
            ]
        });
        WideConfig { a, f, q_dot, q_prod, q_lin, q_pair, q_l, t, instance }
    }

    fn synthesize(&self, cfg: WideConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "powers",
            |mut table| {
                for i in 0..TABLE {
                    for (col, v) in cfg.t.iter().zip([i, i * i, i * i * i]) {
                        table.assign_cell(|| "t", *col, i as usize, || Value::known(Fr::from(v)))?;
                    }
                }
                Ok(())
            },
        )?;
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed ^ 0xabcdef);
        let mut rand = move || Fr::random(&mut rng);
        let n = self.instances.len();
        let cells = layouter.assign_region(
            || "wide",
            |mut region| {
                let mut row = 0;
                let mut inst_cells = Vec::new();
                // Instances into a[0]; the previous dot output is copied into a[3] of each row.
                for x in &self.instances {
                    inst_cells.push(region.assign_advice(cfg.a[0], row, Value::known(*x)).cell());
                    row += 1;
                }
                for t in 0..4usize {
                    // dot at `row`, output at row + 1.
                    cfg.q_dot.enable(&mut region, row)?;
                    let v: Vec<Fr> = (0..7).map(|_| rand()).collect();
                    let f0 = Fr::from(t as u64 + 2);
                    region.assign_fixed(cfg.f[0], row, f0);
                    let mut cells = Vec::new();
                    for (i, val) in v.iter().enumerate() {
                        cells.push(region.assign_advice(cfg.a[i], row, Value::known(*val)).cell());
                    }
                    let out = (0..3).fold(f0 * v[0], |s, i| s + v[2 * i] * v[2 * i + 1]);
                    let out_cell = region.assign_advice(cfg.a[7], row + 1, Value::known(out)).cell();
                    // Copy the output into a[6] two rows later (a copy constraint between columns).
                    let copy = region.assign_advice(cfg.a[6], row + 2, Value::known(out)).cell();
                    region.constrain_equal(out_cell, copy);
                    row += 3;
                }
                for _ in 0..3 {
                    cfg.q_prod.enable(&mut region, row)?;
                    let s = rand();
                    for (i, val) in [rand(), rand(), s, s].into_iter().enumerate() {
                        region.assign_advice(cfg.a[i], row, Value::known(val));
                    }
                    row += 1;
                }
                for t in 0..3usize {
                    // linear at `row` reads a[1] at row - 1 and writes a[0] at row + 1.
                    let prev = rand();
                    region.assign_advice(cfg.a[1], row, Value::known(prev));
                    row += 1;
                    cfg.q_lin.enable(&mut region, row)?;
                    let v: Vec<Fr> = (0..8).map(|_| rand()).collect();
                    let f1 = Fr::from(100 + t as u64);
                    region.assign_fixed(cfg.f[1], row, f1);
                    for (i, val) in v.iter().enumerate() {
                        region.assign_advice(cfg.a[i], row, Value::known(*val));
                    }
                    let next = v.iter().zip(COEFFS).fold(f1, |s, (x, k)| s + *x * Fr::from(k)) + prev;
                    region.assign_advice(cfg.a[0], row + 1, Value::known(next));
                    row += 2;
                }
                for b in [0u64, 1, 1, 0] {
                    cfg.q_pair.enable(&mut region, row)?;
                    let s = rand();
                    region.assign_advice(cfg.a[4], row, Value::known(s));
                    region.assign_advice(cfg.a[5], row, Value::known(s));
                    region.assign_advice(cfg.a[6], row, Value::known(Fr::from(b)));
                    row += 1;
                }
                for j in 0..5u64 {
                    cfg.q_l.enable(&mut region, row)?;
                    let (x, y) = (j + 3, (j * 5) % TABLE);
                    let vals = [x, x * x, (j + 7) % TABLE, y, y * y, y * y * y];
                    for (i, v) in vals.into_iter().enumerate() {
                        region.assign_advice(cfg.a[i], row, Value::known(Fr::from(v)));
                    }
                    row += 1;
                }
                Ok(inst_cells)
            },
        )?;
        for (i, c) in cells.into_iter().enumerate().take(n) {
            layouter.constrain_instance(c, cfg.instance, i);
        }
        Ok(())
    }
}
