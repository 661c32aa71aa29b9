//! Locating the repository's pinned chain toolchain: the solc shim (`tools/solc`) and forge / anvil
//! (`node_modules/.bin`, installed by `npm ci`).

use std::path::{Path, PathBuf};

use eyre::{bail, eyre};

/// The solc shim, relative to the repository root.
pub(crate) const SOLC_SHIM: &str = "tools/solc";
/// The npm-installed binaries, relative to the repository root.
pub(crate) const NODE_BIN: &str = "node_modules/.bin";

/// Whether `dir` looks like a zkoracle checkout (a Foundry project with the solc shim).
fn is_repo_root(dir: &Path) -> bool {
    dir.join("foundry.toml").is_file() && dir.join(SOLC_SHIM).is_file()
}

/// The repository root: the first ancestor of the working directory, then of this executable
/// (`target/<profile>/zkoracle`), that holds `foundry.toml` and `tools/solc`.
pub(crate) fn find_repo_root() -> Option<PathBuf> {
    let from_cwd = std::env::current_dir().ok();
    let from_exe = std::env::current_exe().ok().and_then(|p| p.canonicalize().ok());
    [from_cwd, from_exe]
        .into_iter()
        .flatten()
        .find_map(|start| start.ancestors().find(|d| is_repo_root(d)).map(Path::to_path_buf))
}

/// The solc to compile verifiers with: `explicit` (from `--solc` or `ZKORACLE_SOLC`), else `tools/solc`
/// under the working directory, else under the repository that contains this executable.
pub(crate) fn solc_path(explicit: Option<&Path>) -> eyre::Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.is_file() {
            bail!("solc {} does not exist (from --solc or ZKORACLE_SOLC)", p.display());
        }
        return Ok(p.to_path_buf());
    }
    let local = Path::new(SOLC_SHIM);
    if local.is_file() {
        return Ok(local.to_path_buf());
    }
    find_repo_root().map(|root| root.join(SOLC_SHIM)).ok_or_else(|| {
        eyre!(
            "cannot find the solc shim `{SOLC_SHIM}` in the working directory or above this executable; \
             pass --solc <path> or set ZKORACLE_SOLC"
        )
    })
}

/// `node_modules/.bin/<name>` under `root`, or a clear error telling the user to run `npm ci`.
pub(crate) fn node_tool(root: &Path, name: &str) -> eyre::Result<PathBuf> {
    let path = root.join(NODE_BIN).join(name);
    if !path.is_file() {
        bail!(
            "{} not found: install the pinned toolchain with `npm ci` (or `make toolchain`) in {}",
            path.display(),
            root.display()
        );
    }
    Ok(path)
}
