// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {RiskParameterGate} from "../RiskParameterGate.sol";
import {IInferenceConsumerBase} from "../interfaces/IInferenceConsumerBase.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {IRiskParameterGate} from "../interfaces/IRiskParameterGate.sol";
import {ModelPin} from "../libraries/ModelPin.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";

/// @notice Shared risk-gate fixture (also used by the invariant suite).
abstract contract RiskFixture is OracleTestBase {
    uint16 internal constant MIN_LTV = 5000;
    uint16 internal constant MAX_LTV = 8000;
    uint16 internal constant MIN_LT = 6000;
    uint16 internal constant MAX_LT = 9000;
    uint16 internal constant MAX_LTV_CHANGE = 200;
    uint16 internal constant MAX_LT_CHANGE = 300;
    uint32 internal constant MIN_DELAY = 1 days;
    uint32 internal constant MAX_AGE = 30 minutes;
    uint32 internal constant RISK_CALLBACK_GAS = 150_000;
    uint16 internal constant INITIAL_LTV = 7000;
    uint16 internal constant INITIAL_LT = 7500;

    address internal riskOwner = address(0x0E1);
    address internal keeper = address(0x3EE);

    uint256 internal riskModel;
    RiskParameterGate internal gate;

    function setUp() public virtual override {
        super.setUp();
        riskModel = _register(_params(16, 4));
        gate = new RiskParameterGate(
            oracle, riskModel, _riskPin(), _riskConfig(), INITIAL_LTV, INITIAL_LT, riskOwner, keeper
        );
        vm.deal(keeper, 100 ether);
        vm.deal(riskOwner, 100 ether);
    }

    function _riskConfig() internal pure returns (IRiskParameterGate.RiskConfig memory) {
        return IRiskParameterGate.RiskConfig({
            minLtvBps: MIN_LTV,
            maxLtvBps: MAX_LTV,
            minLiquidationThresholdBps: MIN_LT,
            maxLiquidationThresholdBps: MAX_LT,
            maxLtvChangeBps: MAX_LTV_CHANGE,
            maxLiquidationThresholdChangeBps: MAX_LT_CHANGE,
            minUpdateDelay: MIN_DELAY,
            maxResultAge: MAX_AGE,
            callbackGasLimit: RISK_CALLBACK_GAS
        });
    }

    /// @dev The pin of the suite's risk model.
    function _riskPin() internal view returns (ModelPin.Pin memory) {
        return _pin(_params(16, 4));
    }

    /// @dev What a risk request pays: the model fee and the gate's callback gas.
    function _riskFee() internal pure returns (uint256) {
        return _feeFor(FEE, RISK_CALLBACK_GAS);
    }

    function _requestRisk(int256 seed) internal returns (uint256 id) {
        vm.prank(keeper);
        id = gate.requestUpdate{value: _riskFee()}(_input(16, seed));
    }

    function _deliverRisk(uint256 id, int256[] memory output) internal {
        int256[] memory input = oracle.getRequest(id).input;
        bytes memory proof = _proofFor(input, output, fulfiller);
        vm.prank(fulfiller);
        oracle.fulfill(id, output, proof);
    }
}

contract RiskParameterGateTest is RiskFixture {
    // ==========================================================================================================
    // constructor
    // ==========================================================================================================

    function test_constructor_setsState() public view {
        assertEq(uint256(gate.ltvBps()), INITIAL_LTV, "ltv");
        assertEq(uint256(gate.liquidationThresholdBps()), INITIAL_LT, "lt");
        assertEq(gate.owner(), riskOwner, "owner");
        assertEq(gate.keeper(), keeper, "keeper");
        assertEq(gate.modelId(), riskModel, "model");
        assertEq(uint256(gate.outputScale()), 7, "scale");
    }

    function _expectBad(
        IRiskParameterGate.RiskConfig memory c,
        uint16 ltv,
        uint16 lt,
        address owner_,
        bytes memory expected
    ) internal {
        vm.expectRevert(expected);
        new RiskParameterGate(oracle, riskModel, _riskPin(), c, ltv, lt, owner_, keeper);
    }

    function test_constructor_revertsOnBadConfig() public {
        IRiskParameterGate.RiskConfig memory c = _riskConfig();
        _expectBad(
            c,
            INITIAL_LTV,
            INITIAL_LT,
            address(0),
            abi.encodeWithSelector(IInferenceConsumerBase.ZeroOwner.selector)
        );
        c.minLtvBps = MAX_LTV + 1;
        _expectBad(c, INITIAL_LTV, INITIAL_LT, riskOwner, _ltvBounds(c));
        c = _riskConfig();
        c.maxLtvBps = 10_000;
        _expectBad(c, INITIAL_LTV, INITIAL_LT, riskOwner, _ltvBounds(c));
        c = _riskConfig();
        c.minLiquidationThresholdBps = MAX_LT + 1;
        _expectBad(c, INITIAL_LTV, INITIAL_LT, riskOwner, _ltBounds(c));
        c = _riskConfig();
        c.maxLiquidationThresholdBps = 10_001;
        _expectBad(c, INITIAL_LTV, INITIAL_LT, riskOwner, _ltBounds(c));
        c = _riskConfig();
        c.maxLtvChangeBps = 0;
        _expectBad(c, INITIAL_LTV, INITIAL_LT, riskOwner, _maxChange(c));
        c = _riskConfig();
        c.maxLiquidationThresholdChangeBps = 0;
        _expectBad(c, INITIAL_LTV, INITIAL_LT, riskOwner, _maxChange(c));
        c = _riskConfig();
        c.maxResultAge = 0;
        _expectBad(
            c,
            INITIAL_LTV,
            INITIAL_LT,
            riskOwner,
            abi.encodeWithSelector(IInferenceConsumerBase.ZeroMaxResultAge.selector)
        );
        c = _riskConfig();
        c.callbackGasLimit = 0;
        _expectBad(
            c,
            INITIAL_LTV,
            INITIAL_LT,
            riskOwner,
            abi.encodeWithSelector(IInferenceConsumerBase.ZeroCallbackGasLimit.selector)
        );
        c = _riskConfig();
        _expectBad(c, MIN_LTV - 1, INITIAL_LT, riskOwner, _initialLtv(MIN_LTV - 1));
        _expectBad(c, MAX_LTV + 1, INITIAL_LT, riskOwner, _initialLtv(MAX_LTV + 1));
        _expectBad(c, INITIAL_LTV, MIN_LT - 1, riskOwner, _initialLt(MIN_LT - 1));
        _expectBad(c, INITIAL_LTV, MAX_LT + 1, riskOwner, _initialLt(MAX_LT + 1));
        _expectBad(
            c,
            7000,
            7000,
            riskOwner,
            abi.encodeWithSelector(
                IRiskParameterGate.InitialLtvNotBelowLiquidationThreshold.selector, 7000, 7000
            )
        );
    }

    function _ltvBounds(IRiskParameterGate.RiskConfig memory c) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRiskParameterGate.InvalidLtvBounds.selector, c.minLtvBps, c.maxLtvBps);
    }

    function _ltBounds(IRiskParameterGate.RiskConfig memory c) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IRiskParameterGate.InvalidLiquidationThresholdBounds.selector,
            c.minLiquidationThresholdBps,
            c.maxLiquidationThresholdBps
        );
    }

    function _maxChange(IRiskParameterGate.RiskConfig memory c) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IRiskParameterGate.ZeroMaxChange.selector, c.maxLtvChangeBps, c.maxLiquidationThresholdChangeBps
        );
    }

    function _initialLtv(uint16 ltv) internal pure returns (bytes memory) {
        return
            abi.encodeWithSelector(IRiskParameterGate.InitialLtvOutOfBounds.selector, ltv, MIN_LTV, MAX_LTV);
    }

    function _initialLt(uint16 lt) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IRiskParameterGate.InitialLiquidationThresholdOutOfBounds.selector, lt, MIN_LT, MAX_LT
        );
    }

    function test_constructor_revertsOnSingleOutputModel() public {
        uint256 single = _register(_params(16, 1));
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.ModelOutputLenTooShort.selector, 2, 1));
        new RiskParameterGate(
            oracle, single, _pin(_params(16, 1)), _riskConfig(), INITIAL_LTV, INITIAL_LT, riskOwner, keeper
        );
    }

    // ==========================================================================================================
    // requestUpdate
    // ==========================================================================================================

    function test_requestUpdate_keeperOrOwnerOnly() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, stranger));
        vm.prank(stranger);
        gate.requestUpdate{value: _riskFee()}(_input(16, 1));

        vm.expectEmit(true, true, true, true);
        emit IRiskParameterGate.RiskUpdateRequested(1, keeper);
        uint256 id = _requestRisk(1);
        assertEq(gate.pendingRequestId(), id, "pending");
        assertEq(uint256(gate.pendingRequestedAt()), block.timestamp, "requested at");
        IInferenceOracle.Request memory r = oracle.getRequest(id);
        assertEq(r.requester, address(gate), "gate requests");
        assertEq(r.input, _input(16, 1), "features forwarded");
        assertEq(uint256(r.callbackGasLimit), RISK_CALLBACK_GAS, "callback gas");

        vm.warp(block.timestamp + TIMEOUT + 1);
        vm.prank(riskOwner);
        gate.requestUpdate{value: _riskFee()}(_input(16, 2));
    }

    function test_requestUpdate_revertsWhilePending() public {
        uint256 id = _requestRisk(1);
        uint64 deadline = oracle.getRequest(id).deadline;
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceConsumerBase.RequestStillPending.selector, id, deadline)
        );
        vm.prank(keeper);
        gate.requestUpdate{value: _riskFee()}(_input(16, 1));
    }

    function test_requestUpdate_revertsBeforeMinDelay() public {
        uint256 id = _requestRisk(1);
        _deliverRisk(id, _values4(89, 96, 0, 0)); // applied: 6953 / 7500
        uint256 nextAllowed = block.timestamp + MIN_DELAY;
        vm.expectRevert(abi.encodeWithSelector(IRiskParameterGate.UpdateTooSoon.selector, nextAllowed));
        vm.prank(keeper);
        gate.requestUpdate{value: _riskFee()}(_input(16, 1));
        vm.warp(nextAllowed);
        _requestRisk(1);
    }

    function test_requestUpdate_revertsOnOracleChecks() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.IncorrectFee.selector, _riskFee(), 0));
        vm.prank(keeper);
        gate.requestUpdate(_input(16, 1));
        int256[] memory bad = _input(16, 1);
        bad[3] = 5000;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InputOutOfRange.selector, 3, int256(5000)));
        vm.prank(keeper);
        gate.requestUpdate{value: _riskFee()}(bad);
    }

    // ==========================================================================================================
    // onInferenceResult
    // ==========================================================================================================

    function test_onInferenceResult_appliesExactMapping() public {
        uint256 id = _requestRisk(1);
        vm.expectEmit(true, true, true, true);
        emit IRiskParameterGate.RiskParametersUpdated(id, INITIAL_LTV, 7109, INITIAL_LT, 7734);
        _deliverRisk(id, _values4(91, 99, 0, 0));
        assertEq(uint256(gate.ltvBps()), 7109, "ltv = floor(91 * 10000 / 128)");
        assertEq(uint256(gate.liquidationThresholdBps()), 7734, "lt = floor(99 * 10000 / 128)");
        assertEq(uint256(gate.lastUpdate()), block.timestamp, "last update");
        assertEq(gate.pendingRequestId(), 0, "consumed");
        assertTrue(oracle.getRequest(id).callbackSuccess, "callback succeeded");
    }

    function test_onInferenceResult_fitsCallbackGasLimit() public {
        uint256 id = _requestRisk(1);
        vm.cool(address(gate));
        vm.prank(address(oracle));
        uint256 before = gasleft();
        gate.onInferenceResult(id, _values4(91, 99, 0, 0));
        uint256 used = before - gasleft();
        assertEq(uint256(gate.ltvBps()), 7109, "applied");
        assertLe(used * 2, RISK_CALLBACK_GAS, "the callback needs under half its gas limit (cold storage)");
    }

    function test_onInferenceResult_limitsChangeAndClampsBounds() public {
        uint256 id = _requestRisk(1);
        _deliverRisk(id, _values4(HALF_P, HALF_P, 0, 0)); // targets clamp to 8000 / 9000
        assertEq(uint256(gate.ltvBps()), INITIAL_LTV + MAX_LTV_CHANGE, "ltv +max");
        assertEq(uint256(gate.liquidationThresholdBps()), INITIAL_LT + MAX_LT_CHANGE, "lt +max");
        vm.warp(block.timestamp + MIN_DELAY);
        id = _requestRisk(2);
        _deliverRisk(id, _values4(-HALF_P, HALF_P, 0, 0)); // ltv target clamps to 5000
        assertEq(uint256(gate.ltvBps()), INITIAL_LTV, "ltv -max");
        assertEq(uint256(gate.liquidationThresholdBps()), INITIAL_LT + 2 * MAX_LT_CHANGE, "lt +max again");
    }

    function test_onInferenceResult_rejectsLtvNotBelowThreshold() public {
        uint256 id = _requestRisk(1);
        // ltv -> 7200 (step-limited), lt -> 7200 (step-limited from 7500 toward 6000): equal, rejected
        vm.expectEmit(true, true, true, true);
        emit IRiskParameterGate.RiskResultRejected(
            id, IRiskParameterGate.RejectReason.LtvNotBelowLiquidationThreshold
        );
        _deliverRisk(id, _values4(HALF_P, 0, 0, 0));
        assertEq(uint256(gate.ltvBps()), INITIAL_LTV, "unchanged ltv");
        assertEq(uint256(gate.liquidationThresholdBps()), INITIAL_LT, "unchanged lt");
        assertEq(uint256(gate.lastUpdate()), 0, "no update recorded");
        assertEq(gate.pendingRequestId(), 0, "consumed anyway");
    }

    function test_onInferenceResult_rejectsExpiredResult() public {
        uint256 id = _requestRisk(1);
        vm.warp(block.timestamp + MAX_AGE + 1); // still within the oracle's deadline
        vm.expectEmit(true, true, true, true);
        emit IRiskParameterGate.RiskResultRejected(id, IRiskParameterGate.RejectReason.ResultExpired);
        _deliverRisk(id, _values4(91, 99, 0, 0));
        assertEq(uint256(gate.ltvBps()), INITIAL_LTV, "unchanged");
    }

    function test_onInferenceResult_acceptsAtMaxAge() public {
        uint256 id = _requestRisk(1);
        vm.warp(block.timestamp + MAX_AGE);
        _deliverRisk(id, _values4(91, 99, 0, 0));
        assertEq(uint256(gate.ltvBps()), 7109, "applied");
    }

    function test_preview_reportsTooSoon() public {
        uint256 id = _requestRisk(1);
        _deliverRisk(id, _values4(91, 99, 0, 0));
        (uint16 l, uint16 t, IRiskParameterGate.RejectReason reason) = gate.preview(_values4(0, 0, 0, 0));
        assertTrue(reason == IRiskParameterGate.RejectReason.UpdateTooSoon, "too soon");
        assertEq(uint256(l), 7109, "current ltv");
        assertEq(uint256(t), 7734, "current lt");
        vm.warp(block.timestamp + MIN_DELAY);
        (,, reason) = gate.preview(_values4(91, 99, 0, 0));
        assertTrue(reason == IRiskParameterGate.RejectReason.None, "allowed again");
    }

    function test_onInferenceResult_revertsForNonOracle() public {
        uint256 id = _requestRisk(1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.NotOracle.selector, keeper));
        vm.prank(keeper);
        gate.onInferenceResult(id, _values4(91, 99, 0, 0));
    }

    function test_onInferenceResult_onceOnlyAndForeignRejected() public {
        uint256 id = _requestRisk(1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.UnexpectedRequest.selector, id + 1));
        vm.prank(address(oracle));
        gate.onInferenceResult(id + 1, _values4(91, 99, 0, 0));
        _deliverRisk(id, _values4(91, 99, 0, 0));
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.UnexpectedRequest.selector, id));
        vm.prank(address(oracle));
        gate.onInferenceResult(id, _values4(80, 90, 0, 0));
        assertEq(uint256(gate.ltvBps()), 7109, "unchanged by a replay");
    }

    function test_onInferenceResult_invalidProofChangesNothing() public {
        uint256 id = _requestRisk(1);
        int256[] memory input = oracle.getRequest(id).input;
        bytes memory proof = _proofFor(input, _values4(91, 99, 0, 0), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values4(92, 99, 0, 0), proof);
        assertEq(uint256(gate.ltvBps()), INITIAL_LTV, "unchanged");
        assertEq(gate.pendingRequestId(), id, "still waiting");
    }

    function testFuzz_onInferenceResult_staysInRails(int256 y0, int256 y1, int256 z0, int256 z1) public {
        int256[2] memory a = [y0 % (HALF_P + 1), y1 % (HALF_P + 1)];
        int256[2] memory b = [z0 % 400, z1 % 400];
        for (int256 round; round < 2; ++round) {
            int256[2] memory y = round == 0 ? a : b;
            uint16 ltvBefore = gate.ltvBps();
            uint16 ltBefore = gate.liquidationThresholdBps();
            (uint256 expLtv, uint256 expLt) = _reference(ltvBefore, ltBefore, y[0], y[1]);
            uint256 id = _requestRisk(round);
            _deliverRisk(id, _values4(y[0], y[1], 0, 0));
            uint16 ltv = gate.ltvBps();
            uint16 lt = gate.liquidationThresholdBps();
            assertTrue(ltv >= MIN_LTV && ltv <= MAX_LTV, "ltv bounds");
            assertTrue(lt >= MIN_LT && lt <= MAX_LT, "lt bounds");
            assertTrue(ltv < lt, "ltv < lt");
            assertTrue(_absDiff(ltv, ltvBefore) <= MAX_LTV_CHANGE, "ltv step");
            assertTrue(_absDiff(lt, ltBefore) <= MAX_LT_CHANGE, "lt step");
            assertEq(uint256(ltv), expLtv, "reference ltv");
            assertEq(uint256(lt), expLt, "reference lt");
            vm.warp(block.timestamp + MIN_DELAY);
        }
    }

    // ==========================================================================================================
    // owner
    // ==========================================================================================================

    function test_setKeeper_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, keeper));
        vm.prank(keeper);
        gate.setKeeper(stranger);
        vm.expectEmit(true, true, true, true);
        emit IRiskParameterGate.KeeperSet(stranger);
        vm.prank(riskOwner);
        gate.setKeeper(stranger);
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, keeper));
        vm.prank(keeper);
        gate.requestUpdate{value: _riskFee()}(_input(16, 1));
    }

    function test_transferOwnership_twoStep() public {
        _checkTwoStepOwnership(gate, riskOwner);
    }

    function test_withdrawOracleCredit_returnsCancelledFees() public {
        uint256 id = _requestRisk(1);
        vm.warp(block.timestamp + TIMEOUT + 1);
        oracle.cancel(id);
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, keeper));
        vm.prank(keeper);
        gate.withdrawOracleCredit(payable(keeper));
        vm.expectEmit(true, true, true, true);
        emit IInferenceConsumerBase.OracleCreditWithdrawn(address(0x5AFE), _riskFee());
        vm.prank(riskOwner);
        gate.withdrawOracleCredit(payable(address(0x5AFE)));
        assertEq(address(0x5AFE).balance, _riskFee(), "withdrawn");
    }

    // ==========================================================================================================
    // reference model of the rails (independent of the contract's code)
    // ==========================================================================================================

    function _reference(uint16 ltv, uint16 lt, int256 y0, int256 y1)
        internal
        pure
        returns (uint256, uint256)
    {
        uint256 tLtv = _clampRef(_bpsRef(y0), MIN_LTV, MAX_LTV);
        uint256 tLt = _clampRef(_bpsRef(y1), MIN_LT, MAX_LT);
        if (tLtv >= tLt) return (ltv, lt); // incoherent targets: rejected
        uint256 nLtv = _stepRef(ltv, tLtv, MAX_LTV_CHANGE);
        uint256 nLt = _stepRef(lt, tLt, MAX_LT_CHANGE);
        if (nLtv < nLt) return (nLtv, nLt);
        // crossed: lowering the LTV goes first, the threshold waits above it; a rising LTV waits below it
        if (nLtv <= ltv) return (nLtv, nLtv + 1);
        return (nLt - 1, nLt);
    }

    function _bpsRef(int256 y) internal pure returns (uint256) {
        if (y <= 0) return 0;
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 u = uint256(y);
        return u >= 2 ** 100 ? type(uint256).max : (u * 10_000) / 128;
    }

    function _clampRef(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return x < lo ? lo : (x > hi ? hi : x);
    }

    function _stepRef(uint256 cur, uint256 target, uint256 step) internal pure returns (uint256) {
        if (target > cur + step) return cur + step;
        if (target + step < cur) return cur - step;
        return target;
    }

    function _absDiff(uint16 a, uint16 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }
}
