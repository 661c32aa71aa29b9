// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title FullMath
/// @notice `floor(a · b / denominator)` with the product kept at full 512-bit precision, so the result is exact
///         whenever it fits in 256 bits, however large `a · b` is.
library FullMath {
    /// @notice `denominator` is zero, or the quotient does not fit in 256 bits.
    /// @param a The first factor.
    /// @param b The second factor.
    /// @param denominator The divisor.
    error MulDivFailed(uint256 a, uint256 b, uint256 denominator);

    /// @notice `floor(a · b / denominator)`; reverts with `MulDivFailed` when `denominator == 0` or the quotient
    ///         is at least 2^256.
    /// @param a The first factor.
    /// @param b The second factor.
    /// @param denominator The divisor.
    /// @return result The exact floor of the quotient.
    function mulDiv(uint256 a, uint256 b, uint256 denominator) internal pure returns (uint256 result) {
        // The product as hi · 2^256 + lo: mulmod by 2^256 - 1 and the wrapping product differ by hi (mod
        // 2^256 - 1), with a borrow when the wrapped low word is the larger.
        uint256 lo;
        uint256 hi;
        assembly ("memory-safe") {
            let m := mulmod(a, b, not(0))
            lo := mul(a, b)
            hi := sub(sub(m, lo), lt(m, lo))
        }
        if (denominator <= hi || denominator == 0) revert MulDivFailed(a, b, denominator);
        if (hi == 0) return lo / denominator;

        assembly ("memory-safe") {
            // Make the product divisible by the denominator: subtract the remainder from [hi lo].
            let rem := mulmod(a, b, denominator)
            hi := sub(hi, gt(rem, lo))
            lo := sub(lo, rem)

            // Divide both by the largest power of two dividing the denominator (d & -d), leaving it odd; the
            // bits of hi that shift into the low word are hi · 2^256 / twos = hi · (2^256 - twos) / twos + hi.
            let twos := and(denominator, sub(0, denominator))
            denominator := div(denominator, twos)
            lo := div(lo, twos)
            lo := or(lo, mul(hi, add(div(sub(0, twos), twos), 1)))

            // The quotient is exact and below 2^256, so it is lo times the inverse of the (odd) denominator
            // modulo 2^256. Newton's iteration x ← x(2 - dx) doubles the correct low bits; 3d XOR 2 is the
            // inverse modulo 2^4, six iterations reach 2^256.
            let inv := xor(mul(3, denominator), 2)
            inv := mul(inv, sub(2, mul(denominator, inv))) // 2^8
            inv := mul(inv, sub(2, mul(denominator, inv))) // 2^16
            inv := mul(inv, sub(2, mul(denominator, inv))) // 2^32
            inv := mul(inv, sub(2, mul(denominator, inv))) // 2^64
            inv := mul(inv, sub(2, mul(denominator, inv))) // 2^128
            inv := mul(inv, sub(2, mul(denominator, inv))) // 2^256
            result := mul(lo, inv)
        }
    }
}
