// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title HookSalt
/// @notice Finds a CREATE2 salt that puts a Uniswap v4 hook at an address whose low 14 bits are exactly its
///         permission flags (v4 reads a hook's callbacks from its address).
library HookSalt {
    /// @notice The low address bits v4 reads as hook flags (`Hooks.ALL_HOOK_MASK`).
    uint160 internal constant FLAG_MASK = (1 << 14) - 1;
    /// @notice The CREATE2 factory forge scripts deploy through (present on anvil and most chains).
    address internal constant CREATE2_FACTORY = 0x4e59b44847b379578588920cA78FbF26c0B4956C;

    /// @notice No salt below `start + tries` gives the flags.
    /// @param flags The wanted flags.
    /// @param tries Salts tried.
    error SaltNotFound(uint160 flags, uint256 tries);

    /// @notice The CREATE2 address of `initCodeHash` deployed by `deployer` with `salt`.
    /// @param deployer The creating contract.
    /// @param salt The salt.
    /// @param initCodeHash keccak256 of the creation code with its constructor arguments.
    /// @return The address.
    function computeAddress(address deployer, bytes32 salt, bytes32 initCodeHash)
        internal
        pure
        returns (address)
    {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), deployer, salt, initCodeHash))))
        );
    }

    /// @notice The first salt from `start` whose CREATE2 address has exactly `flags` as its low 14 bits.
    /// @param deployer The creating contract.
    /// @param flags The hook's permission flags (within FLAG_MASK).
    /// @param initCodeHash keccak256 of the creation code with its constructor arguments.
    /// @param start The first salt to try.
    /// @param tries How many salts to try (about 16,384 are needed on average).
    /// @return salt The salt.
    /// @return hook The hook's address.
    function find(address deployer, uint160 flags, bytes32 initCodeHash, uint256 start, uint256 tries)
        internal
        pure
        returns (bytes32 salt, address hook)
    {
        flags &= FLAG_MASK;
        for (uint256 i = start; i < start + tries; ++i) {
            salt = bytes32(i);
            hook = computeAddress(deployer, salt, initCodeHash);
            if (uint160(hook) & FLAG_MASK == flags) return (salt, hook);
        }
        revert SaltNotFound(flags, tries);
    }
}
