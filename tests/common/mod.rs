//! Shared harness of the `zkoracle` integration tests: the built CLI, a throw-away anvil chain, the forge
//! deployment scripts, and model directories prepared with `zkoracle compile / setup / verifier`.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use serde_json::Value;

/// The repository root (the `zkoracle` package's manifest directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `node_modules/.bin/<name>`.
pub fn node_tool(name: &str) -> PathBuf {
    let p = root().join("node_modules/.bin").join(name);
    assert!(p.is_file(), "{} is missing: run `npm ci` first", p.display());
    p
}

/// A fresh directory under cargo's per-test-target tmp dir (inside the repository, so forge may read it).
pub fn work_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(prefix).tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// Serializes the tests that run forge (it shares `out/` and `cache/`) across threads and processes.
pub fn chain_lock() -> File {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zkoracle-chain-tests.lock");
    let f = File::create(path).unwrap();
    f.lock().unwrap();
    f
}

/// A chain id no other test run uses at the same time (the scripts write `deployments/<id>.json`).
pub fn unique_chain_id() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    4_000_000 + u64::from(std::process::id() % 1000) * 1000 + u64::from(nanos % 1000)
}

/// The `zkoracle` binary, run in the repository root.
pub fn zkoracle() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkoracle"));
    c.current_dir(root()).env_remove("ZKORACLE_SOLC").env("NO_COLOR", "1");
    c
}

/// Runs `cmd` with a deadline, killing it when it overruns.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "command overran {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `zkoracle <args>` and returns its stdout; panics with both streams when it fails.
pub fn run_ok(args: &[&str]) -> String {
    let mut cmd = zkoracle();
    cmd.args(args);
    let out = output_within(cmd, Duration::from_secs(300));
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "zkoracle {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    stdout.into_owned()
}

/// Runs `zkoracle <args>`, expects exit code 1, and returns stderr.
pub fn run_err(args: &[&str]) -> String {
    let mut cmd = zkoracle();
    cmd.args(args);
    let out = output_within(cmd, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "zkoracle {args:?}: expected exit 1\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "zkoracle {args:?} panicked:\n{stderr}");
    stderr
}

/// A model directory made with the CLI: `compile`, `setup`, `verifier --compile`.
#[derive(Debug)]
pub struct ModelDir {
    pub name: String,
    pub dir: PathBuf,
    pub circuit: Value,
    pub vk_digest: String,
}

impl ModelDir {
    /// Compiles, sets up and generates the compiled verifier of `models/<name>.onnx` into `<work>/<name>`.
    pub fn prepare(work: &Path, name: &str) -> Self {
        Self::prepare_with(work, name, name, &[])
    }

    /// Like [`ModelDir::prepare`] for `models/<model>.onnx` into `<work>/<name>`, with extra `compile` flags.
    pub fn prepare_with(work: &Path, name: &str, model: &str, compile_flags: &[&str]) -> Self {
        let dir = work.join(name);
        let onnx = root().join(format!("models/{model}.onnx"));
        let data = root().join(format!("models/{model}.input.json"));
        let d = dir.to_str().unwrap();
        let mut compile = vec!["compile", onnx.to_str().unwrap(), "--data", data.to_str().unwrap(), "-o", d];
        compile.extend_from_slice(compile_flags);
        run_ok(&compile);
        let setup = run_ok(&["setup", d]);
        let vk_digest = setup
            .lines()
            .find_map(|l| l.strip_prefix("vk_digest "))
            .unwrap_or_else(|| panic!("no vk_digest in `zkoracle setup` output:\n{setup}"))
            .trim()
            .to_string();
        let sol = dir.join("Verifier.sol");
        let out = run_ok(&["verifier", d, "-o", sol.to_str().unwrap(), "--compile"]);
        assert!(out.contains("runtime size"), "{out}");
        let circuit = serde_json::from_slice(&std::fs::read(dir.join("circuit.json")).unwrap()).unwrap();
        Self { name: model.into(), dir, circuit, vk_digest }
    }

    /// The weights commitment of a `--params private` or `hashed` model (`zkoracle commit`), if it has one: its
    /// words, comma-separated, as `script/03_RegisterModel.s.sol` reads `WEIGHTS_COMMITMENT`.
    pub fn weights_commitment(&self) -> Option<String> {
        matches!(self.circuit["params_visibility"].as_str(), Some("private" | "hashed"))
            .then(|| run_ok(&["commit", self.dir.to_str().unwrap()]).trim().to_string())
    }

    pub fn scale(&self) -> u8 {
        self.circuit["scale"].as_u64().unwrap() as u8
    }

    pub fn output_scale(&self) -> u8 {
        self.circuit["output_scale"].as_u64().unwrap() as u8
    }

    pub fn max_abs_input(&self) -> i64 {
        self.circuit["max_abs_input"].as_i64().unwrap()
    }

    pub fn input_len(&self) -> usize {
        self.circuit["graph"]["num_inputs"].as_u64().unwrap() as usize
    }

    pub fn output_len(&self) -> usize {
        self.circuit["graph"]["outputs"].as_array().unwrap().len()
    }

    /// The bundled sample input, quantized at the model's scale.
    pub fn sample_input(&self) -> Vec<i64> {
        let path = root().join(format!("models/{}.input.json", self.name));
        let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let scale = f64::powi(2.0, i32::from(self.scale()));
        v["input_data"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x.as_f64().unwrap() * scale).round() as i64)
            .collect()
    }

    /// `zkoracle prove` on the sample input: the quantized outputs the relayer must post.
    pub fn expected_outputs(&self) -> Vec<i64> {
        let data = root().join(format!("models/{}.input.json", self.name));
        let proof = self.dir.join("expected-proof.json");
        run_ok(&[
            "prove",
            self.dir.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "-o",
            proof.to_str().unwrap(),
        ]);
        let v: Value = serde_json::from_slice(&std::fs::read(proof).unwrap()).unwrap();
        v["outputs_quantized"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
    }

    /// The compiled verifier's creation code as 0x hex.
    pub fn verifier_bytecode(&self) -> String {
        std::fs::read_to_string(self.dir.join("Verifier.bytecode")).unwrap().trim().to_string()
    }
}

/// Settings the scripts read from the environment: only what a test passes may reach them.
const SCRIPT_ENV: &[&str] = &[
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
];

/// The environment variable the test relayers read their signing key from.
pub const RELAYER_KEY_ENV: &str = "ZKORACLE_TEST_RELAYER_KEY";

/// Writes a `relayer.toml` serving `models` (`(id, dir)`) next to `work`.
pub fn relayer_config(
    work: &Path,
    chain: &TestChain,
    oracle: &str,
    start_block: u64,
    models: &[(u64, &Path)],
) -> std::path::PathBuf {
    let mut text = format!(
        "rpc_url = \"{}\"\noracle = \"{oracle}\"\nchain_id = {}\nstart_block = {start_block}\nconfirmations = 1\n\
         poll_interval_ms = 200\ndb_path = \"relayer.sqlite\"\nworkers = 1\n\n[signer]\nprivate_key_env = \
         \"{RELAYER_KEY_ENV}\"\n\n[http]\nenabled = false\n",
        chain.rpc(),
        chain.chain_id
    );
    for (id, dir) in models {
        text.push_str(&format!("\n[[models]]\nmodel_id = {id}\ndir = \"{}\"\n", dir.display()));
    }
    let path = work.join("relayer.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A throw-away anvil chain with the scripts' address book, removed (with forge's records) on drop.
pub struct TestChain {
    pub anvil: AnvilInstance,
    pub chain_id: u64,
}

impl TestChain {
    pub fn start() -> Self {
        let chain_id = unique_chain_id();
        let anvil = Anvil::at(node_tool("anvil"))
            .host("127.0.0.1")
            .chain_id(chain_id)
            .block_time(1)
            .arg("--mixed-mining")
            .try_spawn()
            .unwrap();
        Self { anvil, chain_id }
    }

    pub fn rpc(&self) -> String {
        self.anvil.endpoint()
    }

    pub fn key(&self, i: usize) -> PrivateKeySigner {
        PrivateKeySigner::from(self.anvil.nth_key(i).unwrap().clone())
    }

    pub fn key_hex(&self, i: usize) -> String {
        format!("0x{}", hex::encode(self.key(i).to_bytes()))
    }

    /// A provider signing with dev account `i`.
    pub async fn provider(&self, i: usize) -> DynProvider {
        ProviderBuilder::new()
            .wallet(EthereumWallet::from(self.key(i)))
            .connect(&self.rpc())
            .await
            .unwrap()
            .erased()
    }

    pub fn book_path(&self) -> PathBuf {
        root().join(format!("deployments/{}.json", self.chain_id))
    }

    /// `forge script script/<name> --broadcast` as dev account 0, with `env`.
    pub fn script(&self, name: &str, env: &[(&str, String)]) {
        let mut cmd = Command::new(node_tool("forge"));
        for var in SCRIPT_ENV {
            cmd.env_remove(var);
        }
        cmd.current_dir(root())
            .args(["script", &format!("script/{name}"), "--rpc-url", &self.rpc(), "--broadcast"])
            .env("PRIVATE_KEY", self.key_hex(0));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = output_within(cmd, Duration::from_secs(300));
        assert!(
            out.status.success(),
            "forge script {name} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn book(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.book_path()).unwrap()).unwrap()
    }

    pub fn address(&self, key: &str) -> Address {
        self.book()[key].as_str().unwrap_or_else(|| panic!("no {key} in the book")).parse().unwrap()
    }

    pub fn uint(&self, key: &str) -> u64 {
        self.book()[key].as_u64().unwrap_or_else(|| panic!("no {key} in the book"))
    }

    /// Generates `model`'s verifier with its verifying key in a separate `Halo2VerifyingKey` contract,
    /// deploys the key contract, then the verifier with the key contract's address appended to its creation
    /// code (its constructor argument); returns the verifier, recorded as `<name>Verifier`.
    pub fn deploy_separate_verifier(&self, model: &ModelDir, name: &str) -> Address {
        let dir = model.dir.to_str().unwrap();
        let sol = model.dir.join("Separate.sol");
        let out = run_ok(&[
            "verifier",
            dir,
            "-o",
            sol.to_str().unwrap(),
            "--compile",
            "--vk-placement",
            "separate",
        ]);
        assert!(out.contains("Halo2VerifyingKey"), "{out}");
        let read = |f: &str| std::fs::read_to_string(model.dir.join(f)).unwrap().trim().to_string();
        let key_name = format!("{name}VerifyingKey");
        self.script(
            "02_DeployVerifier.s.sol",
            &[("VERIFIER_NAME", key_name.clone()), ("VERIFIER_BYTECODE_HEX", read("Separate.vk.bytecode"))],
        );
        let key = self.address(&key_name);
        let creation = format!("{}{:0>64}", read("Separate.bytecode"), hex::encode(key));
        let verifier_name = format!("{name}Verifier");
        self.script(
            "02_DeployVerifier.s.sol",
            &[("VERIFIER_NAME", verifier_name.clone()), ("VERIFIER_BYTECODE_HEX", creation)],
        );
        self.address(&verifier_name)
    }

    /// Deploys `model`'s verifier and registers it as `<name>` with a fee; returns the model id.
    pub fn register(&self, model: &ModelDir, name: &str, verifier: Option<Address>, fee_wei: u128) -> u64 {
        let verifier = match verifier {
            Some(v) => v,
            None => {
                let key = format!("{name}Verifier");
                self.script(
                    "02_DeployVerifier.s.sol",
                    &[("VERIFIER_NAME", key.clone()), ("VERIFIER_BYTECODE_HEX", model.verifier_bytecode())],
                );
                self.address(&key)
            }
        };
        self.script(
            "03_RegisterModel.s.sol",
            &[
                ("MODEL_NAME", name.to_string()),
                ("VERIFIER", verifier.to_string()),
                ("INPUT_LEN", model.input_len().to_string()),
                ("OUTPUT_LEN", model.output_len().to_string()),
                ("INPUT_SCALE", model.scale().to_string()),
                ("OUTPUT_SCALE", model.output_scale().to_string()),
                ("MAX_ABS_INPUT", model.max_abs_input().to_string()),
                ("VK_DIGEST", model.vk_digest.clone()),
                ("FEE", fee_wei.to_string()),
                ("WEIGHTS_COMMITMENT", model.weights_commitment().unwrap_or_default()),
            ],
        );
        self.uint(&format!("{name}ModelId"))
    }
}

impl Drop for TestChain {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.book_path());
        for dir in ["broadcast", "cache"] {
            if let Ok(entries) = std::fs::read_dir(root().join(dir)) {
                for e in entries.flatten() {
                    let _ = std::fs::remove_dir_all(e.path().join(self.chain_id.to_string()));
                }
            }
        }
    }
}

/// `zkoracle relay --config <path>` as a child process, killed on drop.
pub struct RelayProcess {
    pub child: Child,
    pub log: PathBuf,
}

impl RelayProcess {
    pub fn spawn(config: &Path, key_env: &str, key: &str) -> Self {
        let log = config.with_file_name("relay.log");
        let mut cmd = zkoracle();
        cmd.args(["relay", "--config", config.to_str().unwrap()])
            .env(key_env, key)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(File::create(config.with_file_name("relay.out")).unwrap())
            .stderr(File::create(&log).unwrap());
        Self { child: cmd.spawn().unwrap(), log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails with the relayer's log when it has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the relayer exited ({status}):\n{}", self.log());
        }
    }

    /// Waits until the relayer logs that it runs (its database is migrated and the models are loaded).
    pub fn wait_started(&mut self, limit: Duration) {
        let start = Instant::now();
        while !self.log().contains("relayer starting") {
            self.assert_running();
            assert!(start.elapsed() < limit, "the relayer did not start within {limit:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (at most `limit`) for the relayer to exit on its own.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(start.elapsed() < limit, "the relayer still runs after {limit:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits (10 s) for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the relayer ignored SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether something still accepts connections at `endpoint` (`http://host:port`).
pub fn is_listening(endpoint: &str) -> bool {
    let addr = endpoint.trim_start_matches("http://");
    std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(300)).is_ok()
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Block number, for relayer `start_block`.
pub async fn block_number(p: &DynProvider) -> u64 {
    p.get_block_number().await.unwrap()
}
