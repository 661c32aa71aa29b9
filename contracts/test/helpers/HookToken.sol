// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IERC20Minimal} from "../../interfaces/IERC20Minimal.sol";

/// @notice An ERC-20 that, once armed, calls `target` with `data` from inside `transferFrom` (a re-entrancy
///         probe) and records how that call ended.
contract HookToken is IERC20Minimal {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    address public target;
    bytes public data;
    bytes public hookResult;
    bool public hookSucceeded;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        address t = target;
        if (t != address(0)) {
            target = address(0);
            (hookSucceeded, hookResult) = t.call(data);
        }
        return true;
    }
}
