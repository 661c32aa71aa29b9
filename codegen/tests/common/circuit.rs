//! Small but representative halo2-axiom test circuits for the verifier generator.
//!
//! Shape (mirrors what the zkoracle prover emits): three advice columns, one fixed column, a simple
//! selector gate of degree 4 with rotations -1, 0 and +1, constants copied in through a fixed
//! constants column, copy constraints between advice cells and the single instance column, and
//! (optionally) two lookup arguments under a complex selector: a tuple lookup `(a, b)` into the
//! table columns `(t0, t1)` and a single-column lookup `b` into `t1`.

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    halo2curves::bn256::Fr,
    plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Fixed, Instance, Selector, TableColumn},
    poly::Rotation,
};

/// Size of the squares lookup table: `(i, i^2)` for `i < TABLE_LEN`.
pub const TABLE_LEN: u64 = 16;

/// Which features the circuit's constraint system has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Include the two lookup arguments.
    pub lookups: bool,
    /// Changes the fixed column (a different circuit with the same proof shape).
    pub variant: u64,
    /// Add a gate that reads the instance column at rotation -1: `q * (a - instance[-1]) = 0`.
    pub instance_gate: bool,
}

impl Shape {
    /// Gate + permutation + instance column only.
    pub fn simple(variant: u64) -> Self {
        Shape { lookups: false, variant, instance_gate: false }
    }
    /// Everything: lookups and an instance query in a gate.
    pub fn full(variant: u64) -> Self {
        Shape { lookups: true, variant, instance_gate: true }
    }
}

#[derive(Clone, Debug)]
pub struct TestConfig {
    a: Column<Advice>,
    b: Column<Advice>,
    c: Column<Advice>,
    f: Column<Fixed>,
    q_gate: Selector,
    q_instance: Option<Selector>,
    lookup: Option<(Selector, TableColumn, TableColumn)>,
    instance: Column<Instance>,
}

/// The gate: `q * (a * b * c + f * a + b[-1] - c[+1]) = 0`; instances are the inputs `x_i` copied
/// into `a`, followed by one output: the final `c`.
#[derive(Clone, Debug, Default)]
pub struct TestCircuit {
    pub shape: Shape,
    /// Public inputs (all but the last instance).
    pub inputs: Vec<Fr>,
}

fn b_value(i: usize) -> u64 {
    (i as u64 % 7) + 1
}

fn f_value(i: usize, variant: u64) -> u64 {
    3 * i as u64 + 2 + variant
}

impl TestCircuit {
    /// The instance column: the inputs followed by the output the circuit computes.
    pub fn instances(&self) -> Vec<Fr> {
        let mut out = self.inputs.clone();
        out.push(self.output());
        out
    }

    /// `c` values per row: `c_0 = 1`, then the gate's recurrence over the inputs.
    fn c_values(&self) -> Vec<Fr> {
        let mut c = vec![Fr::from(1)];
        // Row 0 only anchors b[-1] for row 1; the gate runs on rows 1..=m.
        c.push(Fr::from(5));
        for (i, x) in self.inputs.iter().enumerate() {
            let row = i + 1;
            let next = *x * Fr::from(b_value(row)) * c[row]
                + Fr::from(f_value(row, self.shape.variant)) * x
                + Fr::from(b_value(row - 1));
            c.push(next);
        }
        c
    }

    pub fn output(&self) -> Fr {
        *self.c_values().last().unwrap_or(&Fr::from(1))
    }
}

impl Circuit<Fr> for TestCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = Shape;

    fn without_witnesses(&self) -> Self {
        Self { shape: self.shape, inputs: vec![Fr::from(0); self.inputs.len()] }
    }

    fn params(&self) -> Shape {
        self.shape
    }

    fn configure(_meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        unreachable!("configure_with_params is used")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: Shape) -> TestConfig {
        let a = meta.advice_column();
        let b = meta.advice_column();
        let c = meta.advice_column();
        let f = meta.fixed_column();
        let constants = meta.fixed_column();
        let instance = meta.instance_column();
        meta.enable_equality(a);
        meta.enable_equality(b);
        meta.enable_equality(c);
        meta.enable_equality(instance);
        meta.enable_constant(constants);
        let q_gate = meta.selector();
        meta.create_gate("mul-add-next", |meta| {
            let q = meta.query_selector(q_gate);
            let a = meta.query_advice(a, Rotation::cur());
            let b_cur = meta.query_advice(b, Rotation::cur());
            let b_prev = meta.query_advice(b, Rotation::prev());
            let c_cur = meta.query_advice(c, Rotation::cur());
            let c_next = meta.query_advice(c, Rotation::next());
            let f = meta.query_fixed(f, Rotation::cur());
            vec![q * (a.clone() * b_cur * c_cur + f * a + b_prev - c_next)]
        });
        let q_instance = shape.instance_gate.then(|| {
            let q = meta.selector();
            meta.create_gate("instance-prev", |meta| {
                let s = meta.query_selector(q);
                let a = meta.query_advice(a, Rotation::cur());
                let i = meta.query_instance(instance, Rotation::prev());
                vec![s * (a - i)]
            });
            q
        });
        let lookup = shape.lookups.then(|| {
            let q_l = meta.complex_selector();
            let t0 = meta.lookup_table_column();
            let t1 = meta.lookup_table_column();
            meta.lookup("square pairs", |meta| {
                let q = meta.query_selector(q_l);
                let a = meta.query_advice(a, Rotation::cur());
                let b = meta.query_advice(b, Rotation::cur());
                vec![(q.clone() * a, t0), (q * b, t1)]
            });
            meta.lookup("squares", |meta| {
                let q = meta.query_selector(q_l);
                let b = meta.query_advice(b, Rotation::cur());
                vec![(q * b, t1)]
            });
            (q_l, t0, t1)
        });
        TestConfig { a, b, c, f, q_gate, q_instance, lookup, instance }
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        if let Some((_, t0, t1)) = config.lookup {
            layouter.assign_table(
                || "squares",
                |mut table| {
                    for i in 0..TABLE_LEN {
                        table.assign_cell(|| "x", t0, i as usize, || Value::known(Fr::from(i)))?;
                        table.assign_cell(|| "x^2", t1, i as usize, || Value::known(Fr::from(i * i)))?;
                    }
                    Ok(())
                },
            )?;
        }
        let c = self.c_values();
        let m = self.inputs.len();
        let (input_cells, output_cell) = layouter.assign_region(
            || "main",
            |mut region| {
                // Row 0: b[-1] anchor and the constant c_0 = 1.
                region.assign_advice(config.b, 0, Value::known(Fr::from(b_value(0))));
                region.assign_advice_from_constant(|| "c0", config.c, 0, Fr::from(1))?;
                let c1 = region.assign_advice(config.c, 1, Value::known(c[1]));
                region.constrain_constant(c1.cell(), Fr::from(5))?;
                let mut inputs = Vec::with_capacity(m);
                let mut b1 = None;
                for (i, x) in self.inputs.iter().enumerate() {
                    let row = i + 1;
                    config.q_gate.enable(&mut region, row)?;
                    if let Some(q) = config.q_instance {
                        q.enable(&mut region, row)?;
                    }
                    inputs.push(region.assign_advice(config.a, row, Value::known(*x)).cell());
                    let b = region.assign_advice(config.b, row, Value::known(Fr::from(b_value(row))));
                    if row == 1 {
                        b1 = Some(b.cell());
                    }
                    if row > 1 {
                        region.assign_advice(config.c, row, Value::known(c[row]));
                    }
                    region.assign_fixed(config.f, row, Fr::from(f_value(row, self.shape.variant)));
                }
                let out = region.assign_advice(config.c, m + 1, Value::known(c[m + 1])).cell();
                if let Some((q_l, _, _)) = config.lookup {
                    // Lookup rows: (j, j^2); the first one's `a` is copied from b at row 1.
                    let base = m + 3;
                    for j in 0..4usize {
                        let row = base + j;
                        let v = b_value(1) + j as u64;
                        q_l.enable(&mut region, row)?;
                        let a = region.assign_advice(config.a, row, Value::known(Fr::from(v)));
                        region.assign_advice(config.b, row, Value::known(Fr::from(v * v)));
                        if let (0, Some(b1)) = (j, b1) {
                            // b at row 1 equals the first looked-up `a`.
                            region.constrain_equal(a.cell(), b1);
                        }
                    }
                }
                Ok((inputs, out))
            },
        )?;
        for (i, cell) in input_cells.into_iter().enumerate() {
            layouter.constrain_instance(cell, config.instance, i);
        }
        layouter.constrain_instance(output_cell, config.instance, m);
        Ok(())
    }
}
