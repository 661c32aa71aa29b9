//! Field-element conversions shared by the circuit, the proofs and the files: a leaf module (it imports no
//! other module of this crate), so the circuit never depends on the proof or file code above it.

use alloy_primitives::{Address, B256};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;

/// A signed integer as a field element (negative values are `p − |x|`).
pub fn to_field(x: i128) -> Fr {
    // One Montgomery multiplication; `PrimeField::from_u128` doubles 64 times (it was 5% of mlp_784's prove).
    let m = x.unsigned_abs();
    let f = Fr::from_raw([m as u64, (m >> 64) as u64, 0, 0]);
    if x < 0 {
        -f
    } else {
        f
    }
}

/// An address as the field element `uint256(uint160(address))` (160 bits: always below the modulus).
pub fn address_to_field(a: Address) -> Fr {
    let mut le = [0u8; 32];
    le[..20].copy_from_slice(a.as_slice());
    le[..20].reverse();
    Fr::from_bytes(&le).unwrap_or(Fr::zero())
}

/// A field element as 32 big-endian bytes (the EVM's `uint256`).
pub fn fr_to_be_bytes(f: &Fr) -> [u8; 32] {
    let mut b = f.to_repr();
    b.reverse();
    b
}

/// A field element's canonical value as four little-endian 64-bit limbs (what the bucket MSMs cut into
/// digits).
pub(crate) fn fr_to_le_limbs(f: &Fr) -> [u64; 4] {
    let repr = f.to_repr();
    let mut limbs = [0u64; 4];
    for (l, chunk) in limbs.iter_mut().zip(repr.as_ref().chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *l = u64::from_le_bytes(word);
    }
    limbs
}

/// A field element as the EVM word `uint256` (32 big-endian bytes).
pub fn fr_to_b256(f: &Fr) -> B256 {
    B256::from(fr_to_be_bytes(f))
}

/// An EVM word as a field element; words at or above the modulus are rejected.
pub fn fr_from_b256(w: &B256) -> Option<Fr> {
    let mut le = w.0;
    le.reverse();
    Option::from(Fr::from_repr(le))
}

/// A field element as 0x-hex big-endian (its EVM word, [`fr_to_b256`], as text).
pub fn fr_to_hex(f: &Fr) -> String {
    fr_to_b256(f).to_string()
}

/// Parses a 0x-hex big-endian field element of at most 32 bytes (left-padded to its EVM word, then
/// [`fr_from_b256`]); values at or above the modulus are rejected.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let raw = hex::decode(s.trim_start_matches("0x")).ok()?;
    let mut word = B256::ZERO;
    word.get_mut(32usize.checked_sub(raw.len())?..)?.copy_from_slice(&raw);
    fr_from_b256(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_evm_words_round_trip_and_refuse_what_is_not_a_field_element() {
        for x in [0i128, 5, -1, 1 << 100, -(1 << 90)] {
            let f = to_field(x);
            let text = fr_to_hex(&f);
            assert_eq!(text, format!("0x{}", hex::encode(fr_to_be_bytes(&f))), "{x}");
            assert_eq!(fr_from_hex(&text), Some(f));
            assert_eq!(fr_from_b256(&fr_to_b256(&f)), Some(f));
            let limbs = fr_to_le_limbs(&f);
            let be = fr_to_be_bytes(&f);
            for (i, l) in limbs.iter().enumerate() {
                let word: [u8; 8] = be[24 - 8 * i..32 - 8 * i].try_into().expect("8 bytes");
                assert_eq!(*l, u64::from_be_bytes(word), "{x}, limb {i}");
            }
        }
        assert_eq!(fr_from_hex("0x05"), Some(Fr::from(5)));
        assert_eq!(fr_from_hex("05"), Some(Fr::from(5)));
        assert_eq!(fr_from_hex(&format!("0x{}", "00".repeat(33))), None, "more than 32 bytes");
        assert_eq!(fr_from_hex(&format!("0x{}", "ff".repeat(32))), None, "above the modulus");
        assert_eq!(fr_from_hex("0xzz"), None);
    }
}
