//! A JSON-RPC proxy in front of anvil that answers `eth_estimateGas` for chosen fulfilments with an error
//! that carries no revert data (as a node does for "gas required exceeds allowance"), on any URL path.

use alloy::primitives::U256;
use axum::{body::Bytes, extract::State, response::IntoResponse, Router};
use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::task::JoinHandle;

#[derive(Clone)]
struct Inner {
    target: String,
    client: alloy::transports::http::reqwest::Client,
    poisoned: Arc<Mutex<HashSet<U256>>>,
}

pub struct RpcProxy {
    pub addr: SocketAddr,
    poisoned: Arc<Mutex<HashSet<U256>>>,
    task: JoinHandle<()>,
}

impl RpcProxy {
    pub async fn start(anvil: SocketAddr) -> Self {
        let poisoned = Arc::new(Mutex::new(HashSet::new()));
        let inner = Inner {
            target: format!("http://{anvil}/"),
            client: alloy::transports::http::reqwest::Client::new(),
            poisoned: poisoned.clone(),
        };
        let router = Router::new().fallback(handle).with_state(inner);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self { addr, poisoned, task }
    }

    /// `eth_estimateGas` of `fulfill(id, ..)` fails without revert data until [`Self::cure`].
    pub fn poison(&self, id: U256) {
        self.poisoned.lock().unwrap().insert(id);
    }

    pub fn cure(&self, id: U256) {
        self.poisoned.lock().unwrap().remove(&id);
    }
}

impl Drop for RpcProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The request id of a `fulfill(uint256,int256[],bytes)` call's calldata, if `call` is one.
fn fulfil_id(call: &serde_json::Value) -> Option<U256> {
    let data = call.get("input").or_else(|| call.get("data"))?.as_str()?;
    let selector = alloy::hex::encode(
        <zkoracle_relayer::IInferenceOracle::fulfillCall as alloy::sol_types::SolCall>::SELECTOR,
    );
    let rest = data.strip_prefix("0x")?.strip_prefix(selector.as_str())?;
    U256::from_str_radix(rest.get(..64)?, 16).ok()
}

async fn handle(State(inner): State<Inner>, body: Bytes) -> impl IntoResponse {
    if let Ok(req) = serde_json::from_slice::<serde_json::Value>(&body) {
        let estimate = req.get("method").and_then(|m| m.as_str()) == Some("eth_estimateGas");
        let id = req.get("params").and_then(|p| p.get(0)).and_then(fulfil_id);
        if estimate && id.is_some_and(|id| inner.poisoned.lock().unwrap().contains(&id)) {
            let answer = serde_json::json!({
                "jsonrpc": "2.0",
                "id": req.get("id").cloned().unwrap_or(serde_json::Value::Null),
                "error": { "code": -32000, "message": "gas required exceeds allowance (30000000)" }
            });
            return ([("content-type", "application/json")], answer.to_string());
        }
    }
    let resp = inner
        .client
        .post(&inner.target)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await;
    let text = match resp {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    ([("content-type", "application/json")], text)
}
