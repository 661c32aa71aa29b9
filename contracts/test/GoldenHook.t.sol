// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {PoolKey} from "@uniswap/v4-core/src/types/PoolKey.sol";

import {OracleDynamicFeeHook} from "../hooks/OracleDynamicFeeHook.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {IOracleDynamicFeeHook} from "../interfaces/IOracleDynamicFeeHook.sol";
import {BoundedStep} from "../libraries/BoundedStep.sol";
import {GoldenFixture} from "./GoldenVerifier.t.sol";
import {GoldenInputHook} from "./helpers/GoldenInputHook.sol";
import {V4Fixture} from "./helpers/V4Fixture.sol";

/// @notice The fee hook on a real PoolManager, moved by a real proof: the golden spread model's verifier and
///         proof (`tests/golden/spread_mlp`, made for GOLDEN_FULFILLER). The hook sends the golden input (a real
///         proof cannot be made here for the pool's own features; GoldenInputHook changes nothing else).
contract GoldenHookTest is GoldenFixture, V4Fixture {
    /// @dev The golden model's scales (`tests/golden/spread_mlp/proof.json`: scale 16, output_scale 32).
    uint8 internal constant GOLDEN_INPUT_SCALE = 16;
    uint8 internal constant GOLDEN_OUTPUT_SCALE = 32;
    uint16 internal constant BASE = 30;

    /// @notice Printed by forge with -vv.
    event log_named_uint(string key, uint256 val);

    uint256 internal scaledModel;
    GoldenInputHook internal hook;
    PoolKey internal key;

    function _model() internal pure override returns (string memory, uint32, uint32) {
        return ("spread_mlp", 8, 1);
    }

    function setUp() public override {
        super.setUp();
        if (goldenProof.length == 0) return; // skipped: no golden files
        // the golden verifier registered with the model's real scales, so the output maps to its real value
        IInferenceOracle.ModelParams memory p = oracle.getModel(goldenModel).params;
        p.inputScale = GOLDEN_INPUT_SCALE;
        p.outputScale = GOLDEN_OUTPUT_SCALE;
        scaledModel = _register(p);
        _deployV4();
        bytes memory args =
            abi.encode(manager, oracle, scaledModel, _pin(p), _config(), address(this), goldenInput);
        hook = GoldenInputHook(_deployHookAt(bytes.concat(type(GoldenInputHook).creationCode, args)));
        key = _poolKey(address(hook));
        _initPool(key);
        vm.deal(address(this), 10 ether);
    }

    receive() external payable {}

    function _config() internal pure returns (IOracleDynamicFeeHook.FeeConfig memory) {
        return IOracleDynamicFeeHook.FeeConfig({
            minFeeBps: 5,
            maxFeeBps: 100,
            baseFeeBps: BASE,
            maxStepBps: 25,
            stalenessWindow: 1 hours,
            callbackGasLimit: 200_000,
            bpsPerUnit: 100,
            updateInterval: 15 minutes,
            maxResultAge: 30 minutes
        });
    }

    function test_golden_hookFeeBaseThenModelThenBaseAgain() public {
        assertEq(uint256(_swapFee(key, true, 1e18)), uint256(BASE) * 100, "base fee before any fulfilment");

        vm.warp(block.timestamp + 15 minutes);
        uint256 id = hook.requestFeeUpdate{value: oracle.estimateFee(scaledModel, 200_000)}();
        assertEq(oracle.getRequest(id).input, goldenInput, "the request carries the golden input");

        // the golden output 466869142 at scale 2^32 is 0.1087: 10.87 bps at 100 bps per unit, floored to 10
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 expectedTarget = (uint256(goldenOutput[0]) * 100) >> GOLDEN_OUTPUT_SCALE;
        uint16 expected = BoundedStep.stepToward(BASE, BoundedStep.clamp(expectedTarget, 5, 100), 25);
        // every account the fulfilment touches starts cold, as in its own transaction
        vm.cool(address(oracle));
        vm.cool(address(verifier));
        vm.cool(address(hook));
        vm.cool(address(manager));
        vm.prank(GOLDEN_FULFILLER);
        uint256 before = gasleft();
        oracle.fulfill(id, goldenOutput, goldenProof);
        uint256 fulfilGas = before - gasleft();
        emit log_named_uint("fulfil gas, real verifier + hook fee update", fulfilGas);
        assertTrue(oracle.getRequest(id).callbackSuccess, "hook callback ran");
        assertEq(uint256(hook.currentFeeBps()), uint256(expected), "the model's fee, bounded");
        assertEq(uint256(expected), 10, "10 bps");
        assertEq(uint256(_swapFee(key, false, 1e18)), uint256(expected) * 100, "a swap pays the model's fee");

        vm.warp(block.timestamp + 1 hours + 1);
        assertEq(uint256(_swapFee(key, true, 1e18)), uint256(BASE) * 100, "base fee again once stale");
    }

    function test_golden_copiedProofMovesNothing() public {
        vm.warp(block.timestamp + 15 minutes);
        uint256 id = hook.requestFeeUpdate{value: oracle.estimateFee(scaledModel, 200_000)}();
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(stranger);
        oracle.fulfill(id, goldenOutput, goldenProof);
        assertEq(uint256(hook.currentFeeBps()), uint256(BASE), "unchanged");
        assertEq(uint256(OracleDynamicFeeHook(address(hook)).lastFeeUpdate()), 0, "never set");
    }
}
