// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title IHalo2Verifier
/// @notice The ABI of every zkoracle-generated verifier (`zkoracle verifier`), identical to EZKL's and PSE's
///         halo2 Solidity verifiers, so contracts written for them work unchanged.
interface IHalo2Verifier {
    /// @notice Checks a SHPLONK KZG proof over BN254 against its public instances.
    /// @param proof The proof bytes exactly as the prover wrote them (`proof` in proof.json).
    /// @param instances The public instances, each a BN254 scalar field element below the modulus. zkoracle's
    ///        layout: quantized inputs, then quantized outputs (negative values as p - |x|), then, for models
    ///        with hidden weights, the Poseidon commitment of the weights.
    /// @return True only when the proof is valid for these instances; invalid proofs return false or revert.
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool);
}
