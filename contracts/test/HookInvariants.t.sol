// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IPoolManager} from "@uniswap/v4-core/src/interfaces/IPoolManager.sol";
import {StateLibrary} from "@uniswap/v4-core/src/libraries/StateLibrary.sol";
import {PoolModifyLiquidityTest} from "@uniswap/v4-core/src/test/PoolModifyLiquidityTest.sol";
import {PoolSwapTest} from "@uniswap/v4-core/src/test/PoolSwapTest.sol";
import {PoolKey} from "@uniswap/v4-core/src/types/PoolKey.sol";

import {InferenceOracle} from "../InferenceOracle.sol";
import {OracleDynamicFeeHook} from "../hooks/OracleDynamicFeeHook.sol";
import {HookFixture} from "./OracleDynamicFeeHook.t.sol";
import {V4Fixture} from "./helpers/V4Fixture.sol";

/// @notice Drives the fee hook's pool and oracle through every path that carries no verified result — swaps,
///         liquidity, fee requests, forged and mismatched fulfilments, direct callbacks, cancellations, pauses,
///         time — and records whether the fee ever moved.
contract HookHandler is V4Fixture {
    using StateLibrary for IPoolManager;

    InferenceOracle public immutable oracle;
    OracleDynamicFeeHook public immutable hook;
    address public immutable hookOwner;
    PoolKey internal key;

    uint256[] public requestIds;
    /// @dev Calls after which the stored fee, its timestamp or the pool's LP fee differed from before.
    uint256 public feeChanges;
    /// @dev Fulfilments or callbacks that did not revert.
    uint256 public acceptedForgeries;

    /// @dev Trades through the fixture's routers with its own tokens (funded and approved by the test).
    constructor(
        InferenceOracle oracle_,
        OracleDynamicFeeHook hook_,
        address hookOwner_,
        IPoolManager manager_,
        PoolSwapTest swapRouter_,
        PoolModifyLiquidityTest lpRouter_,
        PoolKey memory key_
    ) {
        oracle = oracle_;
        hook = hook_;
        hookOwner = hookOwner_;
        manager = manager_;
        swapRouter = swapRouter_;
        lpRouter = lpRouter_;
        key = key_;
    }

    receive() external payable {}

    function swap(uint256 amount, bool zeroForOne) external {
        bytes32 before = _feeState();
        try swapRouter.swap(
            key, _swapParams(zeroForOne, boundU(amount, 1e12, 100_000e18)), _settings(), ""
        ) {}
            catch {}
        _check(before);
    }

    function addLiquidity(uint256 amount) external {
        bytes32 before = _feeState();
        try lpRouter.modifyLiquidity(key, _fullRange(boundU(amount, 1e18, 100_000e18)), "") {} catch {}
        _check(before);
    }

    function requestFee() external {
        bytes32 before = _feeState();
        uint256 fee = oracle.estimateFee(hook.modelId(), hook.callbackGasLimit());
        try hook.requestFeeUpdate{value: fee}() returns (uint256 id) {
            requestIds.push(id);
        } catch {}
        _check(before);
    }

    /// @dev A fulfilment whose proof is for another output, or is garbage: the oracle must reject it.
    function fulfillForged(uint256 which, int256 output, bool garbage) external {
        if (requestIds.length == 0) return;
        bytes32 before = _feeState();
        uint256 id = requestIds[which % requestIds.length];
        int256[] memory out = new int256[](1);
        out[0] = output;
        int256[] memory claimed = new int256[](1);
        claimed[0] = output == type(int256).max ? output - 1 : output + 1;
        bytes memory proof = garbage ? abi.encode(uint256(1)) : _hashCheckProof(id, claimed);
        try oracle.fulfill(id, out, proof) {
            ++acceptedForgeries;
        } catch {}
        _check(before);
    }

    /// @dev The callback called directly, by this handler (not the oracle).
    function directCallback(uint256 which, int256 output) external {
        bytes32 before = _feeState();
        uint256 id = requestIds.length == 0 ? which : requestIds[which % requestIds.length];
        int256[] memory out = new int256[](1);
        out[0] = output;
        try hook.onInferenceResult(id, out) {
            ++acceptedForgeries;
        } catch {}
        _check(before);
    }

    function cancel(uint256 which) external {
        if (requestIds.length == 0) return;
        bytes32 before = _feeState();
        try oracle.cancel(requestIds[which % requestIds.length]) {} catch {}
        _check(before);
    }

    function setPaused(bool isPaused) external {
        bytes32 before = _feeState();
        vm.prank(hookOwner);
        hook.setPaused(isPaused);
        _check(before);
    }

    function warp(uint256 secs) external {
        bytes32 before = _feeState();
        vm.warp(block.timestamp + boundU(secs, 1, 2 hours));
        _check(before);
    }

    /// @dev What a verified result writes: the fee, its timestamp and the pool's stored LP fee.
    function _feeState() internal view returns (bytes32) {
        uint24 lpFee = _slot0LpFee(key);
        return keccak256(abi.encode(hook.feeBps(), hook.lastFeeUpdate(), lpFee));
    }

    function _check(bytes32 before) internal {
        if (_feeState() != before) ++feeChanges;
    }

    /// @dev A HashCheckVerifier proof for `output` on request `id`, made for this handler as fulfiller.
    function _hashCheckProof(uint256 id, int256[] memory output) internal view returns (bytes memory) {
        return abi.encode(oracle.buildInstances(id, output, address(this)));
    }
}

/// @notice No sequence of calls without a verified result changes the hook's fee.
contract HookInvariantsTest is HookFixture {
    HookHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new HookHandler(oracle, hook, hookOwner, manager, swapRouter, lpRouter, key);
        _fundV4(address(handler), 10 * V4_LIQUIDITY);
        vm.deal(address(handler), 100 ether);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_noUnverifiedCallChangesTheFee() public view {
        assertEq(handler.feeChanges(), 0, "the fee moved without a verified result");
        assertEq(handler.acceptedForgeries(), 0, "a forged fulfilment or direct callback was accepted");
        assertEq(uint256(hook.feeBps()), 0, "no verified fee stored");
        assertEq(uint256(hook.lastFeeUpdate()), 0, "never updated");
        assertEq(uint256(hook.currentFeeBps()), H_BASE_FEE, "swaps pay the base fee");
    }
}
