// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";

/// @title ModelPin
/// @notice What a consumer contract checked about its model before trusting it, and the checks that hold the
///         oracle's model to it. A consumer's deployer pins the verifier address, the verifier's code hash (of a
///         verifier it regenerated with `zkoracle verifier` from the model's verifying key and compared, or read
///         from a deployment it audited), the verifying-key digest and the weights commitment (the hash of its
///         words); the consumer's constructor refuses a model id whose registration differs, and every result is
///         refused while the pinned verifier's code differs from the pinned code hash.
/// @dev What this stops: a consumer deployed against the wrong model id (registration is permissionless and ids
///      are sequential, so the id a deployer expects can be taken), and a verifier whose code was replaced after
///      the consumer was deployed. What it does not stop: a verifier whose code reads mutable state (a proxy, an
///      owner flag) keeps its code hash; only checking, off-chain, that the pinned code hash is a generated
///      verifier's — which reads nothing mutable — rules that out. See docs/THREAT_MODEL.md.
library ModelPin {
    /// @notice The pinned registration.
    struct Pin {
        address verifier; // the model's verifier
        bytes32 verifierCodehash; // EXTCODEHASH of the verifier (keccak256 of its runtime code)
        bytes32 vkDigest; // the verifying key's digest (`vk_digest`)
        bytes32 weightsCommitmentHash; // commitmentHash(the weights commitment's words); keccak256("") for none
    }

    /// @notice The model's verifier is not the pinned one.
    /// @param modelId The model.
    /// @param expected The pinned verifier.
    /// @param actual The oracle's verifier for the model.
    error PinnedVerifierMismatch(uint256 modelId, address expected, address actual);
    /// @notice The verifier's code hash (recorded by the oracle, or live) is not the pinned one.
    /// @param modelId The model.
    /// @param expected The pinned code hash.
    /// @param actual The code hash found.
    error PinnedCodehashMismatch(uint256 modelId, bytes32 expected, bytes32 actual);
    /// @notice The model's verifying-key digest is not the pinned one.
    /// @param modelId The model.
    /// @param expected The pinned digest.
    /// @param actual The oracle's digest for the model.
    error PinnedVkDigestMismatch(uint256 modelId, bytes32 expected, bytes32 actual);
    /// @notice The model's weights commitment (its words, or whether it has any) is not the pinned one.
    /// @param modelId The model.
    /// @param pinned The pinned `weightsCommitmentHash`.
    /// @param registered `commitmentHash` of the oracle's commitment for the model.
    error PinnedWeightsCommitmentMismatch(uint256 modelId, bytes32 pinned, bytes32 registered);

    /// @notice Reverts unless the oracle's registration of `modelId` is exactly `pin` and the verifier's code
    ///         is the pinned code now.
    /// @param model The oracle's model (`getModel(modelId)`).
    /// @param modelId The model's id.
    /// @param pin The pinned registration.
    function check(IInferenceOracle.Model memory model, uint256 modelId, Pin memory pin) internal view {
        IInferenceOracle.ModelParams memory params = model.params;
        if (params.verifier != pin.verifier) {
            revert PinnedVerifierMismatch(modelId, pin.verifier, params.verifier);
        }
        if (model.verifierCodehash != pin.verifierCodehash) {
            revert PinnedCodehashMismatch(modelId, pin.verifierCodehash, model.verifierCodehash);
        }
        if (params.vkDigest != pin.vkDigest) {
            revert PinnedVkDigestMismatch(modelId, pin.vkDigest, params.vkDigest);
        }
        bytes32 registered = commitmentHash(params.weightsCommitment);
        if (registered != pin.weightsCommitmentHash) {
            revert PinnedWeightsCommitmentMismatch(modelId, pin.weightsCommitmentHash, registered);
        }
        checkCode(modelId, pin.verifier, pin.verifierCodehash);
    }

    /// @notice What a pin holds of a weights commitment: `keccak256(abi.encodePacked(words))`, the words'
    ///         32-byte big-endian concatenation. Binds the number of words and their order; an empty commitment
    ///         (weights fixed in the verifying key) hashes to `keccak256("")`, not zero.
    /// @param words The commitment's words (`ModelParams.weightsCommitment`).
    /// @return The hash to pin as `weightsCommitmentHash`.
    function commitmentHash(uint256[] memory words) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(words));
    }

    /// @notice Reverts unless `verifier`'s code hash is `codehash` now. The oracle has just called the verifier
    ///         when a result arrives, so the account is warm and this costs about 100 gas.
    /// @param modelId The model (for the error).
    /// @param verifier The pinned verifier.
    /// @param codehash The pinned code hash.
    function checkCode(uint256 modelId, address verifier, bytes32 codehash) internal view {
        bytes32 actual = verifier.codehash;
        if (actual != codehash) revert PinnedCodehashMismatch(modelId, codehash, actual);
    }
}
