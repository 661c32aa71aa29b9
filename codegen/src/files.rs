//! Writing the verifier source and its compiled artifact (atomically: temp file, then rename).

use crate::{CompiledVerifier, Error, Result, VerifierSource};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Writes `source` to `out_sol` and, when `compiled` is given, `<stem>.json` next to it with the
/// ABI, creation and runtime bytecode, the runtime size (and the key contract when separate).
/// Returns the paths written. Each file is written to a temporary file in the same directory and
/// renamed, so a failure never leaves a half-written file behind.
pub fn write_verifier_files(
    out_sol: &Path,
    source: &VerifierSource,
    compiled: Option<&CompiledVerifier>,
) -> Result<Vec<PathBuf>> {
    let mut written = vec![];
    let json_path = match compiled {
        Some(_) => {
            let stem = out_sol
                .file_stem()
                .ok_or_else(|| Error::InvalidInput(format!("{} has no file name", out_sol.display())))?;
            Some(out_sol.with_file_name(format!("{}.json", stem.to_string_lossy())))
        }
        None => None,
    };
    let artifact = compiled.map(|c| {
        json!({
            "contract": VerifierSource::VERIFIER_CONTRACT,
            "placement": source.placement,
            "numInstances": source.num_instances,
            "proofLen": source.proof_len,
            "solcVersion": c.solc_version,
            "abi": c.abi,
            "bytecode": c.creation_bytecode,
            "deployedBytecode": c.runtime_bytecode,
            "runtimeSize": c.runtime_bytecode.len(),
            "vkContract": c.vk_contract.as_ref().map(|vk| json!({
                "contract": vk.name,
                "bytecode": vk.creation_bytecode,
                "deployedBytecode": vk.runtime_bytecode,
                "runtimeSize": vk.runtime_bytecode.len(),
                "codeHash": source.vk_code_hash.map(|h| format!("0x{}", hex::encode(h))),
            })),
        })
    });
    write_atomic(out_sol, source.solidity.as_bytes())?;
    written.push(out_sol.to_path_buf());
    if let (Some(path), Some(artifact)) = (json_path, artifact) {
        let mut text = serde_json::to_string_pretty(&artifact)?;
        text.push('\n');
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `bytes` to `path` atomically and durably ([`zkoracle_fs_util::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    zkoracle_fs_util::write_atomic(path, bytes).map_err(|source| Error::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    })
}
