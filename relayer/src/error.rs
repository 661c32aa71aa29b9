//! The relayer's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the relayer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read config {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML for [`crate::Config`].
    #[error("invalid config {path}: {source}")]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A configuration value is invalid.
    #[error("invalid config: {0}")]
    Config(String),
    /// A configuration file holds an invalid value (the reason names the key).
    #[error("invalid config {path}: {reason}")]
    ConfigInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        reason: String,
    },
    /// A served model does not match its on-chain registration.
    #[error("model {model_id}: {reason}")]
    ModelMismatch {
        /// The model id.
        model_id: String,
        /// What differs.
        reason: String,
    },
    /// The signing key could not be loaded.
    #[error("signer: {0}")]
    Signer(String),
    /// The SQLite database failed.
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The PostgreSQL database failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool.
    #[error("postgres pool: {0}")]
    Pool(String),
    /// A database migration failed.
    #[error("database migration {version}: {reason}")]
    Migration {
        /// The migration version that failed.
        version: u32,
        /// The database's error.
        reason: String,
    },
    /// The database holds a value this version cannot read.
    #[error("database holds an invalid value: {0}")]
    Corrupt(String),
    /// The database belongs to a different chain or oracle.
    #[error("database mismatch: {0}")]
    DbMismatch(String),
    /// A JSON-RPC call failed.
    #[error("rpc: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// A contract call failed.
    #[error("contract call: {0}")]
    Contract(#[from] alloy::contract::Error),
    /// The RPC endpoint could not be reached (the message has the endpoint's URL redacted).
    #[error("rpc transport: {0}")]
    Transport(String),
    /// A JSON-RPC call did not answer in time.
    #[error("rpc call `{0}` timed out")]
    RpcTimeout(&'static str),
    /// The node is on a different chain than configured.
    #[error("chain id mismatch: config says {expected}, node says {actual}")]
    ChainId {
        /// Configured chain id.
        expected: u64,
        /// The node's chain id.
        actual: u64,
    },
    /// A model could not be loaded.
    #[error("model {model_id} from {}: {source}", dir.display())]
    ModelLoad {
        /// The model id.
        model_id: String,
        /// The model directory.
        dir: PathBuf,
        /// The prover's error.
        #[source]
        source: zkoracle_prover::Error,
    },
    /// A request names a model this relayer does not serve.
    #[error("model {0} is not served by this relayer")]
    NotServed(alloy::primitives::U256),
    /// Proving failed.
    #[error("proving failed: {0}")]
    Prove(#[source] zkoracle_prover::Error),
    /// The prover returned no output or no proof.
    #[error("proving failed: the prover returned an empty output or proof")]
    EmptyProof,
    /// Signing a transaction failed.
    #[error("signing: {0}")]
    Sign(String),
    /// The HTTP server failed.
    #[error("http server on {addr}: {source}")]
    Http {
        /// Listen address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A background task panicked or was cancelled.
    #[error("task failed: {0}")]
    Task(String),
}

/// What the relayer does with a request whose proving failed, by the failure's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Transient (an I/O error, a proving task that died): prove again after a backoff.
    Retry,
    /// The request cannot be proved by this relayer's model as asked (its input does not fit, the model is not
    /// served): skipped, as the dispatcher's checks skip.
    Skip,
    /// Permanent: the model or its keys cannot prove this request; marked `failed`.
    Fail,
}

impl Error {
    /// How a proving failure is handled ([`Disposition`]).
    pub fn disposition(&self) -> Disposition {
        use zkoracle_prover::Error as P;
        match self {
            Self::Task(_) => Disposition::Retry,
            Self::Prove(e) if e.is_transient() => Disposition::Retry,
            Self::Prove(P::InvalidInput(_) | P::OutOfRange(_)) | Self::NotServed(_) => Disposition::Skip,
            _ => Disposition::Fail,
        }
    }

    /// Whether the shared state itself failed (SQLite or PostgreSQL): tasks stop on such errors instead of
    /// retrying around them.
    pub fn is_db(&self) -> bool {
        matches!(self, Self::Db(_) | Self::Postgres(_) | Self::Pool(_))
    }
}

/// The relayer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
