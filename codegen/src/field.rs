//! Field and curve constants rendered as EVM words.

use halo2_proofs::halo2curves::{
    bn256::{Fq, Fq2, Fr, G1Affine, G2Affine},
    ff::PrimeField,
};

/// BN254 scalar field modulus `r`, as a Yul literal.
pub(crate) const R_HEX: &str = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
/// BN254 base field modulus `q`, as a Yul literal.
pub(crate) const Q_HEX: &str = "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";

/// A 256-bit big-endian word.
pub(crate) type Word = [u8; 32];

/// The big-endian word of a scalar (canonical representative).
pub(crate) fn fr_word(f: &Fr) -> Word {
    let mut w = f.to_repr();
    w.reverse();
    w
}

/// The big-endian word of a base field element.
pub(crate) fn fq_word(f: &Fq) -> Word {
    let mut w = f.to_repr();
    w.reverse();
    w
}

/// A word as a Yul literal: decimal below 2^16 (short and readable), `0x` + 64 hex digits otherwise.
pub(crate) fn word_lit(w: &Word) -> String {
    if w[..30].iter().all(|b| *b == 0) {
        return format!("{}", u16::from_be_bytes([w[30], w[31]]));
    }
    format!("0x{}", hex::encode(w))
}

/// A scalar as a Yul literal.
pub(crate) fn fr_lit(f: &Fr) -> String {
    word_lit(&fr_word(f))
}

/// The EVM encoding of a G1 point: `(x, y)`, the identity as `(0, 0)`.
pub(crate) fn g1_words(p: &G1Affine) -> [Word; 2] {
    [fq_word(&p.x), fq_word(&p.y)]
}

fn fq2_words(f: &Fq2) -> [Word; 2] {
    // The pairing precompile takes the imaginary part first.
    [fq_word(&f.c1), fq_word(&f.c0)]
}

/// The EVM encoding of a G2 point for the pairing precompile: `(x.c1, x.c0, y.c1, y.c0)`.
pub(crate) fn g2_words(p: &G2Affine) -> [Word; 4] {
    let [x1, x0] = fq2_words(&p.x);
    let [y1, y0] = fq2_words(&p.y);
    [x1, x0, y1, y0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;

    #[test]
    fn moduli_match_halo2curves() {
        let r_minus_1 = fr_word(&(-Fr::ONE));
        let q_minus_1 = fq_word(&(-Fq::ONE));
        let r = u256_add_one(r_minus_1);
        let q = u256_add_one(q_minus_1);
        assert_eq!(format!("0x{}", hex::encode(r)), R_HEX);
        assert_eq!(format!("0x{}", hex::encode(q)), Q_HEX);
    }

    fn u256_add_one(mut w: Word) -> Word {
        for b in w.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
        w
    }

    #[test]
    fn literals() {
        assert_eq!(fr_lit(&Fr::from(5)), "5");
        assert_eq!(fr_lit(&Fr::from(65535)), "65535");
        assert_eq!(fr_lit(&Fr::from(65536)), format!("0x{:064x}", 65536));
    }
}
