//! `zkoracle setup`: key generation, and the framed `pk.bin` / `vk.bin` files.
//!
//! A key file is `magic (8 bytes) ‖ keccak256(payload) ‖ payload`, the payload being halo2's raw
//! serialization. The digest is checked before halo2 parses anything, so a corrupt or truncated file is a
//! clear error rather than a panic inside the parser.

use std::path::Path;

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use sha3::{Digest, Keccak256};

use crate::circuit::InferenceCircuit;
use crate::fsutil::write_atomic;
use crate::settings::CircuitSettings;
use crate::{Error, Result};

const PK_MAGIC: &[u8; 8] = b"ZKOPK\x00\x00\x01";
const VK_MAGIC: &[u8; 8] = b"ZKOVK\x00\x00\x01";

/// File names inside a model directory.
pub mod files {
    /// Compiled settings.
    pub const CIRCUIT: &str = "circuit.json";
    /// Proving key.
    pub const PK: &str = "pk.bin";
    /// Verifying key.
    pub const VK: &str = "vk.bin";
    /// The SRS cut to the circuit's k (what prove and verify use).
    pub const SRS: &str = "kzg.srs";
    /// The private parameters and their commitment (`--params private`); keep it secret.
    pub const WEIGHTS: &str = "weights.json";
}

fn frame(magic: &[u8; 8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&Keccak256::digest(payload));
    out.extend_from_slice(payload);
    out
}

fn unframe<'a>(path: &Path, magic: &[u8; 8], bytes: &'a [u8]) -> Result<&'a [u8]> {
    if bytes.len() < 40 || &bytes[..8] != magic {
        return Err(Error::corrupt(path, "not a zkoracle key file (bad magic or truncated)"));
    }
    let payload = &bytes[40..];
    if Keccak256::digest(payload).as_slice() != &bytes[8..40] {
        return Err(Error::corrupt(path, "checksum mismatch: the file is corrupt or truncated"));
    }
    Ok(payload)
}

/// The keccak256 digest of a verifying key's serialization (what the oracle registry stores).
pub fn vk_digest(vk: &VerifyingKey<G1Affine>) -> [u8; 32] {
    Keccak256::digest(vk.to_bytes(SerdeFormat::RawBytes)).into()
}

/// Generates the keys for `settings` over `params`.
pub fn generate_keys(
    settings: &CircuitSettings,
    params: &ParamsKZG<Bn256>,
) -> Result<(ProvingKey<G1Affine>, VerifyingKey<G1Affine>)> {
    let circuit = InferenceCircuit { spec: settings.spec().into(), witness: None };
    let vk = verifying_key(params, &circuit)?;
    let pk = keygen_pk(params, vk.clone(), &circuit)?;
    Ok((pk, vk))
}

/// The verifying key of `circuit`, with its simple selectors compressed: selectors never enabled on the same
/// row share one fixed column (as distinct values) wherever the constraint system's degree allows, so the
/// proof has fewer fixed polynomials to evaluate and the verifier fewer commitments to multiply.
pub fn verifying_key(
    params: &ParamsKZG<Bn256>,
    circuit: &InferenceCircuit,
) -> Result<VerifyingKey<G1Affine>> {
    Ok(keygen_vk_custom(params, circuit, true)?)
}

/// Writes `pk.bin` and `vk.bin` into `dir` atomically.
pub fn write_keys(dir: &Path, pk: &ProvingKey<G1Affine>, vk: &VerifyingKey<G1Affine>) -> Result<()> {
    write_atomic(&dir.join(files::VK), &frame(VK_MAGIC, &vk.to_bytes(SerdeFormat::RawBytes)))?;
    write_atomic(&dir.join(files::PK), &frame(PK_MAGIC, &pk.to_bytes(SerdeFormat::RawBytes)))
}

/// Reads `vk.bin` for `settings`.
pub fn read_vk(path: &Path, settings: &CircuitSettings) -> Result<VerifyingKey<G1Affine>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let payload = unframe(path, VK_MAGIC, &bytes)?;
    let params = settings.circuit_params;
    let parsed = std::panic::catch_unwind(|| {
        VerifyingKey::<G1Affine>::read::<_, InferenceCircuit>(
            &mut &payload[..],
            SerdeFormat::RawBytes,
            params,
        )
    });
    match parsed {
        Ok(Ok(vk)) => Ok(vk),
        Ok(Err(e)) => Err(Error::corrupt(path, format!("invalid verifying key: {e}"))),
        Err(_) => Err(Error::corrupt(path, "verifying key does not match circuit.json")),
    }
}

/// Reads `pk.bin` for `settings`.
pub fn read_pk(path: &Path, settings: &CircuitSettings) -> Result<ProvingKey<G1Affine>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let payload = unframe(path, PK_MAGIC, &bytes)?;
    let params = settings.circuit_params;
    let parsed = std::panic::catch_unwind(|| {
        ProvingKey::<G1Affine>::read::<_, InferenceCircuit>(&mut &payload[..], SerdeFormat::RawBytes, params)
    });
    match parsed {
        Ok(Ok(pk)) => Ok(pk),
        Ok(Err(e)) => Err(Error::corrupt(path, format!("invalid proving key: {e}"))),
        Err(_) => Err(Error::corrupt(path, "proving key does not match circuit.json")),
    }
}
