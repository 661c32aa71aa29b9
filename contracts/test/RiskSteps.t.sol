// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {RiskParameterGate} from "../RiskParameterGate.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {IRiskParameterGate} from "../interfaces/IRiskParameterGate.sol";
import {RiskFixture} from "./RiskParameterGate.t.sol";

/// @notice Issue #22, item 5: the gate reaches every coherent target; de-risking never stalls.
contract RiskStepsTest is RiskFixture {
    /// @dev A risk model with output scale 16, so every bps value is some output exactly.
    uint256 internal fineModel;

    function setUp() public override {
        super.setUp();
        IInferenceOracle.ModelParams memory p = _params(16, 4);
        p.outputScale = 16;
        fineModel = _register(p);
        gate = _gate(MAX_LTV_CHANGE, MAX_LT_CHANGE, INITIAL_LTV, INITIAL_LT);
    }

    /// @dev The model output for `bps` exactly at output scale 16 (bps = floor(y · 10,000 / 2^16)).
    function _y(uint256 bps) internal pure returns (int256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return int256((bps * 65_536 + 9_999) / 10_000);
    }

    /// @dev Delivers results targeting (ltv, lt) until the gate reaches them or `maxUpdates` were applied;
    ///      checks every intermediate state. Returns the number of updates.
    function _driveTo(RiskParameterGate g, uint256 ltv, uint256 lt, uint256 maxUpdates)
        internal
        returns (uint256 updates)
    {
        int256[] memory output = _values4(_y(ltv), _y(lt), 0, 0);
        while (updates < maxUpdates && (g.ltvBps() != ltv || g.liquidationThresholdBps() != lt)) {
            uint16 ltvBefore = g.ltvBps();
            uint16 ltBefore = g.liquidationThresholdBps();
            vm.prank(keeper);
            uint256 id = g.requestUpdate{value: _riskFee()}(_input(16, int256(updates)));
            _deliverRisk(id, output);
            uint16 nowLtv = g.ltvBps();
            uint16 nowLt = g.liquidationThresholdBps();
            assertTrue(nowLtv != ltvBefore || nowLt != ltBefore, "every update makes progress");
            assertTrue(nowLtv < nowLt, "ordered");
            assertLe(_dist(nowLtv, ltvBefore), g.maxLtvChangeBps(), "ltv step");
            assertLe(_dist(nowLt, ltBefore), g.maxLiquidationThresholdChangeBps(), "lt step");
            assertLe(_dist(nowLtv, ltv), _dist(ltvBefore, ltv), "ltv never moves away");
            assertLe(_dist(nowLt, lt), _dist(ltBefore, lt), "lt never moves away");
            ++updates;
            vm.warp(block.timestamp + MIN_DELAY);
        }
    }

    /// @dev The issue's case: a crash from 7000/7500 toward 5000/6000 with steps 200/300 stalled at 6200/6300
    ///      (the threshold outran the LTV, the crossed pair was rejected, and so was every later result).
    function test_onInferenceResult_crashReachesTarget() public {
        uint256 updates = _driveTo(gate, 5000, 6000, 20);
        assertEq(uint256(gate.ltvBps()), 5000, "ltv reached");
        assertEq(uint256(gate.liquidationThresholdBps()), 6000, "lt reached");
        assertEq(updates, 10, "one LTV step per update: (7000 - 5000) / 200");
    }

    /// @dev Rising too: 5000/5100 toward 8000/9000 with a slow threshold (steps 500 / 100).
    function test_onInferenceResult_riseKeepsLtvBelowThreshold() public {
        RiskParameterGate g = _gate(500, 100, 5000, 6100);
        uint256 updates = _driveTo(g, 8000, 9000, 40);
        assertEq(uint256(g.ltvBps()), 8000, "ltv reached");
        assertEq(uint256(g.liquidationThresholdBps()), 9000, "lt reached");
        assertEq(updates, 29, "threshold-bound: (9000 - 6100) / 100");
    }

    function test_preview_rejectsIncoherentTargets() public view {
        (uint16 ltv, uint16 lt, IRiskParameterGate.RejectReason reason) =
            gate.preview(_values4(_y(7000), _y(6500), 0, 0));
        assertTrue(reason == IRiskParameterGate.RejectReason.LtvNotBelowLiquidationThreshold, "rejected");
        assertEq(uint256(ltv), INITIAL_LTV, "ltv kept");
        assertEq(uint256(lt), INITIAL_LT, "lt kept");
    }

    /// @dev Any ordered start, any ordered target within the bounds, any steps: the gate gets there, within
    ///      ceil(dLtv / stepLtv) + ceil(dLt / stepLt) updates, every intermediate state ordered and stepped.
    function testFuzz_onInferenceResult_reachesAnyOrderedTarget(
        uint16 stepLtv,
        uint16 stepLt,
        uint16 startLtv,
        uint16 startLt,
        uint16 ltv,
        uint16 lt
    ) public {
        uint256 sLtv = boundU(stepLtv, 100, 1000);
        uint256 sLt = boundU(stepLt, 100, 1000);
        uint256 a = boundU(startLtv, MIN_LTV, MAX_LTV);
        uint256 b = boundU(startLt, a < MIN_LT ? MIN_LT : a + 1, MAX_LT);
        uint256 tLtv = boundU(ltv, MIN_LTV, MAX_LTV);
        uint256 tLt = boundU(lt, tLtv < MIN_LT ? MIN_LT : tLtv + 1, MAX_LT);
        RiskParameterGate g = _gate(sLtv, sLt, a, b);
        uint256 bound = _ceilDiv(_dist(a, tLtv), sLtv) + _ceilDiv(_dist(b, tLt), sLt);
        uint256 updates = _driveTo(g, tLtv, tLt, bound);
        assertEq(uint256(g.ltvBps()), tLtv, "ltv reached");
        assertEq(uint256(g.liquidationThresholdBps()), tLt, "lt reached");
        assertLe(updates, bound, "within the bound");
    }

    // forge-lint: disable-start(unsafe-typecast)
    function _gate(uint256 sLtv, uint256 sLt, uint256 ltv, uint256 lt) internal returns (RiskParameterGate) {
        IRiskParameterGate.RiskConfig memory c = _riskConfig();
        c.maxLtvChangeBps = uint16(sLtv);
        c.maxLiquidationThresholdChangeBps = uint16(sLt);
        return
            new RiskParameterGate(
                oracle, fineModel, _riskPin(), c, uint16(ltv), uint16(lt), riskOwner, keeper
            );
    }
    // forge-lint: disable-end(unsafe-typecast)

    function _dist(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a - b : b - a;
    }

    function _ceilDiv(uint256 a, uint256 b) internal pure returns (uint256) {
        return (a + b - 1) / b;
    }
}
