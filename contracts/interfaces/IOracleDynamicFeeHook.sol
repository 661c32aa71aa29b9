// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceConsumerBase} from "./IInferenceConsumerBase.sol";

/// @title IOracleDynamicFeeHook
/// @notice A Uniswap v4 hook whose pool's LP fee is set only by verified results of its registered spread model.
interface IOracleDynamicFeeHook is IInferenceConsumerBase {
    /// @notice The fee rails, fixed at deployment. Fees in basis points (the pool's LP fee is 100 times that, in
    ///         v4's hundredths of a basis point).
    struct FeeConfig {
        uint16 minFeeBps; // lowest fee a model result can set
        uint16 maxFeeBps; // highest fee a model result can set (< 10,000)
        uint16 baseFeeBps; // fee before the first result, once the last result is stale, and while paused
        uint16 maxStepBps; // largest change of the fee per result (> 0)
        uint32 stalenessWindow; // seconds a result stays in force (> 0)
        uint32 callbackGasLimit; // gas the oracle gives onInferenceResult (> 0)
        uint32 bpsPerUnit; // fee bps per 1.0 of model output (> 0)
        uint32 updateInterval; // a request needs a feature window this long: at most one request per interval
        uint32 maxResultAge; // a result delivered more than this many seconds after its request is ignored
    }

    /// @notice Why a verified result was consumed without moving the fee.
    enum IgnoreReason {
        Expired,
        Paused
    }

    /// @notice Emitted when the hook's pool is initialized (the one pool this hook serves).
    event PoolRegistered(bytes32 indexed poolId, int24 tick);
    /// @notice Emitted when the pool asks the oracle for a new fee; `features` is the model input.
    event FeeUpdateRequested(uint256 indexed requestId, address indexed payer, int256[] features);
    /// @notice Emitted when a verified model output moves the fee.
    event FeeUpdated(
        uint256 indexed requestId,
        int256 modelOutput,
        uint16 targetFeeBps,
        uint16 previousFeeBps,
        uint16 newFeeBps
    );
    /// @notice Emitted when a verified result is consumed and changes nothing.
    event FeeResultIgnored(uint256 indexed requestId, IgnoreReason reason);
    /// @notice Emitted when the owner pauses or unpauses the model's fee (paused: the base fee, no requests).
    event PausedSet(bool paused);

    /// @notice The pool is not a dynamic-fee pool.
    /// @param fee The pool key's fee.
    error NotDynamicFee(uint24 fee);
    /// @notice The hook already serves a pool.
    /// @param poolId The pool it serves.
    error PoolAlreadyRegistered(bytes32 poolId);
    /// @notice The hook's pool is not initialized yet.
    error PoolNotInitialized();
    /// @notice The feature window (since the previous request) is shorter than `updateInterval`.
    /// @param nextAllowed The first timestamp at which a request is accepted.
    error UpdateTooSoon(uint256 nextAllowed);
    /// @notice Requests are paused.
    error Paused();
    /// @notice The update interval (the shortest feature window of a request) is zero.
    error ZeroUpdateInterval();

    /// @notice Asks the oracle for a new fee from the pool's current features; anyone may pay for it.
    ///         `msg.value` must equal `oracle.estimateFee(modelId, callbackGasLimit)`. One request may be pending
    ///         at a time (`RequestStillPending`), and the feature window must be `updateInterval` long
    ///         (`UpdateTooSoon`): at most one request per interval.
    /// @return requestId The oracle's request id.
    function requestFeeUpdate() external payable returns (uint256 requestId);
    /// @notice The model input the pool would send now: 8 features quantized at the model's input scale.
    function currentFeatures() external view returns (int256[] memory features);
    /// @notice The fee swaps pay now, in bps: the last verified fee, or the base fee when none is in force or
    ///         while paused.
    function currentFeeBps() external view returns (uint16);
    /// @notice `currentFeeBps()` in v4's units (hundredths of a basis point), as swaps are charged.
    function currentLpFee() external view returns (uint24);
    /// @notice The fee a model output maps to before the step limit.
    /// @param modelOutput The quantized model output.
    function targetFeeBps(int256 modelOutput) external view returns (uint16);
    /// @notice Pauses or unpauses the model's fee (owner only): paused, swaps pay the base fee, requests are
    ///         refused and results are consumed without effect.
    /// @param paused Whether to pause.
    function setPaused(bool paused) external;
}
