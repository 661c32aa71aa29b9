// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {InferenceConsumerBase} from "./InferenceConsumerBase.sol";
import {IInferenceOracle} from "./interfaces/IInferenceOracle.sol";
import {IRiskParameterGate} from "./interfaces/IRiskParameterGate.sol";
import {BoundedStep} from "./libraries/BoundedStep.sol";
import {ModelPin} from "./libraries/ModelPin.sol";

/// @title RiskParameterGate
/// @notice Holds a lending market's LTV and liquidation threshold and lets only verified results of one risk
///         model move them, inside rails modelled on Aave's risk stewards.
/// @dev Output mapping (the model's outputs y_i at output scale o; 1.0 means 100% = 10,000 bps):
///        outputs[0] -> LTV:                   clamp(floor(max(y_0, 0) · 10,000 / 2^o), minLtvBps, maxLtvBps)
///        outputs[1] -> liquidation threshold: clamp(floor(max(y_1, 0) · 10,000 / 2^o), minLT, maxLT)
///        outputs[2..] are not used by this gate.
///      Rails, applied in order when a result arrives:
///        1. it comes from the oracle, for the one request this gate is waiting for (once-only: the pending id is
///           cleared before anything else; a repeated or foreign delivery reverts), while the pinned verifier's
///           code is the pinned code (ModelPin: the constructor checks the oracle's registration against the
///           pin; a changed verifier makes every delivery revert);
///        2. expiry: a result delivered more than maxResultAge seconds after its request is rejected;
///        3. min delay: a result arriving less than minUpdateDelay seconds after the last applied update is
///           rejected (requests are refused in that period too);
///        4. bounds: each target is clamped to its [min, max]; targets with LTV >= liquidation threshold are
///           rejected (the model's output is incoherent);
///        5. max change: each parameter moves toward its target by at most its max change, except that the pair
///           stays ordered: when both fall, the threshold falls no lower than the new LTV + 1 bps, and when both
///           rise, the LTV rises no higher than the new threshold - 1 bps. Lowering the LTV is never held back.
///           (Issue #22, item 5: stepping independently and rejecting a crossed pair stalled a crash from
///           7000/7500 toward 5000/6000 at 6200/6300 with steps 200/300, rejecting every later result.) From an
///           ordered pair toward ordered targets every update makes progress, so the gate reaches any ordered
///           target in at most about (distance / smaller step) + 1 updates.
///      A rejected result is consumed (event RiskResultRejected) and changes nothing. The model's input comes
///      from the keeper: the proof shows the model was applied to it, not where it came from, so the keeper is a
///      trusted role; the rails bound what a wrong input can do.
contract RiskParameterGate is InferenceConsumerBase, IRiskParameterGate {
    /// @notice Basis-point denominator.
    uint256 internal constant BPS = 10_000;

    /// @notice The model's output scale.
    uint8 public immutable outputScale;
    /// @notice Lowest LTV a result can set.
    uint16 public immutable minLtvBps;
    /// @notice Highest LTV a result can set.
    uint16 public immutable maxLtvBps;
    /// @notice Lowest liquidation threshold a result can set.
    uint16 public immutable minLiquidationThresholdBps;
    /// @notice Highest liquidation threshold a result can set.
    uint16 public immutable maxLiquidationThresholdBps;
    /// @notice Largest LTV change per update.
    uint16 public immutable maxLtvChangeBps;
    /// @notice Largest liquidation threshold change per update.
    uint16 public immutable maxLiquidationThresholdChangeBps;
    /// @notice Seconds between two applied updates.
    uint32 public immutable minUpdateDelay;
    /// @notice Largest age (since its request) of an applicable result.
    uint32 public immutable maxResultAge;

    /// @inheritdoc IRiskParameterGate
    uint16 public ltvBps;
    /// @inheritdoc IRiskParameterGate
    uint16 public liquidationThresholdBps;
    /// @notice When the last result was applied (0: never).
    uint40 public lastUpdate;
    /// @notice The account allowed to request updates besides the owner.
    address public keeper;

    /// @param oracle_ The inference oracle.
    /// @param modelId_ The risk model: at least two outputs.
    /// @param pin The model registration the deployer checked (verifier, its code hash, vk digest, weights
    ///        commitment); the constructor reverts unless the oracle's registration of `modelId_` matches it.
    /// @param config The rails.
    /// @param initialLtvBps Starting LTV, within its bounds.
    /// @param initialLiquidationThresholdBps Starting liquidation threshold, within its bounds and above the LTV.
    /// @param owner_ The owner.
    /// @param keeper_ The keeper (may be zero: owner-only requests).
    constructor(
        IInferenceOracle oracle_,
        uint256 modelId_,
        ModelPin.Pin memory pin,
        RiskConfig memory config,
        uint16 initialLtvBps,
        uint16 initialLiquidationThresholdBps,
        address owner_,
        address keeper_
    ) InferenceConsumerBase(oracle_, modelId_, pin, config.callbackGasLimit, owner_) {
        if (config.minLtvBps > config.maxLtvBps || config.maxLtvBps >= BPS) {
            revert InvalidLtvBounds(config.minLtvBps, config.maxLtvBps);
        }
        if (
            config.minLiquidationThresholdBps > config.maxLiquidationThresholdBps
                || config.maxLiquidationThresholdBps > BPS
        ) {
            revert InvalidLiquidationThresholdBounds(
                config.minLiquidationThresholdBps, config.maxLiquidationThresholdBps
            );
        }
        if (config.maxLtvChangeBps == 0 || config.maxLiquidationThresholdChangeBps == 0) {
            revert ZeroMaxChange(config.maxLtvChangeBps, config.maxLiquidationThresholdChangeBps);
        }
        if (config.maxResultAge == 0) revert ZeroMaxResultAge();
        if (initialLtvBps < config.minLtvBps || initialLtvBps > config.maxLtvBps) {
            revert InitialLtvOutOfBounds(initialLtvBps, config.minLtvBps, config.maxLtvBps);
        }
        if (
            initialLiquidationThresholdBps < config.minLiquidationThresholdBps
                || initialLiquidationThresholdBps > config.maxLiquidationThresholdBps
        ) {
            revert InitialLiquidationThresholdOutOfBounds(
                initialLiquidationThresholdBps,
                config.minLiquidationThresholdBps,
                config.maxLiquidationThresholdBps
            );
        }
        if (initialLtvBps >= initialLiquidationThresholdBps) {
            revert InitialLtvNotBelowLiquidationThreshold(initialLtvBps, initialLiquidationThresholdBps);
        }
        // The base constructor checked the registration against the pin; its parameters never change.
        IInferenceOracle.ModelParams memory params = oracle_.getModel(modelId_).params;
        if (params.outputLen < 2) revert ModelOutputLenTooShort(2, params.outputLen);

        outputScale = params.outputScale;
        minLtvBps = config.minLtvBps;
        maxLtvBps = config.maxLtvBps;
        minLiquidationThresholdBps = config.minLiquidationThresholdBps;
        maxLiquidationThresholdBps = config.maxLiquidationThresholdBps;
        maxLtvChangeBps = config.maxLtvChangeBps;
        maxLiquidationThresholdChangeBps = config.maxLiquidationThresholdChangeBps;
        minUpdateDelay = config.minUpdateDelay;
        maxResultAge = config.maxResultAge;
        ltvBps = initialLtvBps;
        liquidationThresholdBps = initialLiquidationThresholdBps;
        keeper = keeper_;
        emit KeeperSet(keeper_);
    }

    /// @inheritdoc IRiskParameterGate
    function requestUpdate(int256[] calldata features) external payable returns (uint256 requestId) {
        if (msg.sender != keeper && msg.sender != owner) revert Unauthorized(msg.sender);
        _checkNoPendingRequest();
        uint256 nextAllowed = _nextUpdateAllowed();
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < nextAllowed) revert UpdateTooSoon(nextAllowed);
        requestId = _sendRequest(features);
        emit RiskUpdateRequested(requestId, msg.sender);
    }

    /// @dev The verified risk output (InferenceConsumerBase has checked the sender, the request and the pinned
    ///      verifier's code, and consumed the request): applied through the rails, or rejected with a reason.
    function _onVerifiedResult(uint256 requestId, uint256 requestedAt, int256[] calldata output)
        internal
        override
    {
        RejectReason reason = _apply(requestId, requestedAt, output);
        if (reason != RejectReason.None) emit RiskResultRejected(requestId, reason);
    }

    /// @notice The LTV and liquidation threshold a result would set now, and why it would be rejected (None if
    ///         it would be applied). Ignores expiry, which depends on the request time.
    function preview(int256[] calldata output)
        public
        view
        returns (uint16 newLtvBps, uint16 newLiquidationThresholdBps, RejectReason reason)
    {
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < _nextUpdateAllowed()) {
            return (ltvBps, liquidationThresholdBps, RejectReason.UpdateTooSoon);
        }
        uint16 ltvTarget = BoundedStep.clamp(_toBps(output[0]), minLtvBps, maxLtvBps);
        uint16 ltTarget =
            BoundedStep.clamp(_toBps(output[1]), minLiquidationThresholdBps, maxLiquidationThresholdBps);
        uint16 ltv = ltvBps;
        uint16 lt = liquidationThresholdBps;
        if (ltvTarget >= ltTarget) return (ltv, lt, RejectReason.LtvNotBelowLiquidationThreshold);
        newLtvBps = BoundedStep.stepToward(ltv, ltvTarget, maxLtvChangeBps);
        newLiquidationThresholdBps = BoundedStep.stepToward(lt, ltTarget, maxLiquidationThresholdChangeBps);
        if (newLtvBps >= newLiquidationThresholdBps) {
            // Only when both move the same way (ltv < lt and ltvTarget < ltTarget rule out the other cases).
            // Falling: hold the threshold just above the new LTV, which is <= ltv < lt, so it still falls (or
            // stays) and stays >= ltTarget. Rising: hold the LTV just below the new threshold, which is >= lt > ltv,
            // so it still rises (or stays) and stays <= ltvTarget.
            if (newLtvBps <= ltv) newLiquidationThresholdBps = newLtvBps + 1;
            else newLtvBps = newLiquidationThresholdBps - 1;
        }
    }

    /// @inheritdoc IRiskParameterGate
    function setKeeper(address newKeeper) external onlyOwner {
        keeper = newKeeper;
        emit KeeperSet(newKeeper);
    }

    /// @dev Applies the rails to a verified result; returns why it was rejected, or None after applying it.
    function _apply(uint256 requestId, uint256 requestedAt, int256[] calldata output)
        internal
        returns (RejectReason)
    {
        if (BoundedStep.isExpired(requestedAt, maxResultAge, block.timestamp)) {
            return RejectReason.ResultExpired;
        }
        (uint16 newLtv, uint16 newLt, RejectReason reason) = preview(output);
        if (reason != RejectReason.None) return reason;
        uint16 previousLtv = ltvBps;
        uint16 previousLt = liquidationThresholdBps;
        ltvBps = newLtv;
        liquidationThresholdBps = newLt;
        lastUpdate = uint40(block.timestamp);
        emit RiskParametersUpdated(requestId, previousLtv, newLtv, previousLt, newLt);
        return RejectReason.None;
    }

    function _nextUpdateAllowed() internal view returns (uint256) {
        uint256 last = lastUpdate;
        return last == 0 ? 0 : last + minUpdateDelay;
    }

    /// @dev max(y, 0) · 10,000 / 2^outputScale (1.0 of output is 100%).
    function _toBps(int256 y) internal view returns (uint256) {
        return BoundedStep.toBps(y, BPS, outputScale);
    }
}
