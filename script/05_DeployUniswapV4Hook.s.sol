// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IHooks} from "@uniswap/v4-core/src/interfaces/IHooks.sol";
import {IPoolManager} from "@uniswap/v4-core/src/interfaces/IPoolManager.sol";
import {Hooks} from "@uniswap/v4-core/src/libraries/Hooks.sol";
import {LPFeeLibrary} from "@uniswap/v4-core/src/libraries/LPFeeLibrary.sol";
import {PoolModifyLiquidityTest} from "@uniswap/v4-core/src/test/PoolModifyLiquidityTest.sol";
import {Currency} from "@uniswap/v4-core/src/types/Currency.sol";
import {PoolKey} from "@uniswap/v4-core/src/types/PoolKey.sol";
import {ModifyLiquidityParams} from "@uniswap/v4-core/src/types/PoolOperation.sol";

import {DemoToken} from "../contracts/demo/DemoToken.sol";
import {IInferenceOracle} from "../contracts/interfaces/IInferenceOracle.sol";
import {IOracleDynamicFeeHook} from "../contracts/interfaces/IOracleDynamicFeeHook.sol";
import {HookSalt} from "../contracts/libraries/HookSalt.sol";
import {DeployBase} from "./DeployBase.sol";

/// @title DeployUniswapV4Hook
/// @notice Deploys the flagship consumer: an OracleDynamicFeeHook at a CREATE2 address carrying its permission
///         flags (salt mined with HookSalt for the CREATE2 factory) and its dynamic-fee Uniswap v4 pool, seeded with
///         full-range liquidity. Records `PoolManager` (when deployed here), `V4SwapRouter`, `V4LiquidityRouter`,
///         `V4Token0`, `V4Token1`, `OracleDynamicFeeHook`, `V4TickSpacing`.
/// @dev Env: PRIVATE_KEY (required; owner of everything); ORACLE (default: `InferenceOracle` from the book);
///      SPREAD_MODEL_ID (default: `spread_mlpModelId` from the book); POOL_MANAGER (default: `PoolManager` from
///      the book, else a new v4-core PoolManager owned by the deployer — a local chain); INITIAL_LIQUIDITY (full-
///      range liquidity units, default 1,000,000e18); the model pin as for 04 with prefix SPREAD_. The routers are
///      v4-core's own test routers (PoolSwapTest, PoolModifyLiquidityTest): fine for a local demo, not a
///      production swap path. Rails: fee 5..100 bps, base 30, step 10, results valid 1 h, callback gas 200,000,
///      100 bps per unit of output, one request per 15 min, results ignored 30 min after their request.
contract DeployUniswapV4Hook is DeployBase {
    string internal constant TOKEN = "DemoToken.sol:DemoToken";
    string internal constant HOOK = "OracleDynamicFeeHook.sol:OracleDynamicFeeHook";
    int24 internal constant TICK_SPACING = 60;
    int24 internal constant FULL_RANGE_TICK = 887_220;
    uint160 internal constant SQRT_PRICE_1_1 = 79_228_162_514_264_337_593_543_950_336;
    uint160 internal constant HOOK_FLAGS = Hooks.BEFORE_INITIALIZE_FLAG | Hooks.AFTER_INITIALIZE_FLAG
        | Hooks.BEFORE_SWAP_FLAG | Hooks.AFTER_SWAP_FLAG;

    address internal manager;
    address internal swapRouter;
    address internal lpRouter;
    DemoToken internal tokenA;
    DemoToken internal tokenB;

    function run() external {
        _loadBook();
        (uint256 key, address deployer) = _deployer();
        IInferenceOracle oracle = IInferenceOracle(_addressSetting("ORACLE", "InferenceOracle"));
        uint256 spreadModel = _uintSetting("SPREAD_MODEL_ID", "spread_mlpModelId");
        manager = vm.envOr("POOL_MANAGER", address(0));
        if (manager == address(0) && _bookHas("PoolManager")) {
            manager = vm.parseJsonAddress(_book, ".PoolManager");
        }
        bool newManager = manager == address(0);

        vm.startBroadcast(key);
        _deployInfrastructure(deployer);
        vm.stopBroadcast();

        bytes memory initCode = bytes.concat(
            vm.getCode(HOOK),
            abi.encode(
                manager, oracle, spreadModel, _pin(oracle, spreadModel, "SPREAD_"), _feeConfig(), deployer
            )
        );
        (bytes32 salt, address hook) =
            HookSalt.find(HookSalt.CREATE2_FACTORY, HOOK_FLAGS, keccak256(initCode), 0, 1_000_000);

        vm.startBroadcast(key);
        (bool ok,) = HookSalt.CREATE2_FACTORY.call(bytes.concat(salt, initCode));
        if (!ok || hook.code.length == 0) revert MissingSetting(HOOK);
        PoolKey memory poolKey = _poolKey(hook);
        IPoolManager(manager).initialize(poolKey, SQRT_PRICE_1_1);
        _seed(poolKey, deployer);
        vm.stopBroadcast();

        if (newManager) _recordAddress("PoolManager", manager);
        _recordAddress("V4SwapRouter", swapRouter);
        _recordAddress("V4LiquidityRouter", lpRouter);
        _recordAddress("V4Token0", Currency.unwrap(poolKey.currency0));
        _recordAddress("V4Token1", Currency.unwrap(poolKey.currency1));
        _recordAddress("OracleDynamicFeeHook", hook);
        _recordUint("V4TickSpacing", uint256(uint24(TICK_SPACING)));
        _saveBook();
    }

    /// @dev The PoolManager (unless given), v4-core's two test routers and two demo tokens (broadcasting).
    function _deployInfrastructure(address deployer) internal {
        if (manager == address(0)) {
            manager = _deployArtifact("PoolManager.sol:PoolManager", abi.encode(deployer));
        }
        swapRouter = _deployArtifact("PoolSwapTest.sol:PoolSwapTest", abi.encode(manager));
        lpRouter = _deployArtifact("PoolModifyLiquidityTest.sol:PoolModifyLiquidityTest", abi.encode(manager));
        tokenA = DemoToken(_deployArtifact(TOKEN, abi.encode("zkoracle v4 token A", "V4A")));
        tokenB = DemoToken(_deployArtifact(TOKEN, abi.encode("zkoracle v4 token B", "V4B")));
    }

    /// @dev Mints the deployer enough of both tokens, approves both routers and adds full-range liquidity.
    function _seed(PoolKey memory poolKey, address deployer) internal {
        uint256 liquidity = vm.envOr("INITIAL_LIQUIDITY", uint256(1_000_000e18));
        tokenA.mint(deployer, 2 * liquidity);
        tokenB.mint(deployer, 2 * liquidity);
        tokenA.approve(lpRouter, type(uint256).max);
        tokenB.approve(lpRouter, type(uint256).max);
        tokenA.approve(swapRouter, type(uint256).max);
        tokenB.approve(swapRouter, type(uint256).max);
        PoolModifyLiquidityTest(lpRouter)
            .modifyLiquidity(
                poolKey,
                ModifyLiquidityParams({
                tickLower: -FULL_RANGE_TICK,
                tickUpper: FULL_RANGE_TICK,
                // forge-lint: disable-next-line(unsafe-typecast)
                liquidityDelta: int256(liquidity),
                salt: bytes32(0)
            }),
                ""
            );
    }

    function _poolKey(address hook) internal view returns (PoolKey memory) {
        (address t0, address t1) = address(tokenA) < address(tokenB)
            ? (address(tokenA), address(tokenB))
            : (address(tokenB), address(tokenA));
        return PoolKey({
            currency0: Currency.wrap(t0),
            currency1: Currency.wrap(t1),
            fee: LPFeeLibrary.DYNAMIC_FEE_FLAG,
            tickSpacing: TICK_SPACING,
            hooks: IHooks(hook)
        });
    }

    function _feeConfig() internal pure returns (IOracleDynamicFeeHook.FeeConfig memory) {
        return IOracleDynamicFeeHook.FeeConfig({
            minFeeBps: 5,
            maxFeeBps: 100,
            baseFeeBps: 30,
            maxStepBps: 10,
            stalenessWindow: 1 hours,
            callbackGasLimit: 200_000,
            bpsPerUnit: 100,
            updateInterval: 15 minutes,
            maxResultAge: 30 minutes
        });
    }
}
