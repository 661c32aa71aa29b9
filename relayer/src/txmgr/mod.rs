//! Transactions: nonce management, EIP-1559 fees, signing, persistence before broadcast, receipts with
//! confirmations, fee bumps for stuck transactions, cancellations and reconciliation with the chain.
//!
//! Exactly-once rests on three rules: (1) a signed transaction is persisted with its nonce before it is
//! broadcast; (2) a request gets a new nonce only after its previous one is consumed on-chain, at
//! `confirmations` depth, by a transaction that is none of its signed attempts; (3) before signing, the
//! request must be `Pending` on-chain.
//! Replacements reuse the nonce, so at most one of them can be mined. Only the account's next nonce (the
//! lowest one not mined) is fee-bumped, never above `gas.max_fee_per_gas_wei`; a fulfilment that can only
//! revert is replaced by a zero-value self-transfer at its nonce.

mod monitor;
mod submit;

pub(crate) use monitor::Monitor;
pub(crate) use submit::Submitter;

use crate::{
    chain::{is_already_known, is_transport, Chain},
    db::{now_secs, Attempt, Store},
    error::{Error, Result},
    GasConfig, Shared,
};
use alloy::{
    consensus::TxEnvelope,
    eips::Encodable2718,
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, Bytes, U256},
    rpc::types::TransactionRequest,
};

/// Gas of a plain value transfer (a cancellation).
const TRANSFER_GAS: u64 = 21_000;

/// Signs fulfilments with the relayer key.
#[derive(Clone)]
pub(crate) struct TxSigner {
    pub(crate) wallet: EthereumWallet,
    pub(crate) address: Address,
    pub(crate) oracle: Address,
    pub(crate) chain_id: u64,
}

impl std::fmt::Debug for TxSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxSigner").field("address", &self.address).finish_non_exhaustive()
    }
}

/// Fees of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fees {
    max_fee: u128,
    priority: u128,
}

/// What a transaction does: fulfil (call the oracle) or cancel (zero-value transfer to ourselves).
#[derive(Clone, Debug)]
enum Call {
    Fulfil { input: Bytes, gas_limit: u64 },
    Cancel,
}

impl TxSigner {
    async fn sign(&self, call: Call, nonce: u64, fees: Fees) -> Result<Attempt> {
        let (to, input, gas_limit, cancel) = match call {
            Call::Fulfil { input, gas_limit } => (self.oracle, input, gas_limit, false),
            Call::Cancel => (self.address, Bytes::new(), TRANSFER_GAS, true),
        };
        let tx = TransactionRequest::default()
            .with_from(self.address)
            .with_to(to)
            .with_input(input)
            .with_value(U256::ZERO)
            .with_chain_id(self.chain_id)
            .with_nonce(nonce)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(fees.max_fee)
            .with_max_priority_fee_per_gas(fees.priority);
        let env: TxEnvelope = tx.build(&self.wallet).await.map_err(|e| Error::Sign(e.to_string()))?;
        Ok(Attempt {
            hash: *env.tx_hash(),
            raw: env.encoded_2718(),
            max_fee_per_gas: fees.max_fee,
            max_priority_fee_per_gas: fees.priority,
            gas_limit,
            broadcast_at: None,
            created_at: now_secs(),
            cancel,
        })
    }

    fn call_request(&self, input: Bytes) -> TransactionRequest {
        TransactionRequest::default().with_from(self.address).with_to(self.oracle).with_input(input)
    }
}

/// `x` raised by `bps` basis points, rounded up, and by at least 1 wei.
fn bump(x: u128, bps: u32) -> u128 {
    let inc = x.saturating_mul(u128::from(bps)).div_ceil(10_000).max(1);
    x.saturating_add(inc)
}

/// The node's estimate with the policy's floor and cap applied.
fn policy_fees(gas: &GasConfig, (max_fee, priority): (u128, u128)) -> Fees {
    let priority = priority.max(gas.min_priority_fee_wei);
    let max_fee = max_fee.max(priority);
    let cap = gas.max_fee_per_gas_wei;
    Fees { max_fee: max_fee.min(cap), priority: priority.min(cap) }
}

/// Fees for a replacement of `last`: both fields bumped by at least `fee_bump_bps` and at least the current
/// estimate, never above the cap. `None` when the cap leaves no room for a valid replacement.
fn replacement_fees(gas: &GasConfig, current: Fees, last: &Attempt) -> Option<Fees> {
    let cap = gas.max_fee_per_gas_wei;
    let max_fee = bump(last.max_fee_per_gas, gas.fee_bump_bps).max(current.max_fee);
    let priority = bump(last.max_priority_fee_per_gas, gas.fee_bump_bps).max(current.priority);
    if last.max_fee_per_gas >= cap {
        return None;
    }
    let max_fee = max_fee.min(cap);
    Some(Fees { max_fee, priority: priority.min(max_fee) })
}

/// Broadcasts an attempt; returns the error only if the node gave a definite answer that is not
/// "already known" (transport trouble is logged: the monitor re-broadcasts).
async fn broadcast(chain: &Chain, db: &Store, shared: &Shared, a: &Attempt) -> Result<(), Error> {
    match chain.send_raw(&a.raw).await {
        Ok(_) => {
            db.mark_broadcast(a.hash).await?;
            shared.metrics.txs_sent.inc();
            Ok(())
        }
        Err(e) if is_already_known(&e) => {
            db.mark_broadcast(a.hash).await?;
            Ok(())
        }
        Err(e) if is_transport(&e) => {
            tracing::warn!(tx = %a.hash, error = %e, "broadcast failed (node unreachable); will retry");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Wei to a float, for the balance gauge.
pub(crate) fn wei_f64(v: U256) -> f64 {
    f64::from(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bump_is_at_least_the_policy() {
        assert_eq!(bump(1_000_000_000, 1250), 1_125_000_000);
        assert_eq!(bump(7, 1250), 8); // 0.875 rounds up
        assert_eq!(bump(0, 1250), 1);
        assert_eq!(bump(u128::MAX, 1250), u128::MAX);
    }

    #[test]
    fn policy_caps_and_floors() {
        let mut g = GasConfig { min_priority_fee_wei: 5, ..GasConfig::default() };
        assert_eq!(policy_fees(&g, (3, 1)), Fees { max_fee: 5, priority: 5 });
        g.max_fee_per_gas_wei = 4;
        assert_eq!(policy_fees(&g, (10, 1)), Fees { max_fee: 4, priority: 4 });
        // The default cap holds without any configuration.
        let d = GasConfig::default();
        let f = policy_fees(&d, (u128::MAX, 1));
        assert_eq!(f.max_fee, crate::config::DEFAULT_MAX_FEE_PER_GAS_WEI);
    }

    #[test]
    fn replacements_stop_at_the_cap() {
        let g = GasConfig { max_fee_per_gas_wei: 1_100, fee_bump_bps: 2000, ..GasConfig::default() };
        let last = |max_fee| Attempt {
            hash: Default::default(),
            raw: vec![],
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: 10,
            gas_limit: 1,
            broadcast_at: None,
            created_at: 0,
            cancel: false,
        };
        let now = Fees { max_fee: 1, priority: 1 };
        assert_eq!(replacement_fees(&g, now, &last(1_000)), Some(Fees { max_fee: 1_100, priority: 12 }));
        assert_eq!(replacement_fees(&g, now, &last(1_100)), None);
    }
}
