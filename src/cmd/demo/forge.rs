//! Running the repository's forge deployment scripts (`script/NN_*.s.sol`) against the demo chain, and
//! the address book they write (`deployments/<chainid>.json`).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use alloy::primitives::{Address, U256};
use eyre::{bail, eyre, WrapErr};
use serde_json::Value;

/// Every environment variable `script/*.s.sol` reads.
const SCRIPT_ENV: &[&str] = &[
    "PRIVATE_KEY",
    "ORACLE_OWNER",
    "REQUEST_TIMEOUT",
    "MAX_CALLBACK_GAS_LIMIT",
    "VERIFIER_BYTECODE",
    "VERIFIER_BYTECODE_HEX",
    "VERIFIER_NAME",
    "ORACLE",
    "VERIFIER",
    "INPUT_LEN",
    "OUTPUT_LEN",
    "INPUT_SCALE",
    "OUTPUT_SCALE",
    "MAX_ABS_INPUT",
    "FEE",
    "VERIFIER_GAS_LIMIT",
    "VK_DIGEST",
    "WEIGHTS_COMMITMENT",
    "MODEL_NAME",
    "SPREAD_MODEL_ID",
    "RISK_MODEL_ID",
    "INITIAL_LIQUIDITY",
    "KEEPER",
    "POOL_MANAGER",
    "SPREAD_VERIFIER",
    "SPREAD_VERIFIER_CODEHASH",
    "SPREAD_VK_DIGEST",
    "SPREAD_WEIGHTS_COMMITMENT",
    "RISK_VERIFIER",
    "RISK_VERIFIER_CODEHASH",
    "RISK_VK_DIGEST",
    "RISK_WEIGHTS_COMMITMENT",
];

/// The forge binary and what every script run needs.
#[derive(Debug)]
pub(crate) struct Forge {
    /// `node_modules/.bin/forge`.
    pub(crate) bin: PathBuf,
    /// The repository root (the Foundry project).
    pub(crate) root: PathBuf,
    /// The chain's JSON-RPC URL.
    pub(crate) rpc_url: String,
    /// The deployer's key as 0x hex; passed to forge through the environment only.
    pub(crate) private_key: String,
}

impl Forge {
    /// `forge build`: compiles the contracts once, so the scripts after it only read artifacts.
    pub(crate) async fn build(&self) -> eyre::Result<()> {
        let mut cmd = self.command();
        cmd.arg("build");
        run(cmd, "forge build").await
    }

    /// `forge script script/<name> --rpc-url <rpc> --broadcast` with `env` (plus `PRIVATE_KEY`).
    pub(crate) async fn script(&self, name: &str, env: &[(&str, String)]) -> eyre::Result<()> {
        let path = Path::new("script").join(name);
        if !self.root.join(&path).is_file() {
            bail!("{} is missing from {}", path.display(), self.root.display());
        }
        let mut cmd = self.command();
        cmd.arg("script").arg(&path).args(["--rpc-url", &self.rpc_url, "--broadcast", "--slow"]);
        cmd.env("PRIVATE_KEY", &self.private_key);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd, &format!("forge script {}", path.display())).await
    }

    fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bin);
        // Only what the demo sets may steer the scripts: drop every setting they read from the environment.
        for var in SCRIPT_ENV {
            cmd.env_remove(var);
        }
        cmd.current_dir(&self.root)
            .env("FOUNDRY_DISABLE_NIGHTLY_WARNING", "1")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }
}

/// Runs `cmd`, returning its combined output's tail in the error when it fails.
async fn run(mut cmd: tokio::process::Command, what: &str) -> eyre::Result<()> {
    let out = cmd.output().await.wrap_err_with(|| format!("starting {what}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(15)..].join("\n");
    bail!("{what} failed ({}):\n{tail}", out.status)
}

/// `deployments/<chainid>.json` under the repository: read after the scripts, removed (with the scripts'
/// `broadcast/` and `cache/` records for the chain) when dropped, so the demo leaves the checkout clean.
#[derive(Debug)]
pub(crate) struct AddressBook {
    root: PathBuf,
    chain_id: u64,
    /// The marker naming a book this demo created, in the work directory.
    marker: PathBuf,
}

impl AddressBook {
    /// Claims `deployments/<chain_id>.json`. An existing book is refused unless `marker` says an earlier,
    /// interrupted demo created it.
    pub(crate) fn claim(root: &Path, chain_id: u64, marker: PathBuf) -> eyre::Result<Self> {
        let book = Self { root: root.to_path_buf(), chain_id, marker };
        let path = book.path();
        if path.exists() {
            let ours = std::fs::read_to_string(&book.marker).is_ok_and(|m| Path::new(m.trim()) == path);
            if !ours {
                bail!(
                    "{} already exists and was not written by the demo; pass another --chain-id \
                     (or move that file away)",
                    path.display()
                );
            }
            std::fs::remove_file(&path).wrap_err_with(|| format!("removing stale {}", path.display()))?;
        }
        std::fs::write(&book.marker, path.display().to_string())
            .wrap_err_with(|| format!("writing {}", book.marker.display()))?;
        Ok(book)
    }

    /// The book's path.
    pub(crate) fn path(&self) -> PathBuf {
        self.root.join("deployments").join(format!("{}.json", self.chain_id))
    }

    /// The book's current content.
    pub(crate) fn read(&self) -> eyre::Result<Book> {
        let path = self.path();
        let text = std::fs::read_to_string(&path).wrap_err_with(|| format!("reading {}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).wrap_err_with(|| format!("parsing {}", path.display()))?;
        Ok(Book(json))
    }
}

impl Drop for AddressBook {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.path());
        let id = self.chain_id.to_string();
        for dir in ["broadcast", "cache"] {
            let Ok(scripts) = std::fs::read_dir(self.root.join(dir)) else { continue };
            for script in scripts.flatten() {
                let chain_dir = script.path().join(&id);
                if chain_dir.is_dir() {
                    let _ = std::fs::remove_dir_all(chain_dir);
                }
            }
        }
        let _ = std::fs::remove_file(&self.marker);
    }
}

/// A parsed address book.
#[derive(Debug, Clone)]
pub(crate) struct Book(pub(crate) Value);

impl Book {
    /// The address recorded under `key`.
    pub(crate) fn address(&self, key: &str) -> eyre::Result<Address> {
        let s = self
            .0
            .get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| eyre!("the address book has no `{key}`"))?;
        s.parse().map_err(|e| eyre!("address book `{key}` = {s}: {e}"))
    }

    /// The number recorded under `key` (a JSON number or a decimal string).
    pub(crate) fn uint(&self, key: &str) -> eyre::Result<U256> {
        match self.0.get(key) {
            Some(Value::Number(n)) => {
                n.as_u64().map(U256::from).ok_or_else(|| eyre!("address book `{key}` = {n}"))
            }
            Some(Value::String(s)) => s.parse().map_err(|e| eyre!("address book `{key}` = {s}: {e}")),
            _ => Err(eyre!("the address book has no `{key}`")),
        }
    }
}
