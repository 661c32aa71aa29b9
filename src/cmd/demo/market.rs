//! The demo's market: trades on the SpreadGatedAMM, its spread request, and reading the spread back.

use alloy::primitives::{utils::format_units, Address, I256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use eyre::{bail, eyre};
use zkoracle_relayer::{decode_revert, IInferenceOracle};

use super::contracts::{DemoToken, SpreadGatedAMM};

/// Whole tokens (18 decimals).
pub(crate) fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// `amount` (18 decimals) with two decimals and thousands separators.
pub(crate) fn fmt_tokens(amount: U256) -> String {
    let s = format_units(amount, 18).unwrap_or_else(|_| amount.to_string());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "0"));
    let frac: String = frac.chars().chain(std::iter::repeat('0')).take(2).collect();
    format!("{}.{frac}", group(int))
}

/// Wei as ETH without trailing zeros (`0.001`).
pub(crate) fn fmt_eth(wei: U256) -> String {
    let s = format_units(wei, 18).unwrap_or_else(|_| wei.to_string());
    match s.split_once('.') {
        Some((int, frac)) if frac.trim_end_matches('0').is_empty() => int.to_string(),
        Some((int, frac)) => format!("{int}.{}", frac.trim_end_matches('0')),
        None => s,
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn group(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A contract call error as a readable reason (custom errors decoded when known).
pub(crate) fn explain(what: &str, e: alloy::contract::Error) -> eyre::Report {
    match e.as_revert_data() {
        Some(data) => eyre!("{what} reverted: {}", decode_revert(&data)),
        None => eyre!("{what}: {e}"),
    }
}

/// Fails unless the transaction succeeded.
pub(crate) fn check_receipt(what: &str, r: &TransactionReceipt) -> eyre::Result<()> {
    if !r.status() {
        bail!("{what}: transaction {} reverted", r.transaction_hash);
    }
    Ok(())
}

/// Moves the chain's clock forward by `secs` (anvil's `evm_increaseTime`; applies to the next block).
pub(crate) async fn advance_time(provider: &DynProvider, secs: u64) -> eyre::Result<()> {
    let _: serde_json::Value = provider.raw_request("evm_increaseTime".into(), (secs,)).await?;
    Ok(())
}

/// One trade of the demo's market activity.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trade {
    /// Whole tokens in.
    pub(crate) amount: u64,
    /// token0 → token1 when true.
    pub(crate) zero_for_one: bool,
}

/// The pool and the account trading on it.
#[derive(Debug, Clone)]
pub(crate) struct Market {
    pub(crate) provider: DynProvider,
    pub(crate) amm: SpreadGatedAMM::SpreadGatedAMMInstance<DynProvider>,
    pub(crate) tokens: [DemoToken::DemoTokenInstance<DynProvider>; 2],
    pub(crate) trader: Address,
}

/// What a fee request (the AMM's spread request, the hook's fee request) produced on-chain.
#[derive(Debug, Clone)]
pub(crate) struct FeeRequest {
    /// The oracle request id.
    pub(crate) request_id: U256,
    /// The features the pool sent (quantized model input).
    pub(crate) features: Vec<i64>,
    /// The fee paid, in wei.
    pub(crate) fee: U256,
    /// Gas of the request transaction.
    pub(crate) gas_used: u64,
    /// Block of the request.
    pub(crate) block: u64,
}

impl FeeRequest {
    /// From the consumer's request event (`requestId`, `features`) and the request's receipt.
    pub(crate) fn new(
        request_id: U256,
        features: &[I256],
        fee: U256,
        receipt: &TransactionReceipt,
    ) -> eyre::Result<Self> {
        let features = features
            .iter()
            .map(|f| i64::try_from(*f).map_err(|_| eyre!("feature {f} does not fit i64")))
            .collect::<eyre::Result<_>>()?;
        Ok(Self {
            request_id,
            features,
            fee,
            gas_used: receipt.gas_used,
            block: receipt.block_number.unwrap_or_default(),
        })
    }
}

/// The oracle's fee for a request to `model_id` whose callback gets `callback_gas`: the model fee plus that
/// gas at the oracle's callback gas price.
pub(crate) async fn estimate_fee(
    oracle: Address,
    provider: &DynProvider,
    model_id: U256,
    callback_gas: u32,
) -> eyre::Result<U256> {
    let oracle = IInferenceOracle::new(oracle, provider.clone());
    oracle.estimateFee(model_id, callback_gas).call().await.map_err(|e| explain("estimateFee", e))
}

impl Market {
    /// The pool's token symbols.
    pub(crate) async fn symbols(&self) -> eyre::Result<[String; 2]> {
        let a = self.tokens[0].symbol().call().await.map_err(|e| explain("symbol", e))?;
        let b = self.tokens[1].symbol().call().await.map_err(|e| explain("symbol", e))?;
        Ok([a, b])
    }

    /// Mints the trader enough of both tokens (the deployer is the tokens' minter), approves the pool and
    /// makes `trades`.
    pub(crate) async fn trade(&self, trades: &[Trade]) -> eyre::Result<()> {
        let total: u64 = trades.iter().map(|t| t.amount).sum();
        for t in &self.tokens {
            let r = t.mint(self.trader, tokens(total)).send().await.map_err(|e| explain("mint", e))?;
            check_receipt("mint", &r.get_receipt().await?)?;
            let r =
                t.approve(*self.amm.address(), U256::MAX).send().await.map_err(|e| explain("approve", e))?;
            check_receipt("approve", &r.get_receipt().await?)?;
        }
        for t in trades {
            let call = self.amm.swap(tokens(t.amount), t.zero_for_one, U256::ZERO, self.trader);
            let r = call.send().await.map_err(|e| explain("swap", e))?;
            check_receipt("swap", &r.get_receipt().await?)?;
        }
        Ok(())
    }

    /// The fee swaps pay now, in bps.
    pub(crate) async fn fee_bps(&self) -> eyre::Result<u16> {
        self.amm.currentFeeBps().call().await.map_err(|e| explain("currentFeeBps", e))
    }

    /// Output of a swap of `amount_in` token0 at the current fee.
    pub(crate) async fn quote(&self, amount_in: U256) -> eyre::Result<U256> {
        self.amm.quote(amount_in, true).call().await.map_err(|e| explain("quote", e))
    }

    /// Swaps `amount_in` token0 for at least `min_out` token1; returns what the trader received.
    pub(crate) async fn swap_exact(&self, amount_in: U256, min_out: U256) -> eyre::Result<U256> {
        let before =
            self.tokens[1].balanceOf(self.trader).call().await.map_err(|e| explain("balanceOf", e))?;
        let r = self
            .amm
            .swap(amount_in, true, min_out, self.trader)
            .send()
            .await
            .map_err(|e| explain("swap", e))?;
        check_receipt("swap", &r.get_receipt().await?)?;
        let after =
            self.tokens[1].balanceOf(self.trader).call().await.map_err(|e| explain("balanceOf", e))?;
        Ok(after - before)
    }

    /// `requestSpreadUpdate{value: fee}()`: the pool asks the oracle for a new spread from its features.
    pub(crate) async fn request_spread(&self, oracle: Address, model_id: U256) -> eyre::Result<FeeRequest> {
        let gas = self.amm.callbackGasLimit().call().await.map_err(|e| explain("callbackGasLimit", e))?;
        let fee = estimate_fee(oracle, &self.provider, model_id, gas).await?;
        let pending = self
            .amm
            .requestSpreadUpdate()
            .value(fee)
            .send()
            .await
            .map_err(|e| explain("requestSpreadUpdate", e))?;
        let receipt = pending.get_receipt().await?;
        check_receipt("requestSpreadUpdate", &receipt)?;
        let event = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| l.log_decode::<SpreadGatedAMM::SpreadUpdateRequested>().ok())
            .ok_or_else(|| eyre!("requestSpreadUpdate emitted no SpreadUpdateRequested event"))?;
        FeeRequest::new(event.inner.data.requestId, &event.inner.data.features, fee, &receipt)
    }
}
