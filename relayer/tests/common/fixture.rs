//! The real model for the end-to-end tests: `models/spread_mlp.onnx` compiled, set up (development SRS) and
//! given its generated Solidity verifier, once per test process; proofs come from
//! `zkoracle_prover::ProvingModel` and are checked on-chain by that verifier through the oracle.

use super::{deploy, repo_root, Chain};
use alloy::primitives::{Address, B256, I256, U256};
use std::{
    path::PathBuf,
    sync::{mpsc, Arc, Mutex, OnceLock},
    time::Duration,
};
use zkoracle_relayer::{IInferenceOracle, Models, Proof, Prover};

/// A compiled model directory plus its verifier's creation code.
pub struct Built {
    pub dir: PathBuf,
    pub verifier_code: Vec<u8>,
    pub vk_digest: B256,
    /// Input and output scales, as registered.
    pub scales: (u8, u8),
    pub model: Arc<zkoracle_prover::ProvingModel>,
}

/// Builds spread_mlp once per process (compile, setup, verifier codegen + solc): about 3 s.
pub fn spread() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("relayer-spread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let models = repo_root().join("models");
        let settings = zkoracle_prover::compile(
            &models.join("spread_mlp.onnx"),
            &models.join("spread_mlp.input.json"),
            &zkoracle_prover::CompileOptions::default(),
        )
        .unwrap();
        settings.write(&dir.join("circuit.json")).unwrap();
        let report = zkoracle_prover::setup(&dir, &zkoracle_prover::SrsSource::dev()).unwrap();
        let (settings, params) = zkoracle_prover::load_settings_and_srs(&dir).unwrap();
        let vk = zkoracle_prover::read_vk(&dir.join(zkoracle_prover::files::VK), &settings).unwrap();
        let solc = repo_root().join("tools/solc");
        let (_, compiled) =
            zkoracle_codegen::build_verifier(&params, &vk, settings.num_instances, &solc).unwrap();
        assert!(compiled.vk_contract.is_none(), "spread_mlp's verifier embeds its key");
        let model = Arc::new(zkoracle_prover::ProvingModel::load(&dir).unwrap());
        Built {
            dir,
            verifier_code: compiled.creation_bytecode.to_vec(),
            vk_digest: report.vk_digest,
            scales: (settings.scale, settings.output_scale),
            model,
        }
    })
}

/// The real prover with extra latency, to hold a request in `proving` long enough to act mid-proof, and
/// optionally a gate that holds every proof whose first input is [`Wrapped::HOLD`] until the test releases it.
pub struct Wrapped {
    inner: Arc<zkoracle_prover::ProvingModel>,
    delay: Duration,
    gate: Option<Gate>,
    /// Proofs still to fail with a transient I/O error before the real prover runs.
    failures: std::sync::atomic::AtomicUsize,
}

/// The prover's ends of a gate.
struct Gate {
    started: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

/// The test's ends of a gate: a message on `started` per held proof; one `release` send lets one go.
pub struct GateHandle {
    pub started: mpsc::Receiver<()>,
    pub release: mpsc::Sender<()>,
}

impl Wrapped {
    /// First input value of a held proof.
    pub const HOLD: i64 = 4242;

    pub fn slow(inner: Arc<zkoracle_prover::ProvingModel>, delay: Duration) -> Self {
        Self { inner, delay, gate: None, failures: 0.into() }
    }

    /// The real prover behind `failures` transient failures (an I/O error, as a proving key being replaced
    /// on disk would give): the relayer must retry them, not fail the request.
    pub fn flaky(inner: Arc<zkoracle_prover::ProvingModel>, failures: usize) -> Self {
        Self { inner, delay: Duration::ZERO, gate: None, failures: failures.into() }
    }

    /// Transient failures not yet served.
    pub fn failures_left(&self) -> usize {
        self.failures.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn gated(inner: Arc<zkoracle_prover::ProvingModel>) -> (Self, GateHandle) {
        let (started_tx, started) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        let gate = Some(Gate { started: Mutex::new(started_tx), release: Mutex::new(release_rx) });
        (Self { inner, delay: Duration::ZERO, gate, failures: 0.into() }, GateHandle { started, release })
    }
}

use std::sync::atomic::Ordering::SeqCst;

impl Prover for Wrapped {
    fn input_len(&self) -> usize {
        Prover::input_len(self.inner.as_ref())
    }
    fn output_len(&self) -> usize {
        Prover::output_len(self.inner.as_ref())
    }
    fn max_abs_input(&self) -> i64 {
        Prover::max_abs_input(self.inner.as_ref())
    }
    fn prove_quantized(&self, input: &[i64], fulfiller: Address) -> Result<Proof, zkoracle_prover::Error> {
        std::thread::sleep(self.delay);
        let fail = self.failures.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok();
        if fail {
            let injected = std::io::Error::new(std::io::ErrorKind::Interrupted, "injected transient failure");
            return Err(zkoracle_prover::Error::io("pk.bin", injected));
        }
        if let Some(gate) = self.gate.as_ref().filter(|_| input.first() == Some(&Self::HOLD)) {
            let _ = gate.started.lock().unwrap().send(());
            let _ = gate.release.lock().unwrap().recv();
        }
        Prover::prove_quantized(self.inner.as_ref(), input, fulfiller)
    }
    fn scales(&self) -> Option<(u8, u8)> {
        Prover::scales(self.inner.as_ref())
    }
    fn vk_digest(&self) -> Option<B256> {
        Prover::vk_digest(self.inner.as_ref())
    }
}

/// The model's fee in the fixtures: 0.1 ETH, far above what a fulfilment costs on anvil, so the
/// relayer's default profitability policy serves every fixture request.
pub const FEE: u128 = 100_000_000_000_000_000;

/// Deploys spread_mlp's verifier, registers the model and returns `(model_id, models served by the relayer)`.
/// `delay` adds latency to every proof.
pub async fn spread_model(chain: &Chain, delay: Duration) -> (U256, Models) {
    let id = register_spread(chain, U256::from(FEE)).await;
    let built = spread();
    let prover: Arc<dyn Prover> = if delay.is_zero() {
        built.model.clone()
    } else {
        Arc::new(Wrapped::slow(built.model.clone(), delay))
    };
    (id, Models::from_provers([(id, prover)]))
}

/// Registers spread_mlp (a fresh verifier deployment) with `fee`; returns the model id.
pub async fn register_spread(chain: &Chain, fee: U256) -> U256 {
    register_spread_with(chain, |p| p.fee = fee).await
}

/// Registers spread_mlp (a fresh verifier deployment) with its parameters changed by `edit`.
pub async fn register_spread_with(
    chain: &Chain,
    edit: impl FnOnce(&mut IInferenceOracle::ModelParams),
) -> U256 {
    let built = tokio::task::spawn_blocking(spread).await.unwrap();
    let verifier = deploy(&chain.owner, built.verifier_code.clone()).await;
    let m = built.model.as_ref();
    let mut params = params(
        verifier,
        built.vk_digest,
        (Prover::input_len(m), Prover::output_len(m)),
        built.scales,
        Prover::max_abs_input(m),
    );
    edit(&mut params);
    chain.register(params).await
}

/// A valid quantized input for spread_mlp, varied by `i`.
pub fn input(i: i64) -> Vec<i64> {
    let max = Prover::max_abs_input(spread().model.as_ref());
    (0..8).map(|j| ((i * 37 + j * 53) % (2 * max + 1)) - max).collect()
}

fn params(
    verifier: Address,
    vk_digest: B256,
    (inl, outl): (usize, usize),
    (input_scale, output_scale): (u8, u8),
    max_abs: i64,
) -> IInferenceOracle::ModelParams {
    IInferenceOracle::ModelParams {
        verifier,
        vkDigest: vk_digest,
        weightsCommitment: vec![],
        inputLen: inl as u32,
        outputLen: outl as u32,
        inputScale: input_scale,
        outputScale: output_scale,
        maxAbsInput: I256::try_from(max_abs).unwrap(),
        fee: U256::from(FEE),
        verifierGasLimit: 2_000_000,
    }
}
