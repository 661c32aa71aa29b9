// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IHalo2Verifier} from "../../interfaces/IHalo2Verifier.sol";

/// @title HashCheckVerifier
/// @notice A test verifier that performs a real check: it accepts a proof only when the proof bytes are exactly
///         `abi.encode(instances)`, so a proof binds the full instance vector and nothing else passes. Stands in
///         for a generated halo2 verifier wherever a test needs proofs for arbitrary instances.
contract HashCheckVerifier is IHalo2Verifier {
    /// @inheritdoc IHalo2Verifier
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external pure returns (bool) {
        return keccak256(proof) == keccak256(abi.encode(instances));
    }

    /// @notice The only proof this verifier accepts for `instances`.
    function proofFor(uint256[] memory instances) external pure returns (bytes memory) {
        return abi.encode(instances);
    }
}
