//! The Uniswap v4 demo's market: swaps through v4-core's test router on the hook's dynamic-fee pool, the hook's
//! fee request, and the fee read back from the hook and from the pool's slot0 in the PoolManager.

use alloy::primitives::{keccak256, Address, B256, I256, U256};
use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolValue;
use eyre::{bail, eyre};

use super::contracts::v4::hook::OracleDynamicFeeHook::{self, OracleDynamicFeeHookInstance};
use super::contracts::v4::manager::PoolManager::{self, PoolManagerInstance};
use super::contracts::v4::router::PoolSwapTest::{self, PoolSwapTestInstance};
use super::contracts::v4::router::PoolSwapTest::{PoolKey, SwapParams};
use super::contracts::DemoToken;
use super::market::{check_receipt, explain, tokens, FeeRequest, Trade};

/// `StateLibrary.POOLS_SLOT` of v4-core 1.0.2: the PoolManager's `pools` mapping.
const POOLS_SLOT: u64 = 6;
/// `TickMath.MIN_SQRT_PRICE + 1` and `MAX_SQRT_PRICE - 1` of v4-core 1.0.2: price limits that never bind.
const MIN_SQRT_PRICE_LIMIT: u64 = 4_295_128_740;
const MAX_SQRT_PRICE_LIMIT: &str = "1461446703485210103287273052203988822378723970341";
/// v4's LP fee unit: hundredths of a basis point.
pub(crate) const PIPS_PER_BPS: u32 = 100;

/// What the v4 demo deployed with `script/05_DeployUniswapV4Hook.s.sol`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct V4Deployment {
    /// `OracleDynamicFeeHook`.
    pub(crate) hook: Address,
    /// v4-core's PoolManager.
    pub(crate) manager: Address,
    /// v4-core's `PoolSwapTest` router.
    pub(crate) router: Address,
    /// The pool's tokens, sorted (currency0, currency1).
    pub(crate) tokens: [Address; 2],
}

/// The hook's pool and the account trading on it (the deployer: script 05 funded it and approved the router).
#[derive(Debug, Clone)]
pub(crate) struct V4Market {
    pub(crate) hook: OracleDynamicFeeHookInstance<DynProvider>,
    pub(crate) manager: PoolManagerInstance<DynProvider>,
    pub(crate) router: PoolSwapTestInstance<DynProvider>,
    pub(crate) tokens: [DemoToken::DemoTokenInstance<DynProvider>; 2],
    pub(crate) key: PoolKey,
    /// keccak256 of the ABI-encoded key: v4's `PoolId`.
    pub(crate) pool_id: B256,
    pub(crate) trader: Address,
}

/// A swap as the PoolManager recorded it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct V4Swap {
    /// Token1 the trader received.
    pub(crate) amount_out: U256,
    /// The LP fee the swap paid, in v4's hundredths of a basis point (the PoolManager's `Swap` event).
    pub(crate) fee_pips: u32,
    /// Gas of the swap transaction.
    pub(crate) gas_used: u64,
}

impl V4Market {
    /// Binds the deployed contracts and reads the hook's pool key.
    pub(crate) async fn connect(
        d: &V4Deployment,
        provider: DynProvider,
        trader: Address,
    ) -> eyre::Result<Self> {
        let hook = OracleDynamicFeeHook::new(d.hook, provider.clone());
        let k = hook.poolKey().call().await.map_err(|e| explain("poolKey", e))?;
        if k.hooks != d.hook {
            bail!("the hook at {} reports no initialized pool", d.hook);
        }
        let key = PoolKey {
            currency0: k.currency0,
            currency1: k.currency1,
            fee: k.fee,
            tickSpacing: k.tickSpacing,
            hooks: k.hooks,
        };
        if [key.currency0, key.currency1] != d.tokens {
            bail!(
                "the hook's pool trades {}/{}, the address book says {}/{}",
                key.currency0,
                key.currency1,
                d.tokens[0],
                d.tokens[1]
            );
        }
        let pool_id = keccak256(key.abi_encode());
        Ok(Self {
            hook,
            manager: PoolManager::new(d.manager, provider.clone()),
            router: PoolSwapTest::new(d.router, provider.clone()),
            tokens: d.tokens.map(|t| DemoToken::new(t, provider.clone())),
            key,
            pool_id,
            trader,
        })
    }

    /// The pool's token symbols.
    pub(crate) async fn symbols(&self) -> eyre::Result<[String; 2]> {
        let a = self.tokens[0].symbol().call().await.map_err(|e| explain("symbol", e))?;
        let b = self.tokens[1].symbol().call().await.map_err(|e| explain("symbol", e))?;
        Ok([a, b])
    }

    /// The fee swaps pay now, in bps (the hook's view: the last verified fee, or the base fee).
    pub(crate) async fn fee_bps(&self) -> eyre::Result<u16> {
        self.hook.currentFeeBps().call().await.map_err(|e| explain("currentFeeBps", e))
    }

    /// The LP fee in the pool's slot0 at the PoolManager, in hundredths of a bps (`StateLibrary.getSlot0`:
    /// `extsload(keccak256(poolId, POOLS_SLOT))`, bits 208..232).
    pub(crate) async fn slot0_lp_fee(&self) -> eyre::Result<u32> {
        let slot = keccak256((self.pool_id, U256::from(POOLS_SLOT)).abi_encode_packed());
        let word = self.manager.extsload_0(slot).call().await.map_err(|e| explain("extsload", e))?;
        let fee: U256 = (U256::from_be_bytes(word.0) >> 208usize) & U256::from(0xFF_FFFFu32);
        Ok(fee.to::<u32>())
    }

    /// The largest fee change per result, in bps.
    pub(crate) async fn max_step_bps(&self) -> eyre::Result<u16> {
        self.hook.maxStepBps().call().await.map_err(|e| explain("maxStepBps", e))
    }

    /// Makes `trades` (the deployer holds both tokens and has approved the router: script 05).
    pub(crate) async fn trade(&self, trades: &[Trade]) -> eyre::Result<()> {
        for t in trades {
            let r = self
                .swap_call(tokens(t.amount), t.zero_for_one)?
                .send()
                .await
                .map_err(|e| explain("swap", e))?;
            check_receipt("swap", &r.get_receipt().await?)?;
        }
        Ok(())
    }

    /// Token1 out of an exact-input swap of `amount_in` token0 at the current fee (the router's swap as an
    /// `eth_call`).
    pub(crate) async fn quote(&self, amount_in: U256) -> eyre::Result<U256> {
        let delta = self.swap_call(amount_in, true)?.call().await.map_err(|e| explain("swap (quote)", e))?;
        // BalanceDelta: amount0 in the high 128 bits, amount1 in the low 128 bits, both signed.
        let amount1 = i128::from_be_bytes(delta.to_be_bytes::<32>()[16..].try_into()?);
        u128::try_from(amount1).map(U256::from).map_err(|_| eyre!("the quote pays no token1 ({amount1})"))
    }

    /// Swaps `amount_in` token0 for token1; returns what the trader received and the fee the PoolManager charged.
    pub(crate) async fn swap_exact(&self, amount_in: U256, min_out: U256) -> eyre::Result<V4Swap> {
        let before =
            self.tokens[1].balanceOf(self.trader).call().await.map_err(|e| explain("balanceOf", e))?;
        let r = self.swap_call(amount_in, true)?.send().await.map_err(|e| explain("swap", e))?;
        let receipt = r.get_receipt().await?;
        check_receipt("swap", &receipt)?;
        let after =
            self.tokens[1].balanceOf(self.trader).call().await.map_err(|e| explain("balanceOf", e))?;
        let amount_out = after - before;
        if amount_out < min_out {
            bail!("the swap paid {amount_out} token1, quoted {min_out}");
        }
        let fee_pips = swap_fee(&receipt, self.pool_id)?;
        Ok(V4Swap { amount_out, fee_pips, gas_used: receipt.gas_used })
    }

    /// `requestFeeUpdate{value: fee}()`: the hook asks the oracle for a new fee from the pool's features.
    pub(crate) async fn request_fee(&self, oracle: Address, model_id: U256) -> eyre::Result<FeeRequest> {
        let gas = self.hook.callbackGasLimit().call().await.map_err(|e| explain("callbackGasLimit", e))?;
        let fee = super::market::estimate_fee(oracle, self.hook.provider(), model_id, gas).await?;
        let pending = self
            .hook
            .requestFeeUpdate()
            .value(fee)
            .send()
            .await
            .map_err(|e| explain("requestFeeUpdate", e))?;
        let receipt = pending.get_receipt().await?;
        check_receipt("requestFeeUpdate", &receipt)?;
        let event = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<OracleDynamicFeeHook::FeeUpdateRequested>().ok())
            .ok_or_else(|| eyre!("requestFeeUpdate emitted no FeeUpdateRequested event"))?;
        FeeRequest::new(event.inner.data.requestId, &event.inner.data.features, fee, &receipt)
    }

    /// The exact-input swap of `amount_in` (token0 → token1 when `zero_for_one`) through the router.
    fn swap_call(
        &self,
        amount_in: U256,
        zero_for_one: bool,
    ) -> eyre::Result<alloy::contract::SolCallBuilder<&DynProvider, PoolSwapTest::swapCall>> {
        let amount = I256::try_from(amount_in).map_err(|_| eyre!("swap amount {amount_in} overflows"))?;
        let limit = if zero_for_one {
            alloy::primitives::aliases::U160::from(MIN_SQRT_PRICE_LIMIT)
        } else {
            MAX_SQRT_PRICE_LIMIT.parse()?
        };
        let params =
            SwapParams { zeroForOne: zero_for_one, amountSpecified: -amount, sqrtPriceLimitX96: limit };
        Ok(self.router.swap(
            self.key.clone(),
            params,
            PoolSwapTest::TestSettings { takeClaims: false, settleUsingBurn: false },
            Default::default(),
        ))
    }
}

/// The fee of the pool's `Swap` event in `receipt`.
fn swap_fee(receipt: &TransactionReceipt, pool_id: B256) -> eyre::Result<u32> {
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(|l| l.log_decode::<PoolManager::Swap>().ok())
        .find(|l| l.inner.data.id == pool_id)
        .map(|l| l.inner.data.fee.to::<u32>())
        .ok_or_else(|| eyre!("the swap emitted no Swap event for the pool"))
}
