//! KZG parameters (structured reference strings).
//!
//! Files use halo2's raw layout — the one of the public Perpetual Powers of Tau conversions (`kzg{k}.srs`)
//! that EZKL downloads: u32 LE `k`, 2^k G1 points (monomial), 2^k G1 points (Lagrange), g2, s·g2.
//! Without a file, a deterministic development SRS is generated and cached; its toxic waste is known, so it
//! is insecure for anything but development.

use std::path::{Path, PathBuf};

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, G1Affine, G2Affine};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::{SerdeCurveAffine, SerdeFormat};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::fsutil::write_atomic;
use crate::{Error, Result};

/// Seed of the development SRS. Public on purpose: anyone can forge proofs against it.
const DEV_SEED: u64 = 0x7a6b_6f72_6163_6c65;

/// Size in bytes of a raw SRS file for `k`.
pub(crate) fn srs_file_len(k: u32) -> u64 {
    4 + 128 * (1u64 << k) + 256
}

/// The default directory of cached development SRS files: `$HOME/.cache/zkoracle/srs` (the CLI's
/// `--srs-cache`, or `$ZKORACLE_SRS_DIR`, names another).
pub fn default_dev_dir() -> PathBuf {
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("zkoracle").join("srs")
}

/// Where [`crate::setup`] takes its SRS from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrsSource {
    /// A ceremony file (`kzg{k}.srs`, Perpetual Powers of Tau format); a larger one is downsized.
    File(PathBuf),
    /// The insecure development SRS, generated once per `k` and cached in `cache`.
    Dev {
        /// The cache directory.
        cache: PathBuf,
    },
}

impl SrsSource {
    /// The development SRS cached in [`default_dev_dir`].
    pub fn dev() -> Self {
        Self::Dev { cache: default_dev_dir() }
    }
}

/// Reads a raw SRS file, checking its length and every point.
pub fn read_srs(path: &Path) -> Result<ParamsKZG<Bn256>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() < 4 {
        return Err(Error::corrupt(path, "SRS file is truncated (no header)"));
    }
    let k = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if !(1..=28).contains(&k) || bytes.len() as u64 != srs_file_len(k) {
        return Err(Error::corrupt(
            path,
            format!("not a halo2 KZG SRS: header says k = {k} but the file has {} bytes", bytes.len()),
        ));
    }
    check_points(path, k, &bytes)?;
    let parsed = std::panic::catch_unwind(|| {
        ParamsKZG::<Bn256>::read_custom(&mut bytes.as_slice(), SerdeFormat::RawBytes)
    });
    match parsed {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(Error::corrupt(path, format!("invalid SRS: {e}"))),
        Err(_) => Err(Error::corrupt(path, "invalid SRS: a point is not on the curve")),
    }
}

/// Every G1 and G2 point of a raw SRS file must be on its curve (halo2's raw reader does not check).
fn check_points(path: &Path, k: u32, bytes: &[u8]) -> Result<()> {
    let n = 1usize << k;
    let g1_end = 4 + 2 * n * 64;
    for (i, chunk) in bytes[4..g1_end].chunks_exact(64).enumerate() {
        let p = G1Affine::read(&mut &chunk[..], SerdeFormat::RawBytes)
            .map_err(|e| Error::corrupt(path, format!("invalid SRS: G1 point #{i}: {e}")))?;
        // y² = x³ + 3 (checked by hand: the curve library's check accepts raw points it should not).
        let on_curve = p.y.square() - p.x.square() * p.x == Fq::from(3u64);
        if !on_curve && !bool::from(p.is_identity()) {
            return Err(Error::corrupt(path, format!("invalid SRS: G1 point #{i} is not on the curve")));
        }
    }
    for (i, chunk) in bytes[g1_end..].chunks_exact(128).enumerate() {
        let p = G2Affine::read(&mut &chunk[..], SerdeFormat::RawBytes)
            .map_err(|e| Error::corrupt(path, format!("invalid SRS: G2 point #{i}: {e}")))?;
        if !bool::from(p.is_on_curve()) {
            return Err(Error::corrupt(path, format!("invalid SRS: G2 point #{i} is not on the curve")));
        }
    }
    Ok(())
}

/// Writes `params` in the raw layout.
pub fn write_srs(path: &Path, params: &ParamsKZG<Bn256>) -> Result<()> {
    let mut buf = Vec::with_capacity(srs_file_len(params.k()) as usize);
    params.write_custom(&mut buf, SerdeFormat::RawBytes).map_err(|e| Error::io(path, e))?;
    write_atomic(path, &buf)
}

/// The development SRS for `k`, generated once and cached in `cache`.
pub fn dev_srs(k: u32, cache: &Path) -> Result<ParamsKZG<Bn256>> {
    let path = cache.join(format!("dev-kzg{k}.srs"));
    if path.exists() {
        if let Ok(p) = read_srs(&path) {
            return Ok(p);
        }
    }
    let params = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(DEV_SEED ^ u64::from(k)));
    write_srs(&path, &params)?;
    Ok(params)
}

/// `params` cut down to `k` (an error when smaller).
pub(crate) fn fit_srs(mut params: ParamsKZG<Bn256>, k: u32, source: &Path) -> Result<ParamsKZG<Bn256>> {
    if params.k() < k {
        return Err(Error::SrsTooSmall { path: source.into(), have: params.k(), need: k });
    }
    if params.k() > k {
        params.downsize(k);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flipped_point_byte_is_rejected() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("kzg.srs");
        let params = ParamsKZG::<Bn256>::setup(5, ChaCha20Rng::seed_from_u64(1));
        write_srs(&path, &params).expect("write");
        read_srs(&path).expect("honest SRS reads");
        let good = std::fs::read(&path).expect("read");
        for pos in [4 + 30, 4 + 64 * 32 + 64 + 62, good.len() - 100] {
            let mut bad = good.clone();
            bad[pos] ^= 0x55;
            std::fs::write(&path, &bad).expect("write");
            let err = read_srs(&path).expect_err("corrupt SRS accepted");
            assert!(matches!(&err, Error::Corrupt { path: p, .. } if *p == path), "{err}");
        }
    }
}
