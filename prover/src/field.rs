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
        }
        assert_eq!(fr_from_hex("0x05"), Some(Fr::from(5)));
        assert_eq!(fr_from_hex("05"), Some(Fr::from(5)));
        assert_eq!(fr_from_hex(&format!("0x{}", "00".repeat(33))), None, "more than 32 bytes");
        assert_eq!(fr_from_hex(&format!("0x{}", "ff".repeat(32))), None, "above the modulus");
        assert_eq!(fr_from_hex("0xzz"), None);
    }
}
