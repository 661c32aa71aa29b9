// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {FullMath} from "../libraries/FullMath.sol";
import {TestBase} from "./Vm.sol";

/// @notice Calls the library so reverts can be expected at a call boundary.
contract FullMathHarness {
    function mulDiv(uint256 a, uint256 b, uint256 d) external pure returns (uint256) {
        return FullMath.mulDiv(a, b, d);
    }
}

contract FullMathTest is TestBase {
    FullMathHarness internal h = new FullMathHarness();

    function test_mulDiv_exactOnKnownValues() public view {
        assertEq(h.mulDiv(6, 7, 3), 14, "small");
        assertEq(h.mulDiv(type(uint256).max, type(uint256).max, type(uint256).max), type(uint256).max, "max");
        assertEq(h.mulDiv(2 ** 255, 2, 4), 2 ** 254, "512-bit product, power-of-two divisor");
        assertEq(h.mulDiv(2 ** 200, 3 ** 100, 3 ** 99), 3 * 2 ** 200, "512-bit product, odd divisor");
        assertEq(
            h.mulDiv(type(uint256).max, type(uint256).max - 1, type(uint256).max),
            type(uint256).max - 1,
            "edge"
        );
    }

    function test_mulDiv_revertsOnZeroDivisorOrOverflow() public {
        vm.expectRevert(abi.encodeWithSelector(FullMath.MulDivFailed.selector, 1, 1, 0));
        h.mulDiv(1, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(FullMath.MulDivFailed.selector, 2 ** 255, 2, 1));
        h.mulDiv(2 ** 255, 2, 1);
        // (2^256 - 1)^2 / (2^256 - 2) = 2^256 exactly plus a remainder of 1: one past the largest quotient
        vm.expectRevert(
            abi.encodeWithSelector(
                FullMath.MulDivFailed.selector, type(uint256).max, type(uint256).max, type(uint256).max - 1
            )
        );
        h.mulDiv(type(uint256).max, type(uint256).max, type(uint256).max - 1);
    }

    /// @dev Against plain arithmetic where the product fits.
    function testFuzz_mulDiv_matchesNarrowProduct(uint128 a, uint128 b, uint256 d) public view {
        vm.assume(d != 0);
        assertEq(h.mulDiv(a, b, d), (uint256(a) * b) / d, "a * b / d");
    }

    /// @dev For any product: q · d + (a · b mod d) equals a · b as a 512-bit number, and the remainder is below
    ///      d — the definition of the floor quotient — whenever the quotient fits.
    function testFuzz_mulDiv_isTheFloorQuotient(uint256 a, uint256 b, uint256 d) public view {
        vm.assume(d != 0);
        (uint256 pHi, uint256 pLo) = _mul512(a, b);
        vm.assume(pHi < d); // the quotient fits in 256 bits
        uint256 q = h.mulDiv(a, b, d);
        uint256 r = mulmod(a, b, d);
        (uint256 qHi, uint256 qLo) = _mul512(q, d);
        (uint256 sHi, uint256 sLo) = _add512(qHi, qLo, r);
        assertEq(sHi, pHi, "high word");
        assertEq(sLo, pLo, "low word");
    }

    /// @dev a · b as (hi, lo), from 128-bit limbs (independent of the library's mulmod trick).
    function _mul512(uint256 a, uint256 b) internal pure returns (uint256 hi, uint256 lo) {
        uint256 mask = type(uint128).max;
        uint256 a0 = a & mask;
        uint256 a1 = a >> 128;
        uint256 b0 = b & mask;
        uint256 b1 = b >> 128;
        uint256 ll = a0 * b0;
        uint256 lh = a0 * b1;
        uint256 hl = a1 * b0;
        uint256 hh = a1 * b1;
        uint256 mid = (ll >> 128) + (lh & mask) + (hl & mask); // < 3 · 2^128
        lo = (ll & mask) | (mid << 128);
        hi = hh + (lh >> 128) + (hl >> 128) + (mid >> 128);
    }

    function _add512(uint256 hi, uint256 lo, uint256 x) internal pure returns (uint256, uint256) {
        unchecked {
            uint256 s = lo + x;
            return (hi + (s < lo ? 1 : 0), s);
        }
    }
}
