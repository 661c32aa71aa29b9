// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IPoolManager} from "@uniswap/v4-core/src/interfaces/IPoolManager.sol";
import {Hooks} from "@uniswap/v4-core/src/libraries/Hooks.sol";
import {LPFeeLibrary} from "@uniswap/v4-core/src/libraries/LPFeeLibrary.sol";
import {StateLibrary} from "@uniswap/v4-core/src/libraries/StateLibrary.sol";
import {BalanceDelta} from "@uniswap/v4-core/src/types/BalanceDelta.sol";
import {BeforeSwapDelta, BeforeSwapDeltaLibrary} from "@uniswap/v4-core/src/types/BeforeSwapDelta.sol";
import {PoolId} from "@uniswap/v4-core/src/types/PoolId.sol";
import {PoolKey} from "@uniswap/v4-core/src/types/PoolKey.sol";
import {SwapParams} from "@uniswap/v4-core/src/types/PoolOperation.sol";
import {BaseHook} from "@uniswap/v4-periphery/src/utils/BaseHook.sol";

import {InferenceConsumerBase} from "../InferenceConsumerBase.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {IOracleDynamicFeeHook} from "../interfaces/IOracleDynamicFeeHook.sol";
import {BoundedStep} from "../libraries/BoundedStep.sol";
import {FullMath} from "../libraries/FullMath.sol";
import {ModelPin} from "../libraries/ModelPin.sol";
import {SpreadFeatures} from "../libraries/SpreadFeatures.sol";

/// @title OracleDynamicFeeHook
/// @notice A Uniswap v4 hook that sets its pool's LP fee only from verified InferenceOracle results of its
///         registered spread model, through the BoundedStep rails.
/// @dev One hook serves one dynamic-fee pool (`beforeInitialize` refuses a second pool and a static fee).
///      - Features: `afterSwap` records each swap's input volume and tick move in a window that starts at the
///        previous request; `requestFeeUpdate` (anyone, paying the oracle fee) sends the spread model's eight
///        features (SpreadFeatures) computed from the pool's own state and resets the window:
///          0 price move: (tick_now - tick_at_window_start) / 10,000 (about the log return)
///          1 realized volatility: Σ |Δtick| / 10,000 over the window's swaps
///          2, 3 volume: token0 (token1) paid in / the virtual reserve L / √P (L · √P) at the current tick
///            and in-range liquidity
///          4..7 flow imbalance, activity, window length, fee in force / maxFeeBps
///      - Rails: a request needs a window of `updateInterval` seconds (at most one request per interval) and no
///        pending request; a result delivered more than `maxResultAge` seconds after its request is ignored; the
///        model's first output y (output scale o) maps to the target clamp(floor(max(y, 0) · bpsPerUnit / 2^o),
///        minFeeBps, maxFeeBps) and the fee moves from the fee in force toward it by at most `maxStepBps`; a
///        result stays in force for `stalenessWindow` seconds, after which (before the first result, and while
///        paused) swaps pay `baseFeeBps`.
///      - The fee reaches swaps through `beforeSwap`, which returns the fee in force with v4's override flag, so
///        a stale or paused fee falls back to the base fee at the next swap without a transaction; each applied
///        result is also written to the pool (`updateDynamicLPFee`) for readers of slot0.
///      - Only `_onVerifiedResult` writes the fee, and InferenceConsumerBase calls it only from the oracle, for
///        the request the hook is waiting for, while the pinned verifier's code is the pinned code; the oracle
///        calls back only after the model's verifier accepted the proof. The owner can pause (base fee), hand
///        over ownership and withdraw refunds; nothing else moves the fee.
///      Swaps before a request move the features; the step limit, bounds and interval cap what that can do.
contract OracleDynamicFeeHook is BaseHook, InferenceConsumerBase, IOracleDynamicFeeHook {
    using StateLibrary for IPoolManager;

    /// @notice v4 LP fee units (hundredths of a bip) per basis point.
    uint24 internal constant PIPS_PER_BPS = 100;
    /// @notice Ticks per 1.0 of a tick-based feature (1e18 / 1e4).
    int256 internal constant TICK_FEATURE_UNIT = 1e14;
    /// @notice TICK_FEATURE_UNIT as an unsigned number.
    uint256 internal constant TICK_FEATURE_UNIT_UNSIGNED = 1e14;
    /// @notice 2^96, the fixed-point one of √P.
    uint256 internal constant Q96 = 0x1000000000000000000000000;

    /// @notice Lowest fee a result can set.
    uint16 public immutable minFeeBps;
    /// @notice Highest fee a result can set.
    uint16 public immutable maxFeeBps;
    /// @notice Fee with no result in force.
    uint16 public immutable baseFeeBps;
    /// @notice Largest fee change per result.
    uint16 public immutable maxStepBps;
    /// @notice Seconds a result stays in force.
    uint32 public immutable stalenessWindow;
    /// @notice Fee bps per 1.0 of model output.
    uint32 public immutable bpsPerUnit;
    /// @notice Seconds of features a request covers (at most one request per interval).
    uint32 public immutable updateInterval;
    /// @notice Largest age (since its request) of an applicable result.
    uint32 public immutable maxResultAge;
    /// @notice The model's input scale.
    uint8 public immutable inputScale;
    /// @notice The model's output scale.
    uint8 public immutable outputScale;
    /// @notice The model's calibrated input range.
    int256 public immutable maxAbsInput;

    // One slot: everything a swap reads and writes besides the volumes.
    /// @notice Start of the feature window.
    uint40 public windowStart;
    /// @notice Swaps in the feature window.
    uint32 public windowSwapCount;
    /// @notice The pool's tick when the window started.
    int24 public windowStartTick;
    /// @notice The pool's tick after the last swap (or at the window's start).
    int24 public lastTick;
    /// @notice Σ |Δtick| over the window's swaps (saturating).
    uint64 public windowAbsTickMove;
    /// @notice The last verified fee (in force until `lastFeeUpdate + stalenessWindow`).
    uint16 public feeBps;
    /// @notice When the last verified fee was set (0: never).
    uint40 public lastFeeUpdate;
    /// @notice Whether the model's fee is paused.
    bool public paused;

    /// @notice Token0 paid in during the window (saturating).
    uint128 public windowVolume0;
    /// @notice Token1 paid in during the window (saturating).
    uint128 public windowVolume1;

    /// @notice The pool this hook serves (its `hooks` is zero until the pool is initialized).
    PoolKey public poolKey;

    /// @param manager The Uniswap v4 PoolManager.
    /// @param oracle_ The inference oracle.
    /// @param modelId_ The spread model: 8 inputs (SpreadFeatures), at least one output, input scale <= 64.
    /// @param pin The model registration the deployer checked (ModelPin).
    /// @param config The fee rails.
    /// @param owner_ The owner (pause, ownership, oracle credit).
    constructor(
        IPoolManager manager,
        IInferenceOracle oracle_,
        uint256 modelId_,
        ModelPin.Pin memory pin,
        FeeConfig memory config,
        address owner_
    ) BaseHook(manager) InferenceConsumerBase(oracle_, modelId_, pin, config.callbackGasLimit, owner_) {
        _checkFeeRails(
            config.minFeeBps,
            config.baseFeeBps,
            config.maxFeeBps,
            config.maxStepBps,
            config.stalenessWindow,
            config.bpsPerUnit
        );
        if (config.updateInterval == 0) revert ZeroUpdateInterval();
        if (config.maxResultAge == 0) revert ZeroMaxResultAge();
        IInferenceOracle.ModelParams memory params = oracle_.getModel(modelId_).params;
        if (params.inputLen != SpreadFeatures.COUNT) {
            revert ModelInputLenMismatch(uint32(SpreadFeatures.COUNT), params.inputLen);
        }
        if (params.outputLen == 0) revert ModelOutputLenTooShort(1, 0);
        if (params.inputScale > SpreadFeatures.MAX_INPUT_SCALE) {
            revert ModelInputScaleTooHigh(params.inputScale, SpreadFeatures.MAX_INPUT_SCALE);
        }
        minFeeBps = config.minFeeBps;
        maxFeeBps = config.maxFeeBps;
        baseFeeBps = config.baseFeeBps;
        maxStepBps = config.maxStepBps;
        stalenessWindow = config.stalenessWindow;
        bpsPerUnit = config.bpsPerUnit;
        updateInterval = config.updateInterval;
        maxResultAge = config.maxResultAge;
        inputScale = params.inputScale;
        outputScale = params.outputScale;
        maxAbsInput = params.maxAbsInput;
    }

    /// @notice The hook's callbacks: initialize (one dynamic-fee pool), beforeSwap (the fee in force) and
    ///         afterSwap (the feature window). The hook's address carries exactly these flags.
    /// @return The permissions.
    function getHookPermissions() public pure override returns (Hooks.Permissions memory) {
        return Hooks.Permissions({
            beforeInitialize: true,
            afterInitialize: true,
            beforeAddLiquidity: false,
            afterAddLiquidity: false,
            beforeRemoveLiquidity: false,
            afterRemoveLiquidity: false,
            beforeSwap: true,
            afterSwap: true,
            beforeDonate: false,
            afterDonate: false,
            beforeSwapReturnDelta: false,
            afterSwapReturnDelta: false,
            afterAddLiquidityReturnDelta: false,
            afterRemoveLiquidityReturnDelta: false
        });
    }

    // ------------------------------------------------------------------------------------------------------------
    // Pool callbacks (PoolManager only)
    // ------------------------------------------------------------------------------------------------------------

    function _beforeInitialize(address, PoolKey calldata key, uint160) internal override returns (bytes4) {
        if (address(poolKey.hooks) != address(0)) revert PoolAlreadyRegistered(PoolId.unwrap(_poolId()));
        if (!LPFeeLibrary.isDynamicFee(key.fee)) revert NotDynamicFee(key.fee);
        poolKey = key;
        return this.beforeInitialize.selector;
    }

    function _afterInitialize(address, PoolKey calldata key, uint160, int24 tick)
        internal
        override
        returns (bytes4)
    {
        _resetWindow(tick);
        poolManager.updateDynamicLPFee(key, uint24(baseFeeBps) * PIPS_PER_BPS);
        emit PoolRegistered(PoolId.unwrap(_poolId()), tick);
        return this.afterInitialize.selector;
    }

    /// @dev Every swap pays the fee in force (v4's per-swap override of a dynamic fee).
    function _beforeSwap(address, PoolKey calldata, SwapParams calldata, bytes calldata)
        internal
        view
        override
        returns (bytes4, BeforeSwapDelta, uint24)
    {
        return (
            this.beforeSwap.selector,
            BeforeSwapDeltaLibrary.ZERO_DELTA,
            currentLpFee() | LPFeeLibrary.OVERRIDE_FEE_FLAG
        );
    }

    /// @dev Adds the swap to the feature window: the input amount and the tick move.
    function _afterSwap(
        address,
        PoolKey calldata key,
        SwapParams calldata params,
        BalanceDelta delta,
        bytes calldata
    ) internal override returns (bytes4, int128) {
        (, int24 tick,,) = poolManager.getSlot0(key.toId());
        int256 move = int256(tick) - int256(lastTick);
        // casting to 'uint256' is safe because |move| < 2^24
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 absMove = uint256(move < 0 ? -move : move) + windowAbsTickMove;
        // forge-lint: disable-next-line(unsafe-typecast)
        windowAbsTickMove = absMove > type(uint64).max ? type(uint64).max : uint64(absMove);
        lastTick = tick;
        if (windowSwapCount < type(uint32).max) ++windowSwapCount;
        // The swapper's delta is negative in the token paid in.
        int128 paid = params.zeroForOne ? delta.amount0() : delta.amount1();
        // casting to 'uint256' is safe because -paid > 0
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 amountIn = paid < 0 ? uint256(-int256(paid)) : 0;
        if (params.zeroForOne) windowVolume0 = SpreadFeatures.saturatingAdd128(windowVolume0, amountIn);
        else windowVolume1 = SpreadFeatures.saturatingAdd128(windowVolume1, amountIn);
        return (this.afterSwap.selector, 0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Fee updates
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IOracleDynamicFeeHook
    function requestFeeUpdate() external payable returns (uint256 requestId) {
        if (paused) revert Paused();
        if (address(poolKey.hooks) == address(0)) revert PoolNotInitialized();
        _checkNoPendingRequest();
        uint256 nextAllowed = uint256(windowStart) + updateInterval;
        // Minutes-to-hours long: a validator's few seconds of timestamp drift do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < nextAllowed) revert UpdateTooSoon(nextAllowed);
        int256[] memory features = currentFeatures();
        requestId = _sendRequest(features);
        (, int24 tick,,) = poolManager.getSlot0(_poolId());
        _resetWindow(tick);
        emit FeeUpdateRequested(requestId, msg.sender, features);
    }

    /// @dev The verified spread output (InferenceConsumerBase has checked the sender, the request and the pinned
    ///      verifier's code, and consumed the request): the only place the fee changes.
    function _onVerifiedResult(uint256 requestId, uint256 requestedAt, int256[] calldata output)
        internal
        override
    {
        if (paused) {
            emit FeeResultIgnored(requestId, IgnoreReason.Paused);
            return;
        }
        if (BoundedStep.isExpired(requestedAt, maxResultAge, block.timestamp)) {
            emit FeeResultIgnored(requestId, IgnoreReason.Expired);
            return;
        }
        int256 y = output.length == 0 ? int256(0) : output[0];
        uint16 previous = currentFeeBps();
        uint16 target = targetFeeBps(y);
        uint16 next = BoundedStep.stepToward(previous, target, maxStepBps);
        feeBps = next;
        lastFeeUpdate = uint40(block.timestamp);
        poolManager.updateDynamicLPFee(poolKey, uint24(next) * PIPS_PER_BPS);
        emit FeeUpdated(requestId, y, target, previous, next);
    }

    /// @inheritdoc IOracleDynamicFeeHook
    function setPaused(bool isPaused) external onlyOwner {
        paused = isPaused;
        emit PausedSet(isPaused);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IOracleDynamicFeeHook
    function targetFeeBps(int256 modelOutput) public view returns (uint16) {
        return
            BoundedStep.clamp(BoundedStep.toBps(modelOutput, bpsPerUnit, outputScale), minFeeBps, maxFeeBps);
    }

    /// @inheritdoc IOracleDynamicFeeHook
    function currentFeeBps() public view returns (uint16) {
        uint256 updated = lastFeeUpdate;
        if (paused || updated == 0 || BoundedStep.isExpired(updated, stalenessWindow, block.timestamp)) {
            return baseFeeBps;
        }
        return feeBps;
    }

    /// @inheritdoc IOracleDynamicFeeHook
    function currentLpFee() public view returns (uint24) {
        return uint24(currentFeeBps()) * PIPS_PER_BPS;
    }

    /// @inheritdoc IOracleDynamicFeeHook
    function currentFeatures() public view virtual returns (int256[] memory) {
        int256[8] memory f; // SpreadFeatures.COUNT
        PoolId id = _poolId();
        (uint160 sqrtPriceX96, int24 tick,,) = poolManager.getSlot0(id);
        f[0] = (int256(tick) - int256(windowStartTick)) * TICK_FEATURE_UNIT; // |Δtick| < 2^24: below CAP
        f[1] = SpreadFeatures.cap(uint256(windowAbsTickMove) * TICK_FEATURE_UNIT_UNSIGNED);
        uint256 liquidity = poolManager.getLiquidity(id);
        if (liquidity != 0 && sqrtPriceX96 != 0) {
            // volume / (L / √P) and volume / (L · √P): both quotients below 2^192 before the division by L
            f[2] = _perLiquidity(FullMath.mulDiv(windowVolume0, sqrtPriceX96, Q96), liquidity);
            f[3] = _perLiquidity(FullMath.mulDiv(windowVolume1, Q96, sqrtPriceX96), liquidity);
        }
        return SpreadFeatures.finish(
            f,
            windowSwapCount,
            block.timestamp - windowStart,
            currentFeeBps(),
            maxFeeBps,
            inputScale,
            maxAbsInput
        );
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    function _poolId() internal view returns (PoolId) {
        return poolKey.toId();
    }

    function _resetWindow(int24 tick) internal {
        windowStart = uint40(block.timestamp);
        windowSwapCount = 0;
        windowStartTick = tick;
        lastTick = tick;
        windowAbsTickMove = 0;
        windowVolume0 = 0;
        windowVolume1 = 0;
    }

    /// @dev amount / liquidity in 1e18 fixed point, capped to SpreadFeatures.CAP.
    function _perLiquidity(uint256 amount, uint256 liquidity) internal pure returns (int256) {
        if (amount / liquidity >= SpreadFeatures.CAP_UNSIGNED / uint256(SpreadFeatures.ONE)) {
            return SpreadFeatures.CAP;
        }
        return SpreadFeatures.cap(FullMath.mulDiv(amount, uint256(SpreadFeatures.ONE), liquidity));
    }
}
