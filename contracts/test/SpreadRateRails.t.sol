// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {SpreadGatedAMM} from "../SpreadGatedAMM.sol";
import {IInferenceConsumerBase} from "../interfaces/IInferenceConsumerBase.sol";
import {ISpreadGatedAMM} from "../interfaces/ISpreadGatedAMM.sol";
import {AMMFixture} from "./SpreadGatedAMM.t.sol";

/// @notice Issue #22, item 4 (the pool's rate rails) and the pool's low-severity findings.
contract SpreadRateRailsTest is AMMFixture {
    /// @dev A permissionless caller requests right after each fulfilment (swaps shaping a near-empty window in
    ///      between) and walked the fee from 30 to 5 bps with three results in minutes. Now the second request
    ///      in that span is refused, so within ten minutes the fee moves one step at most.
    function test_requestSpreadUpdate_threeResultsInMinutesCannotDrainFee() public {
        vm.warp(block.timestamp + MIN_WINDOW); // a first, honest-length window
        uint256 start = block.timestamp;
        for (uint256 i; i < 3; ++i) {
            vm.prank(trader); // shape the window
            amm.swap(1_000e18, true, 0, trader);
            vm.prank(requester);
            try amm.requestSpreadUpdate{value: _spreadFee()}() returns (uint256 id) {
                _deliver(id, 0); // the lowest fee the model can give
            } catch {}
            vm.warp(block.timestamp + 3 minutes);
        }
        assertLe(block.timestamp - start, 10 minutes, "minutes, not hours");
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE - MAX_STEP, "one step, not three");
    }

    /// @dev A request one second before `opensAt` reverts with `err`; at `opensAt` it is accepted.
    function _assertRequestOpensAt(uint256 opensAt, bytes memory err) internal returns (uint256 id) {
        vm.warp(opensAt - 1);
        vm.expectRevert(err);
        vm.prank(requester);
        amm.requestSpreadUpdate{value: _spreadFee()}();
        vm.warp(opensAt);
        vm.prank(requester);
        id = amm.requestSpreadUpdate{value: _spreadFee()}();
    }

    function test_requestSpreadUpdate_revertsBeforeMinUpdateInterval() public {
        uint256 id = _requestSpread();
        _deliver(id, _outputFor(40));
        uint256 next = block.timestamp + MIN_INTERVAL;
        _assertRequestOpensAt(next, abi.encodeWithSelector(ISpreadGatedAMM.UpdateTooSoon.selector, next));
    }

    function test_requestSpreadUpdate_revertsBeforeMinFeatureWindow() public {
        uint256 windowEnd = uint256(amm.windowStart()) + MIN_WINDOW;
        uint256 id = _assertRequestOpensAt(
            windowEnd, abi.encodeWithSelector(ISpreadGatedAMM.FeatureWindowTooShort.selector, windowEnd)
        );
        assertEq(amm.pendingRequestId(), id, "accepted at the window's end");
        assertEq(uint256(amm.pendingRequestedAt()), windowEnd, "request time");
    }

    function test_onInferenceResult_ignoresResultOlderThanMaxAge() public {
        uint256 id = _requestSpread();
        uint256 requestedAt = block.timestamp;
        vm.warp(requestedAt + MAX_AGE + 1); // still before the oracle's deadline (1 h)
        vm.expectEmit(true, true, true, true);
        emit ISpreadGatedAMM.SpreadResultExpired(id, requestedAt);
        _deliver(id, _outputFor(5));
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE, "unchanged");
        assertEq(uint256(amm.lastFeeUpdate()), 0, "no update recorded");
        assertEq(amm.pendingRequestId(), 0, "consumed");
    }

    function test_onInferenceResult_acceptsResultAtMaxAge() public {
        uint256 id = _requestSpread();
        vm.warp(block.timestamp + MAX_AGE);
        _deliver(id, _outputFor(25));
        assertEq(uint256(amm.currentFeeBps()), 25, "applied");
    }

    /// @dev Low: with r1 · 1e18 < r0 the price reserve1 / reserve0 truncated to zero in 1e18 fixed point and
    ///      `_recordSwap` divided by it, so every swap reverted, forever.
    function test_swap_succeedsWhenPriceIsBelowOneWei() public {
        SpreadGatedAMM pool =
            new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token1, _spreadConfig(), ammOwner);
        uint256 r0 = 1e30;
        uint256 r1 = 1e9; // r1 · 1e18 = 1e27 < r0
        token0.mint(lp, r0);
        token1.mint(lp, r1);
        token0.mint(trader, r0 / 100);
        vm.startPrank(lp);
        token0.approve(address(pool), type(uint256).max);
        token1.approve(address(pool), type(uint256).max);
        pool.addLiquidity(r0, r1, 0);
        vm.stopPrank();

        vm.startPrank(trader);
        token0.approve(address(pool), type(uint256).max);
        token1.approve(address(pool), type(uint256).max);
        uint256 out = pool.swap(1e28, true, 0, trader); // 1% of reserve0 in
        assertTrue(out > 0, "token1 out");
        pool.swap(1e6, false, 0, trader);
        vm.stopPrank();
        assertEq(uint256(pool.windowSwapCount()), 2, "both swaps recorded");
        // |ΔP| / P of the first swap is ~2% (price falls ~1.98%): recorded at full precision, not as 0 / 0
        uint256 vol = pool.windowAbsReturn();
        assertTrue(vol > 0.019e18 && vol < 0.03e18, "volatility recorded");
    }

    function test_constructor_revertsOnZeroMaxFee() public {
        ISpreadGatedAMM.SpreadConfig memory c = _spreadConfig();
        c.minFeeBps = 0;
        c.defaultFeeBps = 0;
        c.maxFeeBps = 0; // currentFeatures divides by maxFeeBps
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.InvalidFeeBounds.selector, 0, 0, 0));
        new SpreadGatedAMM(oracle, spreadModel, _ammPin(), token0, token1, c, ammOwner);
    }

    /// @dev The rails bound the fee's speed: from any sequence of requests and results, moving the fee by
    ///      k steps takes at least (k - 1) · minUpdateInterval.
    function testFuzz_requestSpreadUpdate_feeSpeedIsBounded(uint8 attempts, uint32 gap) public {
        uint256 n = boundU(attempts, 2, 12);
        uint256 dt = boundU(gap, 1, 2 * MIN_INTERVAL);
        vm.warp(block.timestamp + MIN_WINDOW);
        uint256 applied;
        uint256 firstAt;
        uint256 lastAt;
        for (uint256 i; i < n; ++i) {
            vm.prank(requester);
            try amm.requestSpreadUpdate{value: _spreadFee()}() returns (uint256 id) {
                _deliver(id, 0);
                if (applied == 0) firstAt = block.timestamp;
                lastAt = block.timestamp;
                ++applied;
            } catch {}
            vm.warp(block.timestamp + dt);
        }
        if (applied > 1) assertGe(lastAt - firstAt, (applied - 1) * MIN_INTERVAL, "spaced by the interval");
    }
}
