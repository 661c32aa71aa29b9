// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IERC20Minimal} from "../interfaces/IERC20Minimal.sol";

/// @title DemoToken
/// @notice A minimal ERC-20 for the demo pool and the tests; its deployer may mint.
contract DemoToken is IERC20Minimal {
    /// @notice Only the minter may mint.
    error NotMinter(address caller);
    /// @notice The balance or allowance is too small.
    error InsufficientBalanceOrAllowance();
    /// @notice Transfers to the zero address are refused.
    error ZeroAddress();

    /// @notice Token name.
    string public name;
    /// @notice Token symbol.
    string public symbol;
    /// @notice Token decimals.
    uint8 public constant decimals = 18;
    /// @notice The account allowed to mint.
    address public immutable minter;
    /// @notice Total supply.
    uint256 public totalSupply;
    /// @inheritdoc IERC20Minimal
    mapping(address account => uint256) public balanceOf;
    /// @inheritdoc IERC20Minimal
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    constructor(string memory name_, string memory symbol_) {
        name = name_;
        symbol = symbol_;
        minter = msg.sender;
    }

    /// @notice Mints `amount` to `to` (minter only).
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        if (to == address(0)) revert ZeroAddress();
        totalSupply += amount;
        unchecked {
            balanceOf[to] += amount; // bounded by totalSupply
        }
        emit Transfer(address(0), to, amount);
    }

    /// @inheritdoc IERC20Minimal
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @inheritdoc IERC20Minimal
    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    /// @inheritdoc IERC20Minimal
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientBalanceOrAllowance();
            unchecked {
                allowance[from][msg.sender] = allowed - amount;
            }
        }
        _transfer(from, to, amount);
        return true;
    }

    function _transfer(address from, address to, uint256 amount) private {
        if (to == address(0)) revert ZeroAddress();
        uint256 balance = balanceOf[from];
        if (balance < amount) revert InsufficientBalanceOrAllowance();
        unchecked {
            balanceOf[from] = balance - amount;
            balanceOf[to] += amount; // bounded by totalSupply
        }
        emit Transfer(from, to, amount);
    }
}
