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
    let plan = plan::Plan::new(params, vk, num_instances)?;
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
    let embedded = generate_verifier(params, vk, num_instances)?;
    match compile_verifier(&embedded, solc) {
        Ok(compiled) => Ok((embedded, compiled)),
        Err(Error::CodeTooLarge { .. }) => {
            let separate = generate_verifier_with(params, vk, num_instances, VkPlacement::Separate)?;
            let compiled = compile_verifier(&separate, solc)?;
            Ok((separate, compiled))
        }
        Err(e) => Err(e),
    }
}
