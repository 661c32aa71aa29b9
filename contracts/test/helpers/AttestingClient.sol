// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @notice A client written as EZKL's attestors are (infernet-sdk's `DataAttestor`): it reads the instances
///         at the fixed offsets of canonical `verifyProof(bytes,uint256[])` calldata, then forwards the unchanged
///         calldata to the verifier with a low-level call and treats "did not revert" as success. Safe only
///         with a verifier that reverts on every failure and accepts canonical calldata alone.
contract AttestingClient {
    /// @notice The verifier call did not succeed.
    error VerificationFailed();

    /// @notice The last attested first output (for the tests to read).
    uint256 public attested;

    /// @notice Checks `data` (canonical `verifyProof` calldata) with `verifier` and records the instance at
    ///         index `at`, read at its fixed calldata offset.
    /// @param verifier The Halo2Verifier.
    /// @param data The full `verifyProof` calldata, selector included.
    /// @param proofLen The verifier's proof length in bytes (fixes the instances' offset).
    /// @param at The index of the instance to record.
    function attest(address verifier, bytes calldata data, uint256 proofLen, uint256 at) external {
        (bool success,) = verifier.call(data);
        if (!success) revert VerificationFailed();
        // selector, two head words, the proof's length word and padded bytes, the instances' length word
        uint256 offset = 4 + 0x40 + 0x20 + ((proofLen + 31) / 32) * 32 + 0x20 + 32 * at;
        attested = uint256(bytes32(data[offset:offset + 32]));
    }
}
