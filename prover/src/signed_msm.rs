//! Faster commitments to witness columns of small signed integers, without forking halo2.
//!
//! zkoracle's advice columns hold small integers, and a negative `x` is the field element `p − |x|`: a
//! full-width scalar for which halo2curves' bucket MSM does an addition in every window, while a small
//! positive value needs one or two. [`SignedParams`] wraps [`ParamsKZG`] and commits a Lagrange polynomial
//! as `MSM(non-negative part) − MSM(|negative part|)`, the negative part holding the values `v` with `−v`
//! below 2^64 — the same group element, so proofs and keys are unchanged and the standard SHPLONK verifier
//! accepts them. [`SignedKzg`] / [`SignedShplonk`] plug it into `create_proof` in place of
//! `KZGCommitmentScheme` / `ProverSHPLONK`; everything else (the monomial-basis commitments of the quotient
//! and SHPLONK, the openings) is delegated unchanged.

use std::io;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::plonk::{create_proof, Circuit, Error as PlonkError, ProvingKey};
use halo2_proofs::poly::commitment::{Blind, CommitmentScheme, Params, ParamsProver, ParamsVerifier, Prover};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::msm::MSMKZG;
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::poly::{Coeff, LagrangeCoeff, Polynomial, ProverQuery};
use halo2_proofs::transcript::{EncodedChallenge, TranscriptWrite};
use rand::RngCore;

/// KZG parameters whose Lagrange commitments split small negative scalars out (see the module docs).
#[derive(Clone, Debug)]
pub struct SignedParams {
    inner: ParamsKZG<Bn256>,
}

impl SignedParams {
    /// Wraps `params`.
    pub fn new(params: ParamsKZG<Bn256>) -> Self {
        Self { inner: params }
    }

    /// The wrapped parameters.
    pub fn inner(&self) -> &ParamsKZG<Bn256> {
        &self.inner
    }
}

/// `Some(|v|)` when `v` is a negative integer above `−2^64` (that is, `−v < 2^64`).
fn small_negative(v: &Fr) -> Option<Fr> {
    let neg = -*v;
    let repr = neg.to_repr();
    (repr.as_ref()[8..].iter().all(|b| *b == 0) && !bool::from(v.is_zero())).then_some(neg)
}

/// A column is split when at least `1 / SPLIT_MIN_SHARE` of its values are small negatives: the second MSM
/// costs its bucket sums whatever its scalars, which only enough shortened scalars pay for (the Poseidon
/// columns of a private model, full-width hash states with a few small negatives, were 40% slower split).
const SPLIT_MIN_SHARE: usize = 8;

/// `values` as `(rest, negatives)`: `values = rest − negatives`, `negatives` holding the small negative ones
/// negated; `None` when too few are small negatives for the split to pay ([`SPLIT_MIN_SHARE`]).
fn split_signed(values: &[Fr]) -> Option<(Vec<Fr>, Vec<Fr>)> {
    let mut neg = vec![Fr::ZERO; values.len()];
    let mut rest = values.to_vec();
    let mut count = 0usize;
    for ((v, r), n) in values.iter().zip(rest.iter_mut()).zip(neg.iter_mut()) {
        if let Some(abs) = small_negative(v) {
            *n = abs;
            *r = Fr::ZERO;
            count += 1;
        }
    }
    (count > 0 && count * SPLIT_MIN_SHARE >= values.len()).then_some((rest, neg))
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
    }

    fn empty_msm(&'params self) -> MSMKZG<Bn256> {
        MSMKZG::new()
    }

    fn commit_lagrange(&self, poly: &Polynomial<Fr, LagrangeCoeff>, r: Blind<Fr>) -> G1 {
        match split_signed(poly.values()) {
            None => self.inner.commit_lagrange(poly, r),
            Some((rest, neg)) => {
                self.inner.commit_lagrange(&Polynomial::new(rest), r)
                    - self.inner.commit_lagrange(&Polynomial::new(neg), Blind::default())
            }
        }
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
        self.inner.commit(poly, r)
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
pub struct SignedKzg;

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
pub struct SignedShplonk<'params>(ProverSHPLONK<'params, Bn256>);

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
    use halo2_proofs::halo2curves::group::Curve;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;
    use crate::circuit::to_field;

    #[test]
    fn split_commitment_is_the_same_point() {
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
            // One small negative among full-width values: committed without a split.
            (0..n).map(|i| if i == 7 { to_field(-3) } else { Fr::random(&mut rng) }).collect(),
        ];
        for (i, values) in cases.into_iter().enumerate() {
            let poly = Polynomial::new(values);
            let want = params.commit_lagrange(&poly, Blind::default()).to_affine();
            assert_eq!(signed.commit_lagrange(&poly, Blind::default()).to_affine(), want, "case {i}");
        }
        assert!(split_signed(&[to_field(-1), to_field(2)]).is_some());
        let sparse: Vec<Fr> = (0..n).map(|i| to_field(if i == 0 { -1 } else { i as i128 })).collect();
        assert!(split_signed(&sparse).is_none(), "one negative in 64 is not worth a second MSM");
        assert_eq!(small_negative(&to_field(-5)), Some(Fr::from(5)));
        assert_eq!(small_negative(&to_field(5)), None);
        assert_eq!(small_negative(&Fr::ZERO), None);
        assert_eq!(small_negative(&to_field(-(1i128 << 64))), None);
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
