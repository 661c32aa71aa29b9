// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceConsumerBase} from "./IInferenceConsumerBase.sol";

/// @title ISpreadGatedAMM
/// @notice A constant-product pool whose swap fee (spread) changes only through verified inference results of its
///         registered model.
interface ISpreadGatedAMM is IInferenceConsumerBase {
    /// @notice The spread rails, fixed at deployment.
    struct SpreadConfig {
        uint16 minFeeBps; // lowest fee a model result can set
        uint16 maxFeeBps; // highest fee a model result can set (< 10,000)
        uint16 defaultFeeBps; // fee before the first result and once the last result is stale
        uint16 maxStepBps; // largest change of the fee per result
        uint32 stalenessWindow; // seconds a result stays in force
        uint32 callbackGasLimit; // gas the oracle gives onInferenceResult
        uint32 bpsPerUnit; // fee bps per 1.0 of model output: fee = output / 2^outputScale * bpsPerUnit
        uint32 minUpdateInterval; // seconds after an applied result before the next request (> 0)
        uint32 minFeatureWindow; // seconds of market activity a request's features must cover (> 0)
        uint32 maxResultAge; // a result delivered more than this many seconds after its request is ignored (> 0)
    }

    /// @notice Emitted on every swap.
    event Swap(
        address indexed sender,
        address indexed recipient,
        bool zeroForOne,
        uint256 amountIn,
        uint256 amountOut,
        uint16 feeBps
    );
    /// @notice Emitted when liquidity is added.
    event LiquidityAdded(address indexed provider, uint256 amount0, uint256 amount1, uint256 shares);
    /// @notice Emitted when liquidity is removed.
    event LiquidityRemoved(
        address indexed provider, address indexed recipient, uint256 amount0, uint256 amount1, uint256 shares
    );
    /// @notice Emitted when the pool asks the oracle for a new spread; `features` is the model input.
    event SpreadUpdateRequested(uint256 indexed requestId, address indexed payer, int256[] features);
    /// @notice Emitted when a verified model output moves the fee.
    event SpreadUpdated(
        uint256 indexed requestId,
        int256 modelOutput,
        uint16 targetFeeBps,
        uint16 previousFeeBps,
        uint16 newFeeBps
    );
    /// @notice Emitted when a verified result arrives more than `maxResultAge` seconds after its request: it is
    ///         consumed and changes nothing.
    /// @param requestId The request answered.
    /// @param requestedAt When the request was made.
    event SpreadResultExpired(uint256 indexed requestId, uint256 requestedAt);
    /// @notice Emitted when the owner pauses or unpauses swaps, deposits and spread requests.
    event PausedSet(bool paused);

    /// @notice The last result was applied less than `minUpdateInterval` seconds ago.
    /// @param nextAllowed The first timestamp at which a request is accepted.
    error UpdateTooSoon(uint256 nextAllowed);
    /// @notice The feature window (since the previous request) is shorter than `minFeatureWindow`.
    /// @param nextAllowed The first timestamp at which a request is accepted.
    error FeatureWindowTooShort(uint256 nextAllowed);
    /// @notice The pool is paused.
    error Paused();
    /// @notice The pool's tokens are zero or the same token.
    /// @param token0 The first token given.
    /// @param token1 The second token given.
    error InvalidTokens(address token0, address token1);
    /// @notice The minimum interval between applied results is zero.
    error ZeroMinUpdateInterval();
    /// @notice The minimum feature window of a request is zero.
    error ZeroMinFeatureWindow();
    /// @notice An amount is zero.
    error ZeroAmount();
    /// @notice The pool has no liquidity, or the trade would drain it.
    error InsufficientLiquidity();
    /// @notice The swap output is below the caller's minimum.
    /// @param amountOut The swap's output.
    /// @param minAmountOut The caller's minimum.
    error SlippageExceeded(uint256 amountOut, uint256 minAmountOut);
    /// @notice The liquidity change is below the caller's minimum or exceeds the caller's shares.
    /// @param shares The shares the change mints or burns.
    /// @param bound The caller's minimum, or the caller's shares.
    error InsufficientShares(uint256 shares, uint256 bound);
    /// @notice A reserve would exceed 2^112 - 1.
    error ReserveOverflow();
    /// @notice A re-entrant call.
    error Reentrancy();

    /// @notice Output amount of a swap of `amountIn` at the current fee (a standard token is assumed).
    function quote(uint256 amountIn, bool zeroForOne) external view returns (uint256 amountOut);
    /// @notice Swaps `amountIn` of token0 (zeroForOne) or token1 for the other token, sent to `recipient`.
    function swap(uint256 amountIn, bool zeroForOne, uint256 minAmountOut, address recipient)
        external
        returns (uint256 amountOut);
    /// @notice Deposits both tokens; mints pool shares (deposit at the pool ratio: any excess is donated).
    function addLiquidity(uint256 amount0, uint256 amount1, uint256 minShares)
        external
        returns (uint256 shares);
    /// @notice Burns `shares` and sends the proportional reserves to `recipient`. Works while paused.
    function removeLiquidity(uint256 shares, uint256 minAmount0, uint256 minAmount1, address recipient)
        external
        returns (uint256 amount0, uint256 amount1);
    /// @notice Asks the oracle for a new spread from the pool's current features; `msg.value` must equal
    ///         `oracle.estimateFee(modelId, callbackGasLimit)`. Anyone may pay for an update; one request may be
    ///         pending at a time, the features must cover at least `minFeatureWindow` seconds
    ///         (`FeatureWindowTooShort`) and the last applied result be `minUpdateInterval` old (`UpdateTooSoon`).
    /// @return requestId The oracle's request id.
    function requestSpreadUpdate() external payable returns (uint256 requestId);
    /// @notice The model input the pool would send now: 8 features quantized at the model's input scale.
    function currentFeatures() external view returns (int256[] memory features);
    /// @notice The fee swaps pay now: the last verified fee, or the default when none is in force.
    function currentFeeBps() external view returns (uint16);
    /// @notice Pauses or unpauses swaps, deposits and spread requests (owner only).
    function setPaused(bool paused) external;
}
