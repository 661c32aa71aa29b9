// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title IInferenceConsumer
/// @notice Implemented by contracts that receive verified inference results from an InferenceOracle.
interface IInferenceConsumer {
    /// @notice Called by the oracle once a proof for `requestId` has been verified on-chain.
    /// @dev Called with exactly the callback gas limit the request asked for; a revert here is recorded by the
    ///      oracle (`callbackSuccess = false`) and does not undo the fulfilment.
    /// @param requestId The request being answered.
    /// @param output The model's quantized outputs (integers at the model's output scale).
    function onInferenceResult(uint256 requestId, int256[] calldata output) external;
}
