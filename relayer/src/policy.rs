//! Which requests the relayer answers: the reasons it skips one (a stable code for metrics and the
//! database, a readable reason for operators) and the profitability policy.

use crate::{chain::OnChainStatus, config::ProfitConfig};
use alloy::primitives::{I256, U256};
use std::fmt;

/// Why a request's input cannot be proved by its model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadInput {
    /// The input has the wrong number of values.
    Length {
        /// Values the model takes.
        expected: usize,
        /// Values the request carries.
        got: usize,
    },
    /// A value lies outside the range the circuit was calibrated for.
    OutOfRange {
        /// Its position in the input.
        index: usize,
        /// The value.
        value: I256,
        /// The largest |value| the model accepts.
        max: i64,
    },
    /// The prover refused the input after these checks passed (its own reason).
    Refused(String),
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Length { expected, got } => write!(f, "wrong input length: expected {expected}, got {got}"),
            Self::OutOfRange { index, value, max } => {
                write!(f, "input[{index}] = {value} is outside the calibrated range ±{max}")
            }
            Self::Refused(reason) => f.write_str(reason),
        }
    }
}

/// Why a request is not answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    /// The model is not in this relayer's config (re-checked when the served models change).
    UnknownModel(U256),
    /// The input does not fit the model.
    BadInput(BadInput),
    /// The deadline is too close (or past).
    Expired {
        /// The request's deadline.
        deadline: u64,
        /// Latest block time.
        now: u64,
        /// The configured margin.
        margin: u64,
    },
    /// Fulfilled, cancelled or unknown on-chain.
    NotPending(OnChainStatus),
    /// The requester reserved more callback gas than the relayer serves.
    CallbackGas {
        /// The request's `callbackGasLimit`.
        limit: u32,
        /// `profit.max_callback_gas`.
        max: u32,
    },
    /// The fee does not cover the fulfilment at the current gas price and margin.
    Unprofitable(Costing),
}

impl Skip {
    /// Stable code: the `reason` label of `requests_skipped` and the `skip_code` column.
    pub(crate) const fn code(&self) -> &'static str {
        match self {
            Self::UnknownModel(_) => UNKNOWN_MODEL,
            Self::BadInput(_) => "bad_input",
            Self::Expired { .. } => "expired",
            Self::NotPending(_) => "not_pending",
            Self::CallbackGas { .. } => "callback_gas",
            Self::Unprofitable(_) => "unprofitable",
        }
    }
}

/// The skip code of [`Skip::UnknownModel`].
pub(crate) const UNKNOWN_MODEL: &str = "unknown_model";

/// The skip code of a request whose fulfilment was replaced by a self-transfer because it could only revert.
pub(crate) const CANCELLED: &str = "cancelled";

/// Skip code of a request whose fulfilment reverted because another relayer fulfilled it first.
pub(crate) const LOST_RACE: &str = "lost_race";

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownModel(id) => write!(f, "unknown model {id} (not in this relayer's config)"),
            Self::BadInput(reason) => reason.fmt(f),
            Self::Expired { deadline, now, margin } => {
                write!(f, "expired: deadline {deadline} is within {margin}s of the latest block time {now}")
            }
            Self::NotPending(status) => write!(f, "request is not pending on-chain ({status:?})"),
            Self::CallbackGas { limit, max } => {
                write!(f, "callback gas limit {limit} exceeds profit.max_callback_gas {max}")
            }
            Self::Unprofitable(c) => write!(
                f,
                "unprofitable: fee {} wei < {} gas x {} wei x {} bps = {} wei",
                c.fee, c.gas, c.gas_price, c.margin_bps, c.needed
            ),
        }
    }
}

/// Gas the oracle spends making a callback on top of its limit (`InferenceOracle.CALLBACK_GAS_OVERHEAD`).
pub(crate) const CALLBACK_GAS_OVERHEAD: u64 = 10_000;

/// The figures of one profitability check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Costing {
    /// The request's fee.
    pub(crate) fee: U256,
    /// Gas the fulfilment may use, callback included.
    pub(crate) gas: u64,
    /// Gas price the check used.
    pub(crate) gas_price: u128,
    /// `profit.margin_bps`.
    pub(crate) margin_bps: u32,
    /// The fee the policy requires.
    pub(crate) needed: U256,
}

/// What one check needs to know about a request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FeeCheck {
    /// The request's fee.
    pub(crate) fee: U256,
    /// The request's `callbackGasLimit`.
    pub(crate) callback_gas_limit: u32,
    /// Gas of the fulfilment: without the callback before proving (`callback_included = false`), or the
    /// `eth_estimateGas` of the signed call, which already holds the callback's reserve.
    pub(crate) fulfil_gas: u64,
    /// Whether `fulfil_gas` already includes the callback gas.
    pub(crate) callback_included: bool,
    /// Current gas price in wei.
    pub(crate) gas_price: u128,
}

/// Applies the profitability policy; `Err` says why the request is not worth answering.
pub(crate) fn check_fee(policy: &ProfitConfig, c: FeeCheck) -> Result<(), Skip> {
    if c.callback_gas_limit > policy.max_callback_gas {
        return Err(Skip::CallbackGas { limit: c.callback_gas_limit, max: policy.max_callback_gas });
    }
    let callback = match c.callback_gas_limit {
        0 => 0,
        limit => u64::from(limit) + CALLBACK_GAS_OVERHEAD,
    };
    let gas =
        if c.callback_included { c.fulfil_gas.max(callback) } else { c.fulfil_gas.saturating_add(callback) };
    let cost = U256::from(gas).saturating_mul(U256::from(c.gas_price));
    let needed = cost.saturating_mul(U256::from(policy.margin_bps)).div_ceil(U256::from(10_000u64));
    if c.fee < needed {
        return Err(Skip::Unprofitable(Costing {
            fee: c.fee,
            gas,
            gas_price: c.gas_price,
            margin_bps: policy.margin_bps,
            needed,
        }));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn check(fee: u64, callback: u32, included: bool) -> Result<(), Skip> {
        let policy = ProfitConfig { max_callback_gas: 500_000, fulfil_gas: 0, margin_bps: 12_000 };
        let c = FeeCheck {
            fee: U256::from(fee),
            callback_gas_limit: callback,
            fulfil_gas: 400_000,
            callback_included: included,
            gas_price: 10,
        };
        check_fee(&policy, c)
    }

    #[test]
    fn fee_must_cover_gas_times_price_times_margin() {
        // (400k + 100k + 10k overhead) x 10 wei x 1.2 = 6,120,000 wei.
        assert_eq!(check(6_120_000, 100_000, false), Ok(()));
        let e = check(6_119_999, 100_000, false).unwrap_err();
        assert_eq!(e.code(), "unprofitable");
        assert!(e.to_string().contains("510000 gas"), "{e}");
        // No callback, no overhead: 400k x 10 x 1.2.
        assert_eq!(check(4_800_000, 0, false), Ok(()));
        assert!(check(4_799_999, 0, false).is_err());
        // An estimate already holds the callback's reserve: 400k x 10 x 1.2.
        assert_eq!(check(4_800_000, 100_000, true), Ok(()));
        assert!(check(4_799_999, 100_000, true).is_err());
    }

    #[test]
    fn callback_gas_above_the_cap_is_refused_whatever_the_fee() {
        let e = check(u64::MAX, 500_001, false).unwrap_err();
        assert_eq!(e, Skip::CallbackGas { limit: 500_001, max: 500_000 });
        assert_eq!(e.code(), "callback_gas");
    }
}
