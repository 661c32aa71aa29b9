//! HTTP server: `/metrics`, `/healthz`, `POST /v1/prove`, `GET /v1/requests/{id}`.

use crate::{
    config::parse_u256,
    db::{Db, State},
    error::{Error, Result},
    metrics::gauge_i64,
    prover::{check_input, Proof, ProverPool},
    Shared,
};
use alloy::primitives::{I256, U256};
use axum::{
    extract::{Path, State as AxState},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, sync::Arc};

#[derive(Clone)]
struct App {
    db: Db,
    pool: ProverPool,
    shared: Arc<Shared>,
}

/// Binds `addr` and returns the bound address and the server future.
pub(crate) async fn serve(
    addr: SocketAddr,
    db: Db,
    pool: ProverPool,
    shared: Arc<Shared>,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let app = App { db, pool, shared };
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/v1/prove", post(prove))
        .route("/v1/requests/{id}", get(request))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Http { addr: addr.to_string(), source })?;
    let bound = listener.local_addr().map_err(|source| Error::Http { addr: addr.to_string(), source })?;
    tracing::info!(%bound, "http server listening");
    Ok((bound, async move {
        axum::serve(listener, router).await.map_err(|source| Error::Http { addr: bound.to_string(), source })
    }))
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

async fn metrics(AxState(app): AxState<App>) -> Response {
    if let Ok(counts) = app.db.state_counts() {
        let seen = counts.iter().find(|(s, _)| *s == State::Seen).map_or(0, |(_, n)| *n);
        app.shared.metrics.backlog.set(gauge_i64(seen));
    }
    (
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        app.shared.metrics.render(),
    )
        .into_response()
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    last_scan_age_secs: Option<u64>,
    requests: std::collections::BTreeMap<&'static str, u64>,
}

async fn healthz(AxState(app): AxState<App>) -> Response {
    let age = app.shared.health.scan_age_secs();
    let requests = match app.db.state_counts() {
        Ok(c) => c.into_iter().map(|(s, n)| (s.as_str(), n)).collect(),
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}")),
    };
    let stale = app.shared.poll_interval.as_secs().saturating_mul(5).max(60);
    let ok = age.is_some_and(|a| a <= stale);
    let body = Health { status: if ok { "ok" } else { "degraded" }, last_scan_age_secs: age, requests };
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
}

/// `POST /v1/prove` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProveBody {
    /// On-chain model id (number, decimal or 0x string).
    model: serde_json::Value,
    /// Quantized input (integers at the model's input scale).
    input: Vec<i64>,
}

#[derive(Serialize)]
struct ProveResponse {
    model_id: String,
    proving_ms: u64,
    #[serde(flatten)]
    proof: Proof,
}

async fn prove(
    AxState(app): AxState<App>,
    body: std::result::Result<Json<ProveBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let model_id = match &body.model {
        serde_json::Value::Number(n) => n.as_u64().map(U256::from).ok_or_else(|| format!("bad model id {n}")),
        serde_json::Value::String(s) => parse_u256(s),
        other => Err(format!("model must be a number or string, got {other}")),
    };
    let model_id = match model_id {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let Some(prover) = app.pool.models().get(model_id) else {
        return error(StatusCode::NOT_FOUND, format!("model {model_id} is not served by this relayer"));
    };
    let as_i256: Vec<I256> = body.input.iter().map(|&v| I256::try_from(v).unwrap_or(I256::MAX)).collect();
    let input = match check_input(prover.as_ref(), &as_i256) {
        Ok(i) => i,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    match app.pool.prove(model_id, input).await {
        Ok((proof, took)) => Json(ProveResponse {
            model_id: model_id.to_string(),
            proving_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            proof,
        })
        .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Serialize)]
struct RequestView {
    request_id: String,
    model_id: String,
    requester: String,
    state: State,
    reason: Option<String>,
    input: Vec<String>,
    output: Option<Vec<i64>>,
    deadline: u64,
    block_number: u64,
    log_tx_hash: String,
    nonce: Option<u64>,
    fulfil_tx: Option<String>,
    proving_ms: Option<u64>,
    prove_attempts: u64,
    submit_attempts: u64,
}

async fn request(AxState(app): AxState<App>, Path(id): Path<String>) -> Response {
    let id = match parse_u256(&id) {
        Ok(i) => i,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match app.db.request(id) {
        Ok(Some(r)) => Json(RequestView {
            request_id: r.req.request_id.to_string(),
            model_id: r.req.model_id.to_string(),
            requester: r.req.requester.to_checksum(None),
            state: r.state,
            reason: r.reason,
            input: r.req.input.iter().map(|v| v.to_dec_string()).collect(),
            output: r.output,
            deadline: r.req.deadline,
            block_number: r.req.block_number,
            log_tx_hash: r.req.tx_hash.to_string(),
            nonce: r.nonce,
            fulfil_tx: r.fulfil_tx,
            proving_ms: r.proving_ms,
            prove_attempts: r.prove_attempts,
            submit_attempts: r.submit_attempts,
        })
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("request {id} not seen by this relayer")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
