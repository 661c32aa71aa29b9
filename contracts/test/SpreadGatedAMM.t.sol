// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {SpreadGatedAMM} from "../SpreadGatedAMM.sol";
import {DemoToken} from "../demo/DemoToken.sol";
import {IERC20Minimal} from "../interfaces/IERC20Minimal.sol";
import {IInferenceConsumerBase} from "../interfaces/IInferenceConsumerBase.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {ISpreadGatedAMM} from "../interfaces/ISpreadGatedAMM.sol";
import {ModelPin} from "../libraries/ModelPin.sol";
import {HookToken} from "./helpers/HookToken.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";

/// @notice Shared AMM fixture (also used by the invariant suite).
abstract contract AMMFixture is OracleTestBase {
    uint16 internal constant MIN_FEE = 5;
    uint16 internal constant MAX_FEE = 100;
    uint16 internal constant DEFAULT_FEE = 30;
    uint16 internal constant MAX_STEP = 10;
    uint32 internal constant STALENESS = 1 hours;
    uint32 internal constant AMM_CALLBACK_GAS = 200_000;
    uint32 internal constant BPS_PER_UNIT = 100; // output 1.0 -> 100 bps
    uint32 internal constant MIN_INTERVAL = 15 minutes;
    uint32 internal constant MIN_WINDOW = 10 minutes;
    uint32 internal constant MAX_AGE = 30 minutes;
    uint256 internal constant LIQ = 1_000_000e18;

    address internal ammOwner = address(0x0A3);
    address internal trader = address(0x7AD3);
    address internal lp = address(0x1D);

    uint256 internal spreadModel;
    DemoToken internal token0;
    DemoToken internal token1;
    SpreadGatedAMM internal amm;

    function setUp() public virtual override {
        super.setUp();
        spreadModel = _register(_params(8, 1));
        token0 = new DemoToken("Token0", "T0");
        token1 = new DemoToken("Token1", "T1");
        amm = new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token1, _spreadConfig(), ammOwner);
        _fund(lp, 10 * LIQ);
        _fund(trader, 10 * LIQ);
        vm.prank(lp);
        amm.addLiquidity(LIQ, LIQ, 0);
    }

    function _spreadConfig() internal pure returns (ISpreadGatedAMM.SpreadConfig memory) {
        return ISpreadGatedAMM.SpreadConfig({
            minFeeBps: MIN_FEE,
            maxFeeBps: MAX_FEE,
            defaultFeeBps: DEFAULT_FEE,
            maxStepBps: MAX_STEP,
            stalenessWindow: STALENESS,
            callbackGasLimit: AMM_CALLBACK_GAS,
            bpsPerUnit: BPS_PER_UNIT,
            minUpdateInterval: MIN_INTERVAL,
            minFeatureWindow: MIN_WINDOW,
            maxResultAge: MAX_AGE
        });
    }

    /// @dev The pin of the suite's spread model (every model in the suite shares the verifier and vk digest).
    function _ammPin() internal view returns (ModelPin.Pin memory) {
        return _pin(_params(8, 1));
    }

    /// @dev What a spread request pays: the model fee and the pool's callback gas.
    function _spreadFee() internal pure returns (uint256) {
        return _feeFor(FEE, AMM_CALLBACK_GAS);
    }

    /// @dev Moves time to the first moment a spread request is allowed (minimum window and interval), if
    ///      not already there.
    function _warpToNextRequest() internal {
        uint256 t = uint256(amm.windowStart()) + MIN_WINDOW;
        uint256 last = amm.lastFeeUpdate();
        if (last != 0 && last + MIN_INTERVAL > t) t = last + MIN_INTERVAL;
        if (t > block.timestamp) vm.warp(t);
    }

    function _fund(address who, uint256 amount) internal {
        token0.mint(who, amount);
        token1.mint(who, amount);
        vm.startPrank(who);
        token0.approve(address(amm), type(uint256).max);
        token1.approve(address(amm), type(uint256).max);
        vm.stopPrank();
    }

    function _requestSpread() internal returns (uint256 id) {
        _warpToNextRequest();
        vm.prank(requester);
        id = amm.requestSpreadUpdate{value: _spreadFee()}();
    }

    /// @dev Fulfils request `id` with model output `y` and a proof the suite's verifier accepts.
    function _deliver(uint256 id, int256 y) internal {
        int256[] memory input = oracle.getRequest(id).input;
        bytes memory proof = _proofFor(input, _values1(y), fulfiller);
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(y), proof);
    }

    /// @dev The model output that maps to `bps` exactly (output scale 7, 100 bps per unit).
    function _outputFor(uint256 bps) internal pure returns (int256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256((bps << 7) / BPS_PER_UNIT + 1);
    }
}

contract SpreadGatedAMMTest is AMMFixture {
    // ==========================================================================================================
    // constructor
    // ==========================================================================================================

    function test_constructor_readsModelAndConfig() public view {
        assertEq(address(amm.oracle()), address(oracle), "oracle");
        assertEq(amm.modelId(), spreadModel, "model");
        assertEq(uint256(amm.inputScale()), 7, "input scale");
        assertEq(uint256(amm.outputScale()), 7, "output scale");
        assertEq(amm.maxAbsInput(), 1000, "range");
        assertEq(amm.owner(), ammOwner, "owner");
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE, "default fee before any result");
    }

    function _expectBadConfig(ISpreadGatedAMM.SpreadConfig memory c, bytes memory expected) internal {
        vm.expectRevert(expected);
        new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token1, c, ammOwner);
    }

    function _feeBounds(ISpreadGatedAMM.SpreadConfig memory c) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IInferenceConsumerBase.InvalidFeeBounds.selector, c.minFeeBps, c.defaultFeeBps, c.maxFeeBps
        );
    }

    function test_constructor_revertsOnBadConfig() public {
        ISpreadGatedAMM.SpreadConfig memory c = _spreadConfig();
        c.minFeeBps = DEFAULT_FEE + 1;
        _expectBadConfig(c, _feeBounds(c));
        c = _spreadConfig();
        c.defaultFeeBps = MAX_FEE + 1;
        _expectBadConfig(c, _feeBounds(c));
        c = _spreadConfig();
        c.maxFeeBps = 10_000;
        _expectBadConfig(c, _feeBounds(c));
        c = _spreadConfig();
        c.maxStepBps = 0;
        _expectBadConfig(c, abi.encodeWithSelector(IInferenceConsumerBase.ZeroMaxStep.selector));
        c = _spreadConfig();
        c.stalenessWindow = 0;
        _expectBadConfig(c, abi.encodeWithSelector(IInferenceConsumerBase.ZeroStalenessWindow.selector));
        c = _spreadConfig();
        c.callbackGasLimit = 0;
        _expectBadConfig(c, abi.encodeWithSelector(IInferenceConsumerBase.ZeroCallbackGasLimit.selector));
        c = _spreadConfig();
        c.bpsPerUnit = 0;
        _expectBadConfig(c, abi.encodeWithSelector(IInferenceConsumerBase.ZeroBpsPerUnit.selector));
        c = _spreadConfig();
        c.minUpdateInterval = 0;
        _expectBadConfig(c, abi.encodeWithSelector(ISpreadGatedAMM.ZeroMinUpdateInterval.selector));
        c = _spreadConfig();
        c.minFeatureWindow = 0;
        _expectBadConfig(c, abi.encodeWithSelector(ISpreadGatedAMM.ZeroMinFeatureWindow.selector));
        c = _spreadConfig();
        c.maxResultAge = 0;
        _expectBadConfig(c, abi.encodeWithSelector(IInferenceConsumerBase.ZeroMaxResultAge.selector));

        vm.expectRevert(abi.encodeWithSelector(ISpreadGatedAMM.InvalidTokens.selector, token0, token0));
        new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token0, _spreadConfig(), ammOwner);
        vm.expectRevert(abi.encodeWithSelector(ISpreadGatedAMM.InvalidTokens.selector, address(0), token1));
        new SpreadGatedAMM(
            oracle, spreadModel, _ammPin(), IERC20Minimal(address(0)), token1, _spreadConfig(), ammOwner
        );
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.ZeroOwner.selector));
        new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token1, _spreadConfig(), address(0));
    }

    function test_constructor_revertsOnIncompatibleModel() public {
        uint256 wrongLen = _register(_params(7, 1));
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.ModelInputLenMismatch.selector, 8, 7));
        new SpreadGatedAMM(oracle, wrongLen, _ammPin(), token0, token1, _spreadConfig(), ammOwner);

        IInferenceOracle.ModelParams memory p = _params(8, 1);
        p.inputScale = 65;
        uint256 wideScale = _register(p);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceConsumerBase.ModelInputScaleTooHigh.selector, 65, 64)
        );
        new SpreadGatedAMM(oracle, wideScale, _ammPin(), token0, token1, _spreadConfig(), ammOwner);

        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.UnknownModel.selector, 77));
        new SpreadGatedAMM(oracle, 77, _ammPin(), token0, token1, _spreadConfig(), ammOwner);
    }

    // ==========================================================================================================
    // liquidity
    // ==========================================================================================================

    function test_addLiquidity_firstDepositLocksMinimum() public view {
        assertEq(amm.totalShares(), LIQ, "sqrt(LIQ * LIQ)");
        assertEq(amm.sharesOf(lp), LIQ - 1000, "minimum locked");
        assertEq(uint256(amm.reserve0()), LIQ, "r0");
        assertEq(uint256(amm.reserve1()), LIQ, "r1");
        assertEq(amm.windowStartPrice(), 1e18, "window price");
    }

    function test_addLiquidity_proportionalAndEmits() public {
        vm.expectEmit(true, true, true, true);
        emit ISpreadGatedAMM.LiquidityAdded(trader, LIQ / 2, LIQ, LIQ / 2);
        vm.prank(trader);
        uint256 shares = amm.addLiquidity(LIQ / 2, LIQ, 0); // excess token1 is donated
        assertEq(shares, LIQ / 2, "min of the two ratios");
        assertEq(uint256(amm.reserve1()), 2 * LIQ, "donation kept");
    }

    function test_addLiquidity_revertsOnMinSharesZeroOrPaused() public {
        vm.startPrank(trader);
        vm.expectRevert(abi.encodeWithSelector(ISpreadGatedAMM.InsufficientShares.selector, LIQ, LIQ + 1));
        amm.addLiquidity(LIQ, LIQ, LIQ + 1);
        vm.expectRevert(ISpreadGatedAMM.ZeroAmount.selector);
        amm.addLiquidity(0, LIQ, 0);
        vm.stopPrank();
        vm.prank(ammOwner);
        amm.setPaused(true);
        vm.expectRevert(ISpreadGatedAMM.Paused.selector);
        vm.prank(trader);
        amm.addLiquidity(LIQ, LIQ, 0);
    }

    function test_addLiquidity_revertsOnTinyFirstDeposit() public {
        SpreadGatedAMM fresh =
            new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token1, _spreadConfig(), ammOwner);
        vm.startPrank(trader);
        token0.approve(address(fresh), type(uint256).max);
        token1.approve(address(fresh), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ISpreadGatedAMM.InsufficientShares.selector, 1000, 1000));
        fresh.addLiquidity(1000, 1000, 0);
        vm.stopPrank();
    }

    function test_addLiquidity_revertsPastReserveLimit() public {
        uint256 huge = uint256(type(uint112).max);
        token0.mint(trader, huge);
        vm.expectRevert(ISpreadGatedAMM.ReserveOverflow.selector);
        vm.prank(trader);
        amm.addLiquidity(huge, 1, 0);
    }

    function test_removeLiquidity_proportionalEvenWhilePaused() public {
        vm.prank(ammOwner);
        amm.setPaused(true);
        uint256 shares = amm.sharesOf(lp) / 2;
        uint256 expected = (shares * LIQ) / LIQ;
        vm.expectEmit(true, true, true, true);
        emit ISpreadGatedAMM.LiquidityRemoved(lp, address(0x99), expected, expected, shares);
        vm.prank(lp);
        (uint256 a0, uint256 a1) = amm.removeLiquidity(shares, expected, expected, address(0x99));
        assertEq(a0, expected, "a0");
        assertEq(a1, expected, "a1");
        assertEq(token0.balanceOf(address(0x99)), expected, "sent0");
        assertEq(token1.balanceOf(address(0x99)), expected, "sent1");
        assertEq(amm.totalShares(), LIQ - shares, "burned");
    }

    function test_removeLiquidity_revertsOnBadAmounts() public {
        uint256 owned = amm.sharesOf(lp);
        vm.startPrank(lp);
        vm.expectRevert(ISpreadGatedAMM.ZeroAmount.selector);
        amm.removeLiquidity(0, 0, 0, lp);
        vm.expectRevert(abi.encodeWithSelector(ISpreadGatedAMM.InsufficientShares.selector, owned + 1, owned));
        amm.removeLiquidity(owned + 1, 0, 0, lp);
        vm.expectRevert(abi.encodeWithSelector(ISpreadGatedAMM.SlippageExceeded.selector, 1, 2));
        amm.removeLiquidity(1, 2, 0, lp);
        vm.expectRevert(abi.encodeWithSelector(ISpreadGatedAMM.SlippageExceeded.selector, 1, 2));
        amm.removeLiquidity(1, 0, 2, lp);
        vm.stopPrank();
    }

    // ==========================================================================================================
    // quote / swap
    // ==========================================================================================================

    function test_quote_matchesConstantProductWithFee() public view {
        uint256 amountIn = 1000e18;
        uint256 inWithFee = amountIn * (10_000 - DEFAULT_FEE);
        uint256 expected = (inWithFee * LIQ) / (LIQ * 10_000 + inWithFee);
        assertEq(amm.quote(amountIn, true), expected, "zeroForOne");
        assertEq(amm.quote(amountIn, false), expected, "oneForZero (symmetric pool)");
        assertEq(amm.quote(0, true), 0, "zero in");
    }

    function test_swap_paysQuoteAndEmits() public {
        uint256 amountIn = 1000e18;
        uint256 expected = amm.quote(amountIn, true);
        vm.expectEmit(true, true, true, true);
        emit ISpreadGatedAMM.Swap(trader, address(0x77), true, amountIn, expected, DEFAULT_FEE);
        vm.prank(trader);
        uint256 out = amm.swap(amountIn, true, expected, address(0x77));
        assertEq(out, expected, "out");
        assertEq(token1.balanceOf(address(0x77)), expected, "received");
        assertEq(uint256(amm.reserve0()), LIQ + amountIn, "r0");
        assertEq(uint256(amm.reserve1()), LIQ - expected, "r1");
        assertEq(uint256(amm.windowSwapCount()), 1, "swap counted");
        assertEq(uint256(amm.windowVolume0()), amountIn, "volume0");
    }

    function test_swap_oneForZero() public {
        uint256 expected = amm.quote(5e18, false);
        vm.prank(trader);
        uint256 out = amm.swap(5e18, false, 0, trader);
        assertEq(out, expected, "out");
        assertEq(uint256(amm.windowVolume1()), 5e18, "volume1");
    }

    function test_swap_revertsOnSlippageZeroPausedOrEmpty() public {
        uint256 expected = amm.quote(1e18, true);
        vm.startPrank(trader);
        vm.expectRevert(
            abi.encodeWithSelector(ISpreadGatedAMM.SlippageExceeded.selector, expected, expected + 1)
        );
        amm.swap(1e18, true, expected + 1, trader);
        vm.expectRevert(ISpreadGatedAMM.ZeroAmount.selector);
        amm.swap(0, true, 0, trader);
        vm.expectRevert(ISpreadGatedAMM.InsufficientLiquidity.selector);
        amm.swap(1, true, 0, trader); // rounds to zero output
        vm.stopPrank();

        vm.prank(ammOwner);
        amm.setPaused(true);
        vm.expectRevert(ISpreadGatedAMM.Paused.selector);
        vm.prank(trader);
        amm.swap(1e18, true, 0, trader);

        SpreadGatedAMM empty =
            new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token1, _spreadConfig(), ammOwner);
        vm.expectRevert(ISpreadGatedAMM.InsufficientLiquidity.selector);
        vm.prank(trader);
        empty.swap(1e18, true, 0, trader);
    }

    function test_swap_revertsOnReentrancy() public {
        HookToken hook = new HookToken();
        SpreadGatedAMM pool =
            new SpreadGatedAMM(oracle, spreadModel, _ammPin(), hook, token1, _spreadConfig(), ammOwner);
        hook.mint(address(this), 10 * LIQ);
        token1.mint(address(this), 10 * LIQ);
        hook.approve(address(pool), type(uint256).max);
        token1.approve(address(pool), type(uint256).max);
        pool.addLiquidity(LIQ, LIQ, 0);

        hook.arm(address(pool), abi.encodeCall(ISpreadGatedAMM.swap, (1e18, false, 0, address(this))));
        pool.swap(1e18, true, 0, address(this));
        assertTrue(!hook.hookSucceeded(), "re-entrant swap refused");
        assertEq(
            keccak256(hook.hookResult()),
            keccak256(abi.encodeWithSelector(ISpreadGatedAMM.Reentrancy.selector)),
            "lock"
        );

        hook.arm(address(pool), abi.encodeCall(ISpreadGatedAMM.removeLiquidity, (1, 0, 0, address(this))));
        pool.swap(1e18, true, 0, address(this));
        assertTrue(!hook.hookSucceeded(), "re-entrant withdrawal refused");
    }

    function testFuzz_swap_neverDecreasesK(uint256 amountIn, bool zeroForOne) public {
        amountIn = boundU(amountIn, 1e6, 5 * LIQ);
        uint256 kBefore = uint256(amm.reserve0()) * amm.reserve1();
        uint256 quoted = amm.quote(amountIn, zeroForOne);
        vm.prank(trader);
        uint256 out = amm.swap(amountIn, zeroForOne, 0, trader);
        assertEq(out, quoted, "quote is exact");
        assertGe(uint256(amm.reserve0()) * amm.reserve1(), kBefore, "k never decreases");
    }

    // ==========================================================================================================
    // spread updates
    // ==========================================================================================================

    function test_requestSpreadUpdate_sendsFeaturesAndResetsWindow() public {
        vm.prank(trader);
        amm.swap(10_000e18, true, 0, trader);
        vm.warp(block.timestamp + 6 hours);
        int256[] memory features = amm.currentFeatures();

        vm.expectEmit(true, true, true, true);
        emit ISpreadGatedAMM.SpreadUpdateRequested(1, requester, features);
        uint256 id = _requestSpread();
        assertEq(amm.pendingRequestId(), id, "pending");
        IInferenceOracle.Request memory r = oracle.getRequest(id);
        assertEq(r.requester, address(amm), "the pool is the requester");
        assertEq(uint256(r.callbackGasLimit), AMM_CALLBACK_GAS, "callback gas");
        assertEq(r.input, features, "features sent");
        assertEq(uint256(amm.windowSwapCount()), 0, "window reset");
        assertEq(uint256(amm.windowVolume0()), 0, "volume reset");
        assertEq(uint256(amm.windowStart()), block.timestamp, "window start");
    }

    function test_currentFeatures_followsDocumentedDefinition() public {
        uint256 amountIn = 10_000e18;
        vm.prank(trader);
        uint256 out = amm.swap(amountIn, true, 0, trader);
        vm.warp(block.timestamp + 6 hours);

        // Independent computation at input scale 7 (x 128), 1e18 fixed point.
        uint256 r0 = LIQ + amountIn;
        uint256 r1 = LIQ - out;
        uint256 price = (r1 * 1e18) / r0;
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 move = ((int256(price) - 1e18) * 1e18) / 1e18;
        // forge-lint: disable-next-line(unsafe-typecast)
        int256 vol0 = int256((amountIn * 1e18) / r0);
        int256[] memory f = amm.currentFeatures();
        assertEq(f.length, 8, "eight features");
        assertEq(f[0], (move * 128) / 1e18, "price move");
        assertEq(f[1], ((-move) * 128) / 1e18, "volatility = |move| for one swap");
        assertEq(f[2], (vol0 * 128) / 1e18, "token0 volume");
        assertEq(f[3], 0, "token1 volume");
        assertEq(f[4], 128, "all flow one way: imbalance +1");
        assertEq(f[5], (int256(1e16) * 128) / 1e18, "one swap of 100");
        assertEq(f[6], (int256(25e16) * 128) / 1e18, "6h of 24h");
        assertEq(f[7], (int256(3e17) * 128) / 1e18, "30 of 100 bps");
    }

    function test_currentFeatures_clampsToModelRange() public {
        // A massive one-way swap: the price moves ~100x, far above maxAbsInput / 2^7 = 7.8.
        vm.prank(trader);
        amm.swap(9 * LIQ, false, 0, trader);
        int256[] memory f = amm.currentFeatures();
        for (uint256 i; i < f.length; ++i) {
            assertTrue(f[i] <= 1000 && f[i] >= -1000, "within the model's range");
        }
        assertEq(f[0], 1000, "price move clamped");
        assertEq(f[1], 1000, "volatility clamped");
        _requestSpread(); // accepted by the oracle's range check
    }

    function test_requestSpreadUpdate_revertsWhilePendingThenAllowsAfterExpiry() public {
        uint256 id = _requestSpread();
        uint64 deadline = oracle.getRequest(id).deadline;
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceConsumerBase.RequestStillPending.selector, id, deadline)
        );
        vm.prank(requester);
        amm.requestSpreadUpdate{value: _spreadFee()}();

        vm.warp(uint256(deadline) + 1);
        uint256 id2 = _requestSpread();
        assertEq(amm.pendingRequestId(), id2, "replaced");
        // the expired request can no longer be delivered
        int256[] memory input = oracle.getRequest(id).input;
        bytes memory proof = _proofFor(input, _values1(1), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestExpired.selector, id, deadline));
        oracle.fulfill(id, _values1(1), proof);
    }

    function test_requestSpreadUpdate_revertsOnWrongFeeOrPaused() public {
        _warpToNextRequest();
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.IncorrectFee.selector, _spreadFee(), 1));
        vm.prank(requester);
        amm.requestSpreadUpdate{value: 1}();
        vm.prank(ammOwner);
        amm.setPaused(true);
        vm.expectRevert(ISpreadGatedAMM.Paused.selector);
        vm.prank(requester);
        amm.requestSpreadUpdate{value: _spreadFee()}();
    }

    function test_onInferenceResult_setsVerifiedFee() public {
        uint256 id = _requestSpread();
        int256 y = _outputFor(36); // target 36 bps, one step of 10 from 30 is 40 > 36: reached
        vm.expectEmit(true, true, true, true);
        emit ISpreadGatedAMM.SpreadUpdated(id, y, 36, DEFAULT_FEE, 36);
        _deliver(id, y);
        assertEq(uint256(amm.currentFeeBps()), 36, "fee");
        assertEq(uint256(amm.lastFeeUpdate()), block.timestamp, "timestamp");
        assertEq(amm.pendingRequestId(), 0, "pending cleared");
        assertTrue(oracle.getRequest(id).callbackSuccess, "delivered");
        uint256 inWithFee = 1e18 * (10_000 - 36);
        assertEq(
            amm.quote(1e18, true), (inWithFee * LIQ) / (LIQ * 10_000 + inWithFee), "quote uses the new fee"
        );
    }

    function test_onInferenceResult_fitsCallbackGasLimit() public {
        uint256 id = _requestSpread();
        vm.cool(address(amm));
        vm.prank(address(oracle));
        uint256 before = gasleft();
        amm.onInferenceResult(id, _values1(_outputFor(36)));
        uint256 used = before - gasleft();
        assertEq(uint256(amm.currentFeeBps()), 36, "applied");
        assertLe(used * 2, AMM_CALLBACK_GAS, "the callback needs under half its gas limit (cold storage)");
    }

    function test_onInferenceResult_limitsStepAndClamps() public {
        uint256 id = _requestSpread();
        _deliver(id, HALF_P); // maps far above max: clamped to 100, stepped to 30 + 10
        assertEq(uint256(amm.currentFeeBps()), 40, "one step up");
        id = _requestSpread();
        _deliver(id, -HALF_P); // negative -> min 5, stepped to 40 - 10
        assertEq(uint256(amm.currentFeeBps()), 30, "one step down");
        for (uint256 i; i < 5; ++i) {
            id = _requestSpread();
            _deliver(id, 0);
        }
        assertEq(uint256(amm.currentFeeBps()), MIN_FEE, "floor reached and held");
    }

    function test_currentFeeBps_defaultAfterStaleness() public {
        uint256 id = _requestSpread();
        _deliver(id, _outputFor(40));
        assertEq(uint256(amm.currentFeeBps()), 40, "fresh");
        vm.warp(block.timestamp + STALENESS);
        assertEq(uint256(amm.currentFeeBps()), 40, "still in force at the window's end");
        vm.warp(block.timestamp + 1);
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE, "stale: safe default");
        // the next step starts from the fee in force (the default)
        id = _requestSpread();
        _deliver(id, _outputFor(100));
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE + MAX_STEP, "stepped from the default");
    }

    function test_onInferenceResult_revertsForNonOracle() public {
        uint256 id = _requestSpread();
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.NotOracle.selector, stranger));
        vm.prank(stranger);
        amm.onInferenceResult(id, _values1(_outputFor(90)));
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE, "unchanged");
    }

    function test_onInferenceResult_revertsForForeignRequest() public {
        // a request made by someone else for the same model is delivered to its own requester, not the pool;
        // even the oracle itself cannot push a result for a request the pool is not waiting for
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.UnexpectedRequest.selector, 0));
        vm.prank(address(oracle));
        amm.onInferenceResult(0, _values1(1));
        uint256 id = _requestSpread();
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.UnexpectedRequest.selector, id + 1));
        vm.prank(address(oracle));
        amm.onInferenceResult(id + 1, _values1(1));
    }

    function test_onInferenceResult_onceOnly() public {
        uint256 id = _requestSpread();
        _deliver(id, _outputFor(40));
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.UnexpectedRequest.selector, id));
        vm.prank(address(oracle));
        amm.onInferenceResult(id, _values1(_outputFor(5)));
        assertEq(uint256(amm.currentFeeBps()), 40, "unchanged");
    }

    function test_onInferenceResult_invalidProofChangesNothing() public {
        uint256 id = _requestSpread();
        int256[] memory input = oracle.getRequest(id).input;
        bytes memory proof = _proofFor(input, _values1(_outputFor(40)), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values1(_outputFor(80)), proof);
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE, "unchanged");
        assertEq(amm.pendingRequestId(), id, "still waiting");
    }

    function testFuzz_onInferenceResult_feeStaysInRails(int256 y1, int256 y2, uint32 dt) public {
        y1 = y1 % (HALF_P + 1);
        y2 = y2 % (HALF_P + 1);
        uint256 id = _requestSpread();
        _deliver(id, y1);
        uint16 fee1 = amm.currentFeeBps();
        assertTrue(fee1 >= MIN_FEE && fee1 <= MAX_FEE, "bounds 1");
        assertTrue(_absDiff(fee1, DEFAULT_FEE) <= MAX_STEP, "step 1");
        assertEq(uint256(fee1), _expectedFee(DEFAULT_FEE, y1), "reference 1");

        vm.warp(block.timestamp + (dt % (2 * STALENESS)));
        uint16 inForce = amm.currentFeeBps();
        id = _requestSpread();
        _deliver(id, y2);
        uint16 fee2 = amm.currentFeeBps();
        assertTrue(fee2 >= MIN_FEE && fee2 <= MAX_FEE, "bounds 2");
        assertTrue(_absDiff(fee2, inForce) <= MAX_STEP, "step 2");
        assertEq(uint256(fee2), _expectedFee(inForce, y2), "reference 2");
    }

    function testFuzz_targetFeeBps_clampedMonotone(int256 a, int256 b) public view {
        uint16 ta = amm.targetFeeBps(a);
        uint16 tb = amm.targetFeeBps(b);
        assertTrue(ta >= MIN_FEE && ta <= MAX_FEE, "bounds");
        if (a <= b) assertTrue(ta <= tb, "monotone");
    }

    // ==========================================================================================================
    // owner
    // ==========================================================================================================

    function test_setPaused_onlyOwnerAndEmits() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, stranger));
        vm.prank(stranger);
        amm.setPaused(true);
        vm.expectEmit(true, true, true, true);
        emit ISpreadGatedAMM.PausedSet(true);
        vm.prank(ammOwner);
        amm.setPaused(true);
        assertTrue(amm.paused(), "paused");
    }

    function test_transferOwnership_twoStep() public {
        _checkTwoStepOwnership(amm, ammOwner);
    }

    function test_withdrawOracleCredit_returnsCancelledFees() public {
        uint256 id = _requestSpread();
        vm.warp(block.timestamp + TIMEOUT + 1);
        oracle.cancel(id);
        assertEq(oracle.withdrawable(address(amm)), _spreadFee(), "credited to the pool");
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, stranger));
        vm.prank(stranger);
        amm.withdrawOracleCredit(payable(stranger));
        vm.expectEmit(true, true, true, true);
        emit IInferenceConsumerBase.OracleCreditWithdrawn(address(0x5AFE), _spreadFee());
        vm.prank(ammOwner);
        amm.withdrawOracleCredit(payable(address(0x5AFE)));
        assertEq(address(0x5AFE).balance, _spreadFee(), "withdrawn");
    }

    // ==========================================================================================================
    // reference model of the rails (independent of the contract's code)
    // ==========================================================================================================

    function _expectedFee(uint16 current, int256 y) internal pure returns (uint256) {
        uint256 target;
        if (y <= 0) {
            target = MIN_FEE;
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            uint256 u = uint256(y);
            target = u >= 2 ** 100 ? MAX_FEE : (u * BPS_PER_UNIT) / 128;
            if (target < MIN_FEE) target = MIN_FEE;
            if (target > MAX_FEE) target = MAX_FEE;
        }
        if (target > uint256(current) + MAX_STEP) return uint256(current) + MAX_STEP;
        if (target + MAX_STEP < current) return uint256(current) - MAX_STEP;
        return target;
    }

    function _absDiff(uint16 a, uint16 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }
}
