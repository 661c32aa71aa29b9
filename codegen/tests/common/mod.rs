//! Shared test fixtures: deterministic keygen, EVM-transcript proofs and native verification.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod cases;
pub mod circuit;
pub mod evm;
pub mod golden;
pub mod reference;
pub mod wide;

use circuit::{Shape, TestCircuit};
use halo2_proofs::{
    halo2curves::bn256::{Bn256, Fr, G1Affine},
    plonk::{create_proof, keygen_pk, keygen_vk_custom, verify_proof, Circuit, ProvingKey, VerifyingKey},
    poly::kzg::{
        commitment::{KZGCommitmentScheme, ParamsKZG},
        multiopen::{ProverSHPLONK, VerifierSHPLONK},
        strategy::SingleStrategy,
    },
    transcript::{TranscriptReadBuffer, TranscriptWriterBuffer},
};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use snark_verifier::{loader::native::NativeLoader, system::halo2::transcript::evm::EvmTranscript};

type Transcript<S> = EvmTranscript<G1Affine, NativeLoader, S, Vec<u8>>;

/// A keyed circuit with one real proof.
pub struct Fixture {
    pub name: &'static str,
    pub params: ParamsKZG<Bn256>,
    pub pk: ProvingKey<G1Affine>,
    pub instances: Vec<Fr>,
    pub proof: Vec<u8>,
}

impl Fixture {
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }
}

/// Deterministic dev SRS (insecure; tests only).
pub fn srs(k: u32) -> ParamsKZG<Bn256> {
    ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(0x5eed_0000 + k as u64))
}

/// The test circuit with `num_instances` instances (`num_instances - 1` inputs and one output).
pub fn test_circuit(shape: Shape, num_instances: usize, seed: u64) -> TestCircuit {
    assert!(num_instances >= 2);
    let inputs = (0..num_instances - 1).map(|i| Fr::from(seed * 1000 + i as u64 * 7 + 1)).collect();
    TestCircuit { shape, inputs }
}

pub fn build(name: &'static str, k: u32, shape: Shape, num_instances: usize) -> Fixture {
    let circuit = test_circuit(shape, num_instances, 1);
    let instances = circuit.instances();
    build_with(name, k, circuit, instances)
}

/// Keygen (selectors compressed, as the zkoracle prover keys its circuits), one proof and its native
/// verification for any circuit.
pub fn build_with<C: Circuit<Fr>>(name: &'static str, k: u32, circuit: C, instances: Vec<Fr>) -> Fixture {
    let params = srs(k);
    let vk = keygen_vk_custom(&params, &circuit.without_witnesses(), true).expect("keygen_vk");
    let pk = keygen_pk(&params, vk, &circuit.without_witnesses()).expect("keygen_pk");
    let proof = prove(&params, &pk, circuit, &instances, 7);
    assert!(verify_native(&params, pk.get_vk(), &instances, &proof), "native verification failed");
    Fixture { name, params, pk, instances, proof }
}

/// Proves with SHPLONK over the keccak EVM transcript, exactly as the zkoracle prover does.
pub fn prove<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    seed: u64,
) -> Vec<u8> {
    let mut transcript = Transcript::<Vec<u8>>::init(Vec::new());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        params,
        pk,
        &[circuit],
        &[&[instances]],
        ChaCha20Rng::seed_from_u64(seed),
        &mut transcript,
    )
    .expect("create_proof");
    transcript.finalize()
}

pub fn verify_native(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> bool {
    let mut transcript = Transcript::<&[u8]>::init(proof);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params,
        vk,
        SingleStrategy::new(params),
        &[&[instances]],
        &mut transcript,
    )
    .is_ok()
}
