// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceConsumerBase} from "./IInferenceConsumerBase.sol";

/// @title IRiskParameterGate
/// @notice Lending-style risk parameters (LTV and liquidation threshold) that change only through verified
///         results of a registered risk model, inside risk-steward rails.
interface IRiskParameterGate is IInferenceConsumerBase {
    /// @notice The rails, fixed at deployment. All values in basis points except the times.
    struct RiskConfig {
        uint16 minLtvBps; // lowest LTV a result can set
        uint16 maxLtvBps; // highest LTV a result can set
        uint16 minLiquidationThresholdBps; // lowest liquidation threshold a result can set
        uint16 maxLiquidationThresholdBps; // highest liquidation threshold a result can set (<= 10,000)
        uint16 maxLtvChangeBps; // largest LTV change per update
        uint16 maxLiquidationThresholdChangeBps; // largest liquidation threshold change per update
        uint32 minUpdateDelay; // seconds between two applied updates
        uint32 maxResultAge; // a result delivered more than this many seconds after its request is rejected
        uint32 callbackGasLimit; // gas the oracle gives onInferenceResult
    }

    /// @notice Why a verified result was not applied.
    enum RejectReason {
        None,
        ResultExpired,
        UpdateTooSoon,
        LtvNotBelowLiquidationThreshold
    }

    /// @notice Emitted when the keeper asks the oracle for new parameters.
    event RiskUpdateRequested(uint256 indexed requestId, address indexed keeper);
    /// @notice Emitted when a verified result changes the parameters.
    event RiskParametersUpdated(
        uint256 indexed requestId,
        uint16 previousLtvBps,
        uint16 newLtvBps,
        uint16 previousLiquidationThresholdBps,
        uint16 newLiquidationThresholdBps
    );
    /// @notice Emitted when a verified result is consumed without changing the parameters.
    event RiskResultRejected(uint256 indexed requestId, RejectReason reason);
    /// @notice Emitted when the owner changes the keeper.
    event KeeperSet(address indexed keeper);

    /// @notice The minimum delay since the last update has not passed.
    /// @param nextAllowed The first timestamp at which an update is applied.
    error UpdateTooSoon(uint256 nextAllowed);
    /// @notice The LTV rails are not `minLtvBps <= maxLtvBps < 10,000`.
    /// @param minLtvBps The lowest LTV a result can set.
    /// @param maxLtvBps The highest LTV a result can set.
    error InvalidLtvBounds(uint16 minLtvBps, uint16 maxLtvBps);
    /// @notice The liquidation threshold rails are not `min <= max <= 10,000`.
    /// @param minLiquidationThresholdBps The lowest threshold a result can set.
    /// @param maxLiquidationThresholdBps The highest threshold a result can set.
    error InvalidLiquidationThresholdBounds(
        uint16 minLiquidationThresholdBps, uint16 maxLiquidationThresholdBps
    );
    /// @notice A largest change per update is zero.
    /// @param maxLtvChangeBps The largest LTV change per update.
    /// @param maxLiquidationThresholdChangeBps The largest liquidation threshold change per update.
    error ZeroMaxChange(uint16 maxLtvChangeBps, uint16 maxLiquidationThresholdChangeBps);
    /// @notice The initial LTV is outside its rails.
    /// @param ltvBps The initial LTV.
    /// @param minLtvBps The lowest LTV allowed.
    /// @param maxLtvBps The highest LTV allowed.
    error InitialLtvOutOfBounds(uint16 ltvBps, uint16 minLtvBps, uint16 maxLtvBps);
    /// @notice The initial liquidation threshold is outside its rails.
    /// @param liquidationThresholdBps The initial threshold.
    /// @param minLiquidationThresholdBps The lowest threshold allowed.
    /// @param maxLiquidationThresholdBps The highest threshold allowed.
    error InitialLiquidationThresholdOutOfBounds(
        uint16 liquidationThresholdBps, uint16 minLiquidationThresholdBps, uint16 maxLiquidationThresholdBps
    );
    /// @notice The initial LTV is not below the initial liquidation threshold.
    /// @param ltvBps The initial LTV.
    /// @param liquidationThresholdBps The initial liquidation threshold.
    error InitialLtvNotBelowLiquidationThreshold(uint16 ltvBps, uint16 liquidationThresholdBps);

    /// @notice Asks the oracle for new parameters from `features` (the risk model's input, quantized at its input
    ///         scale). Keeper or owner only; `msg.value` must equal the oracle's fee.
    function requestUpdate(int256[] calldata features) external payable returns (uint256 requestId);
    /// @notice The current loan-to-value, in basis points.
    function ltvBps() external view returns (uint16);
    /// @notice The current liquidation threshold, in basis points.
    function liquidationThresholdBps() external view returns (uint16);
    /// @notice Sets the keeper (owner only).
    function setKeeper(address keeper) external;
}
