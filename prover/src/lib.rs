//! zkoracle's prover: ONNX model → quantized neuron graph → halo2 circuit → SHPLONK KZG proof on BN254 with
//! the Keccak (EVM) transcript, verifiable by the Solidity verifier that `zkoracle-codegen` generates.
//!
//! Pipeline: [`compile()`] (calibrate, choose scale/width/k, write `circuit.json`), [`setup`] (keys),
//! [`ProvingModel::prove`], [`verify_bundle`]. The modules are private: this page is the API, and
//! [`testing`] the documented internals the integration tests and the soundness suite drive directly.
//!
//! Public instances, in order: the quantized inputs (`round(x · 2^scale)`), then the quantized outputs, then,
//! for `--params private`, the KZG commitment of the weight columns as 128-bit limbs ([`WeightsCommitment`]),
//! or for `--params hashed` the Poseidon commitment to the weights ([`PrivateWeights`]), and last the address of
//! the account the proof is made for (`uint256(uint160(fulfiller))`: no gate reads it, but the Fiat–Shamir
//! transcript absorbs every instance, so the proof verifies for that fulfiller only); a negative value `x` is
//! the field element `p − |x|`, `p` the BN254 scalar modulus.

mod circuit;
mod commit;
mod compile;
mod error;
mod field;
mod fixed_msm;
mod floor;
mod fsutil;
mod input;
mod ir;
mod keys;
mod lower;
mod model_dir;
mod params;
mod proof;
mod settings;
mod signed_msm;
mod srs;
pub mod testing;

use std::path::Path;

pub use circuit::{CircuitParams, CircuitSpec};
pub use commit::{KnowledgeProof, WeightsCommitment};
pub use compile::{compile, CompileOptions, OnnxModel, Prefer};
pub use error::{Error, Result};
pub use field::{
    address_to_field, fr_from_b256, fr_from_hex, fr_to_b256, fr_to_be_bytes, fr_to_hex, to_field,
};
pub use floor::{floor, Floor};
pub use fsutil::write_atomic;
pub use halo2_proofs::plonk::CosetCacheStats;
pub use input::{quantize_inputs, read_input};
pub use ir::{Activation, Evaluation, Graph, Neuron, NeuronOp, UnaryOp, Var};
pub use keys::{read_pk, read_vk, vk_digest};
pub use model_dir::{files, ModelDir};
pub use params::{
    collect as collect_weights, commitment as poseidon_commitment, fill as fill_weights, PrivateWeights,
};
pub use proof::{
    encode_calldata, load_settings_and_srs, read_bundle, registered_commitment, verify_bundle,
    verify_weights, verify_with, weights_knowledge_spec, write_bundle, ProofBundle, ProvingModel,
    VerifiedBundle, DEFAULT_COSET_CACHE_MB,
};
pub use settings::{CircuitSettings, ParamsVisibility};
pub use srs::{default_dev_dir, dev_srs, read_srs, write_srs, SrsSource};

/// Result of [`setup`].
#[derive(Clone, Debug)]
pub struct SetupReport {
    /// keccak256 of the verifying key.
    pub vk_digest: alloy_primitives::B256,
    /// Whether the insecure development SRS was used.
    pub dev_srs: bool,
    /// Size of `pk.bin` in bytes.
    pub pk_bytes: u64,
    /// Size of `vk.bin` in bytes.
    pub vk_bytes: u64,
}

/// `zkoracle setup`: keys for the compiled model in `dir`, over the SRS `srs` names.
pub fn setup(dir: &Path, srs: &SrsSource) -> Result<SetupReport> {
    let dir = ModelDir::new(dir);
    let settings = dir.read_settings()?;
    let (params, dev) = match srs {
        SrsSource::File(p) => (srs::fit_srs(srs::read_srs(p)?, settings.k, p)?, false),
        SrsSource::Dev { cache } => (srs::dev_srs(settings.k, cache)?, true),
    };
    let (pk, vk) = keys::generate_keys(&settings, &params)?;
    srs::write_srs(&dir.srs(), &params)?;
    keys::write_keys(dir.root(), &pk, &vk)?;
    Ok(SetupReport {
        vk_digest: keys::vk_digest(&vk).into(),
        dev_srs: dev,
        pk_bytes: dir.size(files::PK),
        vk_bytes: dir.size(files::VK),
    })
}
