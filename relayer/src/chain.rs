//! Typed contract bindings and a JSON-RPC client with per-call timeouts.

use crate::error::{Error, Result};
use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, Bytes, B256, U256},
    providers::{Provider, ProviderBuilder, WsConnect},
    rpc::types::{Filter, Log, TransactionReceipt, TransactionRequest},
    sol_types::{SolEvent, SolInterface},
    transports::TransportError,
};
use std::{future::IntoFuture, time::Duration};

/// `sol!` bindings generated from `contracts/interfaces/IInferenceOracle.sol` (the ABI the relayer speaks).
#[allow(missing_docs, unreachable_pub)]
mod bindings {
    alloy::sol!(
        #[sol(rpc, all_derives)]
        "../contracts/interfaces/IInferenceOracle.sol"
    );
}

pub use bindings::IInferenceOracle;

use IInferenceOracle::{IInferenceOracleErrors, IInferenceOracleInstance, InferenceRequested};

/// A request's on-chain status (`IInferenceOracle.RequestStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnChainStatus {
    /// Unknown id.
    None,
    /// Waiting for a fulfilment.
    Pending,
    /// Fulfilled.
    Fulfilled,
    /// Cancelled by the requester.
    Cancelled,
}

/// Turns revert data into a readable reason using the oracle's custom errors (then `Error(string)` /
/// `Panic(uint256)`), e.g. `RequestNotPending { requestId: 7 }`.
pub fn decode_revert(data: &[u8]) -> String {
    if let Ok(e) = IInferenceOracleErrors::abi_decode(data) {
        let s = format!("{e:?}");
        // `Variant(Variant { .. })` -> `Variant { .. }`
        return match s.split_once('(') {
            Some((_, inner)) => inner.strip_suffix(')').unwrap_or(inner).to_string(),
            None => s,
        };
    }
    alloy::sol_types::decode_revert_reason(data)
        .unwrap_or_else(|| format!("revert data 0x{}", hex::encode(data)))
}

/// The decoded revert reason of a failed `eth_call`/`eth_estimateGas`, if the error carries revert data.
pub(crate) fn revert_reason(err: &Error) -> Option<String> {
    let data = match err {
        Error::Rpc(e) => e.as_error_resp().and_then(|p| p.as_revert_data()),
        Error::Contract(e) => e.as_revert_data(),
        _ => None,
    }?;
    Some(decode_revert(&data))
}

/// The text of a JSON-RPC error response, lower-cased (empty for transport failures).
pub(crate) fn rpc_message(err: &Error) -> String {
    match err {
        Error::Rpc(e) => e.as_error_resp().map(|p| p.message.to_lowercase()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A JSON-RPC connection plus the oracle binding; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Chain {
    provider: alloy::providers::DynProvider,
    oracle: IInferenceOracleInstance<alloy::providers::DynProvider>,
    timeout: Duration,
    ws: bool,
}

impl Chain {
    /// Connects over HTTP or WebSocket (the latter reconnects forever, re-issuing subscriptions).
    pub(crate) async fn connect(url: &str, oracle: Address, timeout: Duration) -> Result<Self> {
        let ws = url.starts_with("ws://") || url.starts_with("wss://");
        let builder = ProviderBuilder::new().disable_recommended_fillers();
        let provider = if ws {
            let conn =
                WsConnect::new(url).with_max_retries(u32::MAX).with_retry_interval(Duration::from_secs(1));
            tokio::time::timeout(timeout, builder.connect_ws(conn))
                .await
                .map_err(|_| Error::RpcTimeout("connect"))?
                .map_err(|e| redacted(e.into()))?
                .erased()
        } else {
            tokio::time::timeout(timeout, builder.connect(url))
                .await
                .map_err(|_| Error::RpcTimeout("connect"))?
                .map_err(|e| redacted(e.into()))?
                .erased()
        };
        let oracle = IInferenceOracle::new(oracle, provider.clone());
        Ok(Self { provider, oracle, timeout, ws })
    }

    /// Whether this is a WebSocket connection.
    pub(crate) const fn is_ws(&self) -> bool {
        self.ws
    }

    async fn timed<T, E: Into<Error>>(
        &self,
        what: &'static str,
        fut: impl IntoFuture<Output = std::result::Result<T, E>>,
    ) -> Result<T> {
        tokio::time::timeout(self.timeout, fut.into_future())
            .await
            .map_err(|_| Error::RpcTimeout(what))?
            .map_err(|e| redacted(e.into()))
    }

    /// `eth_gasPrice`: what one unit of gas costs now (base fee plus tip), for the profitability policy.
    pub(crate) async fn gas_price(&self) -> Result<u128> {
        self.timed("eth_gasPrice", self.provider.get_gas_price()).await
    }

    /// Timestamp and number of the latest block.
    pub(crate) async fn latest_block(&self) -> Result<(u64, u64)> {
        let block = self
            .timed("eth_getBlockByNumber", self.provider.get_block_by_number(BlockNumberOrTag::Latest))
            .await?;
        block.map(|b| (b.header.timestamp, b.header.number)).ok_or(Error::RpcTimeout("latest block missing"))
    }

    /// `eth_chainId`.
    pub(crate) async fn chain_id(&self) -> Result<u64> {
        self.timed("eth_chainId", self.provider.get_chain_id()).await
    }

    /// `eth_blockNumber`.
    pub(crate) async fn block_number(&self) -> Result<u64> {
        self.timed("eth_blockNumber", self.provider.get_block_number()).await
    }

    /// Hash of block `n`, `None` if the chain is shorter.
    pub(crate) async fn block_hash(&self, n: u64) -> Result<Option<B256>> {
        let block = self
            .timed("eth_getBlockByNumber", self.provider.get_block_by_number(BlockNumberOrTag::Number(n)))
            .await?;
        Ok(block.map(|b| b.header.hash))
    }

    /// Timestamp of the latest block.
    pub(crate) async fn latest_timestamp(&self) -> Result<u64> {
        Ok(self.latest_block().await?.0)
    }

    /// `InferenceRequested` logs of the oracle in `[from, to]`.
    pub(crate) async fn request_logs(&self, from: u64, to: u64) -> Result<Vec<Log>> {
        let filter = Filter::new()
            .address(*self.oracle.address())
            .event_signature(InferenceRequested::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        self.timed("eth_getLogs", self.provider.get_logs(&filter)).await
    }

    /// `getRequest(id).status`.
    pub(crate) async fn request_status(&self, id: U256) -> Result<OnChainStatus> {
        let req = self.timed("getRequest", self.oracle.getRequest(id).call()).await?;
        Ok(match req.status {
            IInferenceOracle::RequestStatus::Pending => OnChainStatus::Pending,
            IInferenceOracle::RequestStatus::Fulfilled => OnChainStatus::Fulfilled,
            IInferenceOracle::RequestStatus::Cancelled => OnChainStatus::Cancelled,
            _ => OnChainStatus::None,
        })
    }

    /// `getModel(id)`.
    pub(crate) async fn model(&self, id: U256) -> Result<IInferenceOracle::Model> {
        self.timed("getModel", self.oracle.getModel(id).call()).await
    }

    /// `keccak256` of the code at `addr` now (`EXTCODEHASH`; the empty code's hash when it has none).
    pub(crate) async fn code_hash(&self, addr: Address) -> Result<B256> {
        let code = self.timed("eth_getCode", self.provider.get_code_at(addr)).await?;
        Ok(alloy::primitives::keccak256(&code))
    }

    /// Account nonce at `block` (`pending` for the pool's view).
    pub(crate) async fn nonce(&self, addr: Address, block: BlockId) -> Result<u64> {
        self.timed("eth_getTransactionCount", self.provider.get_transaction_count(addr).block_id(block)).await
    }

    /// Balance in wei.
    pub(crate) async fn balance(&self, addr: Address) -> Result<U256> {
        self.timed("eth_getBalance", self.provider.get_balance(addr)).await
    }

    /// `eth_estimateGas`.
    pub(crate) async fn estimate_gas(&self, tx: TransactionRequest) -> Result<u64> {
        self.timed("eth_estimateGas", self.provider.estimate_gas(tx)).await
    }

    /// `eth_call` at `block`; returns the revert reason on revert.
    pub(crate) async fn call_revert_reason(
        &self,
        tx: TransactionRequest,
        block: BlockId,
    ) -> Result<Option<String>> {
        match self.timed("eth_call", self.provider.call(tx).block(block)).await {
            Ok(_) => Ok(None),
            Err(e) => match revert_reason(&e) {
                Some(r) => Ok(Some(r)),
                None => Err(e),
            },
        }
    }

    /// Current EIP-1559 fee estimate: `(max_fee_per_gas, max_priority_fee_per_gas)`.
    pub(crate) async fn fees(&self) -> Result<(u128, u128)> {
        let est = self.timed("eth_feeHistory", self.provider.estimate_eip1559_fees()).await?;
        Ok((est.max_fee_per_gas, est.max_priority_fee_per_gas))
    }

    /// `eth_sendRawTransaction`.
    pub(crate) async fn send_raw(&self, raw: &[u8]) -> Result<B256> {
        let pending = self.timed("eth_sendRawTransaction", self.provider.send_raw_transaction(raw)).await?;
        Ok(*pending.tx_hash())
    }

    /// `eth_getTransactionReceipt`.
    pub(crate) async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>> {
        self.timed("eth_getTransactionReceipt", self.provider.get_transaction_receipt(hash)).await
    }

    /// Subscribes to new heads (WebSocket only).
    pub(crate) async fn subscribe_heads(
        &self,
    ) -> Result<alloy::pubsub::Subscription<alloy::rpc::types::Header>> {
        self.timed("eth_subscribe", async { self.provider.subscribe_blocks().await }).await
    }
}

/// Decodes an `InferenceRequested` log.
pub(crate) fn decode_request_log(log: &Log) -> std::result::Result<crate::db::NewRequest, String> {
    let decoded = log.log_decode::<InferenceRequested>().map_err(|e| format!("undecodable log: {e}"))?;
    let ev = &decoded.inner.data;
    Ok(crate::db::NewRequest {
        request_id: ev.requestId,
        model_id: ev.modelId,
        requester: ev.requester,
        input: ev.input.clone(),
        callback_gas_limit: ev.callbackGasLimit,
        fee: ev.fee,
        deadline: ev.deadline,
        block_number: log.block_number.ok_or("log without block number")?,
        block_hash: log.block_hash.ok_or("log without block hash")?,
        tx_hash: log.transaction_hash.ok_or("log without transaction hash")?,
        log_index: log.log_index.ok_or("log without index")?,
    })
}

/// ABI-encodes `fulfill(requestId, output, proof)`.
pub(crate) fn fulfill_calldata(request_id: U256, output: &[i64], proof: &[u8]) -> Bytes {
    use alloy::sol_types::SolCall;
    let call = IInferenceOracle::fulfillCall {
        requestId: request_id,
        output: output.iter().map(|&v| alloy::primitives::I256::try_from(v).unwrap_or_default()).collect(),
        proof: Bytes::copy_from_slice(proof),
    };
    call.abi_encode().into()
}

/// Whether an error is a JSON-RPC "nonce too low"/"already used" rejection.
pub(crate) fn is_nonce_too_low(err: &Error) -> bool {
    let m = rpc_message(err);
    m.contains("nonce too low") || m.contains("nonce has already been used") || m.contains("oldnonce")
}

/// Whether a send error means the node already has this exact transaction.
pub(crate) fn is_already_known(err: &Error) -> bool {
    let m = rpc_message(err);
    m.contains("already known") || m.contains("already imported") || m.contains("alreadyknown")
}

/// Transport failures carry the endpoint's URL (reqwest prints it, API key and all): keep scheme and host.
fn redacted(e: Error) -> Error {
    match e {
        Error::Rpc(TransportError::Transport(kind))
        | Error::Contract(alloy::contract::Error::TransportError(TransportError::Transport(kind))) => {
            Error::Transport(crate::config::redact_urls(&kind.to_string()))
        }
        other => other,
    }
}

/// Whether the error came from the transport (node unreachable, timeout) rather than the node's answer.
pub(crate) fn is_transport(err: &Error) -> bool {
    match err {
        Error::RpcTimeout(_) | Error::Transport(_) => true,
        Error::Rpc(e) => matches!(e, TransportError::Transport(_)),
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// reqwest names the URL it failed to reach; an API key in it must not reach logs or the HTTP API.
    #[tokio::test]
    async fn transport_errors_do_not_carry_the_rpc_url() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("http://user:pw@127.0.0.1:{port}/v2/SECRETKEY?key=SECRET2");
        let chain = Chain::connect(&url, Address::repeat_byte(1), Duration::from_secs(5)).await.unwrap();
        let e = chain.block_number().await.unwrap_err();
        assert!(is_transport(&e), "{e:?}");
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("127.0.0.1"), "{shown}");
        for secret in ["SECRETKEY", "SECRET2", "pw@"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
