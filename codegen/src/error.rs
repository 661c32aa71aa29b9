//! Errors of the verifier generator.

use std::path::PathBuf;

/// Everything that can go wrong while generating, compiling or writing a verifier.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The verifying key uses a feature the generator does not support.
    #[error("unsupported verifying key: {0}")]
    Unsupported(String),
    /// The KZG parameters do not match the verifying key.
    #[error("KZG parameters do not match the verifying key: {0}")]
    ParamsMismatch(String),
    /// The request itself is invalid (for example zero instances).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The Solidity compiler could not be started or returned unreadable output.
    #[error("solc at {path} failed: {source}")]
    Solc {
        /// The compiler that was invoked.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: Box<foundry_compilers::error::SolcError>,
    },
    /// The Solidity compiler reported errors.
    #[error("solc reported errors:\n{0}")]
    Compilation(String),
    /// The compiled runtime code exceeds the EIP-170 limit of 24,576 bytes.
    #[error(
        "{contract} runtime code is {size} bytes, over the EIP-170 limit of 24,576 bytes; \
         generate with VkPlacement::Separate"
    )]
    CodeTooLarge {
        /// The contract that is too large.
        contract: String,
        /// Its runtime size in bytes.
        size: usize,
    },
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// JSON (de)serialisation failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
