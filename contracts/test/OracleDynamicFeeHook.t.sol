// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IHooks} from "@uniswap/v4-core/src/interfaces/IHooks.sol";
import {Currency} from "@uniswap/v4-core/src/types/Currency.sol";
import {PoolKey} from "@uniswap/v4-core/src/types/PoolKey.sol";

import {OracleDynamicFeeHook} from "../hooks/OracleDynamicFeeHook.sol";
import {IInferenceConsumerBase} from "../interfaces/IInferenceConsumerBase.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {IOracleDynamicFeeHook} from "../interfaces/IOracleDynamicFeeHook.sol";
import {HookSalt} from "../libraries/HookSalt.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";
import {V4Fixture} from "./helpers/V4Fixture.sol";

/// @notice The fee hook on a real PoolManager with the suite's HashCheckVerifier (also used by the invariants).
abstract contract HookFixture is OracleTestBase, V4Fixture {
    uint16 internal constant H_MIN_FEE = 5;
    uint16 internal constant H_MAX_FEE = 100;
    uint16 internal constant H_BASE_FEE = 30;
    uint16 internal constant H_MAX_STEP = 10;
    uint32 internal constant H_STALENESS = 1 hours;
    uint32 internal constant H_CALLBACK_GAS = 200_000;
    uint32 internal constant H_BPS_PER_UNIT = 100; // output 1.0 -> 100 bps
    uint32 internal constant H_INTERVAL = 15 minutes;
    uint32 internal constant H_MAX_AGE = 30 minutes;

    address internal hookOwner = address(0x400C);
    uint256 internal hookModel;
    OracleDynamicFeeHook internal hook;
    PoolKey internal key;

    function setUp() public virtual override {
        super.setUp();
        hookModel = _register(_params(8, 1));
        _deployV4();
        hook = OracleDynamicFeeHook(
            _deployHookAt(_hookInitCode(oracle, hookModel, _pin(_params(8, 1)), _feeConfig(), hookOwner))
        );
        key = _poolKey(address(hook));
        _initPool(key);
    }

    function _feeConfig() internal pure returns (IOracleDynamicFeeHook.FeeConfig memory) {
        return IOracleDynamicFeeHook.FeeConfig({
            minFeeBps: H_MIN_FEE,
            maxFeeBps: H_MAX_FEE,
            baseFeeBps: H_BASE_FEE,
            maxStepBps: H_MAX_STEP,
            stalenessWindow: H_STALENESS,
            callbackGasLimit: H_CALLBACK_GAS,
            bpsPerUnit: H_BPS_PER_UNIT,
            updateInterval: H_INTERVAL,
            maxResultAge: H_MAX_AGE
        });
    }

    function _hookFee() internal pure returns (uint256) {
        return _feeFor(FEE, H_CALLBACK_GAS);
    }

    /// @dev Warps to the end of the current interval and has `requester` pay for a fee update.
    function _requestFee() internal returns (uint256 id) {
        uint256 t = uint256(hook.windowStart()) + H_INTERVAL;
        if (t > block.timestamp) vm.warp(t);
        vm.prank(requester);
        id = hook.requestFeeUpdate{value: _hookFee()}();
    }

    /// @dev Fulfils request `id` with model output `y` and a proof the suite's verifier accepts.
    function _deliver(uint256 id, int256 y) internal {
        bytes memory proof = _proofFor(oracle.getRequest(id).input, _values1(y), fulfiller);
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(y), proof);
    }

    /// @dev The model output that maps to `bps` exactly (output scale 7, 100 bps per unit).
    function _outputFor(uint256 bps) internal pure returns (int256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256((bps << 7) / H_BPS_PER_UNIT + 1);
    }
}

contract OracleDynamicFeeHookTest is HookFixture {
    /// @notice Printed by forge with -vv.
    event log_named_uint(string key, uint256 val);

    // ==========================================================================================================
    // deployment and pool registration
    // ==========================================================================================================

    function test_constructor_addressCarriesFlagsAndReadsModel() public view {
        assertEq(uint256(uint160(address(hook)) & HookSalt.FLAG_MASK), uint256(HOOK_FLAGS), "flags");
        assertEq(address(hook.poolManager()), address(manager), "manager");
        assertEq(address(hook.oracle()), address(oracle), "oracle");
        assertEq(hook.modelId(), hookModel, "model");
        assertEq(hook.owner(), hookOwner, "owner");
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE, "base fee before any result");
        assertEq(uint256(_slot0LpFee(key)), uint256(H_BASE_FEE) * 100, "slot0 holds the base fee");
    }

    function test_constructor_revertsAtAddressWithoutFlags() public {
        vm.expectRevert();
        new OracleDynamicFeeHook(manager, oracle, hookModel, _pin(_params(8, 1)), _feeConfig(), hookOwner);
    }

    function test_constructor_revertsOnBadConfig() public {
        IOracleDynamicFeeHook.FeeConfig memory c = _feeConfig();
        c.baseFeeBps = H_MAX_FEE + 1;
        _expectBadHook(
            c,
            abi.encodeWithSelector(
                IInferenceConsumerBase.InvalidFeeBounds.selector, H_MIN_FEE, H_MAX_FEE + 1, H_MAX_FEE
            )
        );
        c = _feeConfig();
        c.maxStepBps = 0;
        _expectBadHook(c, abi.encodeWithSelector(IInferenceConsumerBase.ZeroMaxStep.selector));
        c = _feeConfig();
        c.updateInterval = 0;
        _expectBadHook(c, abi.encodeWithSelector(IOracleDynamicFeeHook.ZeroUpdateInterval.selector));
        c = _feeConfig();
        c.callbackGasLimit = 0;
        _expectBadHook(c, abi.encodeWithSelector(IInferenceConsumerBase.ZeroCallbackGasLimit.selector));
    }

    /// @dev A constructor revert inside CREATE2 surfaces as a failed deployment: check it through a plain
    ///      `new` of the same code at a mined address, which HookSalt computes for this test contract.
    function _expectBadHook(IOracleDynamicFeeHook.FeeConfig memory c, bytes memory expected) internal {
        bytes memory initCode = _hookInitCode(oracle, hookModel, _pin(_params(8, 1)), c, hookOwner);
        (bytes32 salt,) = HookSalt.find(address(this), HOOK_FLAGS, keccak256(initCode), 0, 200_000);
        vm.expectRevert(expected);
        new OracleDynamicFeeHook{salt: salt}(manager, oracle, hookModel, _pin(_params(8, 1)), c, hookOwner);
    }

    function test_beforeInitialize_revertsForSecondPoolOrStaticFee() public {
        PoolKey memory other = key;
        other.tickSpacing = 10;
        vm.expectRevert(); // PoolAlreadyRegistered, wrapped by the PoolManager
        manager.initialize(other, SQRT_PRICE_1_1);
        other.fee = 3000;
        vm.expectRevert(); // NotDynamicFee (or PoolAlreadyRegistered), wrapped
        manager.initialize(other, SQRT_PRICE_1_1);
    }

    // ==========================================================================================================
    // the fee: base, verified, stale
    // ==========================================================================================================

    function test_swap_paysBaseFeeBeforeAnyResult() public {
        assertEq(uint256(_swapFee(key, true, 1e18)), uint256(H_BASE_FEE) * 100, "base fee charged");
    }

    function test_onInferenceResult_movesFeeOneBoundedStep() public {
        uint256 id = _requestFee();
        _deliver(id, _outputFor(100)); // target 100 bps, one step of 10 from 30
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE + H_MAX_STEP, "one step");
        assertEq(uint256(_slot0LpFee(key)), uint256(H_BASE_FEE + H_MAX_STEP) * 100, "written to slot0");
        assertEq(uint256(_swapFee(key, true, 1e18)), uint256(H_BASE_FEE + H_MAX_STEP) * 100, "charged");
        // the next result may only come after a full interval of features; it steps from the fee in force
        id = _requestFee();
        _deliver(id, _outputFor(1)); // target clamps to 5: one step down
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE, "stepped down");
        assertEq(uint256(hook.targetFeeBps(-5)), H_MIN_FEE, "negative output clamps to the minimum");
        assertEq(uint256(hook.targetFeeBps(type(int256).max)), H_MAX_FEE, "huge output clamps to the maximum");
    }

    function test_currentFeeBps_baseAgainOnceStale() public {
        uint256 id = _requestFee();
        _deliver(id, _outputFor(35));
        assertEq(uint256(hook.currentFeeBps()), 35, "verified fee");
        vm.warp(block.timestamp + H_STALENESS);
        assertEq(uint256(_swapFee(key, true, 1e18)), 3500, "in force at the window's end");
        vm.warp(block.timestamp + 1);
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE, "stale");
        assertEq(uint256(_swapFee(key, false, 1e18)), uint256(H_BASE_FEE) * 100, "stale: base fee charged");
    }

    function test_onInferenceResult_ignoresExpiredResult() public {
        uint256 id = _requestFee();
        vm.warp(block.timestamp + H_MAX_AGE + 1);
        vm.expectEmit(true, true, true, true);
        emit IOracleDynamicFeeHook.FeeResultIgnored(id, IOracleDynamicFeeHook.IgnoreReason.Expired);
        _deliver(id, _outputFor(60));
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE, "unchanged");
        assertEq(hook.pendingRequestId(), 0, "consumed");
    }

    function test_setPaused_baseFeeNoRequestsResultsIgnored() public {
        uint256 id = _requestFee();
        _deliver(id, _outputFor(40));
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, stranger));
        vm.prank(stranger);
        hook.setPaused(true);
        vm.prank(hookOwner);
        hook.setPaused(true);
        assertEq(uint256(_swapFee(key, true, 1e18)), uint256(H_BASE_FEE) * 100, "paused: base fee");
        vm.warp(block.timestamp + H_INTERVAL);
        vm.expectRevert(IOracleDynamicFeeHook.Paused.selector);
        vm.prank(requester);
        hook.requestFeeUpdate{value: _hookFee()}();
        vm.prank(hookOwner);
        hook.setPaused(false);
        assertEq(uint256(hook.currentFeeBps()), 40, "the verified fee again");
    }

    // ==========================================================================================================
    // the guard: only the oracle, only the pending request
    // ==========================================================================================================

    function test_onInferenceResult_revertsForNonOracle() public {
        uint256 id = _requestFee();
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.NotOracle.selector, stranger));
        vm.prank(stranger);
        hook.onInferenceResult(id, _values1(_outputFor(90)));
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE, "unchanged");
    }

    function test_onInferenceResult_revertsForForeignRequest() public {
        uint256 id = _requestFee();
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.UnexpectedRequest.selector, id + 1));
        vm.prank(address(oracle));
        hook.onInferenceResult(id + 1, _values1(1));
        _deliver(id, _outputFor(40));
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.UnexpectedRequest.selector, id));
        vm.prank(address(oracle));
        hook.onInferenceResult(id, _values1(_outputFor(90)));
        assertEq(uint256(hook.currentFeeBps()), 40, "once only");
    }

    function test_fulfill_invalidProofChangesNothing() public {
        uint256 id = _requestFee();
        bytes memory proof = _proofFor(oracle.getRequest(id).input, _values1(_outputFor(90)), fulfiller);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(_outputFor(60)), proof); // a proof of another output
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE, "unchanged");
        assertEq(hook.pendingRequestId(), id, "still pending");
    }

    // ==========================================================================================================
    // requests and features
    // ==========================================================================================================

    function test_requestFeeUpdate_atMostOncePerInterval() public {
        uint256 next = uint256(hook.windowStart()) + H_INTERVAL;
        vm.expectRevert(abi.encodeWithSelector(IOracleDynamicFeeHook.UpdateTooSoon.selector, next));
        vm.prank(requester);
        hook.requestFeeUpdate{value: _hookFee()}();
        uint256 id = _requestFee();
        vm.warp(block.timestamp + H_INTERVAL);
        (, uint64 deadline) = oracle.getRequestStatus(id);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceConsumerBase.RequestStillPending.selector, id, deadline)
        );
        vm.prank(stranger);
        hook.requestFeeUpdate{value: _hookFee()}();
        _deliver(id, _outputFor(40));
        vm.prank(stranger); // anyone may pay
        hook.requestFeeUpdate{value: _hookFee()}();
    }

    function test_afterSwap_recordsWindowAndFeatures() public {
        _swap(key, true, 100_000e18);
        _swap(key, false, 40_000e18);
        assertEq(uint256(hook.windowSwapCount()), 2, "swaps");
        assertEq(uint256(hook.windowVolume0()), 100_000e18, "token0 in");
        assertEq(uint256(hook.windowVolume1()), 40_000e18, "token1 in");
        assertTrue(hook.windowAbsTickMove() > 0, "ticks moved");
        vm.warp(block.timestamp + H_INTERVAL);
        int256[] memory f = hook.currentFeatures();
        assertEq(f.length, 8, "eight features");
        assertTrue(f[0] < 0, "price of token0 fell");
        assertTrue(f[1] > 0 && f[2] > f[3] && f[3] > 0 && f[4] > 0, "volatility, volumes, imbalance");
        assertEq(f[5], int256(2), "activity: 2 / 100 at scale 7 truncates to 2");
        assertEq(f[7], int256(38), "fee in force / max fee: 0.3 at scale 7");
        uint256 id = _requestFee();
        assertEq(oracle.getRequest(id).input, f, "the request carries the features");
        assertEq(uint256(hook.windowSwapCount()), 0, "window reset");
    }

    function test_transferOwnership_twoStep() public {
        _checkTwoStepOwnership(hook, hookOwner);
    }

    // ==========================================================================================================
    // gas (printed with -vv; recorded in contracts/GAS.md)
    // ==========================================================================================================

    function test_gas_swapWithAndWithoutHook() public {
        PoolKey memory plain = PoolKey({
            currency0: currency0,
            currency1: currency1,
            fee: 3000,
            tickSpacing: TICK_SPACING,
            hooks: IHooks(address(0))
        });
        _initPool(plain);
        _swap(plain, true, 1e18);
        _swap(key, true, 1e18);
        uint256 without = _coldSwapGas(plain);
        uint256 with = _coldSwapGas(key);
        emit log_named_uint("swap gas, pool without hook (static 0.30%)", without);
        emit log_named_uint("swap gas, pool with OracleDynamicFeeHook", with);
        emit log_named_uint("hook overhead per swap", with - without);
        assertLe(with - without, 40_000, "hook overhead bounded");
    }

    function test_gas_feeUpdate() public {
        _swap(key, true, 1e18);
        vm.warp(block.timestamp + H_INTERVAL);
        _coolAll();
        vm.prank(requester);
        uint256 before = gasleft();
        uint256 id = hook.requestFeeUpdate{value: _hookFee()}();
        uint256 requestGas = before - gasleft();
        _coolAll();
        vm.prank(address(oracle));
        before = gasleft();
        hook.onInferenceResult(id, _values1(_outputFor(40)));
        uint256 callbackGas = before - gasleft();
        emit log_named_uint("requestFeeUpdate gas (features + oracle request)", requestGas);
        emit log_named_uint("onInferenceResult gas (rails + updateDynamicLPFee)", callbackGas);
        assertLe(callbackGas, H_CALLBACK_GAS, "fits the callback gas limit");
    }

    function _coldSwapGas(PoolKey memory k) internal returns (uint256 used) {
        _coolAll();
        uint256 before = gasleft();
        _swap(k, false, 1e18);
        used = before - gasleft();
    }

    /// @dev Every account a swap or update touches starts cold, as in its own transaction.
    function _coolAll() internal {
        vm.cool(address(manager));
        vm.cool(address(hook));
        vm.cool(address(swapRouter));
        vm.cool(address(oracle));
        vm.cool(address(verifier));
        vm.cool(Currency.unwrap(currency0));
        vm.cool(Currency.unwrap(currency1));
    }
}
