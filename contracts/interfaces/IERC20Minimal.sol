// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title IERC20Minimal
/// @notice The part of ERC-20 the pool and the demo token use.
interface IERC20Minimal {
    /// @notice Emitted when `value` tokens move from `from` to `to`.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @notice Emitted when `owner` lets `spender` move up to `value` of its tokens.
    event Approval(address indexed owner, address indexed spender, uint256 value);

    /// @notice The token balance of `account`.
    function balanceOf(address account) external view returns (uint256);
    /// @notice What `spender` may still move from `owner`.
    function allowance(address owner, address spender) external view returns (uint256);
    /// @notice Moves `amount` of the caller's tokens to `to`.
    function transfer(address to, uint256 amount) external returns (bool);
    /// @notice Lets `spender` move up to `amount` of the caller's tokens.
    function approve(address spender, uint256 amount) external returns (bool);
    /// @notice Moves `amount` of `from`'s tokens to `to` using the caller's allowance.
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}
