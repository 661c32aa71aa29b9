//! Faster commitments to witness columns of small signed integers, without forking halo2's prover.
//!
//! zkoracle's advice columns hold small integers, and a negative `x` is the field element `p − |x|`: a
//! full-width scalar for which halo2curves' bucket MSM does an addition in every window. Its MSM also sums the
//! buckets of all 26 windows of a 254-bit scalar (two additions per bucket, 2^c buckets) whether or not any
//! scalar has a digit there, which for a column of small values costs more than the values' own additions.
//! [`SignedParams`] wraps [`ParamsKZG`] and commits a Lagrange polynomial whose values are mostly small signed
//! integers (`|v| < 2^64`) with a signed bucket method over the magnitudes' bits only ([`signed_msm`]): a
//! negative value adds the negated base, the windows stop at the column's largest magnitude and each window
//! sums its buckets only up to its largest digit; the few full-width values of such a column (the blinding
//! rows) go through halo2's MSM. The result is the same group element, so proofs and keys are unchanged and
//! the standard SHPLONK verifier accepts them. [`SignedKzg`] / [`SignedShplonk`] plug it into `create_proof`
//! in place of `KZGCommitmentScheme` / `ProverSHPLONK`; everything else (the monomial-basis commitments of the
//! quotient and SHPLONK, the openings) is delegated unchanged.

use std::io;
use std::sync::Arc;

use halo2_proofs::arithmetic::best_multiexp;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::group::Group;
use halo2_proofs::plonk::{create_proof, Circuit, Error as PlonkError, ProvingKey};
use halo2_proofs::poly::commitment::{Blind, CommitmentScheme, Params, ParamsProver, ParamsVerifier, Prover};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::msm::MSMKZG;
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::poly::{Coeff, LagrangeCoeff, Polynomial, ProverQuery};
use halo2_proofs::transcript::{EncodedChallenge, TranscriptWrite};
use rand::RngCore;
use rayon::prelude::*;

use crate::field::fr_to_le_limbs;
use crate::fixed_msm::{summation_by_parts, FixedBaseMsm, MAX_TABLE_BASES};

/// KZG parameters whose Lagrange commitments take small signed scalars by their magnitude (see the module
/// docs), and whose full-width commitments use precomputed window multiples once the warm prover has built
/// them ([`SignedParams::cache_tables`]).
#[derive(Clone, Debug)]
pub struct SignedParams {
    inner: ParamsKZG<Bn256>,
    /// Window multiples of the Lagrange-basis SRS (permutation and lookup products).
    lagrange: Option<Arc<FixedBaseMsm>>,
    /// Window multiples of the monomial-basis SRS (quotient pieces, the vanishing argument's random
    /// polynomial).
    monomial: Option<Arc<FixedBaseMsm>>,
}

impl SignedParams {
    /// Wraps `params`.
    pub fn new(params: ParamsKZG<Bn256>) -> Self {
        Self { inner: params, lagrange: None, monomial: None }
    }

    /// Keeps the window multiples of the Lagrange and then the monomial SRS points, each only if it fits in
    /// what is left of `max_bytes` and k ≤ 16 (`crate::fixed_msm`: full-width commitments about 1.6x faster
    /// at 2^13 points, 1.3x at 2^16, no faster above); returns the bytes kept. Commitments are the same
    /// group elements with or without them; `max_bytes = 0` drops them.
    pub(crate) fn cache_tables(&mut self, max_bytes: usize) -> usize {
        let n = self.inner.n() as usize;
        let each = FixedBaseMsm::bytes_for(n);
        let fit = |used: usize| n <= MAX_TABLE_BASES && used + each <= max_bytes;
        self.lagrange = fit(0).then(|| Arc::new(FixedBaseMsm::new(&self.inner.g_lagrange()[..n])));
        let used = self.table_bytes();
        self.monomial = fit(used).then(|| Arc::new(FixedBaseMsm::new(&self.inner.get_g()[..n])));
        self.table_bytes()
    }

    /// Bytes held by the window-multiple tables.
    pub(crate) fn table_bytes(&self) -> usize {
        [&self.lagrange, &self.monomial].iter().filter_map(|t| t.as_ref()).map(|t| t.bytes()).sum()
    }

    /// The wrapped parameters.
    pub fn inner(&self) -> &ParamsKZG<Bn256> {
        &self.inner
    }
}

/// `v` as `(negative, |v|)` when `|v| < 2^64` (`v` or `p − v` below 2^64).
fn small_signed(v: &Fr) -> Option<(bool, u64)> {
    let low = |f: &Fr| {
        let [l0, rest @ ..] = fr_to_le_limbs(f);
        rest.iter().all(|l| *l == 0).then_some(l0)
    };
    low(v).map(|m| (false, m)).or_else(|| low(&-*v).map(|m| (true, m)))
}

/// A column goes through halo2's MSM when more than `1 / FULL_WIDTH_MAX_SHARE` of its values are full-width
/// (random-looking: lookup products, hash states), where the bucket method over all windows is the right one.
const FULL_WIDTH_MAX_SHARE: usize = 4;

/// The window width minimising `windows · (points + 2·2^c)` additions for `n` points of `bits`-bit
/// magnitudes.
fn window_bits(n: usize, bits: u32) -> u32 {
    (1..=16u32).min_by_key(|&c| u64::from(bits.div_ceil(c)) * (n as u64 + (2u64 << c))).unwrap_or(1)
}

/// `Σ ±mags[i]·bases[i]` (negated where `negs[i]`) for magnitudes below `2^bits`, by buckets of `c`-bit
/// digits: `bits / c` windows, each summing its buckets only up to its largest digit. Serial.
fn signed_buckets(mags: &[u64], negs: &[bool], bases: &[G1Affine], bits: u32) -> G1 {
    let c = window_bits(mags.len(), bits);
    let mask = (1u64 << c) - 1;
    let mut buckets = vec![G1::identity(); 1 << c];
    let mut acc = G1::identity();
    for w in (0..bits.div_ceil(c)).rev() {
        for _ in 0..c {
            acc = acc.double();
        }
        buckets.iter_mut().for_each(|b| *b = G1::identity());
        let mut top = 0usize;
        for ((m, neg), base) in mags.iter().zip(negs).zip(bases) {
            let d = ((m >> (w * c)) & mask) as usize;
            if d == 0 {
                continue;
            }
            if *neg {
                buckets[d] -= base;
            } else {
                buckets[d] += base;
            }
            top = top.max(d);
        }
        acc += summation_by_parts(&buckets[1..=top]).0;
    }
    acc
}

/// `Σ v_i·bases[i]` for a column of small signed values (`(negative, |v|)`), the chunks of the points in
/// parallel.
pub(crate) fn signed_msm(mags: &[u64], negs: &[bool], bases: &[G1Affine]) -> G1 {
    let bits = 64 - mags.iter().fold(0u64, |a, m| a | m).leading_zeros();
    if bits == 0 {
        return G1::identity();
    }
    let chunk = mags.len().div_ceil(rayon::current_num_threads().max(1)).max(1024);
    mags.par_chunks(chunk)
        .zip(negs.par_chunks(chunk))
        .zip(bases.par_chunks(chunk))
        .map(|((m, n), b)| signed_buckets(m, n, b, bits))
        .reduce(G1::identity, |a, b| a + b)
}

/// `Σ values[i]·bases[i]` by [`signed_msm`] when at most `1 / FULL_WIDTH_MAX_SHARE` of the values are
/// full-width (those by halo2's MSM); `None` otherwise.
fn commit_small(values: &[Fr], bases: &[G1Affine]) -> Option<G1> {
    let n = values.len();
    let (mut mags, mut negs) = (vec![0u64; n], vec![false; n]);
    let (mut big, mut big_bases) = (vec![], vec![]);
    for (i, v) in values.iter().enumerate() {
        match small_signed(v) {
            Some((neg, m)) => (mags[i], negs[i]) = (m, neg),
            None => {
                if (big.len() + 1) * FULL_WIDTH_MAX_SHARE > n {
                    return None;
                }
                big.push(*v);
                big_bases.push(bases[i]);
            }
        }
    }
    let rest = if big.is_empty() { G1::identity() } else { best_multiexp(&big, &big_bases) };
    Some(signed_msm(&mags, &negs, bases) + rest)
}

impl<'params> Params<'params, G1Affine> for SignedParams {
    type MSM = MSMKZG<Bn256>;

    fn k(&self) -> u32 {
        Params::k(&self.inner)
    }

    fn n(&self) -> u64 {
        Params::n(&self.inner)
    }

    fn downsize(&mut self, k: u32) {
        self.inner.downsize(k);
        (self.lagrange, self.monomial) = (None, None);
    }

    fn empty_msm(&'params self) -> MSMKZG<Bn256> {
        MSMKZG::new()
    }

    fn commit_lagrange(&self, poly: &Polynomial<Fr, LagrangeCoeff>, r: Blind<Fr>) -> G1 {
        let values = poly.values();
        let bases = &self.inner.g_lagrange()[..values.len()];
        commit_small(values, bases).unwrap_or_else(|| match &self.lagrange {
            Some(table) if values.len() <= table.len() => table.msm(values),
            _ => self.inner.commit_lagrange(poly, r),
        })
    }

    fn write<W: io::Write>(&self, writer: &mut W) -> io::Result<()> {
        Params::write(&self.inner, writer)
    }

    fn read<R: io::Read>(reader: &mut R) -> io::Result<Self> {
        <ParamsKZG<Bn256> as Params<'_, G1Affine>>::read(reader).map(Self::new)
    }
}

impl<'params> ParamsVerifier<'params, G1Affine> for SignedParams {}

impl<'params> ParamsProver<'params, G1Affine> for SignedParams {
    type ParamsVerifier = SignedParams;

    fn new(k: u32) -> Self {
        Self::new(<ParamsKZG<Bn256> as ParamsProver<'_, G1Affine>>::new(k))
    }

    fn commit(&self, poly: &Polynomial<Fr, Coeff>, r: Blind<Fr>) -> G1 {
        match &self.monomial {
            Some(table) if poly.len() <= table.len() => table.msm(poly.values()),
            _ => self.inner.commit(poly, r),
        }
    }

    fn get_g(&self) -> &[G1Affine] {
        self.inner.get_g()
    }

    fn verifier_params(&'params self) -> &'params Self::ParamsVerifier {
        self
    }
}

/// KZG on BN254 with [`SignedParams`]; proofs are those of `KZGCommitmentScheme<Bn256>`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SignedKzg;

impl CommitmentScheme for SignedKzg {
    type Scalar = Fr;
    type Curve = G1Affine;
    type ParamsProver = SignedParams;
    type ParamsVerifier = SignedParams;

    fn new_params(k: u32) -> SignedParams {
        <SignedParams as ParamsProver<'_, G1Affine>>::new(k)
    }

    fn read_params<R: io::Read>(reader: &mut R) -> io::Result<SignedParams> {
        <SignedParams as Params<'_, G1Affine>>::read(reader)
    }
}

/// SHPLONK for [`SignedKzg`]: halo2-axiom's `ProverSHPLONK` on the wrapped parameters.
#[derive(Debug)]
pub(crate) struct SignedShplonk<'params>(ProverSHPLONK<'params, Bn256>);

impl<'params> Prover<'params, SignedKzg> for SignedShplonk<'params> {
    const QUERY_INSTANCE: bool = false;

    fn new(params: &'params SignedParams) -> Self {
        Self(ProverSHPLONK::new(&params.inner))
    }

    fn create_proof<'com, Ch: EncodedChallenge<G1Affine>, T: TranscriptWrite<G1Affine, Ch>, R, I>(
        &self,
        rng: R,
        transcript: &mut T,
        queries: I,
    ) -> io::Result<()>
    where
        I: IntoIterator<Item = ProverQuery<'com, G1Affine>> + Clone,
        R: RngCore,
    {
        <ProverSHPLONK<'params, Bn256> as Prover<'params, KZGCommitmentScheme<Bn256>>>::create_proof(
            &self.0, rng, transcript, queries,
        )
    }
}

/// `create_proof` with SHPLONK over [`SignedParams`]: the same proof as with `KZGCommitmentScheme<Bn256>`
/// and `ProverSHPLONK`, with cheaper advice commitments.
pub fn create_proof_signed<C, E, T>(
    params: &SignedParams,
    pk: &ProvingKey<G1Affine>,
    circuits: &[C],
    instances: &[&[&[Fr]]],
    rng: impl RngCore,
    transcript: &mut T,
) -> Result<(), PlonkError>
where
    C: Circuit<Fr>,
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWrite<G1Affine, E>,
{
    create_proof::<SignedKzg, SignedShplonk<'_>, E, _, T, C>(params, pk, circuits, instances, rng, transcript)
}

#[cfg(test)]
mod tests {
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::halo2curves::group::Curve;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::field::to_field;

    #[test]
    fn small_signed_commitment_is_the_same_point() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let params = ParamsKZG::<Bn256>::setup(6, ChaCha20Rng::seed_from_u64(5));
        let signed = SignedParams::new(params.clone());
        let n = 1usize << 6;
        let cases: Vec<Vec<Fr>> = vec![
            (0..n as i128).map(|i| to_field(i * 37 - 1000)).collect(),
            (0..n).map(|i| if i % 3 == 0 { Fr::random(&mut rng) } else { to_field(-(i as i128)) }).collect(),
            (0..n).map(|_| Fr::random(&mut rng)).collect(),
            (0..n).map(|i| to_field(-(1i128 << 63) - i as i128)).collect(),
            vec![Fr::ZERO; n],
            // One small negative among full-width values: halo2's MSM.
            (0..n).map(|i| if i == 7 { to_field(-3) } else { Fr::random(&mut rng) }).collect(),
            // Small values with a few full-width blinding rows at the end.
            (0..n)
                .map(|i| if i >= n - 6 { Fr::random(&mut rng) } else { to_field(i as i128 * 1001 - 20_000) })
                .collect(),
            vec![to_field(-1); n],
            (0..n)
                .map(|i| to_field(if i % 2 == 0 { u64::MAX as i128 } else { -(u64::MAX as i128) }))
                .collect(),
        ];
        for (i, values) in cases.into_iter().enumerate() {
            let poly = Polynomial::new(values);
            let want = params.commit_lagrange(&poly, Blind::default()).to_affine();
            assert_eq!(signed.commit_lagrange(&poly, Blind::default()).to_affine(), want, "case {i}");
        }
        assert_eq!(small_signed(&to_field(-5)), Some((true, 5)));
        assert_eq!(small_signed(&to_field(5)), Some((false, 5)));
        assert_eq!(small_signed(&Fr::ZERO), Some((false, 0)));
        assert_eq!(small_signed(&to_field(-(1i128 << 64))), None);
        assert_eq!(small_signed(&to_field((1i128 << 64) - 1)), Some((false, u64::MAX)));
        let few_big: Vec<Fr> =
            (0..n).map(|i| if i < 8 { Fr::random(&mut rng) } else { Fr::from(3) }).collect();
        assert!(commit_small(&few_big, params.g_lagrange()).is_some(), "blinding rows go to halo2's MSM");
        let many_big: Vec<Fr> =
            (0..n).map(|i| if i < 17 { Fr::random(&mut rng) } else { Fr::from(3) }).collect();
        assert!(commit_small(&many_big, params.g_lagrange()).is_none(), "mostly full-width: halo2's MSM");
    }

    #[test]
    fn signed_msm_matches_halo2_on_every_window_width() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let params = ParamsKZG::<Bn256>::setup(11, ChaCha20Rng::seed_from_u64(5));
        for (n, bits) in [(1usize, 1u32), (7, 3), (100, 20), (2048, 10), (2048, 33), (2048, 64)] {
            let mags: Vec<u64> = (0..n).map(|_| rng.next_u64() >> (64 - bits)).collect();
            let negs: Vec<bool> = (0..n).map(|_| rng.next_u32() % 2 == 0).collect();
            let scalars: Vec<Fr> = mags
                .iter()
                .zip(&negs)
                .map(|(m, neg)| if *neg { -Fr::from(*m) } else { Fr::from(*m) })
                .collect();
            let bases = &params.g_lagrange()[..n];
            let want = best_multiexp(&scalars, bases).to_affine();
            assert_eq!(signed_msm(&mags, &negs, bases).to_affine(), want, "n {n}, {bits} bits");
            assert_eq!(signed_buckets(&mags, &negs, bases, bits).to_affine(), want, "serial, n {n}");
        }
    }

    /// A real model's proof made with the signed commitments verifies with the standard SHPLONK verifier.
    #[test]
    fn signed_proof_verifies() {
        use std::path::Path;
        use std::sync::Arc;

        use snark_verifier::loader::native::NativeLoader;
        use snark_verifier::system::halo2::transcript::evm::EvmTranscript;

        use crate::circuit::InferenceCircuit;
        use crate::compile::{compile, CompileOptions};
        use crate::keys::{files, read_pk};
        use crate::proof::{load_settings_and_srs, verify_with};
        use halo2_proofs::transcript::TranscriptWriterBuffer;

        let m = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let s = compile(&m.join("risk_mlp.onnx"), &m.join("risk_mlp.input.json"), &CompileOptions::default())
            .expect("compile");
        s.write(&d.join(files::CIRCUIT)).expect("write");
        crate::setup(d, &crate::SrsSource::Dev { cache: d.join("srs") }).expect("setup");
        let (s, params) = load_settings_and_srs(d).expect("load");
        let pk = read_pk(&d.join(files::PK), &s).expect("pk");
        let input = crate::input::read_input(&m.join("risk_mlp.input.json")).expect("input");
        let q = crate::input::quantize_inputs(&input, s.scale).expect("quantize");
        let evaluation = s.graph.evaluate(&q, s.scale, Some(s.bound)).expect("evaluate");
        let outputs = evaluation.outputs(&s.graph);
        let instances: Vec<Fr> = q.iter().chain(&outputs).map(|&v| to_field(i128::from(v))).collect();
        let circuit =
            InferenceCircuit { spec: Arc::new(s.spec()), witness: Some(Arc::new(evaluation)), tails: None };
        let signed = SignedParams::new(params.clone());
        let mut transcript = EvmTranscript::<G1Affine, NativeLoader, _, Vec<u8>>::init(Vec::new());
        create_proof_signed(&signed, &pk, &[circuit], &[&[&instances]], rand::rngs::OsRng, &mut transcript)
            .expect("prove");
        let proof = transcript.finalize();
        verify_with(&params, pk.get_vk(), &proof, &instances).expect("signed proof verifies");
        let mut bad = instances.clone();
        bad[0] += Fr::ONE;
        assert!(verify_with(&params, pk.get_vk(), &proof, &bad).is_err(), "wrong instance accepted");
    }
}
