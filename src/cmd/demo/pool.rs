//! The demo's consumer, whichever it is: the SpreadGatedAMM (`--consumer amm`) or the Uniswap v4 fee hook's pool
//! (`--consumer uniswap-v4`). Both trade, ask the oracle for a new fee from their features, move the fee on the
//! verified result and quote and execute a swap; this is where the two differ.

use alloy::primitives::{Address, I256, U256};
use alloy::rpc::types::Log;
use clap::ValueEnum;

use super::contracts::v4::hook::OracleDynamicFeeHook::FeeUpdated;
use super::contracts::SpreadGatedAMM::SpreadUpdated;
use super::market::{FeeRequest, Market, Trade};
use super::uniswap::{V4Market, V4Swap};

/// The consumer contract the demo runs on (`--consumer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Consumer {
    /// `SpreadGatedAMM`, a constant-product pool whose spread the model sets (`script/04_DeployConsumers`).
    Amm,
    /// `OracleDynamicFeeHook` on a Uniswap v4 dynamic-fee pool whose LP fee the model sets
    /// (`script/05_DeployUniswapV4Hook`).
    UniswapV4,
}

impl Consumer {
    /// The `--consumer` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Amm => "amm",
            Self::UniswapV4 => "uniswap-v4",
        }
    }
}

/// The consumer's fee update in a fulfilment (`SpreadUpdated` or `FeeUpdated`: the same fields).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FeeUpdate {
    /// The verified model output (quantized).
    pub(crate) model_output: I256,
    /// The fee the output maps to, before the step limit.
    pub(crate) target_fee_bps: u16,
    /// The fee now in force.
    pub(crate) new_fee_bps: u16,
}

/// The pool the demo trades on.
#[derive(Debug)]
pub(crate) enum Pool {
    /// `--consumer amm`.
    Amm(Market),
    /// `--consumer uniswap-v4`.
    V4(V4Market),
}

/// A swap at the new fee.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Swapped {
    /// Token1 received.
    pub(crate) amount_out: U256,
    /// For the v4 pool: the fee the PoolManager charged and the gas.
    pub(crate) v4: Option<V4Swap>,
}

impl Pool {
    /// The consumer contract.
    pub(crate) fn address(&self) -> Address {
        match self {
            Self::Amm(m) => *m.amm.address(),
            Self::V4(m) => *m.hook.address(),
        }
    }

    /// What the pool is, for the output (`SpreadGatedAMM 0x..`).
    pub(crate) fn contract(&self) -> &'static str {
        match self {
            Self::Amm(_) => "SpreadGatedAMM",
            Self::V4(_) => "OracleDynamicFeeHook",
        }
    }

    /// The function that asks for a new fee.
    pub(crate) fn request_fn(&self) -> &'static str {
        match self {
            Self::Amm(_) => "SpreadGatedAMM.requestSpreadUpdate",
            Self::V4(_) => "OracleDynamicFeeHook.requestFeeUpdate",
        }
    }

    /// What the model sets, for the output.
    pub(crate) fn fee_name(&self) -> &'static str {
        match self {
            Self::Amm(_) => "spread",
            Self::V4(_) => "LP fee",
        }
    }

    /// The pool's token symbols.
    pub(crate) async fn symbols(&self) -> eyre::Result<[String; 2]> {
        match self {
            Self::Amm(m) => m.symbols().await,
            Self::V4(m) => m.symbols().await,
        }
    }

    /// Makes `trades`.
    pub(crate) async fn trade(&self, trades: &[Trade]) -> eyre::Result<()> {
        match self {
            Self::Amm(m) => m.trade(trades).await,
            Self::V4(m) => m.trade(trades).await,
        }
    }

    /// The fee swaps pay now, in bps.
    pub(crate) async fn fee_bps(&self) -> eyre::Result<u16> {
        match self {
            Self::Amm(m) => m.fee_bps().await,
            Self::V4(m) => m.fee_bps().await,
        }
    }

    /// The largest fee change per result, in bps.
    pub(crate) async fn max_step_bps(&self) -> eyre::Result<u16> {
        match self {
            Self::Amm(m) => {
                m.amm.maxStepBps().call().await.map_err(|e| super::market::explain("maxStepBps", e))
            }
            Self::V4(m) => m.max_step_bps().await,
        }
    }

    /// Token1 out of a swap of `amount_in` token0 at the current fee.
    pub(crate) async fn quote(&self, amount_in: U256) -> eyre::Result<U256> {
        match self {
            Self::Amm(m) => m.quote(amount_in).await,
            Self::V4(m) => m.quote(amount_in).await,
        }
    }

    /// Asks the oracle for a new fee from the pool's features, paying the oracle's fee.
    pub(crate) async fn request_fee(&self, oracle: Address, model_id: U256) -> eyre::Result<FeeRequest> {
        match self {
            Self::Amm(m) => m.request_spread(oracle, model_id).await,
            Self::V4(m) => m.request_fee(oracle, model_id).await,
        }
    }

    /// The pool's fee update among a fulfilment's logs (none when its callback failed or ignored the result).
    pub(crate) fn fee_update(&self, logs: &[Log]) -> Option<FeeUpdate> {
        let own = |l: &&Log| l.address() == self.address();
        match self {
            Self::Amm(_) => {
                logs.iter().filter(own).find_map(|l| l.log_decode::<SpreadUpdated>().ok()).map(|l| {
                    let e = l.inner.data;
                    FeeUpdate {
                        model_output: e.modelOutput,
                        target_fee_bps: e.targetFeeBps,
                        new_fee_bps: e.newFeeBps,
                    }
                })
            }
            Self::V4(_) => logs.iter().filter(own).find_map(|l| l.log_decode::<FeeUpdated>().ok()).map(|l| {
                let e = l.inner.data;
                FeeUpdate {
                    model_output: e.modelOutput,
                    target_fee_bps: e.targetFeeBps,
                    new_fee_bps: e.newFeeBps,
                }
            }),
        }
    }

    /// Swaps `amount_in` token0 for at least `min_out` token1.
    pub(crate) async fn swap_exact(&self, amount_in: U256, min_out: U256) -> eyre::Result<Swapped> {
        match self {
            Self::Amm(m) => Ok(Swapped { amount_out: m.swap_exact(amount_in, min_out).await?, v4: None }),
            Self::V4(m) => {
                let s = m.swap_exact(amount_in, min_out).await?;
                Ok(Swapped { amount_out: s.amount_out, v4: Some(s) })
            }
        }
    }
}
