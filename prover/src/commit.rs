//! Hidden weights by KZG commitment (`--params private`): the weight columns, their registered commitment
//! and the per-proof knowledge proof that ties a proof's blinded columns to it. docs/HIDDEN_WEIGHTS.md has
//! the construction and the security argument; in short:
//!
//! * The private parameters sit in the `J` operand-weight advice columns of the dot-product rows, each beside
//!   the operand it multiplies (a neuron's bias in its first slot), at positions fixed by the architecture
//!   ([`crate::circuit::CircuitSpec::weight_cells`]); these columns hold weights only (every other usable row
//!   is zero) and only the dot-product gates query them, at the current row.
//! * Two rows past the usable ones ([`hiding_rows`]: `n − 2`, `n − 1`) carry two scalars per column that the
//!   circuit assigns itself (halo2-axiom patch `ConstraintSystem::set_blinding_by_circuit`). The registered
//!   commitment `C_j` has the owner's secret salt there; every proof puts fresh random values there, so its
//!   column commitment is `C'_j = C_j + δ_{j,0}·L_{n−2} + δ_{j,1}·L_{n−1}`, `L_i` the commitment of the
//!   `i`-th Lagrange polynomial.
//! * The proof carries a Schnorr proof of knowledge of those `δ` ([`KnowledgeProof`]), batched over the
//!   columns by powers of its challenge: `z_0·L_{n−2} + z_1·L_{n−1} = R + Σ_j e^{j+1}·(C'_j − C_j)` with
//!   `e = keccak256(DST ‖ C ‖ C' ‖ R) mod p`. The generated verifier checks it with `J + 2` ecMul.

use alloy_primitives::Bytes;
use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, FromUniformBytes, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::poly::commitment::{Blind, Params};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::poly::{LagrangeCoeff, Polynomial};
use rand::RngCore;
use sha3::{Digest, Keccak256};

use crate::field::{fr_to_be_bytes, to_field};

/// Rows of a weight column that hide it: the number of random scalars per proof. One more than the
/// number of points the column is opened at (it is only copy-constrained, so the permutation argument
/// opens it at `x` alone).
pub(crate) const HIDING_ROWS: usize = 2;

/// Words of one commitment point among the public instances: `x_lo, x_hi, y_lo, y_hi` (128-bit limbs).
pub(crate) const WORDS_PER_POINT: usize = 4;

/// Domain separator of the knowledge proof's challenge: `keccak256("zkoracle.weights-pok.v1")`.
pub(crate) fn challenge_domain() -> [u8; 32] {
    Keccak256::digest(b"zkoracle.weights-pok.v1").into()
}

/// The rows of a size-`2^k` column that hold its salt (registered) or blinding (per proof).
pub fn hiding_rows(k: u32) -> [usize; HIDING_ROWS] {
    let n = 1usize << k;
    [n - 2, n - 1]
}

/// The values of `columns` weight columns (length `2^k` each): the weight `cells` (`(column, row, value)`,
/// [`crate::circuit::CircuitSpec::weight_cells`]), `tails` (one pair per column) in the hiding rows, zero
/// elsewhere.
pub(crate) fn column_values(
    cells: &[(usize, usize, i64)],
    columns: usize,
    k: u32,
    tails: &[[Fr; HIDING_ROWS]],
) -> Vec<Vec<Fr>> {
    let n = 1usize << k;
    let mut cols = vec![vec![Fr::ZERO; n]; columns];
    for &(c, r, v) in cells {
        if let Some(cell) = cols.get_mut(c).and_then(|col| col.get_mut(r)) {
            *cell = to_field(i128::from(v));
        }
    }
    for (col, tail) in cols.iter_mut().zip(tails) {
        for (row, t) in hiding_rows(k).into_iter().zip(tail) {
            col[row] = *t;
        }
    }
    cols
}

/// KZG commitments of the weight columns with `tails` in their hiding rows.
pub fn commit_columns(
    params: &ParamsKZG<Bn256>,
    cells: &[(usize, usize, i64)],
    columns: usize,
    tails: &[[Fr; HIDING_ROWS]],
) -> Vec<G1Affine> {
    let k = params.k();
    column_values(cells, columns, k, tails)
        .into_iter()
        .map(|col| {
            params.commit_lagrange(&Polynomial::<Fr, LagrangeCoeff>::new(col), Blind::default()).to_affine()
        })
        .collect()
}

/// `L_{n−2}`, `L_{n−1}`: the commitments of the Lagrange polynomials of the hiding rows.
pub(crate) fn hiding_bases(params: &ParamsKZG<Bn256>) -> [G1Affine; HIDING_ROWS] {
    let n = params.n() as usize;
    hiding_rows(params.k()).map(|row| {
        let mut unit = vec![Fr::ZERO; n];
        unit[row] = Fr::ONE;
        params.commit_lagrange(&Polynomial::<Fr, LagrangeCoeff>::new(unit), Blind::default()).to_affine()
    })
}

/// Fresh uniform scalars for the hiding rows of `columns` columns (a salt, or a proof's blinding).
pub fn random_tails(columns: usize, mut rng: impl RngCore) -> Vec<[Fr; HIDING_ROWS]> {
    (0..columns).map(|_| [Fr::random(&mut rng), Fr::random(&mut rng)]).collect()
}

/// A field element's 32 big-endian bytes.
fn fq_be(f: &Fq) -> [u8; 32] {
    let mut b: [u8; 32] = f.to_repr();
    b.reverse();
    b
}

/// 32 big-endian bytes as a scalar reduced mod p (Solidity's `mod(x, p)`).
fn fr_from_be_reduced(be: &[u8; 32]) -> Fr {
    let mut wide = [0u8; 64];
    for (i, b) in be.iter().rev().enumerate() {
        wide[i] = *b;
    }
    Fr::from_uniform_bytes(&wide)
}

/// `(x, y)` of a point as 64 big-endian bytes (the identity, which no honest commitment is, as zeros).
pub(crate) fn point_be(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some(c) = Option::<_>::from(p.coordinates()) {
        let c: halo2_proofs::halo2curves::Coordinates<G1Affine> = c;
        out[..32].copy_from_slice(&fq_be(c.x()));
        out[32..].copy_from_slice(&fq_be(c.y()));
    }
    out
}

/// The point with big-endian coordinates `bytes` (`None` when not on the curve).
pub(crate) fn point_from_be(bytes: &[u8]) -> Option<G1Affine> {
    let coord = |b: &[u8]| -> Option<Fq> {
        let mut le: [u8; 32] = b.try_into().ok()?;
        le.reverse();
        Option::from(Fq::from_repr(le))
    };
    if bytes.len() != 64 {
        return None;
    }
    let (x, y) = (coord(&bytes[..32])?, coord(&bytes[32..])?);
    if x.is_zero_vartime() && y.is_zero_vartime() {
        return Some(G1Affine::identity());
    }
    Option::from(G1Affine::from_xy(x, y))
}

/// The registered commitment of a model's weight columns: one point per column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsCommitment(pub Vec<G1Affine>);

impl WeightsCommitment {
    /// The public-instance words: per point `x_lo, x_hi, y_lo, y_hi`, 128-bit limbs.
    pub fn words(&self) -> Vec<Fr> {
        let mut out = Vec::with_capacity(self.0.len() * WORDS_PER_POINT);
        for p in &self.0 {
            let b = point_be(p);
            for half in [&b[..32], &b[32..]] {
                let lo = u128::from_be_bytes(half[16..].try_into().unwrap_or([0; 16]));
                let hi = u128::from_be_bytes(half[..16].try_into().unwrap_or([0; 16]));
                out.push(Fr::from_u128(lo));
                out.push(Fr::from_u128(hi));
            }
        }
        out
    }

    /// The commitment whose [`WeightsCommitment::words`] are `words` (`None` when a limb is not below
    /// 2^128 or a point is not on the curve).
    pub fn from_words(words: &[Fr]) -> Option<Self> {
        if words.is_empty() || !words.len().is_multiple_of(WORDS_PER_POINT) {
            return None;
        }
        let limb = |f: &Fr| -> Option<[u8; 16]> {
            let be = fr_to_be_bytes(f);
            be[..16].iter().all(|b| *b == 0).then(|| be[16..].try_into().ok()).flatten()
        };
        words
            .chunks(WORDS_PER_POINT)
            .map(|w| {
                let mut b = [0u8; 64];
                b[16..32].copy_from_slice(&limb(&w[0])?);
                b[..16].copy_from_slice(&limb(&w[1])?);
                b[48..].copy_from_slice(&limb(&w[2])?);
                b[32..48].copy_from_slice(&limb(&w[3])?);
                point_from_be(&b)
            })
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }

    /// The points as 0x hex, `x ‖ y` big-endian per point.
    pub fn to_hex(&self) -> String {
        self.to_bytes().to_string()
    }

    /// The points as `proof.json` states them: `x ‖ y`, 32-byte big-endian each, per column.
    pub fn to_bytes(&self) -> Bytes {
        self.0.iter().flat_map(point_be).collect()
    }
}

/// A Schnorr proof of knowledge of `δ` with `Σ_j e^{j+1}·(C'_j − C_j) = Δ_0·L_{n−2} + Δ_1·L_{n−1}`, appended
/// to the halo2 proof: `R.x ‖ R.y ‖ z_0 ‖ z_1`, 32-byte big-endian words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnowledgeProof {
    /// The nonce commitment `R = k_0·L_{n−2} + k_1·L_{n−1}`.
    pub r: G1Affine,
    /// The responses `z_i = k_i + Σ_j e^{j+1}·δ_{j,i}`.
    pub z: [Fr; HIDING_ROWS],
}

/// The statement a knowledge proof is about.
#[derive(Clone, Copy, Debug)]
pub struct Statement<'a> {
    /// `L_{n−2}`, `L_{n−1}` ([`hiding_bases`]).
    pub bases: &'a [G1Affine; HIDING_ROWS],
    /// The registered commitment, a point per column.
    pub registered: &'a [G1Affine],
    /// The proof's commitments of the same columns.
    pub proof_columns: &'a [G1Affine],
}

impl KnowledgeProof {
    /// Encoded length in bytes.
    pub const BYTES: usize = 64 + 32 * HIDING_ROWS;

    /// The encoding appended to the halo2 proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = point_be(&self.r).to_vec();
        for z in &self.z {
            out.extend(fr_to_be_bytes(z));
        }
        out
    }

    /// Decodes [`KnowledgeProof::to_bytes`] (`None` when malformed: off-curve `R`, a response `>= p`).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::BYTES {
            return None;
        }
        let r = point_from_be(&bytes[..64])?;
        let z = |at: usize| -> Option<Fr> {
            let mut le: [u8; 32] = bytes[at..at + 32].try_into().ok()?;
            le.reverse();
            Option::from(Fr::from_repr(le))
        };
        Some(Self { r, z: [z(64)?, z(96)?] })
    }

    /// Proves knowledge of `deltas` (per column, the proof's hiding-row values minus the salt).
    pub fn prove(st: Statement<'_>, deltas: &[[Fr; HIDING_ROWS]], mut rng: impl RngCore) -> Self {
        let nonces = [Fr::random(&mut rng), Fr::random(&mut rng)];
        let r = (st.bases[0] * nonces[0] + st.bases[1] * nonces[1]).to_affine();
        let e = challenge(st, &r);
        let mut z = nonces;
        let mut pow = e;
        for d in deltas {
            for (zi, di) in z.iter_mut().zip(d) {
                *zi += pow * di;
            }
            pow *= e;
        }
        Self { r, z }
    }

    /// Whether the proof holds for `st`.
    pub fn verify(&self, st: Statement<'_>) -> bool {
        if st.registered.len() != st.proof_columns.len() || st.registered.is_empty() {
            return false;
        }
        let e = challenge(st, &self.r);
        let lhs = st.bases[0] * self.z[0] + st.bases[1] * self.z[1];
        let mut rhs = G1::from(self.r);
        let mut pow = e;
        for (c, c_proof) in st.registered.iter().zip(st.proof_columns) {
            rhs += (G1::from(*c_proof) - G1::from(*c)) * pow;
            pow *= e;
        }
        bool::from((lhs - rhs).is_identity())
    }
}

/// `e = keccak256(DST ‖ C_0 ‖ … ‖ C'_0 ‖ … ‖ R) mod p`, points as `x ‖ y` big-endian.
pub(crate) fn challenge(st: Statement<'_>, r: &G1Affine) -> Fr {
    let mut h = Keccak256::new();
    h.update(challenge_domain());
    for p in st.registered.iter().chain(st.proof_columns).chain([r]) {
        h.update(point_be(p));
    }
    fr_from_be_reduced(&h.finalize().into())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;

    #[test]
    fn words_round_trip_and_reject_wide_limbs() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let c = WeightsCommitment((0..3).map(|_| G1::random(&mut rng).to_affine()).collect());
        let words = c.words();
        assert_eq!(words.len(), 12);
        assert_eq!(WeightsCommitment::from_words(&words), Some(c));
        let mut wide = words.clone();
        wide[1] += Fr::from_u128(u128::MAX) + Fr::ONE;
        assert_eq!(WeightsCommitment::from_words(&wide), None, "a limb of 2^128 or more");
        let mut off = words;
        off[2] += Fr::ONE;
        assert_eq!(WeightsCommitment::from_words(&off), None, "a point off the curve");
    }

    #[test]
    fn knowledge_proof_accepts_the_blinding_and_nothing_else() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let params = ParamsKZG::<Bn256>::setup(5, ChaCha20Rng::seed_from_u64(9));
        let bases = hiding_bases(&params);
        let values: Vec<(usize, usize, i64)> = (0..40).map(|i| (i % 2, i / 2, i as i64 * 3 - 50)).collect();
        let salt = random_tails(2, &mut rng);
        let registered = commit_columns(&params, &values, 2, &salt);
        let blind = random_tails(2, &mut rng);
        let proof_cols = commit_columns(&params, &values, 2, &blind);
        let deltas: Vec<_> = blind.iter().zip(&salt).map(|(b, s)| [b[0] - s[0], b[1] - s[1]]).collect();
        let st = Statement { bases: &bases, registered: &registered, proof_columns: &proof_cols };
        let pok = KnowledgeProof::prove(st, &deltas, &mut rng);
        assert!(pok.verify(st));
        assert_eq!(KnowledgeProof::from_bytes(&pok.to_bytes()), Some(pok));
        // Other weights: the difference is not in the span of the hiding rows' Lagrange commitments.
        let mut other = values.clone();
        other[3].2 += 1;
        let other_cols = commit_columns(&params, &other, 2, &blind);
        let st_other = Statement { proof_columns: &other_cols, ..st };
        assert!(!KnowledgeProof::prove(st_other, &deltas, &mut rng).verify(st_other));
        // A tampered response or nonce.
        let mut bad = pok;
        bad.z[1] += Fr::ONE;
        assert!(!bad.verify(st));
        let mut bad = pok;
        bad.r = (G1::from(bad.r) + G1::generator()).to_affine();
        assert!(!bad.verify(st));
        // Columns swapped: the batching by powers of the challenge tells them apart.
        let swapped = [proof_cols[1], proof_cols[0]];
        let st_swapped = Statement { proof_columns: &swapped, ..st };
        assert!(!pok.verify(st_swapped));
    }
}
