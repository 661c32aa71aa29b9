//! HTTP server: `/metrics`, `/healthz`, `GET /v1/requests/{id}` (`POST /v1/prove` has its own listener:
//! [`crate::prove_api`]). Every answer comes from the shared state, so any instance of a fleet answers for
//! every request.

use crate::{
    config::parse_u256,
    db::{State, Store},
    error::{Error, Result},
    metrics::gauge_i64,
    Shared,
};
use axum::{
    extract::{Path, State as AxState},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Serialize;
use std::{net::SocketAddr, sync::Arc};

#[derive(Clone)]
struct App {
    db: Store,
    shared: Arc<Shared>,
}

/// Binds `addr` and returns the bound address and the server future.
pub(crate) async fn serve(
    addr: SocketAddr,
    db: Store,
    shared: Arc<Shared>,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let app = App { db, shared };
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/v1/requests/{id}", get(request))
        .with_state(app);
    listen(addr, router, "http server").await
}

/// Binds `addr` for `router`; returns the bound address and the server future.
pub(crate) async fn listen(
    addr: SocketAddr,
    router: Router,
    what: &'static str,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Http { addr: addr.to_string(), source })?;
    let bound = listener.local_addr().map_err(|source| Error::Http { addr: addr.to_string(), source })?;
    tracing::info!(%bound, "{what} listening");
    Ok((bound, async move {
        axum::serve(listener, router).await.map_err(|source| Error::Http { addr: bound.to_string(), source })
    }))
}

pub(crate) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

async fn metrics(AxState(app): AxState<App>) -> Response {
    match app.db.fleet_stats(app.shared.lease_ms).await {
        Ok(stats) => {
            let seen = stats.states.iter().find(|(s, _)| *s == State::Seen).map_or(0, |(_, n)| *n);
            app.shared.metrics.backlog.set(gauge_i64(seen));
            app.shared.metrics.set_fleet(&stats);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the fleet's state"),
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
    let requests = match app.db.state_counts().await {
        Ok(c) => c.into_iter().map(|(s, n)| (s.as_str(), n)).collect(),
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}")),
    };
    let stale = app.shared.poll_interval.as_secs().saturating_mul(5).max(60);
    let ok = age.is_some_and(|a| a <= stale);
    let body = Health { status: if ok { "ok" } else { "degraded" }, last_scan_age_secs: age, requests };
    let code = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(body)).into_response()
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
    /// The instance (signer address) that holds or answered the request.
    owner: Option<String>,
}

async fn request(AxState(app): AxState<App>, Path(id): Path<String>) -> Response {
    let id = match parse_u256(&id) {
        Ok(i) => i,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match app.db.request(id).await {
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
            owner: r.owner.map(|a| a.to_checksum(None)),
        })
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("request {id} not seen by this relayer")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
