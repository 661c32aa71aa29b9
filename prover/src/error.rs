//! The prover's error type.

use std::path::PathBuf;

/// Everything that can go wrong between an ONNX file and a verified proof.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The ONNX file could not be parsed or run by tract.
    #[error("{path}: not a valid ONNX model: {message}")]
    Onnx {
        /// The model file.
        path: PathBuf,
        /// What tract reported.
        message: String,
    },
    /// The model uses an operator zkoracle cannot lower to a circuit.
    #[error("unsupported ONNX op `{op}` in node `{node}`")]
    UnsupportedOp {
        /// The ONNX op type.
        op: String,
        /// The node's name (or its first output when unnamed).
        node: String,
    },
    /// An op is supported, but not with these attributes or inputs.
    #[error("ONNX node `{node}` ({op}): {reason}")]
    InvalidNode {
        /// The ONNX op type.
        op: String,
        /// The node's name.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// A JSON file (input, circuit.json, proof.json) is malformed.
    #[error("{path}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model cannot be proved as given: a graph the lowering cannot read (no graph, an input without a
    /// shape, an output never produced), or no calibration candidate.
    #[error("invalid model: {0}")]
    InvalidModel(String),
    /// The input data does not fit the model (count, finiteness), or the private weights do not fit it.
    #[error("input: {0}")]
    InvalidInput(String),
    /// A command-line option contradicts the model or another option (`--like` with another `--params`).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// The circuit would exceed `--max-k`: refused before it is built.
    #[error(
        "model too large: {what} need k = {k} ({rows} rows), above --max-k {max_k} (estimated proving memory \
         {} MiB at k = {k}); raise --max-k on a machine with more memory",
        ((1u64 << (*k).min(40)) * crate::compile::BYTES_PER_ROW) >> 20
    )]
    TooLarge {
        /// What sets the size.
        what: &'static str,
        /// The k it needs.
        k: u32,
        /// The rows it needs.
        rows: u64,
        /// The limit.
        max_k: u32,
    },
    /// A value left the range the circuit was calibrated for.
    #[error("value out of calibrated range: {0}")]
    OutOfRange(String),
    /// A key, SRS or artifact file is corrupt or belongs to something else.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The SRS is too small for the circuit.
    #[error("{path}: SRS has k = {have}, the circuit needs k = {need}")]
    SrsTooSmall {
        /// The SRS file.
        path: PathBuf,
        /// Its k.
        have: u32,
        /// The circuit's k.
        need: u32,
    },
    /// halo2 could not serialize the proving key into memory.
    #[error("proving key serialization: {0}")]
    KeySerialization(#[source] std::io::Error),
    /// The proving key halo2 wrote disagrees with what zkoracle recomputes on load (the key is not written).
    #[error("proving key: {0}")]
    KeyMismatch(String),
    /// halo2 failed to synthesize, key or prove the circuit.
    #[error("halo2: {0}")]
    Halo2(#[from] halo2_proofs::plonk::Error),
    /// The proof did not verify.
    #[error("proof verification failed: {0}")]
    Verification(String),
    /// The proof verified, but commits to other weights than the owner's `weights.json`.
    #[error("proof verification failed: the proof commits to other weights than {} ({ours})", path.display())]
    OtherWeights {
        /// The owner's weights file.
        path: PathBuf,
        /// The commitment those weights give.
        ours: String,
    },
    /// A field of `proof.json` that a reader reads disagrees with what the proof verified.
    #[error("proof.json field `{field}` does not match the verified proof: {reason}")]
    BundleField {
        /// The field (with an index where it is an array).
        field: String,
        /// What differs.
        reason: String,
    },
}

/// The prover's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    /// A corrupt-file error on `path`.
    pub fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Corrupt { path: path.into(), message: message.into() }
    }

    /// A JSON error on `path`.
    pub fn json(path: impl Into<PathBuf>, message: impl ToString) -> Self {
        Self::Json { path: path.into(), message: message.to_string() }
    }

    /// Whether the failure may pass on a retry of the same work: an I/O error (a file being replaced, an
    /// interrupted read, a full disk) rather than something about the model, the input or the keys.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Io { .. })
    }
}
