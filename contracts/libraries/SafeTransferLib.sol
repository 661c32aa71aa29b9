// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IERC20Minimal} from "../interfaces/IERC20Minimal.sol";

/// @title SafeTransferLib
/// @notice ERC-20 transfers that accept tokens returning nothing and revert on tokens returning false.
library SafeTransferLib {
    /// @notice The token call reverted or returned false.
    error TokenTransferFailed(address token);

    /// @notice `token.transfer(to, amount)`, reverting unless it succeeded.
    function safeTransfer(IERC20Minimal token, address to, uint256 amount) internal {
        _call(token, abi.encodeCall(IERC20Minimal.transfer, (to, amount)));
    }

    /// @notice `token.transferFrom(from, to, amount)`, reverting unless it succeeded.
    function safeTransferFrom(IERC20Minimal token, address from, address to, uint256 amount) internal {
        _call(token, abi.encodeCall(IERC20Minimal.transferFrom, (from, to, amount)));
    }

    function _call(IERC20Minimal token, bytes memory data) private {
        if (address(token).code.length == 0) revert TokenTransferFailed(address(token));
        (bool ok, bytes memory ret) = address(token).call(data);
        if (!ok || (ret.length != 0 && (ret.length < 32 || abi.decode(ret, (uint256)) != 1))) {
            revert TokenTransferFailed(address(token));
        }
    }
}
