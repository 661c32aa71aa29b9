//! `zkoracle setup`: key generation, and the framed `pk.bin` / `vk.bin` files.
//!
//! A key file is `magic (8 bytes) ‖ sha256(payload) ‖ payload`, the payload being halo2's raw
//! serialization. The digest is checked before halo2 parses anything, so a corrupt or truncated file is a
//! clear error rather than a panic inside the parser (SHA-256 runs on the CPU's SHA extensions: about 6x
//! faster than keccak here, which matters on every load of a 25 MB proving key). `pk.bin` leaves out the
//! three polynomials that depend only on `k` and the number of blinding rows (`l_0`, `l_last`,
//! `l_active_row`); they are recomputed on read exactly as halo2's key generation computes them (checked
//! when the key is written).

use std::path::Path;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use sha2::Sha256;
use sha3::{Digest, Keccak256};

use crate::circuit::InferenceCircuit;
use crate::fsutil::write_atomic;
use crate::model_dir::ModelDir;
use crate::settings::CircuitSettings;
use crate::{Error, Result};

/// Version 2: SHA-256 digest, without the key-independent polynomials (version 1: keccak256, halo2's whole
/// serialization).
const PK_MAGIC: &[u8; 8] = b"ZKOPK\x00\x00\x02";
/// Version 2: SHA-256 digest (version 1: keccak256).
const VK_MAGIC: &[u8; 8] = b"ZKOVK\x00\x00\x02";

/// File names inside a model directory.
pub(crate) use crate::model_dir::files;

/// Bytes before a key file's payload: magic and SHA-256 digest.
const HEADER_LEN: usize = 40;

fn frame(magic: &[u8; 8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.resize(HEADER_LEN, 0);
    out.extend_from_slice(payload);
    seal_frame(magic, out)
}

/// Fills in the header of `buf`, a payload behind [`HEADER_LEN`] reserved bytes (no copy of the payload:
/// a k = 18 proving key is 270 MB).
fn seal_frame(magic: &[u8; 8], mut buf: Vec<u8>) -> Vec<u8> {
    let digest = Sha256::digest(&buf[HEADER_LEN..]);
    buf[..8].copy_from_slice(magic);
    buf[8..HEADER_LEN].copy_from_slice(&digest);
    buf
}

fn unframe<'a>(path: &Path, magic: &[u8; 8], bytes: &'a [u8]) -> Result<&'a [u8]> {
    if bytes.len() >= 40 && bytes[..5] == magic[..5] && bytes[..8] != magic[..] {
        return Err(Error::corrupt(path, "written by another zkoracle version: run `zkoracle setup` again"));
    }
    if bytes.len() < 40 || &bytes[..8] != magic {
        return Err(Error::corrupt(path, "not a zkoracle key file (bad magic or truncated)"));
    }
    let payload = &bytes[40..];
    if Sha256::digest(payload).as_slice() != &bytes[8..40] {
        return Err(Error::corrupt(path, "checksum mismatch: the file is corrupt or truncated"));
    }
    Ok(payload)
}

/// The keccak256 digest of a verifying key's serialization (what the oracle registry stores).
pub fn vk_digest(vk: &VerifyingKey<G1Affine>) -> [u8; 32] {
    Keccak256::digest(vk.to_bytes(SerdeFormat::RawBytes)).into()
}

/// Generates the keys for `settings` over `params`.
pub(crate) fn generate_keys(
    settings: &CircuitSettings,
    params: &ParamsKZG<Bn256>,
) -> Result<(ProvingKey<G1Affine>, VerifyingKey<G1Affine>)> {
    let circuit = InferenceCircuit { spec: settings.spec().into(), witness: None, tails: None };
    let vk = verifying_key(params, &circuit)?;
    let pk = keygen_pk(params, vk.clone(), &circuit)?;
    Ok((pk, vk))
}

/// The verifying key of `circuit`, with its simple selectors compressed: selectors never enabled on the same
/// row share one fixed column (as distinct values) wherever the constraint system's degree allows, so the
/// proof has fewer fixed polynomials to evaluate and the verifier fewer commitments to multiply.
pub(crate) fn verifying_key(
    params: &ParamsKZG<Bn256>,
    circuit: &InferenceCircuit,
) -> Result<VerifyingKey<G1Affine>> {
    Ok(keygen_vk_custom(params, circuit, true)?)
}

/// Writes `pk.bin` and `vk.bin` into `dir` atomically.
pub(crate) fn write_keys(dir: &Path, pk: &ProvingKey<G1Affine>, vk: &VerifyingKey<G1Affine>) -> Result<()> {
    let dir = ModelDir::new(dir);
    let pk_file = framed_compact_pk(pk)?;
    write_atomic(&dir.vk(), &frame(VK_MAGIC, &vk.to_bytes(SerdeFormat::RawBytes)))?;
    write_atomic(&dir.pk(), &pk_file)
}

/// halo2's serialization of `l_0`, `l_last` and `l_active_row` for `vk`'s domain and blinding rows,
/// computed as `keygen_pk` computes them.
fn lagrange_polys_bytes(vk: &VerifyingKey<G1Affine>) -> std::io::Result<Vec<u8>> {
    let domain = vk.get_domain();
    let n = 1usize << domain.k();
    let last = n - vk.cs().blinding_factors() - 1;
    let mut l0 = domain.empty_lagrange();
    l0[0] = Fr::ONE;
    let mut l_last = domain.empty_lagrange();
    l_last[last] = Fr::ONE;
    let mut l_active = domain.empty_lagrange();
    for v in l_active.iter_mut().take(last) {
        *v = Fr::ONE;
    }
    let mut out = Vec::with_capacity(3 * (4 + 32 * n));
    for poly in [l0, l_last, l_active] {
        let coeffs = domain.lagrange_to_coeff(poly);
        out.extend_from_slice(&(coeffs.len() as u32).to_be_bytes());
        for c in coeffs.iter() {
            c.write_raw(&mut out)?;
        }
    }
    Ok(out)
}

/// `pk.bin`: `pk`'s serialization without the polynomials [`lagrange_polys_bytes`] recomputes, framed;
/// fails (rather than writing a key that would not read back) if halo2's own copies differ from the
/// recomputed ones. halo2 serializes straight into the file's buffer (one allocation of the key's size).
fn framed_compact_pk(pk: &ProvingKey<G1Affine>) -> Result<Vec<u8>> {
    let err = Error::KeySerialization;
    let vk = pk.get_vk();
    let vk_len = vk.to_bytes(SerdeFormat::RawBytes).len();
    let derived = lagrange_polys_bytes(vk).map_err(err)?;
    // halo2's layout: the vk, 3 + 2 x fixed + 2 x permutation polynomials of n scalars (each with a 4-byte
    // length), and two 4-byte counts.
    let n = 1usize << vk.get_domain().k();
    let polys = 3 + 2 * pk.fixed_values().len() + 2 * vk.cs().permutation().get_columns().len();
    let mut buf = Vec::with_capacity(HEADER_LEN + vk_len + polys * (4 + 32 * n) + 16);
    buf.resize(HEADER_LEN, 0);
    pk.write(&mut buf, SerdeFormat::RawBytes).map_err(err)?;
    let (start, end) = (HEADER_LEN + vk_len, HEADER_LEN + vk_len + derived.len());
    if buf.len() < end || buf[start..end] != derived[..] {
        return Err(Error::KeyMismatch(
            "halo2's l_0/l_last/l_active_row differ from their recomputation".into(),
        ));
    }
    buf.drain(start..end);
    Ok(seal_frame(PK_MAGIC, buf))
}

/// Reads the proving key stored as `payload` by [`framed_compact_pk`], feeding halo2's reader the
/// recomputed polynomials between the verifying key and the rest (no copy of the payload).
fn read_compact_pk(payload: &[u8], settings: &CircuitSettings) -> std::io::Result<ProvingKey<G1Affine>> {
    use std::io::Read;
    let mut rest = payload;
    let vk = VerifyingKey::<G1Affine>::read::<_, InferenceCircuit>(
        &mut rest,
        SerdeFormat::RawBytes,
        settings.circuit_params,
    )?;
    let vk_bytes = &payload[..payload.len() - rest.len()];
    let derived = lagrange_polys_bytes(&vk)?;
    let mut full = vk_bytes.chain(&derived[..]).chain(rest);
    ProvingKey::<G1Affine>::read::<_, InferenceCircuit>(
        &mut full,
        SerdeFormat::RawBytes,
        settings.circuit_params,
    )
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
    let parsed = std::panic::catch_unwind(|| read_compact_pk(payload, settings));
    match parsed {
        Ok(Ok(pk)) => Ok(pk),
        Ok(Err(e)) => Err(Error::corrupt(path, format!("invalid proving key: {e}"))),
        Err(_) => Err(Error::corrupt(path, "proving key does not match circuit.json")),
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::compile::{compile, CompileOptions};

    /// `pk.bin` without the key-independent polynomials reads back to exactly halo2's proving key, and a key
    /// file of the previous format is refused with a message that says what to do.
    #[test]
    fn compact_proving_key_reads_back_exactly() {
        let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
        let opts = CompileOptions { width: Some(4), ..CompileOptions::default() };
        let settings = compile(&models.join("spread_mlp.onnx"), &models.join("spread_mlp.input.json"), &opts)
            .expect("compile");
        let cache = tempfile::tempdir().expect("tmp");
        let params = crate::srs::dev_srs(settings.k, cache.path()).expect("srs");
        let (pk, vk) = generate_keys(&settings, &params).expect("keys");
        let dir = tempfile::tempdir().expect("tmp");
        write_keys(dir.path(), &pk, &vk).expect("write");
        let path = dir.path().join(files::PK);
        let stored = std::fs::metadata(&path).expect("pk.bin").len() as usize;
        let full = pk.to_bytes(SerdeFormat::RawBytes);
        let n = 1usize << settings.k;
        assert_eq!(stored + 3 * (4 + 32 * n), full.len() + 40, "three polynomials of n elements left out");
        let read = read_pk(&path, &settings).expect("read");
        assert!(read.to_bytes(SerdeFormat::RawBytes) == full, "read-back key differs");

        let mut old = std::fs::read(&path).expect("read");
        old[7] = 1;
        std::fs::write(&path, &old).expect("write");
        let err = read_pk(&path, &settings).expect_err("version 1 accepted");
        assert!(
            matches!(&err, Error::Corrupt { path: p, message } if *p == path && message.contains("run `zkoracle setup` again")),
            "{err}"
        );
    }
}
