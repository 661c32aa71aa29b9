//! The prover's floor: how long halo2-axiom's own MSMs and FFTs take for a circuit's committed polynomials.
//!
//! [`count`] reads a constraint system the way halo2-axiom 0.5.3's `create_proof` with SHPLONK uses it
//! (`plonk/prover.rs`, `plonk/lookup/prover.rs`, `plonk/permutation/prover.rs`, `plonk/vanishing/prover.rs`,
//! `plonk/evaluation.rs`, `poly/kzg/multiopen/shplonk/prover.rs`):
//!
//! * commitments, one size-n MSM each: every advice column (Lagrange bases); per lookup argument the
//!   permuted input, the permuted table and the grand product (Lagrange); one permutation grand product per
//!   `degree − 2` equality columns (Lagrange); the vanishing argument's random polynomial and its
//!   `degree − 1` quotient pieces (monomial bases); SHPLONK's two opening commitments (monomial);
//! * inverse FFTs of size n: every instance and advice column, the three lookup polynomials per lookup and
//!   every permutation product (`lagrange_to_coeff`);
//! * coset FFTs of size n, once per part of the extended domain (`2^(extended_k − k)` parts): every fixed
//!   column (selectors included), `l_0`, `l_last`, `l_active_row`, every advice and instance column, every
//!   permutation product, every permutation σ polynomial and the three lookup polynomials per lookup
//!   (`evaluate_h`, `coeff_to_extended_part`);
//! * one inverse FFT of size `2^extended_k` (`extended_to_coeff` of the quotient).
//!
//! [`measure`] then times that many real calls — `commit_lagrange` / `commit` (halo2-axiom's
//! `best_multiexp` over the KZG parameters' bases), `lagrange_to_coeff`, `coeff_to_extended_part` and
//! `extended_to_coeff` on the circuit's own `EvaluationDomain`. An MSM's cost depends on its scalars (zero
//! digits are skipped, small values need few windows), so with an input ([`witness_columns`]) the advice
//! and permuted-lookup commitments are timed on the real columns of that input's witness (a permuted column
//! is timed as its unsorted multiset, which costs the same); the grand products, the vanishing polynomials
//! and SHPLONK's polynomials are full-width, and so are random scalars. Without an input every MSM gets
//! random scalars (the dense case, an upper bound for witness columns). FFT cost does not depend on values.
//! Everything else the prover does (synthesis, lookup sorting, grand products, gate evaluation, polynomial
//! evaluations, the SHPLONK quotient) is on top of the floor.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    synthesize_witness, Circuit, ConstraintSystem, Expression, ProvingKey, VerifyingKey,
};
use halo2_proofs::poly::commitment::{Blind, Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::poly::{EvaluationDomain, LagrangeCoeff, Polynomial, Rotation};
use halo2_proofs::transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::circuit::InferenceCircuit;
use crate::field::to_field;
use crate::input::quantize_inputs;
use crate::keys::{files, read_pk, read_vk};
use crate::model_dir::ModelDir;
use crate::settings::CircuitSettings;
use crate::{Error, Result};

/// What the prover commits to and transforms for one proof, per halo2-axiom 0.5.3 with SHPLONK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorCounts {
    /// log2 of the number of rows.
    pub k: u32,
    /// log2 of the extended (quotient) domain.
    pub extended_k: u32,
    /// Degree of the constraint system (after selector compression).
    pub degree: usize,
    /// Advice columns.
    pub advice_columns: usize,
    /// Instance columns.
    pub instance_columns: usize,
    /// Fixed columns, compressed selectors included.
    pub fixed_columns: usize,
    /// Lookup arguments.
    pub lookups: usize,
    /// Columns in the permutation (equality-enabled), each with a σ polynomial.
    pub equality_columns: usize,
    /// Permutation grand products: `ceil(equality_columns / (degree − 2))`.
    pub permutation_products: usize,
    /// Pieces of the quotient polynomial h(X): `degree − 1`.
    pub quotient_pieces: usize,
    /// Size-n MSMs over the Lagrange bases (advice, lookup, permutation commitments).
    pub msm_lagrange: usize,
    /// Size-n MSMs over the monomial bases (vanishing random poly, quotient pieces, SHPLONK).
    pub msm_monomial: usize,
    /// Inverse FFTs of size n.
    pub ifft: usize,
    /// Coset FFTs of size n (all parts of the extended domain).
    pub coset_fft: usize,
    /// Inverse FFTs of size `2^extended_k`.
    pub extended_ifft: usize,
    /// G1 points in the proof (one per MSM).
    pub proof_points: usize,
    /// Field elements in the proof (polynomial evaluations).
    pub proof_scalars: usize,
}

impl FloorCounts {
    /// Size of the proof in bytes with the EVM transcript (64-byte points, 32-byte scalars).
    pub fn evm_proof_bytes(&self) -> usize {
        64 * self.proof_points + 32 * self.proof_scalars
    }

    /// All size-n MSMs.
    pub fn msm(&self) -> usize {
        self.msm_lagrange + self.msm_monomial
    }
}

/// Counts the MSMs, FFTs and proof elements of one proof for the keyed constraint system `cs` (as in the
/// verifying key: selectors already compressed) over `domain`.
pub(crate) fn count(cs: &ConstraintSystem<Fr>, domain: &EvaluationDomain<Fr>) -> FloorCounts {
    let k = domain.k();
    let extended_k = domain.extended_k();
    let degree = cs.degree();
    let advice = cs.num_advice_columns();
    let instance = cs.num_instance_columns();
    let fixed = cs.num_fixed_columns();
    let lookups = cs.lookups().len();
    let equality = cs.permutation().get_columns().len();
    // The permutation argument needs degree >= 3 (halo2 asserts it); chunks of `degree − 2` columns.
    let products = if equality == 0 { 0 } else { equality.div_ceil(degree.saturating_sub(2).max(1)) };
    let pieces = domain.get_quotient_poly_degree();
    let parts = 1usize << (extended_k - k);
    let msm_lagrange = advice + 3 * lookups + products;
    let msm_monomial = 1 + pieces + 2;
    // Evaluations written to the transcript: advice and fixed queries, the random polynomial, the σ
    // polynomials, each permutation product at x and ωx (and at ω^last·x for all but the last set), and
    // five per lookup. SHPLONK does not query instance columns.
    let proof_scalars = cs.advice_queries().len()
        + cs.fixed_queries().len()
        + 1
        + equality
        + (3 * products).saturating_sub(1)
        + 5 * lookups;
    FloorCounts {
        k,
        extended_k,
        degree,
        advice_columns: advice,
        instance_columns: instance,
        fixed_columns: fixed,
        lookups,
        equality_columns: equality,
        permutation_products: products,
        quotient_pieces: pieces,
        msm_lagrange,
        msm_monomial,
        ifft: instance + advice + 3 * lookups + products,
        coset_fft: parts * (fixed + 3 + advice + instance + products + equality + 3 * lookups),
        extended_ifft: 1,
        proof_points: msm_lagrange + msm_monomial,
        proof_scalars,
    }
}

/// Seconds measured for each kind of operation (the best of the repeats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FloorSeconds {
    /// All MSMs over the Lagrange bases.
    pub msm_lagrange: f64,
    /// The part of `msm_lagrange` spent on witness columns (advice, permuted lookups); 0 without a witness.
    pub msm_witness: f64,
    /// The same witness MSMs as zkoracle's prover commits them ([`crate::signed_msm::SignedParams`]).
    pub msm_witness_signed: f64,
    /// All MSMs over the monomial bases.
    pub msm_monomial: f64,
    /// All size-n inverse FFTs.
    pub ifft: f64,
    /// All size-n coset FFTs.
    pub coset_fft: f64,
    /// The extended-domain inverse FFT(s).
    pub extended_ifft: f64,
}

impl FloorSeconds {
    /// MSM time.
    pub fn msm(&self) -> f64 {
        self.msm_lagrange + self.msm_monomial
    }

    /// FFT time.
    pub fn fft(&self) -> f64 {
        self.ifft + self.coset_fft + self.extended_ifft
    }

    /// The floor: MSMs plus FFTs.
    pub fn total(&self) -> f64 {
        self.msm() + self.fft()
    }

    fn min(self, o: Self) -> Self {
        Self {
            msm_lagrange: self.msm_lagrange.min(o.msm_lagrange),
            msm_witness: self.msm_witness.min(o.msm_witness),
            msm_witness_signed: self.msm_witness_signed.min(o.msm_witness_signed),
            msm_monomial: self.msm_monomial.min(o.msm_monomial),
            ifft: self.ifft.min(o.ifft),
            coset_fft: self.coset_fft.min(o.coset_fft),
            extended_ifft: self.extended_ifft.min(o.extended_ifft),
        }
    }
}

/// The floor of one compiled model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Floor {
    /// What one proof commits to and transforms.
    pub counts: FloorCounts,
    /// How long those operations took here.
    pub seconds: FloorSeconds,
    /// Timed repetitions (each figure is the best).
    pub repeats: usize,
    /// Where the constraint system came from: `vk.bin`, or key generation when the model is not set up.
    pub source: String,
    /// `witness` when the advice and lookup MSMs were timed on an input's witness, `dense` when on random
    /// scalars.
    pub scalars: String,
    /// How many of the Lagrange-basis MSMs ran on witness columns.
    pub witness_msms: usize,
}

/// The scalars of the committed columns that a witness fixes: advice columns and, per lookup argument, the
/// compressed input and table columns (the multisets that the permuted columns rearrange), all with the
/// random blinding rows the prover adds.
#[derive(Clone, Debug)]
pub(crate) struct WitnessColumns {
    /// Advice columns as committed.
    pub advice: Vec<Polynomial<Fr, LagrangeCoeff>>,
    /// Per lookup: compressed input, then compressed table.
    pub lookups: Vec<[Polynomial<Fr, LagrangeCoeff>; 2]>,
}

/// Times `counts`' operations `repeats` times (at least once) with `params`' bases over `domain`; the advice
/// and permuted-lookup MSMs use `witness`' columns when given, random scalars otherwise.
pub(crate) fn measure(
    counts: &FloorCounts,
    params: &ParamsKZG<Bn256>,
    domain: &EvaluationDomain<Fr>,
    witness: Option<&WitnessColumns>,
    repeats: usize,
) -> FloorSeconds {
    let mut rng = ChaCha20Rng::seed_from_u64(0x666c_6f6f72);
    let n = 1usize << domain.k();
    let mut random = |len: usize| -> Vec<Fr> { (0..len).map(|_| Fr::random(&mut rng)).collect() };
    let lagrange = domain.lagrange_from_vec(random(n));
    let coeff = domain.coeff_from_vec(random(n));
    let mut extended = domain.empty_extended();
    extended.iter_mut().zip(random(domain.extended_len())).for_each(|(v, r)| *v = r);
    let parts = 1usize << (domain.extended_k() - domain.k());
    let coset_per_part = counts.coset_fft / parts;
    let extended_omega = domain.get_extended_omega();
    // The Lagrange-basis MSMs: the witness columns where known, then dense ones up to the count.
    let known: Vec<&Polynomial<Fr, LagrangeCoeff>> = witness
        .map_or_else(Vec::new, |w| w.advice.iter().chain(w.lookups.iter().flat_map(|l| l.iter())).collect());
    let dense_lagrange = counts.msm_lagrange.saturating_sub(known.len());
    let signed = crate::signed_msm::SignedParams::new(params.clone());

    let mut best: Option<FloorSeconds> = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        for col in &known {
            std::hint::black_box(params.commit_lagrange(col, Blind::default()));
        }
        let witness_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for col in &known {
            std::hint::black_box(signed.commit_lagrange(col, Blind::default()));
        }
        let signed_s = t.elapsed().as_secs_f64();
        let s = FloorSeconds {
            msm_witness: witness_s,
            msm_witness_signed: signed_s,
            msm_lagrange: witness_s
                + time_repeated(dense_lagrange, || {
                    std::hint::black_box(params.commit_lagrange(&lagrange, Blind::default()));
                }),
            msm_monomial: time_repeated(counts.msm_monomial, || {
                std::hint::black_box(params.commit(&coeff, Blind::default()));
            }),
            ifft: time_consuming(counts.ifft, &lagrange, |p| {
                std::hint::black_box(domain.lagrange_to_coeff(p));
            }),
            coset_fft: (0..parts)
                .map(|part| {
                    let factor = extended_omega.pow_vartime([part as u64]);
                    time_consuming(coset_per_part, &coeff, |p| {
                        std::hint::black_box(domain.coeff_to_extended_part(p, factor));
                    })
                })
                .sum(),
            extended_ifft: time_consuming(counts.extended_ifft, &extended, |p| {
                std::hint::black_box(domain.extended_to_coeff(p));
            }),
        };
        best = Some(best.map_or(s, |b| b.min(s)));
    }
    best.unwrap_or_default()
}

/// The committed columns that proving `input` (real values) on the set-up model in `dir` fixes: the advice
/// from halo2-axiom's own phase-1 synthesis, and each lookup's compressed input and table columns.
pub(crate) fn witness_columns(dir: &Path, input: &[f64]) -> Result<WitnessColumns> {
    let model = crate::ProvingModel::load(dir)?;
    let s = model.settings();
    let q = quantize_inputs(input, s.scale)?;
    let evaluation = s.graph.evaluate(&q, s.scale, Some(s.bound))?;
    let pk = read_pk(&ModelDir::new(dir).pk(), s)?;
    let (_, params) = crate::proof::load_settings_and_srs(dir)?;
    // Instance values enter only the (uncommitted) instance column; the circuit never reads them.
    let instance: Vec<Fr> = q.iter().map(|&v| to_field(i128::from(v))).collect();
    let circuit =
        InferenceCircuit { spec: Arc::new(s.spec()), witness: Some(Arc::new(evaluation)), tails: None };
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(Vec::new());
    let (_, advice, _) = synthesize_witness::<
        KZGCommitmentScheme<Bn256>,
        ProverSHPLONK<'_, Bn256>,
        _,
        _,
        _,
        _,
    >(&params, &pk, &[circuit], &[&[&instance]], rand::rngs::OsRng, &mut transcript)?;
    let advice = advice.into_iter().next().map(|a| a.advice_values).unwrap_or_default();
    let lookups = compressed_lookups(&pk, &advice, &instance);
    Ok(WitnessColumns { advice, lookups })
}

/// Each lookup's input and table expressions evaluated on every row and compressed with a random θ, the last
/// `blinding_factors + 1` rows random, as `commit_permuted` does before sorting.
fn compressed_lookups(
    pk: &ProvingKey<G1Affine>,
    advice: &[Polynomial<Fr, LagrangeCoeff>],
    instance: &[Fr],
) -> Vec<[Polynomial<Fr, LagrangeCoeff>; 2]> {
    let domain = pk.get_vk().get_domain();
    let cs = pk.get_vk().cs();
    let n = 1usize << domain.k();
    let usable = n - (cs.blinding_factors() + 1);
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let theta = Fr::random(&mut rng);
    let fixed = pk.fixed_values();
    let at = |row: usize, rot: Rotation| (row as i64 + i64::from(rot.0)).rem_euclid(n as i64) as usize;
    let eval = |e: &Expression<Fr>, row: usize| -> Fr {
        e.evaluate(
            &|c| c,
            &|_| Fr::ZERO,
            &|q| fixed[q.column_index()][at(row, q.rotation())],
            &|q| advice[q.column_index()][at(row, q.rotation())],
            &|q| {
                instance
                    .get(at(row, q.rotation()))
                    .copied()
                    .filter(|_| q.column_index() == 0)
                    .unwrap_or(Fr::ZERO)
            },
            &|_| Fr::ZERO,
            &|a| -a,
            &|a, b| a + b,
            &|a, b| a * b,
            &|a, f| a * f,
        )
    };
    let mut compress = |exprs: &[Expression<Fr>]| {
        let mut values: Vec<Fr> =
            (0..n).map(|row| exprs.iter().fold(Fr::ZERO, |acc, e| acc * theta + eval(e, row))).collect();
        values[usable..].iter_mut().for_each(|v| *v = Fr::random(&mut rng));
        domain.lagrange_from_vec(values)
    };
    cs.lookups().iter().map(|l| [compress(l.input_expressions()), compress(l.table_expressions())]).collect()
}

/// Runs `op` `times` times; the total seconds.
fn time_repeated(times: usize, mut op: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..times {
        op();
    }
    t.elapsed().as_secs_f64()
}

/// Runs `op` `times` times on fresh copies of `input`; only `op` is timed (not the copy).
fn time_consuming<T: Clone>(times: usize, input: &T, mut op: impl FnMut(T)) -> f64 {
    let mut total = 0.0;
    for _ in 0..times {
        let copy = input.clone();
        let t = Instant::now();
        op(copy);
        total += t.elapsed().as_secs_f64();
    }
    total
}

/// The constraint system as keyed, its domain and KZG parameters for the model in `dir`: from `vk.bin` and
/// `kzg.srs` after `zkoracle setup`, else by key generation over the development SRS.
fn keyed(
    dir: &Path,
    settings: &CircuitSettings,
    srs_cache: &Path,
) -> Result<(VerifyingKey<G1Affine>, ParamsKZG<Bn256>, String)> {
    let model_dir = ModelDir::new(dir);
    let (vk_path, srs_path) = (model_dir.vk(), model_dir.srs());
    if vk_path.exists() && srs_path.exists() {
        let (_, params) = crate::proof::load_settings_and_srs(dir)?;
        let vk = read_vk(&vk_path, settings)?;
        return Ok((vk, params, files::VK.to_string()));
    }
    let params = crate::srs::dev_srs(settings.k, srs_cache)?;
    let circuit = InferenceCircuit { spec: settings.spec().into(), witness: None, tails: None };
    let vk = crate::keys::verifying_key(&params, &circuit)?;
    Ok((vk, params, "keygen_vk (model not set up)".to_string()))
}

/// `zkoracle floor`: counts and times the MSMs and FFTs of a proof for the compiled model in `dir`, with the
/// witness of `input` (real values; the model must be set up) or, without one, dense random scalars.
///
/// A model not set up is keyed over the development SRS cached in `srs_cache`.
pub fn floor(dir: &Path, input: Option<&[f64]>, repeats: usize, srs_cache: &Path) -> Result<Floor> {
    let settings = ModelDir::new(dir).read_settings()?;
    let (vk, params, source) = keyed(dir, &settings, srs_cache)?;
    // The circuit's own configuration must agree with the keyed constraint system (selectors aside).
    let mut configured = ConstraintSystem::<Fr>::default();
    let _ = InferenceCircuit::configure_with_params(&mut configured, settings.circuit_params);
    let cs = vk.cs();
    let same = configured.num_advice_columns() == cs.num_advice_columns()
        && configured.num_instance_columns() == cs.num_instance_columns()
        && configured.lookups().len() == cs.lookups().len()
        && configured.permutation().get_columns().len() == cs.permutation().get_columns().len();
    if !same {
        return Err(Error::corrupt(ModelDir::new(dir).vk(), "constraint system does not match circuit.json"));
    }
    let domain = vk.get_domain();
    let counts = count(cs, domain);
    if vk.permutation().commitments().len() != counts.equality_columns
        || vk.fixed_commitments().len() != counts.fixed_columns
    {
        return Err(Error::corrupt(
            ModelDir::new(dir).vk(),
            "column counts disagree with the constraint system",
        ));
    }
    let witness = input.map(|x| witness_columns(dir, x)).transpose()?;
    let seconds = measure(&counts, &params, domain, witness.as_ref(), repeats);
    let scalars = if witness.is_some() { "witness" } else { "dense" }.to_string();
    let witness_msms = witness.as_ref().map_or(0, |w| w.advice.len() + 2 * w.lookups.len());
    Ok(Floor { counts, seconds, repeats: repeats.max(1), source, scalars, witness_msms })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::compile::{compile, CompileOptions};
    use crate::input::read_input;
    use crate::ProvingModel;

    fn models() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
    }

    /// The counted points and scalars are exactly what a real proof of the model carries, for two
    /// different column shapes; and the floor is measured for both the set-up and the bare directory.
    #[test]
    fn counts_match_real_proofs() {
        let m = models();
        let input = read_input(&m.join("spread_mlp.input.json")).expect("input");
        let mut seen = Vec::new();
        for width in [4usize, 8] {
            let dir = tempfile::tempdir().expect("tmp");
            let d = dir.path();
            let opts = CompileOptions { width: Some(width), ..CompileOptions::default() };
            let settings = compile(&m.join("spread_mlp.onnx"), &m.join("spread_mlp.input.json"), &opts)
                .expect("compile");
            settings.write(&d.join(files::CIRCUIT)).expect("write");
            let cache = d.join("srs");
            let bare = floor(d, None, 1, &cache).expect("floor before setup");
            crate::setup(d, &crate::SrsSource::Dev { cache: cache.clone() }).expect("setup");
            let fl = floor(d, Some(&input), 1, &cache).expect("floor");
            assert_eq!(bare.counts, fl.counts, "keygen and vk.bin disagree");
            assert_eq!(
                (fl.source.as_str(), bare.scalars.as_str(), fl.scalars.as_str()),
                (files::VK, "dense", "witness")
            );
            let c = fl.counts;
            assert!(c.lookups >= 1 && c.permutation_products >= 1 && c.quotient_pieces >= 2, "{c:?}");
            let bundle =
                ProvingModel::load(d).expect("load").prove(&input, Default::default()).expect("prove");
            assert_eq!(bundle.proof.len(), c.evm_proof_bytes(), "width {width}: {c:?}");
            assert!(fl.seconds.msm() > 0.0 && fl.seconds.fft() > 0.0, "{:?}", fl.seconds);
            seen.push(c.proof_points);
            check_witness_columns(d, &input, &c);
        }
        assert_ne!(seen[0], seen[1], "the two shapes should commit to different numbers of columns");
    }

    /// The witness columns have the counted shape, and every compressed lookup input on a usable row (some
    /// of them non-zero) is a row of the compressed table (so the expressions were evaluated on the right
    /// cells).
    fn check_witness_columns(d: &Path, input: &[f64], c: &FloorCounts) {
        let w = witness_columns(d, input).expect("witness");
        assert_eq!((w.advice.len(), w.lookups.len()), (c.advice_columns, c.lookups));
        let settings = CircuitSettings::read(&d.join(files::CIRCUIT)).expect("settings");
        let (vk, _, _) = keyed(d, &settings, &d.join("srs")).expect("vk");
        let usable = (1usize << c.k) - (vk.cs().blinding_factors() + 1);
        let mut used = 0;
        for (i, [inp, table]) in w.lookups.iter().enumerate() {
            let rows: std::collections::HashSet<[u8; 32]> = table.values()[..usable]
                .iter()
                .map(halo2_proofs::halo2curves::ff::PrimeField::to_repr)
                .collect();
            used += inp.values()[..usable].iter().filter(|v| !bool::from(v.is_zero())).count();
            for (row, v) in inp.values()[..usable].iter().enumerate() {
                assert!(
                    rows.contains(&halo2_proofs::halo2curves::ff::PrimeField::to_repr(v)),
                    "lookup {i} row {row}"
                );
            }
        }
        assert!(used > 0, "no row uses any lookup");
    }
}
