// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {PackedInts} from "../libraries/PackedInts.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";
import {TestBase} from "./Vm.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";

contract PackedIntsHarness {
    mapping(uint256 => uint256) internal _words;

    function roundTrip(int256[] calldata values, uint256 width) external returns (int256[] memory) {
        PackedInts.store(_words, values, width);
        return PackedInts.load(_words, values.length, width);
    }

    function word(uint256 i) external view returns (uint256) {
        return _words[i];
    }

    function widthOf(int256[] calldata values) external pure returns (uint8) {
        return PackedInts.widthOf(values);
    }

    function widthFor(uint256 maxAbs) external pure returns (uint8) {
        return PackedInts.widthFor(maxAbs);
    }
}

contract PackedIntsTest is TestBase {
    PackedIntsHarness internal h;

    function setUp() public {
        h = new PackedIntsHarness();
    }

    function test_widthFor_boundaries() public view {
        assertEq(uint256(h.widthFor(0)), 4, "0");
        assertEq(uint256(h.widthFor(2 ** 31 - 1)), 4, "int32 max");
        assertEq(uint256(h.widthFor(2 ** 31)), 8, "past int32");
        assertEq(uint256(h.widthFor(2 ** 63 - 1)), 8, "int64 max");
        assertEq(uint256(h.widthFor(2 ** 63)), 16, "past int64");
        assertEq(uint256(h.widthFor(2 ** 127 - 1)), 16, "int128 max");
        assertEq(uint256(h.widthFor(2 ** 127)), 32, "past int128");
    }

    function test_store_packsEightSmallValuesInOneWord() public {
        int256[] memory v = new int256[](8);
        for (uint256 i; i < 8; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            v[i] = i % 2 == 0 ? int256(i) : -int256(i);
        }
        int256[] memory back = h.roundTrip(v, 4);
        for (uint256 i; i < 8; ++i) {
            assertEq(back[i], v[i], "round trip");
        }
        assertTrue(h.word(0) != 0 && h.word(1) == 0, "one word used");
        // value 1 (-1) sits in bits 32..63 as two's complement
        assertEq((h.word(0) >> 32) & 0xffffffff, 0xffffffff, "-1 in slot 1");
    }

    function testFuzz_roundTrip_everyWidth(bytes32 seed, uint8 count, uint8 widthSel) public {
        uint256 width = 4 * 2 ** (widthSel % 4); // 4, 8, 16, 32
        uint256 n = boundU(count, 0, 40);
        int256 limit = width == 32 ? type(int256).max : int256((uint256(1) << (width * 8 - 1)) - 1);
        int256[] memory v = new int256[](n);
        for (uint256 i; i < n; ++i) {
            int256 r = int256(uint256(keccak256(abi.encode(seed, i))) >> 1);
            v[i] = r % (limit + (limit == type(int256).max ? int256(0) : int256(1)));
            if (uint256(keccak256(abi.encode(seed, i, "sign"))) % 2 == 0) v[i] = -v[i];
            if (i == 0 && n > 1) v[i] = limit; // extremes
            if (i == 1) v[i] = -limit;
        }
        int256[] memory back = h.roundTrip(v, width);
        assertEq(back.length, n, "length");
        for (uint256 i; i < n; ++i) {
            assertEq(back[i], v[i], "value");
        }
        if (n > 0) assertTrue(uint256(h.widthOf(v)) <= width, "widthOf picks a width that fits");
    }
}

/// @notice The oracle stores inputs and results packed: round trips at every width and its boundaries.
contract OraclePackingTest is OracleTestBase {
    function _wideModel(int256 maxAbs) internal returns (uint256) {
        IInferenceOracle.ModelParams memory p = _params(4, 3);
        p.maxAbsInput = maxAbs;
        return _register(p);
    }

    function testFuzz_requestAndResult_roundTripAtAnyWidth(uint8 sel, int256 x, int256 y) public {
        int256[6] memory limits = [int256(1000), 2 ** 31 - 1, 2 ** 31, 2 ** 63, 2 ** 127, HALF_P];
        int256 maxAbs = limits[sel % 6];
        uint256 model = _wideModel(maxAbs);
        x = x % (maxAbs + 1);
        y = y % (HALF_P + 1);
        int256[] memory input = _values4(x, -x, maxAbs, -maxAbs);
        int256[] memory output = new int256[](3);
        output[0] = y;
        output[1] = -HALF_P;
        output[2] = 0;

        vm.prank(requester);
        uint256 id = oracle.requestInference{value: FEE}(model, input, 0);
        assertEq(oracle.getRequest(id).input, input, "input round trip");
        assertEq(
            oracle.buildInstances(id, output, fulfiller),
            _instances(input, output, _noWords(), fulfiller),
            "instances"
        );
        vm.prank(fulfiller);
        oracle.fulfill(id, output, _proofFor(input, output, fulfiller));
        assertEq(oracle.getResult(id), output, "result round trip");
    }

    function test_registerModel_revertsOnFeeAbove128Bits() public {
        IInferenceOracle.ModelParams memory p = _params(1, 1);
        p.fee = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.ModelFeeTooHigh.selector, p.fee));
        oracle.registerModel(p);
        uint256 m = _register(_params(1, 1));
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceOracle.ModelFeeTooHigh.selector, uint256(type(uint128).max) + 1)
        );
        vm.prank(modelOwner);
        oracle.setModelFee(m, uint256(type(uint128).max) + 1);
    }
}
