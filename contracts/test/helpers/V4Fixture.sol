// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IHooks} from "@uniswap/v4-core/src/interfaces/IHooks.sol";
import {IPoolManager} from "@uniswap/v4-core/src/interfaces/IPoolManager.sol";
import {Hooks} from "@uniswap/v4-core/src/libraries/Hooks.sol";
import {LPFeeLibrary} from "@uniswap/v4-core/src/libraries/LPFeeLibrary.sol";
import {StateLibrary} from "@uniswap/v4-core/src/libraries/StateLibrary.sol";
import {TickMath} from "@uniswap/v4-core/src/libraries/TickMath.sol";
import {PoolModifyLiquidityTest} from "@uniswap/v4-core/src/test/PoolModifyLiquidityTest.sol";
import {PoolSwapTest} from "@uniswap/v4-core/src/test/PoolSwapTest.sol";
import {BalanceDelta} from "@uniswap/v4-core/src/types/BalanceDelta.sol";
import {Currency} from "@uniswap/v4-core/src/types/Currency.sol";
import {PoolKey} from "@uniswap/v4-core/src/types/PoolKey.sol";
import {ModifyLiquidityParams, SwapParams} from "@uniswap/v4-core/src/types/PoolOperation.sol";

import {DemoToken} from "../../demo/DemoToken.sol";
import {OracleDynamicFeeHook} from "../../hooks/OracleDynamicFeeHook.sol";
import {IInferenceOracle} from "../../interfaces/IInferenceOracle.sol";
import {IOracleDynamicFeeHook} from "../../interfaces/IOracleDynamicFeeHook.sol";
import {HookSalt} from "../../libraries/HookSalt.sol";
import {ModelPin} from "../../libraries/ModelPin.sol";
import {TestBase, Vm} from "../Vm.sol";

/// @notice A real Uniswap v4 PoolManager (deployed from its via-IR artifact), v4-core's own test routers, two
///         tokens, and the oracle fee hook at a mined address with its dynamic-fee pool.
abstract contract V4Fixture is TestBase {
    using StateLibrary for IPoolManager;

    /// @dev The hook's permission flags (its address's low 14 bits).
    uint160 internal constant HOOK_FLAGS = Hooks.BEFORE_INITIALIZE_FLAG | Hooks.AFTER_INITIALIZE_FLAG
        | Hooks.BEFORE_SWAP_FLAG | Hooks.AFTER_SWAP_FLAG;
    int24 internal constant TICK_SPACING = 60;
    int24 internal constant FULL_RANGE_TICK = 887_220; // the widest range on a spacing of 60
    uint160 internal constant SQRT_PRICE_1_1 = 79_228_162_514_264_337_593_543_950_336; // 2^96: price 1
    uint256 internal constant V4_LIQUIDITY = 1_000_000e18;
    /// @dev The PoolManager's `Swap` event.
    bytes32 internal constant SWAP_EVENT =
        keccak256("Swap(bytes32,address,int128,int128,uint160,uint128,int24,uint24)");

    IPoolManager internal manager;
    PoolSwapTest internal swapRouter;
    PoolModifyLiquidityTest internal lpRouter;
    DemoToken internal tokenA;
    DemoToken internal tokenB;
    Currency internal currency0;
    Currency internal currency1;

    /// @dev The PoolManager, both routers and two tokens; this contract may spend its tokens through both routers.
    function _deployV4() internal {
        bytes memory code = bytes.concat(vm.getCode("PoolManager.sol:PoolManager"), abi.encode(address(this)));
        address deployed;
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        assertTrue(deployed != address(0), "PoolManager deploys");
        manager = IPoolManager(deployed);
        swapRouter = new PoolSwapTest(manager);
        lpRouter = new PoolModifyLiquidityTest(manager);
        tokenA = new DemoToken("Token A", "TA");
        tokenB = new DemoToken("Token B", "TB");
        (DemoToken t0, DemoToken t1) = address(tokenA) < address(tokenB) ? (tokenA, tokenB) : (tokenB, tokenA);
        currency0 = Currency.wrap(address(t0));
        currency1 = Currency.wrap(address(t1));
        _fundV4(address(this), 100 * V4_LIQUIDITY);
    }

    /// @dev Mints `amount` of both tokens to `who` and approves both routers for it.
    function _fundV4(address who, uint256 amount) internal {
        tokenA.mint(who, amount);
        tokenB.mint(who, amount);
        vm.startPrank(who);
        tokenA.approve(address(swapRouter), type(uint256).max);
        tokenB.approve(address(swapRouter), type(uint256).max);
        tokenA.approve(address(lpRouter), type(uint256).max);
        tokenB.approve(address(lpRouter), type(uint256).max);
        vm.stopPrank();
    }

    /// @dev The hook's creation code with its constructor arguments (a harness subclass overrides it).
    function _hookInitCode(
        IInferenceOracle oracle_,
        uint256 modelId_,
        ModelPin.Pin memory pin,
        IOracleDynamicFeeHook.FeeConfig memory config,
        address owner_
    ) internal view virtual returns (bytes memory) {
        return bytes.concat(
            type(OracleDynamicFeeHook).creationCode,
            abi.encode(manager, oracle_, modelId_, pin, config, owner_)
        );
    }

    /// @dev CREATE2-deploys `initCode` at a salt HookSalt mined for HOOK_FLAGS.
    function _deployHookAt(bytes memory initCode) internal returns (address hook) {
        (bytes32 salt, address expected) =
            HookSalt.find(address(this), HOOK_FLAGS, keccak256(initCode), 0, 200_000);
        assembly ("memory-safe") {
            hook := create2(0, add(initCode, 0x20), mload(initCode), salt)
        }
        assertEq(hook, expected, "hook at the mined address");
    }

    /// @dev The hook's dynamic-fee pool at price 1 with full-range liquidity.
    function _poolKey(address hook) internal view returns (PoolKey memory) {
        return PoolKey({
            currency0: currency0,
            currency1: currency1,
            fee: LPFeeLibrary.DYNAMIC_FEE_FLAG,
            tickSpacing: TICK_SPACING,
            hooks: IHooks(hook)
        });
    }

    /// @dev Initializes `key` at price 1 and adds V4_LIQUIDITY full-range.
    function _initPool(PoolKey memory key) internal {
        manager.initialize(key, SQRT_PRICE_1_1);
        _addLiquidity(key, V4_LIQUIDITY);
    }

    function _addLiquidity(PoolKey memory key, uint256 liquidity) internal {
        lpRouter.modifyLiquidity(key, _fullRange(liquidity), "");
    }

    /// @dev Full-range liquidity of `liquidity`.
    function _fullRange(uint256 liquidity) internal pure returns (ModifyLiquidityParams memory) {
        return ModifyLiquidityParams({
            tickLower: -FULL_RANGE_TICK,
            tickUpper: FULL_RANGE_TICK,
            // forge-lint: disable-next-line(unsafe-typecast)
            liquidityDelta: int256(liquidity),
            salt: bytes32(0)
        });
    }

    /// @dev An exact-input swap of `amountIn` through v4-core's swap router; returns the swapper's delta.
    function _swap(PoolKey memory key, bool zeroForOne, uint256 amountIn) internal returns (BalanceDelta) {
        return swapRouter.swap(key, _swapParams(zeroForOne, amountIn), _settings(), "");
    }

    /// @dev Exact input of `amountIn`, no price limit.
    function _swapParams(bool zeroForOne, uint256 amountIn) internal pure returns (SwapParams memory) {
        return SwapParams({
            zeroForOne: zeroForOne,
            // forge-lint: disable-next-line(unsafe-typecast)
            amountSpecified: -int256(amountIn),
            sqrtPriceLimitX96: zeroForOne ? TickMath.MIN_SQRT_PRICE + 1 : TickMath.MAX_SQRT_PRICE - 1
        });
    }

    /// @dev Settle and take in tokens (no ERC-6909 claims).
    function _settings() internal pure returns (PoolSwapTest.TestSettings memory) {
        return PoolSwapTest.TestSettings({takeClaims: false, settleUsingBurn: false});
    }

    /// @dev Swaps and returns the LP fee the PoolManager charged (its `Swap` event).
    function _swapFee(PoolKey memory key, bool zeroForOne, uint256 amountIn) internal returns (uint24 fee) {
        vm.recordLogs();
        _swap(key, zeroForOne, amountIn);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(manager) && logs[i].topics[0] == SWAP_EVENT) {
                (,,,,, fee) = abi.decode(logs[i].data, (int128, int128, uint160, uint128, int24, uint24));
                return fee;
            }
        }
        revert AssertionFailed("no Swap event");
    }

    /// @dev The LP fee stored in the pool's slot0 (hundredths of a bip).
    function _slot0LpFee(PoolKey memory key) internal view returns (uint24 lpFee) {
        (,,, lpFee) = manager.getSlot0(key.toId());
    }
}
