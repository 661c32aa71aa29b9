//! Atomic file writes for the prover's artifacts: [`zkoracle_fs_util::write_atomic`] (temporary file, sync,
//! rename, directory sync) with the crate's error type.

use std::path::Path;

use crate::{Error, Result};

/// Writes `bytes` to `path` atomically and durably ([`zkoracle_fs_util::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    zkoracle_fs_util::write_atomic(path, bytes).map_err(|e| Error::io(path, e))
}
