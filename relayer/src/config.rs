//! `relayer.toml`: the daemon's configuration.

use crate::error::{Error, Result};
use alloy::primitives::{Address, U256};
use serde::Deserialize;
use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

/// Smallest fee bump geth-style pools accept for a same-nonce replacement is 10%; we require 12.5%.
pub const MIN_FEE_BUMP_BPS: u32 = 1250;

/// Default cap on `maxFeePerGas`: 200 gwei.
pub const DEFAULT_MAX_FEE_PER_GAS_WEI: u128 = 200_000_000_000;

/// Shortest bearer token the proving API accepts.
pub const MIN_TOKEN_LEN: usize = 16;

/// The relayer's configuration, usually read from `relayer.toml` with [`Config::from_file`].
///
/// Relative paths (`db_path`, model `dir`, `signer.keystore`) are resolved against the config file's
/// directory by [`Config::from_file`].
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC endpoint: `http(s)://` (polling) or `ws(s)://` (new-head subscription + polling fallback).
    pub rpc_url: String,
    /// The `InferenceOracle` contract address.
    pub oracle: Address,
    /// The chain id the node must report (checked at start-up and stored in the database).
    pub chain_id: u64,
    /// First block to scan when the database has no cursor yet (usually the oracle's deployment block).
    #[serde(default)]
    pub start_block: u64,
    /// Blocks a log (and a fulfilment receipt) must be buried under before the relayer acts on it.
    #[serde(default = "defaults::confirmations")]
    pub confirmations: u64,
    /// How often the chain is polled (also the fallback tick in WebSocket mode), in milliseconds.
    #[serde(default = "defaults::poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Timeout of one JSON-RPC call, in milliseconds.
    #[serde(default = "defaults::rpc_timeout_ms")]
    pub rpc_timeout_ms: u64,
    /// Largest block range of one `eth_getLogs` call.
    #[serde(default = "defaults::max_block_range")]
    pub max_block_range: u64,
    /// How many recent processed blocks keep their hash for reorg detection.
    #[serde(default = "defaults::reorg_window")]
    pub reorg_window: u64,
    /// SQLite database file (created if missing): the embedded state of one relayer. Leave it out when
    /// `database` is set.
    #[serde(default)]
    pub db_path: PathBuf,
    /// A PostgreSQL URL (`postgres://user:password@host:port/db`): the state shared by a fleet of relayer
    /// instances, each with its own signing key. Replaces `db_path`.
    #[serde(default)]
    pub database: Option<String>,
    /// Leases of a fleet (also used by a single instance).
    #[serde(default)]
    pub fleet: FleetConfig,
    /// The models this relayer proves.
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// Concurrent proofs (blocking worker threads).
    #[serde(default = "defaults::workers")]
    pub workers: usize,
    /// Memory budget in MiB of the warm provers' caches, shared by the models in `models` order: first the
    /// window multiples of each model's SRS points (faster full-width commitments), then its proving key's
    /// fixed and permutation polynomials evaluated on the extended domain, both built once at start-up, so
    /// a proof pays only for its witness-dependent polynomials (0: recompute them on every proof).
    #[serde(default = "defaults::prover_cache_mb")]
    pub prover_cache_mb: usize,
    /// Proving jobs that may wait for a worker; the dispatcher blocks when the queue is full.
    #[serde(default = "defaults::queue_capacity")]
    pub queue_capacity: usize,
    /// Requests whose deadline is less than this many seconds after the latest block are skipped.
    #[serde(default = "defaults::deadline_margin_secs")]
    pub deadline_margin_secs: u64,
    /// Gas and fee policy.
    #[serde(default)]
    pub gas: GasConfig,
    /// Which requests are worth answering.
    #[serde(default)]
    pub profit: ProfitConfig,
    /// HTTP server: `/metrics`, `/healthz`, `GET /v1/requests/{id}`.
    #[serde(default)]
    pub http: HttpConfig,
    /// The off-chain proving API (`POST /v1/prove`) on its own listener; off by default.
    #[serde(default)]
    pub prove_api: ProveApiConfig,
    /// Where the fulfilment key comes from.
    pub signer: SignerConfig,
}

/// One model the relayer serves.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The on-chain model id (`registerModel`'s return value): an integer or a decimal/0x string.
    #[serde(deserialize_with = "de_u256")]
    pub model_id: U256,
    /// Directory written by `zkoracle compile` + `zkoracle setup` (circuit.json, pk.bin, vk.bin).
    pub dir: PathBuf,
    /// Gas of one fulfilment without the callback, for the profitability check before proving; defaults
    /// to `profit.fulfil_gas`.
    #[serde(default)]
    pub fulfil_gas: Option<u64>,
    /// The verifier the model must be registered with; start-up refuses another.
    #[serde(default)]
    pub verifier: Option<Address>,
    /// The smallest registered fee this relayer serves the model for; start-up refuses a lower one.
    #[serde(default, deserialize_with = "de_opt_u256")]
    pub min_fee_wei: Option<U256>,
}

/// Gas, fee and replacement policy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GasConfig {
    /// Replacement bump of both fee fields, in basis points (1250 = 12.5%, the minimum).
    pub fee_bump_bps: u32,
    /// A transaction not mined after this many seconds is replaced with bumped fees (same nonce).
    pub bump_after_secs: u64,
    /// A pending transaction is re-broadcast at most this often, in seconds.
    pub rebroadcast_secs: u64,
    /// Upper bound for `maxFeePerGas`, in wei: no fee and no bump goes above it.
    pub max_fee_per_gas_wei: u128,
    /// Lower bound for `maxPriorityFeePerGas`, in wei.
    pub min_priority_fee_wei: u128,
    /// Gas limit = estimate * this / 100.
    pub gas_limit_multiplier_pct: u64,
}

impl Default for GasConfig {
    fn default() -> Self {
        Self {
            fee_bump_bps: 2000,
            bump_after_secs: 60,
            rebroadcast_secs: 15,
            max_fee_per_gas_wei: DEFAULT_MAX_FEE_PER_GAS_WEI,
            min_priority_fee_wei: 0,
            gas_limit_multiplier_pct: 130,
        }
    }
}

/// How instances sharing one database hand work to each other.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FleetConfig {
    /// An instance's hold on a request it claimed, in seconds; renewed every third of it while the instance
    /// lives. A request whose lease ran out (the instance died) is claimed by another instance.
    pub lease_secs: u64,
    /// A request an instance that died had submitted is taken over by another instance (proved and sent
    /// again under its key) once its deadline is less than this many seconds away and it is still pending
    /// on-chain.
    pub takeover_before_deadline_secs: u64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self { lease_secs: 30, takeover_before_deadline_secs: 300 }
    }
}

impl FleetConfig {
    /// The lease in milliseconds.
    pub const fn lease_ms(&self) -> u64 {
        self.lease_secs.saturating_mul(1000)
    }
}

/// The HTTP server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address; loopback by default. Set `enabled = false` to run without a server.
    pub listen: SocketAddr,
    /// Whether to serve at all.
    pub enabled: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from(([127, 0, 0, 1], 9464)), enabled: true }
    }
}

/// The profitability policy: a request is served only when its callback gas is at most
/// `max_callback_gas` and `fee >= (fulfil gas + callbackGasLimit) * gas price * margin_bps / 10000`, checked
/// before proving (fulfil gas from the config) and again before signing (fulfil gas from `eth_estimateGas`,
/// which includes the gas the oracle reserves for the callback).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfitConfig {
    /// Largest `callbackGasLimit` served.
    pub max_callback_gas: u32,
    /// Gas of one fulfilment without the callback, before a proof exists to estimate it.
    pub fulfil_gas: u64,
    /// Required fee over cost, in basis points (12000 = the fee must cover the cost 1.2 times; 0 serves
    /// every fee).
    pub margin_bps: u32,
}

impl Default for ProfitConfig {
    fn default() -> Self {
        Self { max_callback_gas: 500_000, fulfil_gas: 600_000, margin_bps: 12_000 }
    }
}

/// `POST /v1/prove`: its own listener, a bearer token, a concurrency limit and a timeout.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProveApiConfig {
    /// Whether to serve it at all.
    pub enabled: bool,
    /// Listen address (not the `[http]` one).
    pub listen: SocketAddr,
    /// Name of an environment variable holding the bearer token.
    pub token_env: Option<String>,
    /// The bearer token itself (prefer `token_env`).
    pub token: Option<String>,
    /// Proofs the API runs at once (its own workers, apart from on-chain proving); more get 429.
    pub max_concurrent: usize,
    /// Seconds before a request is answered 504 (the proof still holds its slot until it ends).
    pub timeout_secs: u64,
}

impl Default for ProveApiConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 9465)),
            token_env: None,
            token: None,
            max_concurrent: 1,
            timeout_secs: 60,
        }
    }
}

impl fmt::Debug for ProveApiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProveApiConfig")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("token_env", &self.token_env)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("max_concurrent", &self.max_concurrent)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl ProveApiConfig {
    /// The bearer token, from `token` or the `token_env` variable. Errors name the variable, never the value.
    pub fn resolve_token(&self) -> Result<String> {
        let token = match (&self.token, &self.token_env) {
            (Some(t), None) => t.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                Error::Config(format!("prove_api.token_env: environment variable {var} is not set"))
            })?,
            _ => return Err(Error::Config("prove_api: set token_env or token (exactly one)".into())),
        };
        if token.trim().len() < MIN_TOKEN_LEN {
            return Err(Error::Config(format!(
                "prove_api: the token must be at least {MIN_TOKEN_LEN} characters"
            )));
        }
        Ok(token.trim().to_string())
    }
}

/// Where the fulfilment key comes from: exactly one of `private_key_env` or `keystore`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// Name of an environment variable holding the hex private key.
    pub private_key_env: Option<String>,
    /// Path of an encrypted JSON keystore (EIP-2335 / geth style).
    pub keystore: Option<PathBuf>,
    /// Name of an environment variable holding the keystore password.
    pub keystore_password_env: Option<String>,
}

impl fmt::Debug for SignerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names and paths only: the key and password themselves never live in the config.
        f.debug_struct("SignerConfig")
            .field("private_key_env", &self.private_key_env)
            .field("keystore", &self.keystore)
            .field("keystore_password_env", &self.keystore_password_env)
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("rpc_url", &redact_url(&self.rpc_url))
            .field("oracle", &self.oracle)
            .field("chain_id", &self.chain_id)
            .field("start_block", &self.start_block)
            .field("confirmations", &self.confirmations)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("db_path", &self.db_path)
            .field("database", &self.database.as_deref().map(redact_url))
            .field("fleet", &self.fleet)
            .field("models", &self.models)
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("gas", &self.gas)
            .field("profit", &self.profit)
            .field("http", &self.http)
            .field("prove_api", &self.prove_api)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

/// Every `http(s)://` or `ws(s)://` URL in `text` with only its scheme and host left.
pub(crate) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) =
        ["http://", "https://", "ws://", "wss://"].iter().filter_map(|s| rest.find(s)).min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ',' | ']'))
            .unwrap_or(tail.len());
        out.push_str(&redact_url(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// RPC URLs often carry API keys in the path or user-info: show scheme and host only.
fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "…".to_string(),
    }
}

mod defaults {
    pub(super) const fn confirmations() -> u64 {
        3
    }
    pub(super) const fn poll_interval_ms() -> u64 {
        2000
    }
    pub(super) const fn rpc_timeout_ms() -> u64 {
        10_000
    }
    pub(super) const fn max_block_range() -> u64 {
        1000
    }
    pub(super) const fn reorg_window() -> u64 {
        128
    }
    pub(super) const fn workers() -> usize {
        2
    }
    pub(super) const fn prover_cache_mb() -> usize {
        zkoracle_prover::DEFAULT_COSET_CACHE_MB
    }
    pub(super) const fn queue_capacity() -> usize {
        64
    }
    pub(super) const fn deadline_margin_secs() -> u64 {
        30
    }
}

fn de_u256<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<U256, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Int(u64),
        Str(String),
    }
    match Repr::deserialize(d)? {
        Repr::Int(v) => Ok(U256::from(v)),
        Repr::Str(s) => parse_u256(&s).map_err(serde::de::Error::custom),
    }
}

fn de_opt_u256<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<U256>, D::Error> {
    de_u256(d).map(Some)
}

/// Parses a decimal or `0x`-hex unsigned 256-bit integer.
pub(crate) fn parse_u256(s: &str) -> std::result::Result<U256, String> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => U256::from_str_radix(hex, 16),
        None => U256::from_str_radix(s, 10),
    };
    parsed.map_err(|e| format!("`{s}` is not a 256-bit unsigned integer: {e}"))
}

impl Config {
    /// Reads, parses and validates a TOML config; relative paths become relative to the file's directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::ConfigRead { path: path.to_path_buf(), source })?;
        let mut config = Self::from_toml_str(&text)
            .map_err(|source| Error::ConfigParse { path: path.to_path_buf(), source: Box::new(source) })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        config.resolve_paths(base);
        config.validate().map_err(|e| match e {
            Error::Config(reason) => Error::ConfigInvalid { path: path.to_path_buf(), reason },
            other => other,
        })?;
        Ok(config)
    }

    /// Parses a TOML string without resolving paths or validating.
    pub fn from_toml_str(text: &str) -> std::result::Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Makes relative paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if !self.db_path.as_os_str().is_empty() {
            fix(&mut self.db_path);
        }
        for m in &mut self.models {
            fix(&mut m.dir);
        }
        if let Some(k) = self.signer.keystore.as_mut() {
            fix(k);
        }
    }

    /// Checks every value for consistency; errors name the offending key.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Config(msg));
        let scheme = self.rpc_url.split("://").next().unwrap_or_default();
        if !matches!(scheme, "http" | "https" | "ws" | "wss") {
            return bad(format!(
                "rpc_url must start with http://, https://, ws:// or wss:// (got `{scheme}`)"
            ));
        }
        if self.oracle == Address::ZERO {
            return bad("oracle must be a non-zero address".into());
        }
        if self.poll_interval_ms == 0 || self.rpc_timeout_ms == 0 {
            return bad("poll_interval_ms and rpc_timeout_ms must be positive".into());
        }
        if self.max_block_range == 0 {
            return bad("max_block_range must be positive".into());
        }
        if self.reorg_window <= self.confirmations {
            return bad(format!(
                "reorg_window ({}) must exceed confirmations ({})",
                self.reorg_window, self.confirmations
            ));
        }
        if self.workers == 0 || self.queue_capacity == 0 {
            return bad("workers and queue_capacity must be positive".into());
        }
        if self.gas.fee_bump_bps < MIN_FEE_BUMP_BPS {
            return bad(format!(
                "gas.fee_bump_bps must be at least {MIN_FEE_BUMP_BPS} (12.5%), got {}",
                self.gas.fee_bump_bps
            ));
        }
        if self.gas.gas_limit_multiplier_pct < 100 {
            return bad("gas.gas_limit_multiplier_pct must be at least 100".into());
        }
        match (&self.database, self.db_path.as_os_str().is_empty()) {
            (Some(_), false) => return bad("set database or db_path, not both".into()),
            (None, true) => {
                return bad("db_path (SQLite file) or database (PostgreSQL URL) is required".into())
            }
            (Some(url), true) if !crate::db::is_postgres_url(url) => {
                return bad("database must be a postgres:// or postgresql:// URL".into())
            }
            _ => {}
        }
        if self.fleet.lease_secs < 3 {
            return bad("fleet.lease_secs must be at least 3".into());
        }
        if self.models.is_empty() {
            return bad(
                "models: no [[models]] entry (a relayer serving no model would skip every request)".into()
            );
        }
        if self.prove_api.enabled {
            self.prove_api.resolve_token()?;
            if self.prove_api.max_concurrent == 0 || self.prove_api.timeout_secs == 0 {
                return bad("prove_api.max_concurrent and prove_api.timeout_secs must be positive".into());
            }
            if self.http.enabled && self.http.listen == self.prove_api.listen {
                return bad("prove_api.listen must differ from http.listen".into());
            }
        }
        let mut ids: Vec<U256> = self.models.iter().map(|m| m.model_id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return bad(format!("model_id {} is listed twice", w[0]));
        }
        match (&self.signer.private_key_env, &self.signer.keystore) {
            (Some(_), Some(_)) => bad("signer: set private_key_env or keystore, not both".into()),
            (None, None) => bad("signer: set private_key_env or keystore".into()),
            (None, Some(_)) if self.signer.keystore_password_env.is_none() => {
                bad("signer: keystore needs keystore_password_env".into())
            }
            _ => Ok(()),
        }
    }

    /// Poll interval as a [`Duration`].
    pub const fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// RPC timeout as a [`Duration`].
    pub const fn rpc_timeout(&self) -> Duration {
        Duration::from_millis(self.rpc_timeout_ms)
    }

    /// Whether `rpc_url` is a WebSocket endpoint.
    pub fn is_ws(&self) -> bool {
        self.rpc_url.starts_with("ws://") || self.rpc_url.starts_with("wss://")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        rpc_url = "http://127.0.0.1:8545"
        oracle = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        chain_id = 31337
        db_path = "relayer.sqlite"
        [signer]
        private_key_env = "RELAYER_KEY"
        [[models]]
        model_id = 1
        dir = "build/spread_mlp"
        [[models]]
        model_id = "0x02"
        dir = "/abs/model"
    "#;

    #[test]
    fn parses_defaults_and_resolves_paths() {
        let mut c = Config::from_toml_str(MINIMAL).unwrap();
        c.resolve_paths(Path::new("/etc/zk"));
        c.validate().unwrap();
        assert_eq!(c.confirmations, 3);
        assert_eq!(c.http.listen.to_string(), "127.0.0.1:9464");
        assert_eq!(c.db_path, PathBuf::from("/etc/zk/relayer.sqlite"));
        assert_eq!(c.models[0].dir, PathBuf::from("/etc/zk/build/spread_mlp"));
        assert_eq!(c.models[1].model_id, U256::from(2));
        assert_eq!(c.models[1].dir, PathBuf::from("/abs/model"));
    }

    #[test]
    fn rejects_bad_values_by_name() {
        let with = |extra: &str| {
            let c = Config::from_toml_str(&format!("{MINIMAL}\n[gas]\n{extra}")).unwrap();
            c.validate().unwrap_err().to_string()
        };
        assert!(with("fee_bump_bps = 1000").contains("fee_bump_bps"));
        assert!(with("gas_limit_multiplier_pct = 90").contains("gas_limit_multiplier_pct"));
        let dup = MINIMAL.replace("\"0x02\"", "1");
        let e = Config::from_toml_str(&dup).unwrap().validate().unwrap_err().to_string();
        assert!(e.contains("listed twice"), "{e}");
        let e = Config::from_toml_str(&MINIMAL.replace("http://", "ftp://")).unwrap().validate();
        assert!(e.unwrap_err().to_string().contains("rpc_url"));
        assert!(Config::from_toml_str(&format!("{MINIMAL}\nbogus = 1")).is_err());
    }

    #[test]
    fn postgres_database_replaces_db_path_and_is_redacted() {
        let pg = MINIMAL.replace(
            "db_path = \"relayer.sqlite\"",
            "database = \"postgres://zk:SECRETPW@db.internal:5432/zk\"\n[fleet]\nlease_secs = 10",
        );
        let mut c = Config::from_toml_str(&pg).unwrap();
        c.resolve_paths(Path::new("/etc/zk"));
        c.validate().unwrap();
        assert_eq!(c.fleet.lease_ms(), 10_000);
        assert!(!format!("{c:?}").contains("SECRETPW"));
        let both = MINIMAL.replace("db_path", "database = \"postgres://h/db\"\ndb_path");
        let e = Config::from_toml_str(&both).unwrap().validate().unwrap_err().to_string();
        assert!(e.contains("not both"), "{e}");
        let none = MINIMAL.replace("db_path = \"relayer.sqlite\"", "");
        let e = Config::from_toml_str(&none).unwrap().validate().unwrap_err().to_string();
        assert!(e.contains("db_path"), "{e}");
        let bad = MINIMAL.replace("db_path = \"relayer.sqlite\"", "database = \"mysql://h/db\"");
        let e = Config::from_toml_str(&bad).unwrap().validate().unwrap_err().to_string();
        assert!(e.contains("postgres://"), "{e}");
    }

    #[test]
    fn example_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("relayer.example.toml");
        let c = Config::from_file(&path).unwrap();
        assert!(c.is_ws());
        assert_eq!(c.models[0].dir, path.parent().unwrap().join("build/spread_mlp"));
        let e = Config::from_file(Path::new("/nonexistent/relayer.toml")).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/relayer.toml"), "{e}");
    }

    /// Issue #14: a relayer.toml cut just before `[[models]]` is refused (it would skip every request).
    #[test]
    fn a_config_serving_no_model_is_refused_naming_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relayer.toml");
        let cut = MINIMAL.split("[[models]]").next().unwrap();
        std::fs::write(&path, cut).unwrap();
        let e = Config::from_file(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()) && e.contains("models"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }

    #[test]
    fn prove_api_needs_a_token_and_its_own_listener() {
        let with = |extra: &str| {
            let c =
                Config::from_toml_str(&format!("{MINIMAL}\n[prove_api]\nenabled = true\n{extra}")).unwrap();
            c.validate().map_err(|e| e.to_string())
        };
        assert!(with("").unwrap_err().contains("token"));
        assert!(with("token = \"short\"").unwrap_err().contains("at least"));
        assert!(with("token_env = \"ZKORACLE_UNSET_TOKEN_VAR\"")
            .unwrap_err()
            .contains("ZKORACLE_UNSET_TOKEN_VAR"));
        with("token = \"0123456789abcdef\"").unwrap();
        let same = with("token = \"0123456789abcdef\"\nlisten = \"127.0.0.1:9464\"");
        assert!(same.unwrap_err().contains("differ"));
        let c = Config::from_toml_str(&format!("{MINIMAL}\n[prove_api]\ntoken = \"SECRETTOKEN12345678\""))
            .unwrap();
        assert!(!format!("{c:?}").contains("SECRETTOKEN"));
        assert!(!Config::from_toml_str(MINIMAL).unwrap().prove_api.enabled, "off by default");
    }

    #[test]
    fn redacts_every_url_in_a_message() {
        let m = "error sending request for url (https://u:p@rpc.example/v2/KEY?x=1): connection refused";
        let r = redact_urls(m);
        assert_eq!(r, "error sending request for url (https://rpc.example/…): connection refused");
    }

    #[test]
    fn debug_redacts_url_secrets() {
        let c = Config::from_toml_str(
            &MINIMAL.replace("http://127.0.0.1:8545", "https://user:pw@rpc.example/v2/SECRETKEY"),
        )
        .unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains("SECRETKEY") && !s.contains("pw@"), "{s}");
        assert!(s.contains("rpc.example"));
    }
}
