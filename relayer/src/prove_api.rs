//! `POST /v1/prove`: off-chain proving for clients holding the bearer token, on its own listener and its
//! own workers (`prove_api.max_concurrent`), so it can never take a worker from on-chain requests. A request
//! that finds every worker busy gets 429 at once; one that runs past `prove_api.timeout_secs` gets 504, and
//! its proof keeps its worker until it ends (as it does when the client disconnects).

use crate::{
    config::{parse_u256, ProveApiConfig},
    error::Result,
    http::{error, listen},
    prover::{check_input, Proof, ProverPool},
};
use alloy::primitives::{Address, I256, U256};
use axum::{
    extract::{DefaultBodyLimit, State as AxState},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, sync::Arc, time::Duration};

/// Largest request body accepted (a model input is a few hundred integers).
const BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
struct Api {
    pool: ProverPool,
    token: Arc<str>,
    timeout: Duration,
}

/// Binds the proving API. `pool` must be the API's own pool (its workers are not the on-chain ones);
/// `token` is the resolved bearer token.
pub(crate) async fn serve(
    cfg: &ProveApiConfig,
    pool: ProverPool,
    token: String,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let api = Api { pool, token: token.into(), timeout: Duration::from_secs(cfg.timeout_secs) };
    let router = Router::new()
        .route("/v1/prove", post(prove))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(api);
    listen(cfg.listen, router, "proving API").await
}

/// Compares in time independent of where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    diff == 0 && a.len() == b.len()
}

fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same_secret(t.trim().as_bytes(), token.as_bytes()))
}

/// `POST /v1/prove` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProveBody {
    /// On-chain model id (number, decimal or 0x string).
    model: serde_json::Value,
    /// Quantized input (integers at the model's input scale).
    input: Vec<i64>,
    /// The account the proof is for (the proof is bound to it: `fulfill` from any other sender fails);
    /// the zero address when absent.
    #[serde(default)]
    fulfiller: Address,
}

#[derive(Serialize)]
struct ProveResponse {
    model_id: String,
    proving_ms: u64,
    #[serde(flatten)]
    proof: Proof,
}

fn model_id(v: &serde_json::Value) -> std::result::Result<U256, String> {
    match v {
        serde_json::Value::Number(n) => n.as_u64().map(U256::from).ok_or_else(|| format!("bad model id {n}")),
        serde_json::Value::String(s) => parse_u256(s),
        other => Err(format!("model must be a number or string, got {other}")),
    }
}

async fn prove(
    AxState(api): AxState<Api>,
    headers: HeaderMap,
    body: std::result::Result<Json<ProveBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if !authorized(&headers, &api.token) {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return r;
    }
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let model_id = match model_id(&body.model) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let Some(prover) = api.pool.models().get(model_id) else {
        return error(StatusCode::NOT_FOUND, format!("model {model_id} is not served by this relayer"));
    };
    let as_i256: Vec<I256> = body.input.iter().map(|&v| I256::try_from(v).unwrap_or(I256::MAX)).collect();
    let input = match check_input(prover.as_ref(), &as_i256) {
        Ok(i) => i,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let task = match api.pool.try_prove(model_id, input, body.fulfiller) {
        Ok(Some(task)) => task,
        Ok(None) => return error(StatusCode::TOO_MANY_REQUESTS, "every proving API worker is busy"),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    match tokio::time::timeout(api.timeout, task).await {
        Ok(Ok(Ok((proof, took)))) => Json(ProveResponse {
            model_id: model_id.to_string(),
            proving_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            proof,
        })
        .into_response(),
        Ok(Ok(Err(e))) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("prover thread: {e}")),
        Err(_) => error(
            StatusCode::GATEWAY_TIMEOUT,
            format!("proof not done within {}s (it keeps its worker until it ends)", api.timeout.as_secs()),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_must_match_exactly() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "0123456789abcdef"));
        h.insert(header::AUTHORIZATION, "Bearer 0123456789abcdef".parse().unwrap());
        assert!(authorized(&h, "0123456789abcdef"));
        assert!(!authorized(&h, "0123456789abcdeF"));
        assert!(!authorized(&h, "0123456789abcdef0"));
        h.insert(header::AUTHORIZATION, "Basic 0123456789abcdef".parse().unwrap());
        assert!(!authorized(&h, "0123456789abcdef"));
    }
}
