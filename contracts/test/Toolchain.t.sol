// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {TestBase} from "./Vm.sol";

contract ToolchainTest is TestBase {
    function test_cheatcodes_work() public {
        vm.warp(1234);
        assertEq(block.timestamp, 1234, "warp");
    }
}
