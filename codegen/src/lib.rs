//! Solidity verifier generator for zkoracle's halo2 proofs (halo2-axiom 0.5, KZG with the SHPLONK
//! multi-opening over BN254, keccak transcript of snark-verifier's `EvmTranscript`).
//!
//! [`generate_verifier`] reads the circuit's shape from the verifying key's `ConstraintSystem`
//! (gates, lookups, permutation columns, queries and rotations) and writes one `Halo2Verifier`
//! contract whose `verifyProof(bytes proof, uint256[] instances)` replays the transcript, evaluates
//! the constraint identity at the challenge point, batches every opening into one MSM and ends in
//! one pairing check. [`compile_verifier`] compiles it with solc (standard JSON, optimizer on,
//! EVM cancun) and [`write_verifier_files`] writes the source and the compiled artifact.
//!
//! When the verifier's runtime code would exceed EIP-170's 24,576 bytes, the verifying key's
//! commitments move to a data-only `Halo2VerifyingKey` contract ([`VkPlacement::Separate`]), whose
//! address the verifier takes at construction and checks against its code hash;
//! [`build_verifier`] makes that choice by compiling.

mod compile;
mod error;
mod field;
mod files;
mod layout;
mod plan;
mod render;
mod yul;

pub use compile::{compile_verifier, CompiledContract, CompiledVerifier, EIP170_LIMIT};
pub use error::{Error, Result};
pub use files::write_verifier_files;

use halo2_proofs::{
    halo2curves::bn256::{Bn256, G1Affine},
    plonk::VerifyingKey,
    poly::kzg::commitment::ParamsKZG,
};
use std::path::Path;

/// Where the verifying key's fixed and permutation commitments live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VkPlacement {
    /// As constants in the verifier's code (one contract; cheapest to call).
    #[default]
    Embedded,
    /// In a separate data-only `Halo2VerifyingKey` contract read with `EXTCODECOPY` (two
    /// contracts; the verifier's constructor takes the key contract's address and checks its code
    /// hash). For circuits whose embedded verifier would exceed EIP-170.
    Separate,
}

/// A `--params private` circuit's weights knowledge proof, checked by the verifier beside the halo2 proof
/// (zkoracle-prover's `commit` module): the proof ends with `R.x ‖ R.y ‖ z_0 ‖ z_1` (32-byte big-endian
/// words), the registered commitment arrives as four 128-bit limbs per weight column (`x_lo, x_hi, y_lo,
/// y_hi`) among the instances, and the verifier requires
/// `z_0·B_0 + z_1·B_1 = R + Σ_j e^{j+1}·(C'_j − C_j)` with `C'_j` the proof's commitment of weight column
/// `j` and `e = keccak256(domain ‖ C_0 ‖ … ‖ C'_0 ‖ … ‖ R) mod r`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsKnowledge {
    /// Advice-column indices of the weight columns.
    pub columns: Vec<usize>,
    /// Index among the instances of the first commitment word.
    pub first_word: usize,
    /// `B_0`, `B_1`: the commitments of the Lagrange polynomials of the weight columns' hiding rows.
    pub bases: [G1Affine; 2],
    /// The challenge's domain separator.
    pub domain: [u8; 32],
}

impl WeightsKnowledge {
    /// Instance words per weight column.
    pub const WORDS_PER_COLUMN: usize = 4;
    /// Bytes the knowledge proof adds to the proof.
    pub const PROOF_BYTES: usize = 128;
}

/// A generated verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierSource {
    /// The Solidity source: `Halo2Verifier` (preceded by `Halo2VerifyingKey` when separate).
    pub solidity: String,
    /// Where the verifying key's commitments live.
    pub placement: VkPlacement,
    /// `keccak256` of the `Halo2VerifyingKey` runtime code the verifier accepts, when separate.
    pub vk_code_hash: Option<[u8; 32]>,
    /// The runtime code `Halo2VerifyingKey`'s constructor deploys (`0x00 ‖ words`), when separate.
    pub vk_runtime: Option<Vec<u8>>,
    /// The number of public instances `verifyProof` accepts.
    pub num_instances: usize,
    /// The exact proof length in bytes `verifyProof` accepts.
    pub proof_len: usize,
    /// Byte offset in the proof where the evaluations (32-byte scalars) start.
    pub evaluations_offset: usize,
}

impl VerifierSource {
    /// Name of the verifier contract in [`Self::solidity`].
    pub const VERIFIER_CONTRACT: &'static str = "Halo2Verifier";
    /// Name of the key contract in [`Self::solidity`] (present only when separate).
    pub const VK_CONTRACT: &'static str = "Halo2VerifyingKey";
}

/// Generates the Solidity verifier for `vk` with the commitments embedded in its code.
///
/// `params` must be the KZG parameters the proofs are made with (same `k`); `num_instances` is the
/// length of the circuit's single instance column.
pub fn generate_verifier(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<VerifierSource> {
    generate_verifier_with(params, vk, num_instances, VkPlacement::Embedded)
}

/// Generates the Solidity verifier for `vk` with the given [`VkPlacement`].
pub fn generate_verifier_with(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    placement: VkPlacement,
) -> Result<VerifierSource> {
    generate(params, vk, num_instances, (placement, None))
}

/// Generates the verifier of a `--params private` circuit: the halo2 proof and its weights knowledge proof.
pub fn generate_private_verifier(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    (placement, weights): (VkPlacement, &WeightsKnowledge),
) -> Result<VerifierSource> {
    generate(params, vk, num_instances, (placement, Some(weights)))
}

fn generate(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    (placement, weights): (VkPlacement, Option<&WeightsKnowledge>),
) -> Result<VerifierSource> {
    let plan = plan::Plan::new(params, vk, num_instances, weights)?;
    let rendered = render::render(
        &plan,
        match placement {
            VkPlacement::Embedded => render::Placement::Embedded,
            VkPlacement::Separate => render::Placement::Separate,
        },
    );
    Ok(VerifierSource {
        solidity: rendered.solidity,
        placement,
        vk_code_hash: rendered.vk_code_hash,
        vk_runtime: rendered.vk_runtime,
        num_instances,
        proof_len: plan.proof_len,
        evaluations_offset: plan.evals_start,
    })
}

/// Generates and compiles the verifier, embedding the verifying key when the verifier then fits
/// EIP-170 and moving it to a separate key contract otherwise.
pub fn build_verifier(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    solc: &Path,
) -> Result<(VerifierSource, CompiledVerifier)> {
    build_verifier_for(params, vk, (num_instances, None), solc)
}

/// [`build_verifier`], with the weights knowledge proof of a `--params private` circuit when given.
pub fn build_verifier_for(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    (num_instances, weights): (usize, Option<&WeightsKnowledge>),
    solc: &Path,
) -> Result<(VerifierSource, CompiledVerifier)> {
    let embedded = generate(params, vk, num_instances, (VkPlacement::Embedded, weights))?;
    match compile_verifier(&embedded, solc) {
        Ok(compiled) => Ok((embedded, compiled)),
        Err(Error::CodeTooLarge { .. }) => {
            let separate = generate(params, vk, num_instances, (VkPlacement::Separate, weights))?;
            let compiled = compile_verifier(&separate, solc)?;
            Ok((separate, compiled))
        }
        Err(e) => Err(e),
    }
}
