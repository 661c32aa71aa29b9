//! `sol!` bindings for the demo consumers: the parts of `contracts/interfaces/ISpreadGatedAMM.sol` and
//! `contracts/demo/DemoToken.sol` the demo calls (the oracle's come from `zkoracle-relayer`).

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

alloy::sol! {
    #[sol(rpc, all_derives)]
    interface ISpreadGatedAMM {
        event SpreadUpdateRequested(uint256 indexed requestId, address indexed payer, int256[] features);
        event SpreadUpdated(
            uint256 indexed requestId,
            int256 modelOutput,
            uint16 targetFeeBps,
            uint16 previousFeeBps,
            uint16 newFeeBps
        );

        function token0() external view returns (address);
        function token1() external view returns (address);
        function reserve0() external view returns (uint112);
        function reserve1() external view returns (uint112);
        function maxStepBps() external view returns (uint16);
        function callbackGasLimit() external view returns (uint32);
        function quote(uint256 amountIn, bool zeroForOne) external view returns (uint256 amountOut);
        function swap(uint256 amountIn, bool zeroForOne, uint256 minAmountOut, address recipient)
            external
            returns (uint256 amountOut);
        function requestSpreadUpdate() external payable returns (uint256 requestId);
        function currentFeatures() external view returns (int256[] memory features);
        function currentFeeBps() external view returns (uint16);
        function pendingRequestId() external view returns (uint256);
    }

    #[sol(rpc, all_derives)]
    interface IDemoToken {
        function symbol() external view returns (string memory);
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
    }
}

/// The Uniswap v4 demo's contracts, generated from the forge artifacts in `out/` (`make` runs `forge build`
/// before cargo): the fee hook with everything it inherits, v4-core's PoolManager (for the pool's slot0 and its
/// `Swap` event) and v4-core's test swap router that `script/05_DeployUniswapV4Hook.s.sol` deploys. Each artifact
/// declares its own `PoolKey`, so each gets a module.
pub(crate) mod v4 {
    /// `contracts/hooks/OracleDynamicFeeHook.sol`.
    pub(crate) mod hook {
        alloy::sol!(
            #[allow(missing_docs)]
            #[sol(rpc, all_derives)]
            OracleDynamicFeeHook,
            "out/OracleDynamicFeeHook.sol/OracleDynamicFeeHook.json"
        );
    }

    /// `@uniswap/v4-core/src/PoolManager.sol`.
    pub(crate) mod manager {
        alloy::sol!(
            #[allow(missing_docs)]
            #[sol(rpc, all_derives)]
            PoolManager,
            "out/PoolManager.sol/PoolManager.json"
        );
    }

    /// `@uniswap/v4-core/src/test/PoolSwapTest.sol`.
    pub(crate) mod router {
        alloy::sol!(
            #[allow(missing_docs)]
            #[sol(rpc, all_derives)]
            PoolSwapTest,
            "out/PoolSwapTest.sol/PoolSwapTest.json"
        );
    }
}
