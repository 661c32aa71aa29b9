//! `sol!` bindings for the demo's contracts, generated from the forge artifacts in `out/` (`make` runs
//! `forge build` before cargo), so they follow the `.sol` files: the AMM (`contracts/SpreadGatedAMM.sol`, its
//! interface with what it inherits and its public getters) and the demo token (`contracts/demo/DemoToken.sol`);
//! the oracle's come from `zkoracle-relayer`.

#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

/// `contracts/SpreadGatedAMM.sol`.
mod amm {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc, all_derives)]
        SpreadGatedAMM,
        "out/SpreadGatedAMM.sol/SpreadGatedAMM.json"
    );
}

/// `contracts/demo/DemoToken.sol`.
mod token {
    alloy::sol!(
        #[allow(missing_docs)]
        #[sol(rpc, all_derives)]
        DemoToken,
        "out/DemoToken.sol/DemoToken.json"
    );
}

pub(crate) use amm::SpreadGatedAMM;
pub(crate) use token::DemoToken;

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
