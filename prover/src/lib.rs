//! zkoracle's prover: ONNX model → quantized neuron graph → halo2 circuit → SHPLONK KZG proof on BN254 with
//! the Keccak (EVM) transcript, verifiable by the Solidity verifier that `zkoracle-codegen` generates.
//!
//! Pipeline: [`compile::compile`] (calibrate, choose scale/width/k, write `circuit.json`), [`setup`] (keys),
//! [`ProvingModel::prove`], [`proof::verify_bundle`].
//!
//! Public instances, in order: the quantized inputs (`round(x · 2^scale)`), then the quantized outputs, then,
//! for `--params private`, the KZG commitment of the weight columns as 128-bit limbs ([`commit`]), or for
//! `--params hashed` the Poseidon commitment to the weights ([`params`]), and last the address of
//! the account the proof is made for (`uint256(uint160(fulfiller))`: no gate reads it, but the Fiat–Shamir
//! transcript absorbs every instance, so the proof verifies for that fulfiller only); a negative value `x` is
//! the field element `p − |x|`, `p` the BN254 scalar modulus.

pub mod circuit;
pub mod commit;
pub mod compile;
mod error;
pub mod field;
pub mod floor;
pub mod fsutil;
pub mod input;
pub mod ir;
pub mod keys;
pub mod lower;
mod model_dir;
pub mod params;
pub mod proof;
pub mod settings;
pub mod signed_msm;
pub mod srs;

use std::path::Path;

pub use error::{Error, Result};
pub use halo2_proofs::plonk::CosetCacheStats;
pub use model_dir::{files, ModelDir};
pub use proof::{ProofBundle, ProvingModel};
pub use settings::CircuitSettings;
pub use srs::SrsSource;

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
