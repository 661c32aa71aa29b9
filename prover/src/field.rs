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

/// A field element as 0x-hex big-endian.
pub fn fr_to_hex(f: &Fr) -> String {
    format!("0x{}", hex::encode(fr_to_be_bytes(f)))
}

/// Parses a 0x-hex big-endian field element; values at or above the modulus are rejected.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let raw = hex::decode(s.trim_start_matches("0x")).ok()?;
    if raw.len() > 32 {
        return None;
    }
    let mut le = [0u8; 32];
    for (i, b) in raw.iter().rev().enumerate() {
        le[i] = *b;
    }
    Option::from(Fr::from_repr(le))
}
