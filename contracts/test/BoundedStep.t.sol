// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {BoundedStep} from "../libraries/BoundedStep.sol";
import {HexText} from "../libraries/HexText.sol";
import {TestBase} from "./Vm.sol";

/// @notice Unit tests for the consumers' shared rails (BoundedStep) and the hex cleaner (HexText).
contract BoundedStepTest is TestBase {
    function test_clamp_belowLoReturnsLo() public pure {
        assertEq(BoundedStep.clamp(0, 100, 200), 100, "0");
        assertEq(BoundedStep.clamp(99, 100, 200), 100, "lo - 1");
    }

    function test_clamp_aboveHiReturnsHi() public pure {
        assertEq(BoundedStep.clamp(201, 100, 200), 200, "hi + 1");
        assertEq(BoundedStep.clamp(type(uint256).max, 100, 200), 200, "uint256 max");
    }

    function test_clamp_insideReturnsValue() public pure {
        assertEq(BoundedStep.clamp(100, 100, 200), 100, "lo");
        assertEq(BoundedStep.clamp(150, 100, 200), 150, "middle");
        assertEq(BoundedStep.clamp(200, 100, 200), 200, "hi");
        assertEq(BoundedStep.clamp(7, 7, 7), 7, "lo == hi");
    }

    function testFuzz_clamp_staysInRails(uint256 x, uint16 a, uint16 b) public pure {
        (uint16 lo, uint16 hi) = a <= b ? (a, b) : (b, a);
        uint16 y = BoundedStep.clamp(x, lo, hi);
        assertTrue(y >= lo && y <= hi, "in rails");
        if (x >= lo && x <= hi) assertEq(y, x, "unchanged inside");
    }

    function test_stepToward_withinStepReachesTarget() public pure {
        assertEq(BoundedStep.stepToward(100, 150, 50), 150, "up by exactly step");
        assertEq(BoundedStep.stepToward(150, 100, 50), 100, "down by exactly step");
        assertEq(BoundedStep.stepToward(100, 120, 50), 120, "up within step");
        assertEq(BoundedStep.stepToward(100, 100, 50), 100, "at target");
        assertEq(BoundedStep.stepToward(100, 100, 0), 100, "at target, zero step");
    }

    function test_stepToward_farAboveMovesUpByStep() public pure {
        assertEq(BoundedStep.stepToward(100, 151, 50), 150, "one past step");
        assertEq(BoundedStep.stepToward(0, type(uint16).max, 1), 1, "full range");
    }

    function test_stepToward_farBelowMovesDownByStep() public pure {
        assertEq(BoundedStep.stepToward(151, 100, 50), 101, "one past step");
        assertEq(BoundedStep.stepToward(type(uint16).max, 0, 1), type(uint16).max - 1, "full range");
    }

    function test_stepToward_zeroStepStays() public pure {
        assertEq(BoundedStep.stepToward(100, 200, 0), 100, "up");
        assertEq(BoundedStep.stepToward(100, 0, 0), 100, "down");
    }

    function testFuzz_stepToward_movesAtMostStepTowardTarget(uint16 current, uint16 target, uint16 step)
        public
        pure
    {
        uint16 next = BoundedStep.stepToward(current, target, step);
        uint256 moved = next > current ? next - current : current - next;
        assertTrue(moved <= step, "at most step");
        uint256 before = target > current ? target - current : current - target;
        uint256 afterwards = target > next ? target - next : next - target;
        assertTrue(afterwards <= before, "never away from target");
        if (before <= step) assertEq(next, target, "reaches target within step");
        else assertEq(moved, step, "full step when far");
    }

    function test_isExpired_atMaxAgeIsNotExpired() public pure {
        assertTrue(!BoundedStep.isExpired(1000, 60, 1060), "exactly maxAge");
        assertTrue(!BoundedStep.isExpired(1000, 60, 1000), "same second");
        assertTrue(!BoundedStep.isExpired(1000, 60, 999), "before since");
    }

    function test_isExpired_pastMaxAgeIsExpired() public pure {
        assertTrue(BoundedStep.isExpired(1000, 60, 1061), "one second past");
        assertTrue(BoundedStep.isExpired(0, 0, 1), "zero age");
        assertTrue(BoundedStep.isExpired(0, type(uint32).max, uint256(type(uint32).max) + 1), "uint32 age");
    }

    function test_clean_addsMissingPrefix() public pure {
        assertEq(_h(HexText.clean("abcd")), _h("0xabcd"), "no prefix");
        assertEq(_h(HexText.clean("")), _h("0x"), "empty");
        assertEq(_h(HexText.clean("0")), _h("0x0"), "lone zero");
    }

    function test_clean_keepsExistingPrefix() public pure {
        assertEq(_h(HexText.clean("0xabcd")), _h("0xabcd"), "0x");
        assertEq(_h(HexText.clean("0Xabcd")), _h("0Xabcd"), "0X");
    }

    function test_clean_dropsWhitespace() public pure {
        assertEq(_h(HexText.clean(" \t\r\n0xab cd\n\t\r ")), _h("0xabcd"), "around and inside, prefixed");
        assertEq(_h(HexText.clean("\n ab\ncd \n")), _h("0xabcd"), "around and inside, unprefixed");
        assertEq(_h(HexText.clean(" \n ")), _h("0x"), "only whitespace");
    }

    function test_clean_parsesWithVm() public pure {
        bytes memory parsed = vm.parseBytes(HexText.clean("  0x60016002\n"));
        assertEq(keccak256(parsed), keccak256(hex"60016002"), "prefixed");
        parsed = vm.parseBytes(HexText.clean("60016002\r\n"));
        assertEq(keccak256(parsed), keccak256(hex"60016002"), "unprefixed");
    }

    function test_isSpace_matchesOnlyFourCharacters() public pure {
        assertTrue(HexText.isSpace(" ") && HexText.isSpace("\t"), "space, tab");
        assertTrue(HexText.isSpace("\n") && HexText.isSpace("\r"), "lf, cr");
        assertTrue(!HexText.isSpace("0") && !HexText.isSpace("x") && !HexText.isSpace(0x0b), "others");
    }

    function _h(string memory s) internal pure returns (bytes32) {
        return keccak256(bytes(s));
    }
}
