// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IInferenceConsumerBase} from "./interfaces/IInferenceConsumerBase.sol";
import {IInferenceOracle} from "./interfaces/IInferenceOracle.sol";
import {ModelPin} from "./libraries/ModelPin.sol";

/// @title InferenceConsumerBase
/// @notice The part every zkoracle consumer repeats: the oracle and the pinned model, the one pending request,
///         the `onInferenceResult` guard, the owner's withdrawal of oracle credit and two-step ownership.
/// @dev A consumer sends a request with `_sendRequest` (after `_checkNoPendingRequest` and its own rails) and
///      receives the verified output in `_onVerifiedResult`, which runs only when the delivery comes from the
///      oracle, answers exactly the pending request (once: the pending id is cleared first), and the pinned
///      verifier's code is still the pinned code (ModelPin). The oracle calls back only after the model's
///      verifier accepted a proof for the stored input and the posted output, so `_onVerifiedResult` never sees
///      an unverified output.
abstract contract InferenceConsumerBase is IInferenceConsumerBase {
    /// @inheritdoc IInferenceConsumerBase
    IInferenceOracle public immutable oracle;
    /// @inheritdoc IInferenceConsumerBase
    uint256 public immutable modelId;
    /// @notice The model's verifier, pinned at construction.
    address public immutable pinnedVerifier;
    /// @notice The verifier's code hash, pinned at construction and required on every result.
    bytes32 public immutable pinnedVerifierCodehash;
    /// @inheritdoc IInferenceConsumerBase
    uint32 public immutable callbackGasLimit;

    /// @inheritdoc IInferenceConsumerBase
    address public owner;
    /// @inheritdoc IInferenceConsumerBase
    uint40 public pendingRequestedAt;
    /// @inheritdoc IInferenceConsumerBase
    address public pendingOwner;
    /// @inheritdoc IInferenceConsumerBase
    uint256 public pendingRequestId;

    modifier onlyOwner() {
        if (msg.sender != owner) revert Unauthorized(msg.sender);
        _;
    }

    /// @param oracle_ The inference oracle.
    /// @param modelId_ The model (reverts `UnknownModel` when it is not registered).
    /// @param pin The registration the deployer checked; the constructor reverts unless the oracle's registration
    ///        of `modelId_` matches it (ModelPin.check). Its verifier and code hash are held on every result.
    /// @param callbackGasLimit_ Gas the oracle gives `onInferenceResult` (> 0).
    /// @param owner_ The owner (non-zero).
    constructor(
        IInferenceOracle oracle_,
        uint256 modelId_,
        ModelPin.Pin memory pin,
        uint32 callbackGasLimit_,
        address owner_
    ) {
        if (owner_ == address(0)) revert ZeroOwner();
        if (callbackGasLimit_ == 0) revert ZeroCallbackGasLimit();
        // Reverts with UnknownModel for an unregistered id. Model parameters never change after registration;
        // the verifier's code is held to the pin on every result.
        ModelPin.check(oracle_.getModel(modelId_), modelId_, pin);
        oracle = oracle_;
        modelId = modelId_;
        pinnedVerifier = pin.verifier;
        pinnedVerifierCodehash = pin.verifierCodehash;
        callbackGasLimit = callbackGasLimit_;
        owner = owner_;
        emit OwnershipTransferred(address(0), owner_);
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 requestId, int256[] calldata output) external {
        if (msg.sender != address(oracle)) revert NotOracle(msg.sender);
        if (requestId == 0 || requestId != pendingRequestId) revert UnexpectedRequest(requestId);
        ModelPin.checkCode(modelId, pinnedVerifier, pinnedVerifierCodehash);
        delete pendingRequestId;
        _onVerifiedResult(requestId, pendingRequestedAt, output);
    }

    /// @inheritdoc IInferenceConsumerBase
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(msg.sender, newOwner);
    }

    /// @inheritdoc IInferenceConsumerBase
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert Unauthorized(msg.sender);
        address previous = owner;
        owner = msg.sender;
        delete pendingOwner;
        emit OwnershipTransferred(previous, msg.sender);
    }

    /// @inheritdoc IInferenceConsumerBase
    function withdrawOracleCredit(address payable to) external onlyOwner returns (uint256 amount) {
        amount = oracle.withdraw(to);
        emit OracleCreditWithdrawn(to, amount);
    }

    /// @dev The fee rails a pool consumer takes (SpreadGatedAMM, OracleDynamicFeeHook): minFee <= defaultFee <=
    ///      maxFee < 10,000 bps, and a non-zero step, staleness window and output scaling.
    function _checkFeeRails(
        uint16 minFeeBps,
        uint16 defaultFeeBps,
        uint16 maxFeeBps,
        uint16 maxStepBps,
        uint32 stalenessWindow,
        uint32 bpsPerUnit
    ) internal pure {
        if (minFeeBps > defaultFeeBps || defaultFeeBps > maxFeeBps || maxFeeBps >= 10_000 || maxFeeBps == 0) {
            revert InvalidFeeBounds(minFeeBps, defaultFeeBps, maxFeeBps);
        }
        if (maxStepBps == 0) revert ZeroMaxStep();
        if (stalenessWindow == 0) revert ZeroStalenessWindow();
        if (bpsPerUnit == 0) revert ZeroBpsPerUnit();
    }

    /// @dev Reverts `RequestStillPending` while the pending request can still be fulfilled. A pending request
    ///      past its deadline can no longer be fulfilled: a new one may replace it.
    function _checkNoPendingRequest() internal view {
        uint256 pending = pendingRequestId;
        if (pending == 0) return;
        (IInferenceOracle.RequestStatus status, uint64 deadline) = oracle.getRequestStatus(pending);
        // forge-lint: disable-next-line(block-timestamp)
        if (status == IInferenceOracle.RequestStatus.Pending && block.timestamp <= deadline) {
            revert RequestStillPending(pending, deadline);
        }
    }

    /// @dev Requests an inference of the model on `input`, paying `msg.value`, and waits for it.
    function _sendRequest(int256[] memory input) internal returns (uint256 requestId) {
        requestId = oracle.requestInference{value: msg.value}(modelId, input, callbackGasLimit);
        pendingRequestId = requestId;
        pendingRequestedAt = uint40(block.timestamp);
    }

    /// @dev A verified output of the model for the pending request, made at `requestedAt`.
    /// @param requestId The request answered (no longer pending).
    /// @param requestedAt When it was requested.
    /// @param output The model's quantized outputs, verified by the oracle.
    function _onVerifiedResult(uint256 requestId, uint256 requestedAt, int256[] calldata output)
        internal
        virtual;
}
