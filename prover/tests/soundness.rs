//! The mutation suite: no assigned witness cell is free.
//!
//! For a small model of every op family the lowering supports, in both range-check modes (whole-range tables
//! and limbs), with fixed parameters, with private ones (`--params private`: every cell but those of the weight
//! columns, which the registered KZG commitment fixes outside the circuit) and with hashed ones (at every width
//! the compiler can choose for hashed models: 8, 16, 32), the real circuit is synthesized with its honest witness and public instances; then one
//! assigned advice cell at a time is changed to another value, as a dishonest prover would, the public
//! instances kept honest, and `MockProver` must reject every mutation. Circuits of up to [`FULL_LIMIT`]
//! assigned cells are mutated cell by cell; larger ones on a seeded random sample of [`SAMPLE`] cells.
//!
//! A changed cell at row `r` can only break a gate or lookup at rows `r ± max_rotation`, and only the copy
//! cycle it belongs to, so those rows and that cycle are re-checked (the vendored `MockProver`'s mutation
//! mode, with the lookup tables sorted once). Restricting the checks can only miss a rejection, never invent
//! one: a cell reported rejected is rejected by the full check too.
//!
//! `cargo test --test soundness` runs the fast set ([`fast_set`]); `make soundness` runs every case
//! (`-- --ignored`) and prints the table recorded in docs/SOUNDNESS.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy_primitives::Address;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error as PlonkError, Selector};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::Rotation;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zkoracle_prover::address_to_field;
use zkoracle_prover::testing::InferenceCircuit;
use zkoracle_prover::to_field;
use zkoracle_prover::ParamsVisibility;
use zkoracle_prover::{compile, CompileOptions};
use zkoracle_prover::{quantize_inputs, read_input};

/// Circuits with at most this many assigned advice cells are mutated cell by cell.
const FULL_LIMIT: usize = 5_000;
/// Cells mutated, at random with a fixed seed, in larger circuits.
const SAMPLE: usize = 2_000;

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// One row of the table: a model of an op family compiled one way.
#[derive(Clone, Copy, Debug)]
struct Case {
    family: &'static str,
    model: &'static str,
    limbs: bool,
    private: bool,
    /// With `private`: the weights in KZG-committed weight columns (`--params private`) instead of hashed by
    /// Poseidon (`--params hashed`).
    committed: bool,
    /// Operand columns (hashed models: 8, 16 or 32); `None` lets the compiler choose.
    width: Option<usize>,
    /// Precise non-linear functions (limbs): interpolated lookups, exact reciprocal and square root.
    precise: bool,
}

/// What a case's mutations showed.
#[derive(Debug)]
struct Outcome {
    k: u32,
    cells: usize,
    mutated: usize,
    rejected: usize,
    /// Cells whose mutation verified: `(advice column, row)`.
    survivors: Vec<(usize, usize)>,
}

/// The op families and the committed model that exercises each.
const FAMILIES: [(&str, &str); 11] = [
    ("linear (Gemm, MatMul)", "spread_mlp"),
    ("elementwise activations", "act_mlp"),
    ("conv", "cnn_mnist"),
    ("pool", "pool_cnn"),
    ("norm", "norm_mlp"),
    ("shape", "shape_ops"),
    ("recurrent LSTM", "lstm_seq"),
    ("recurrent GRU", "gru_seq"),
    ("recurrent RNN", "rnn_seq"),
    ("compare, logic, where", "logic_ops"),
    ("select, gather (trees)", "tree_trav_forest"),
];

/// Every case: each family in both modes, with fixed parameters, committed private ones, and hashed ones at
/// widths 8, 16, 32.
fn all_cases() -> Vec<Case> {
    let mut cases = vec![];
    for (family, model) in FAMILIES {
        for limbs in [false, true] {
            let base =
                Case { family, model, limbs, private: false, committed: false, width: None, precise: false };
            cases.push(base);
            cases.push(Case { private: true, committed: true, ..base });
            for w in [8, 16, 32] {
                cases.push(Case { private: true, width: Some(w), ..base });
            }
        }
    }
    cases
}

/// The cases `make test` runs: both modes, fixed and private (every private width), on the small models.
fn fast_set() -> Vec<Case> {
    let f = |family, model, limbs, private, width| Case {
        family,
        model,
        limbs,
        private,
        committed: false,
        width,
        precise: false,
    };
    let precise = |family, model| Case {
        family,
        model,
        limbs: true,
        private: false,
        committed: false,
        width: None,
        precise: true,
    };
    let committed =
        |family, model, limbs| Case { private: true, committed: true, ..f(family, model, limbs, true, None) };
    vec![
        committed("linear (Gemm, MatMul)", "spread_mlp", true),
        committed("linear (Gemm, MatMul)", "spread_mlp", false),
        f("linear (Gemm, MatMul)", "spread_mlp", false, false, None),
        f("linear (Gemm, MatMul)", "spread_mlp", true, false, None),
        f("linear (Gemm, MatMul)", "spread_mlp", true, true, Some(8)),
        f("linear (Gemm, MatMul)", "spread_mlp", false, true, Some(16)),
        f("linear (Gemm, MatMul)", "spread_mlp", true, true, Some(32)),
        f("compare, logic, where", "logic_ops", true, false, None),
        f("elementwise activations", "act_mlp", false, false, None),
        precise("precise: interp, exact reciprocal", "act_mlp"),
        precise("precise: exact rsqrt", "norm_mlp"),
        precise("precise: exact sqrt, reciprocal", "../corpus/rsqrt"),
        precise("precise: range-reduced log", "../corpus/log"),
    ]
}

/// Compiles `case` and returns the honest circuit, its instances and `k`.
fn build(case: &Case) -> Result<(InferenceCircuit, Vec<Fr>, u32), String> {
    let onnx = models().join(format!("{}.onnx", case.model));
    let input = models().join(format!("{}.input.json", case.model));
    let opts = CompileOptions {
        params: match (case.private, case.committed) {
            (false, _) => ParamsVisibility::Fixed,
            (true, true) => ParamsVisibility::Private,
            (true, false) => ParamsVisibility::Hashed,
        },
        limb_bits: Some(if case.limbs { 8 } else { 0 }),
        width: case.width,
        precise: Some(case.precise),
        ..CompileOptions::default()
    };
    let s = compile(&onnx, &input, &opts).map_err(|e| format!("compile: {e}"))?;
    let q = quantize_inputs(&read_input(&input).map_err(|e| e.to_string())?, s.scale)
        .map_err(|e| e.to_string())?;
    let ev = s.graph.evaluate(&q, s.scale, Some(s.bound)).map_err(|e| e.to_string())?;
    let mut instances: Vec<Fr> =
        q.iter().chain(&ev.outputs(&s.graph)).map(|&v| to_field(i128::from(v))).collect();
    if case.committed {
        // The commitment's words: no gate reads them (the verifier's knowledge proof does).
        instances.extend(std::iter::repeat_n(Fr::ZERO, s.spec().commitment_words()));
    } else if case.private {
        instances.push(zkoracle_prover::poseidon_commitment(&zkoracle_prover::collect_weights(&s.graph)));
    }
    instances.push(address_to_field(Address::repeat_byte(0xf1)));
    Ok((
        InferenceCircuit { spec: Arc::new(s.spec()), witness: Some(Arc::new(ev)), tails: None },
        instances,
        s.k,
    ))
}

/// Mutates the assigned advice cells of `prover` (all, or a seeded sample of [`SAMPLE`] above
/// [`FULL_LIMIT`]) one at a time and records which mutations `verify` rejects. Cells of `bound_columns`
/// are left alone: the weight columns of `--params private`, which the registered KZG commitment fixes
/// outside the circuit (prover/tests/hidden_weights.rs); every cell that uses a weight is mutated.
fn mutate(prover: &mut MockProver<Fr>, k: u32, seed: u64, bound_columns: &[usize]) -> Outcome {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut cells = prover.assigned_advice_cells();
    cells.retain(|(col, _)| !bound_columns.contains(col));
    let chosen: Vec<(usize, usize)> = if cells.len() <= FULL_LIMIT {
        cells.clone()
    } else {
        rand::seq::index::sample(&mut rng, cells.len(), SAMPLE).into_iter().map(|i| cells[i]).collect()
    };
    let rot = prover.max_rotation();
    let usable = prover.usable_rows();
    let mut outcome = Outcome { k, cells: cells.len(), mutated: 0, rejected: 0, survivors: vec![] };
    for &(col, row) in &chosen {
        let Some(honest) = prover.advice_value(col, row) else { continue };
        // Another value: off by one either way (what a sloppy range check lets through) or anything.
        let delta = match rng.gen_range(0..3) {
            0 => Fr::ONE,
            1 => -Fr::ONE,
            _ => Fr::random(&mut rng),
        };
        prover.set_advice(col, row, honest + delta);
        let rows = row.saturating_sub(rot).max(usable.start)..(row + rot + 1).min(usable.end);
        let rejected = prover.verify_at_rows(rows.clone(), rows).is_err();
        prover.set_advice(col, row, honest);
        outcome.mutated += 1;
        if rejected {
            outcome.rejected += 1;
        } else {
            outcome.survivors.push((col, row));
        }
    }
    outcome
}

fn run_case(case: &Case) -> Result<Outcome, String> {
    let (circuit, instances, k) = build(case)?;
    let bound = zkoracle_prover::testing::store_columns(circuit.spec.params);
    let mut prover = MockProver::run(k, &circuit, vec![instances]).map_err(|e| format!("mock: {e:?}"))?;
    prover.verify().map_err(|e| format!("honest witness rejected: {e:?}"))?;
    prover.enable_mutation_mode();
    Ok(mutate(&mut prover, k, 0x50_0d_5e_ed, &bound))
}

fn label(case: &Case) -> String {
    let mode = match (case.limbs, case.precise) {
        (true, true) => "limbs, precise",
        (true, false) => "limbs",
        _ => "tables",
    };
    let params = match (case.private, case.committed, case.width) {
        (true, true, _) => "private".into(),
        (true, false, Some(w)) => format!("hashed w{w}"),
        (true, false, None) => "hashed".into(),
        _ => "fixed".into(),
    };
    format!("| {} | {} | {mode} | {params} |", case.family, case.model)
}

/// Runs `cases`, prints the table, and fails naming every case with a survivor or an error.
fn run_table(cases: &[Case]) {
    println!("| family | model | mode | params | k | assigned cells | mutated | rejected | s |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut failures = vec![];
    for case in cases {
        let start = std::time::Instant::now();
        match run_case(case) {
            Ok(o) => {
                let s = start.elapsed().as_secs_f64();
                println!("{} {} | {} | {} | {} | {s:.0} |", label(case), o.k, o.cells, o.mutated, o.rejected);
                if !o.survivors.is_empty() {
                    let first: Vec<_> = o.survivors.iter().take(8).collect();
                    failures.push(format!(
                        "{}: {} free cells, e.g. {first:?}",
                        label(case),
                        o.survivors.len()
                    ));
                }
            }
            Err(e) => {
                println!("{} error: {e} | | | | |", label(case));
                failures.push(format!("{}: {e}", label(case)));
            }
        }
    }
    assert!(failures.is_empty(), "mutations that verified or cases that failed:\n{}", failures.join("\n"));
}

#[test]
fn every_mutated_cell_is_rejected_fast_set() {
    run_table(&fast_set());
}

/// `make soundness`: every family, both modes, fixed, private, and hashed at widths 8, 16 and 32.
#[test]
#[ignore = "long: run by `make soundness`"]
fn every_mutated_cell_is_rejected_all_families() {
    run_table(&all_cases());
}

/// A circuit that enables a selector no gate uses (and one that a gate uses).
#[derive(Clone, Debug, Default)]
struct DeadSelector;

impl Circuit<Fr> for DeadSelector {
    type Config = (Column<Advice>, Selector, Selector);
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        Self
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        let a = meta.advice_column();
        let (q_used, q_dead) = (meta.selector(), meta.selector());
        meta.create_gate("a_is_zero", |m| {
            vec![m.query_selector(q_used) * m.query_advice(a, Rotation::cur())]
        });
        (a, q_used, q_dead)
    }

    fn synthesize(
        &self,
        (a, q_used, q_dead): Self::Config,
        mut l: impl Layouter<Fr>,
    ) -> Result<(), PlonkError> {
        l.assign_region(
            || "rows",
            |mut region| {
                q_used.enable(&mut region, 0)?;
                q_dead.enable(&mut region, 1)?;
                region.assign_advice(a, 0, Value::known(Fr::ZERO));
                region.assign_advice(a, 1, Value::known(Fr::from(7)));
                Ok(())
            },
        )
    }
}

#[test]
fn keygen_refuses_a_selector_that_no_gate_uses() {
    let params = ParamsKZG::<Bn256>::setup(5, ChaCha20Rng::seed_from_u64(3));
    let err = halo2_proofs::plonk::keygen_vk(&params, &DeadSelector).expect_err("keyed a dead selector");
    assert!(matches!(err, PlonkError::UnusedSelector { index: 1 }), "{err:?}");
}
