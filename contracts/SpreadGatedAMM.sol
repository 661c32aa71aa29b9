// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {InferenceConsumerBase} from "./InferenceConsumerBase.sol";
import {IERC20Minimal} from "./interfaces/IERC20Minimal.sol";
import {IInferenceOracle} from "./interfaces/IInferenceOracle.sol";
import {ISpreadGatedAMM} from "./interfaces/ISpreadGatedAMM.sol";
import {BoundedStep} from "./libraries/BoundedStep.sol";
import {FullMath} from "./libraries/FullMath.sol";
import {ModelPin} from "./libraries/ModelPin.sol";
import {SafeTransferLib} from "./libraries/SafeTransferLib.sol";
import {SpreadFeatures} from "./libraries/SpreadFeatures.sol";

/// @title SpreadGatedAMM
/// @notice A constant-product (x·y = k) pool whose swap fee is set only by verified results of one model
///         registered in an InferenceOracle.
/// @dev Spread pipeline:
///      - The pool tracks market features on-chain in a window that starts at the previous spread request.
///        `requestSpreadUpdate` sends them (FEATURE_COUNT = 8 values) to the oracle and resets the window. Each
///        feature is a real number f (1e18 fixed point here), capped to ±1e6, sent as clamp(trunc(f · 2^s),
///        ±maxAbsInput) with s the model's input scale:
///          0 price move: (P_now - P_start) / P_start, P = reserve1 / reserve0
///          1 realized volatility: Σ |P_after - P_before| / P_before over the window's swaps (from the reserves
///            at full precision, so a price below 1e-18 neither truncates to zero nor divides by it)
///          2 token0 volume: Σ token0 in / reserve0
///          3 token1 volume: Σ token1 in / reserve1
///          4 flow imbalance: (f2 - f3) / (f2 + f3), in [-1, 1] (0 without volume)
///          5 activity: min(swaps, 100) / 100
///          6 window length: min(seconds, 1 day) / 1 day
///          7 current fee: currentFeeBps / maxFeeBps
///      - Rate rails (issue #22, item 4): a request needs a feature window of at least minFeatureWindow seconds
///        and the last applied result to be minUpdateInterval seconds old; a result delivered more than
///        maxResultAge seconds after its request is consumed and ignored. Without them a caller could request
///        again right after each fulfilment, on a window that swaps in the same transaction shape, and walk the
///        fee from 30 to 5 bps in minutes. Each result still moves the fee by at most maxStepBps, so moving it
///        by k · maxStepBps now takes at least (k - 1) · minUpdateInterval seconds.
///      - `onInferenceResult` is accepted only from the oracle and only for the request this pool made and is
///        waiting for (once-only), and only while the pinned verifier's code is the pinned code (ModelPin: the
///        constructor checks the oracle's registration against the pin). The model's first output y (at output
///        scale o) maps to
///        target = clamp(floor(max(y, 0) · bpsPerUnit / 2^o), minFeeBps, maxFeeBps); the fee then moves from the
///        fee in force toward the target by at most maxStepBps.
///      - A result stays in force for stalenessWindow seconds; after that (and before the first result) swaps
///        pay defaultFeeBps.
///      Features depend on pool state that traders can move before a request; the step limit and bounds cap what
///      such manipulation can achieve. Fee-on-transfer and rebasing tokens are not supported.
contract SpreadGatedAMM is InferenceConsumerBase, ISpreadGatedAMM {
    using SafeTransferLib for IERC20Minimal;

    /// @notice Number of model inputs the pool produces.
    uint256 public constant FEATURE_COUNT = SpreadFeatures.COUNT;
    /// @notice Shares burned on the first deposit (Uniswap V2's minimum liquidity).
    uint256 public constant MINIMUM_LIQUIDITY = 1000;
    /// @notice Basis-point denominator.
    uint256 internal constant BPS = 10_000;
    /// @notice Fixed-point one for features.
    uint256 internal constant ONE = 1e18;
    /// @notice |feature| cap before quantization (1e6 in real units).
    uint256 internal constant FEATURE_CAP_UNSIGNED = SpreadFeatures.CAP_UNSIGNED;
    /// @notice Largest model input scale the pool supports (keeps quantization overflow-free).
    uint8 public constant MAX_INPUT_SCALE = SpreadFeatures.MAX_INPUT_SCALE;
    /// @dev Transient-storage slot of the reentrancy lock: uint256(keccak256("SpreadGatedAMM.lock")) - 1.
    uint256 internal constant LOCK_SLOT = 0x66cef2a9244860de5799ec52ec5f97af8c31670f8c53df91b5b79cc5262ea1f6;

    /// @notice The pool's first token.
    IERC20Minimal public immutable token0;
    /// @notice The pool's second token.
    IERC20Minimal public immutable token1;
    /// @notice Lowest fee a result can set.
    uint16 public immutable minFeeBps;
    /// @notice Highest fee a result can set.
    uint16 public immutable maxFeeBps;
    /// @notice Fee with no result in force.
    uint16 public immutable defaultFeeBps;
    /// @notice Largest fee change per result.
    uint16 public immutable maxStepBps;
    /// @notice Seconds a result stays in force.
    uint32 public immutable stalenessWindow;
    /// @notice Fee bps per 1.0 of model output.
    uint32 public immutable bpsPerUnit;
    /// @notice Seconds after an applied result before the next request.
    uint32 public immutable minUpdateInterval;
    /// @notice Seconds of market activity a request's features must cover.
    uint32 public immutable minFeatureWindow;
    /// @notice Largest age (since its request) of an applicable result.
    uint32 public immutable maxResultAge;
    /// @notice The model's input scale (inputs are round(x · 2^inputScale)).
    uint8 public immutable inputScale;
    /// @notice The model's output scale.
    uint8 public immutable outputScale;
    /// @notice The model's calibrated input range.
    int256 public immutable maxAbsInput;

    /// @notice Token0 reserve.
    uint112 public reserve0;
    /// @notice Token1 reserve.
    uint112 public reserve1;
    /// @notice The last verified fee (in force until `lastFeeUpdate + stalenessWindow`).
    uint16 public feeBps;
    /// @notice When the last verified fee was set (0: never).
    uint40 public lastFeeUpdate;
    /// @notice Whether swaps, deposits and spread requests are paused.
    bool public paused;

    /// @notice Start of the feature window.
    uint40 public windowStart;
    /// @notice Swaps in the feature window.
    uint32 public windowSwapCount;
    /// @notice Token0 paid in during the feature window (saturating).
    uint128 public windowVolume0;
    /// @notice Token1 paid in during the feature window (saturating).
    uint128 public windowVolume1;
    /// @notice Σ |ΔP| / P over the window's swaps, 1e18 fixed point (capped).
    uint256 public windowAbsReturn;
    /// @notice Price reserve1 / reserve0 (1e18 fixed point) when the window started.
    uint256 public windowStartPrice;

    /// @notice Pool shares in circulation (MINIMUM_LIQUIDITY of them belong to no one).
    uint256 public totalShares;
    /// @notice Pool shares per provider.
    mapping(address provider => uint256) public sharesOf;

    modifier whenNotPaused() {
        if (paused) revert Paused();
        _;
    }

    modifier nonReentrant() {
        bool locked;
        assembly ("memory-safe") {
            locked := tload(LOCK_SLOT)
        }
        if (locked) revert Reentrancy();
        assembly ("memory-safe") {
            tstore(LOCK_SLOT, 1)
        }
        _;
        assembly ("memory-safe") {
            tstore(LOCK_SLOT, 0)
        }
    }

    /// @param oracle_ The inference oracle.
    /// @param modelId_ The spread model: FEATURE_COUNT inputs, at least one output, input scale <= 64.
    /// @param pin The model registration the deployer checked (verifier, its code hash, vk digest, weights
    ///        commitment); the constructor reverts unless the oracle's registration of `modelId_` matches it.
    /// @param token0_ The pool's first token.
    /// @param token1_ The pool's second token.
    /// @param config The spread rails.
    /// @param owner_ The pool owner.
    constructor(
        IInferenceOracle oracle_,
        uint256 modelId_,
        ModelPin.Pin memory pin,
        IERC20Minimal token0_,
        IERC20Minimal token1_,
        SpreadConfig memory config,
        address owner_
    ) InferenceConsumerBase(oracle_, modelId_, pin, config.callbackGasLimit, owner_) {
        if (address(token0_) == address(0) || address(token1_) == address(0) || token0_ == token1_) {
            revert InvalidTokens(address(token0_), address(token1_));
        }
        _checkFeeRails(
            config.minFeeBps,
            config.defaultFeeBps,
            config.maxFeeBps,
            config.maxStepBps,
            config.stalenessWindow,
            config.bpsPerUnit
        );
        if (config.minUpdateInterval == 0) revert ZeroMinUpdateInterval();
        if (config.minFeatureWindow == 0) revert ZeroMinFeatureWindow();
        if (config.maxResultAge == 0) revert ZeroMaxResultAge();
        // The base constructor checked the registration against the pin; its parameters never change.
        IInferenceOracle.ModelParams memory params = oracle_.getModel(modelId_).params;
        if (params.inputLen != FEATURE_COUNT) {
            revert ModelInputLenMismatch(uint32(FEATURE_COUNT), params.inputLen);
        }
        if (params.outputLen == 0) revert ModelOutputLenTooShort(1, 0);
        if (params.inputScale > MAX_INPUT_SCALE) {
            revert ModelInputScaleTooHigh(params.inputScale, MAX_INPUT_SCALE);
        }

        token0 = token0_;
        token1 = token1_;
        minFeeBps = config.minFeeBps;
        maxFeeBps = config.maxFeeBps;
        defaultFeeBps = config.defaultFeeBps;
        maxStepBps = config.maxStepBps;
        stalenessWindow = config.stalenessWindow;
        bpsPerUnit = config.bpsPerUnit;
        minUpdateInterval = config.minUpdateInterval;
        minFeatureWindow = config.minFeatureWindow;
        maxResultAge = config.maxResultAge;
        inputScale = params.inputScale;
        outputScale = params.outputScale;
        maxAbsInput = params.maxAbsInput;
        windowStart = uint40(block.timestamp);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Trading
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc ISpreadGatedAMM
    function quote(uint256 amountIn, bool zeroForOne) external view returns (uint256 amountOut) {
        (uint256 reserveIn, uint256 reserveOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        return _amountOut(amountIn, reserveIn, reserveOut, currentFeeBps());
    }

    /// @inheritdoc ISpreadGatedAMM
    function swap(uint256 amountIn, bool zeroForOne, uint256 minAmountOut, address recipient)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 amountOut)
    {
        if (amountIn == 0) revert ZeroAmount();
        uint256 received;
        uint16 fee;
        (amountOut, received, fee) = _swapReserves(amountIn, zeroForOne);
        if (amountOut < minAmountOut) revert SlippageExceeded(amountOut, minAmountOut);
        (zeroForOne ? token1 : token0).safeTransfer(recipient, amountOut);
        emit Swap(msg.sender, recipient, zeroForOne, received, amountOut, fee);
    }

    /// @inheritdoc ISpreadGatedAMM
    function addLiquidity(uint256 amount0, uint256 amount1, uint256 minShares)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 shares)
    {
        if (amount0 == 0 || amount1 == 0) revert ZeroAmount();
        (uint256 in0, uint256 in1, uint256 r0, uint256 r1) = _pullPair(amount0, amount1);

        uint256 supply = totalShares;
        if (supply == 0) {
            // reserves are below 2^112 (checked in _pullPair), so the products cannot overflow
            shares = _sqrt(in0 * in1);
            if (shares <= MINIMUM_LIQUIDITY) revert InsufficientShares(shares, MINIMUM_LIQUIDITY);
            shares -= MINIMUM_LIQUIDITY;
            supply = MINIMUM_LIQUIDITY;
            _resetWindow();
        } else {
            uint256 s0 = (in0 * supply) / r0;
            uint256 s1 = (in1 * supply) / r1;
            shares = s0 < s1 ? s0 : s1;
        }
        if (shares == 0 || shares < minShares) revert InsufficientShares(shares, minShares);
        totalShares = supply + shares;
        sharesOf[msg.sender] += shares;
        emit LiquidityAdded(msg.sender, in0, in1, shares);
    }

    /// @inheritdoc ISpreadGatedAMM
    function removeLiquidity(uint256 shares, uint256 minAmount0, uint256 minAmount1, address recipient)
        external
        nonReentrant
        returns (uint256 amount0, uint256 amount1)
    {
        if (shares == 0) revert ZeroAmount();
        uint256 owned = sharesOf[msg.sender];
        if (shares > owned) revert InsufficientShares(shares, owned);
        uint256 supply = totalShares;
        uint256 r0 = reserve0;
        uint256 r1 = reserve1;
        amount0 = (shares * r0) / supply;
        amount1 = (shares * r1) / supply;
        if (amount0 < minAmount0) revert SlippageExceeded(amount0, minAmount0);
        if (amount1 < minAmount1) revert SlippageExceeded(amount1, minAmount1);
        sharesOf[msg.sender] = owned - shares;
        totalShares = supply - shares;
        _setReserves(r0 - amount0, r1 - amount1);
        token0.safeTransfer(recipient, amount0);
        token1.safeTransfer(recipient, amount1);
        emit LiquidityRemoved(msg.sender, recipient, amount0, amount1, shares);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Spread updates
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc ISpreadGatedAMM
    function requestSpreadUpdate() external payable nonReentrant whenNotPaused returns (uint256 requestId) {
        _checkNoPendingRequest();
        uint256 last = lastFeeUpdate;
        // Rate rails: minutes-to-hours long, so a validator's few seconds of timestamp drift do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (last != 0 && block.timestamp < last + minUpdateInterval) {
            revert UpdateTooSoon(last + minUpdateInterval);
        }
        uint256 windowEnd = uint256(windowStart) + minFeatureWindow;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < windowEnd) revert FeatureWindowTooShort(windowEnd);
        int256[] memory features = currentFeatures();
        requestId = _sendRequest(features);
        _resetWindow();
        emit SpreadUpdateRequested(requestId, msg.sender, features);
    }

    /// @dev The verified spread output: see the contract's documentation (InferenceConsumerBase has checked the
    ///      sender, the request and the pinned verifier's code, and consumed the request).
    function _onVerifiedResult(uint256 requestId, uint256 requestedAt, int256[] calldata output)
        internal
        override
    {
        if (BoundedStep.isExpired(requestedAt, maxResultAge, block.timestamp)) {
            emit SpreadResultExpired(requestId, requestedAt);
            return;
        }

        int256 y = output.length == 0 ? int256(0) : output[0];
        uint16 previous = currentFeeBps();
        uint16 target = targetFeeBps(y);
        uint16 next = BoundedStep.stepToward(previous, target, maxStepBps);
        feeBps = next;
        lastFeeUpdate = uint40(block.timestamp);
        emit SpreadUpdated(requestId, y, target, previous, next);
    }

    /// @notice The fee a model output maps to before the step limit: see the contract's documentation.
    function targetFeeBps(int256 modelOutput) public view returns (uint16) {
        return
            BoundedStep.clamp(BoundedStep.toBps(modelOutput, bpsPerUnit, outputScale), minFeeBps, maxFeeBps);
    }

    /// @inheritdoc ISpreadGatedAMM
    function currentFeeBps() public view returns (uint16) {
        uint256 updated = lastFeeUpdate;
        if (updated == 0 || BoundedStep.isExpired(updated, stalenessWindow, block.timestamp)) {
            return defaultFeeBps;
        }
        return feeBps;
    }

    /// @inheritdoc ISpreadGatedAMM
    function currentFeatures() public view returns (int256[] memory features) {
        uint256 r0 = reserve0;
        uint256 r1 = reserve1;
        int256[8] memory f; // SpreadFeatures.COUNT
        if (r0 != 0 && r1 != 0) {
            uint256 price = (r1 * ONE) / r0;
            uint256 start = windowStartPrice;
            // casting to 'int256' is safe because prices are below 2^173 (reserves below 2^112)
            // forge-lint: disable-next-line(unsafe-typecast)
            if (start != 0) f[0] = SpreadFeatures.ratio(int256(price) - int256(start), start);
            f[2] = SpreadFeatures.ratio(int256(uint256(windowVolume0)), r0);
            f[3] = SpreadFeatures.ratio(int256(uint256(windowVolume1)), r1);
        }
        f[1] = SpreadFeatures.cap(windowAbsReturn);
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
    // Owner
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc ISpreadGatedAMM
    function setPaused(bool isPaused) external onlyOwner {
        paused = isPaused;
        emit PausedSet(isPaused);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    function _amountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut, uint16 fee)
        internal
        pure
        returns (uint256)
    {
        if (amountIn == 0 || reserveIn == 0 || reserveOut == 0) return 0;
        uint256 inWithFee = amountIn * (BPS - fee);
        return (inWithFee * reserveOut) / (reserveIn * BPS + inWithFee);
    }

    /// @dev Pulls `amountIn` of the input token, prices what arrived at the current fee, and updates the
    ///      reserves and the feature window. The caller sends the output.
    function _swapReserves(uint256 amountIn, bool zeroForOne)
        internal
        returns (uint256 amountOut, uint256 received, uint16 fee)
    {
        uint256 r0 = reserve0;
        uint256 r1 = reserve1;
        if (r0 == 0 || r1 == 0) revert InsufficientLiquidity();
        IERC20Minimal tokenIn = zeroForOne ? token0 : token1;
        uint256 reserveIn = zeroForOne ? r0 : r1;
        tokenIn.safeTransferFrom(msg.sender, address(this), amountIn);
        // What actually arrived (never more than the pool's balance beyond its reserve).
        received = tokenIn.balanceOf(address(this)) - reserveIn;
        fee = currentFeeBps();
        uint256 reserveOut = zeroForOne ? r1 : r0;
        amountOut = _amountOut(received, reserveIn, reserveOut, fee);
        if (amountOut == 0 || amountOut >= reserveOut) revert InsufficientLiquidity();
        if (zeroForOne) _setReserves(r0 + received, r1 - amountOut);
        else _setReserves(r0 - amountOut, r1 + received);
        _recordSwap(r0, r1, zeroForOne, received);
    }

    /// @dev Pulls both deposit amounts, syncs the reserves to the balances and returns what arrived and the
    ///      reserves before.
    function _pullPair(uint256 amount0, uint256 amount1)
        internal
        returns (uint256 in0, uint256 in1, uint256 r0, uint256 r1)
    {
        r0 = reserve0;
        r1 = reserve1;
        token0.safeTransferFrom(msg.sender, address(this), amount0);
        token1.safeTransferFrom(msg.sender, address(this), amount1);
        uint256 bal0 = token0.balanceOf(address(this));
        uint256 bal1 = token1.balanceOf(address(this));
        in0 = bal0 - r0;
        in1 = bal1 - r1;
        _setReserves(bal0, bal1);
    }

    function _setReserves(uint256 r0, uint256 r1) internal {
        if (r0 > type(uint112).max || r1 > type(uint112).max) revert ReserveOverflow();
        // casting to 'uint112' is safe because both were checked above
        // forge-lint: disable-next-line(unsafe-typecast)
        (reserve0, reserve1) = (uint112(r0), uint112(r1));
    }

    /// @dev Adds a swap to the feature window (saturating accumulators). `r0`, `r1` are the reserves before the
    ///      swap (both non-zero); the reserves after it are non-zero too (a swap never takes a whole reserve).
    function _recordSwap(uint256 r0, uint256 r1, bool zeroForOne, uint256 amountIn) internal {
        uint256 a0 = reserve0;
        uint256 a1 = reserve1;
        // |P_after - P_before| / P_before with P = r1 / r0 is |a1·r0 - r1·a0| / (a0·r1): reserves are below
        // 2^112, so both products fit, and the quotient is taken at full precision (FullMath), capped first so
        // the 1e18-scaled result cannot overflow.
        uint256 x = a1 * r0;
        uint256 y = r1 * a0;
        uint256 num = x > y ? x - y : y - x;
        uint256 den = a0 * r1;
        uint256 ret =
            num / den >= FEATURE_CAP_UNSIGNED / ONE ? FEATURE_CAP_UNSIGNED : FullMath.mulDiv(num, ONE, den);
        uint256 absReturn = windowAbsReturn + ret;
        windowAbsReturn = absReturn > FEATURE_CAP_UNSIGNED ? FEATURE_CAP_UNSIGNED : absReturn;
        if (zeroForOne) windowVolume0 = SpreadFeatures.saturatingAdd128(windowVolume0, amountIn);
        else windowVolume1 = SpreadFeatures.saturatingAdd128(windowVolume1, amountIn);
        if (windowSwapCount < type(uint32).max) ++windowSwapCount;
    }

    function _resetWindow() internal {
        uint256 r0 = reserve0;
        windowStartPrice = r0 == 0 ? 0 : (uint256(reserve1) * ONE) / r0;
        windowStart = uint40(block.timestamp);
        windowSwapCount = 0;
        windowVolume0 = 0;
        windowVolume1 = 0;
        windowAbsReturn = 0;
    }

    function _sqrt(uint256 x) internal pure returns (uint256 z) {
        if (x == 0) return 0;
        z = x;
        uint256 y = (x >> 1) + 1;
        while (y < z) {
            z = y;
            y = (x / y + y) >> 1;
        }
    }
}
