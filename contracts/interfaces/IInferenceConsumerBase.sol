// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceConsumer} from "./IInferenceConsumer.sol";
import {IInferenceOracle} from "./IInferenceOracle.sol";

/// @title IInferenceConsumerBase
/// @notice What every zkoracle consumer shares: one oracle and one pinned model, at most one pending request,
///         results accepted only from the oracle for that request, the consumer's oracle credit (refunds of
///         cancelled requests) withdrawn by its owner, and two-step ownership like the oracle's.
interface IInferenceConsumerBase is IInferenceConsumer {
    /// @notice Emitted when the owner starts an ownership transfer.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when ownership changes (and once at deployment, from the zero address).
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when the owner withdraws the consumer's oracle credit (refunds of cancelled requests).
    event OracleCreditWithdrawn(address indexed to, uint256 amount);

    /// @notice Only the oracle may deliver results.
    /// @param caller The sender of the delivery.
    error NotOracle(address caller);
    /// @notice The result is not for the request this consumer is waiting for (or was already consumed).
    /// @param requestId The delivered request id.
    error UnexpectedRequest(uint256 requestId);
    /// @notice A request is still pending at the oracle.
    /// @param requestId The pending request.
    /// @param deadline Its deadline at the oracle.
    error RequestStillPending(uint256 requestId, uint64 deadline);
    /// @notice Only the owner (or, for `acceptOwnership`, the pending owner) may do this.
    /// @param caller The refused sender.
    error Unauthorized(address caller);
    /// @notice The owner given to the constructor is the zero address.
    error ZeroOwner();
    /// @notice The callback gas limit given to the constructor is zero.
    error ZeroCallbackGasLimit();
    /// @notice The fee rails are not `minFeeBps <= defaultFeeBps <= maxFeeBps`, `0 < maxFeeBps < 10,000`.
    /// @param minFeeBps The lowest fee a result can set.
    /// @param defaultFeeBps The fee with no result in force.
    /// @param maxFeeBps The highest fee a result can set.
    error InvalidFeeBounds(uint16 minFeeBps, uint16 defaultFeeBps, uint16 maxFeeBps);
    /// @notice The largest fee change per result is zero.
    error ZeroMaxStep();
    /// @notice The seconds a result stays in force are zero.
    error ZeroStalenessWindow();
    /// @notice The fee bps per 1.0 of model output are zero.
    error ZeroBpsPerUnit();
    /// @notice The largest age of an applicable result is zero.
    error ZeroMaxResultAge();
    /// @notice The pinned model does not take the number of inputs the consumer sends.
    /// @param expected The consumer's feature count.
    /// @param actual The model's registered input length.
    error ModelInputLenMismatch(uint32 expected, uint32 actual);
    /// @notice The pinned model has fewer outputs than the consumer reads.
    /// @param minimum The outputs the consumer reads.
    /// @param actual The model's registered output length.
    error ModelOutputLenTooShort(uint32 minimum, uint32 actual);
    /// @notice The pinned model's input scale is above what the consumer's features can be quantized at.
    /// @param inputScale The model's registered input scale.
    /// @param maximum The largest scale the consumer supports.
    error ModelInputScaleTooHigh(uint8 inputScale, uint8 maximum);

    /// @notice The oracle results come from.
    function oracle() external view returns (IInferenceOracle);
    /// @notice The model's id in the oracle.
    function modelId() external view returns (uint256);
    /// @notice Gas the oracle gives `onInferenceResult`.
    function callbackGasLimit() external view returns (uint32);
    /// @notice The request the consumer waits for (0: none).
    function pendingRequestId() external view returns (uint256);
    /// @notice When the pending request was made.
    function pendingRequestedAt() external view returns (uint40);
    /// @notice The owner.
    function owner() external view returns (address);
    /// @notice The account that may accept ownership.
    function pendingOwner() external view returns (address);
    /// @notice Starts a two-step ownership transfer (owner only); the zero address cancels a pending one.
    /// @param newOwner The account that may then call `acceptOwnership`.
    function transferOwnership(address newOwner) external;
    /// @notice Completes an ownership transfer (pending owner only).
    function acceptOwnership() external;
    /// @notice Sends the consumer's oracle credit (refunds of cancelled requests) to `to` (owner only).
    /// @param to The receiver.
    /// @return amount The wei sent.
    function withdrawOracleCredit(address payable to) external returns (uint256 amount);
}
