//! The prover boundary: a small trait over `zkoracle_prover::ProvingModel`, the loaded models, and a bounded
//! pool that runs proofs on blocking threads, off the async runtime.

use crate::{
    error::{Error, Result},
    metrics::Metrics,
    policy::BadInput,
};
use alloy::primitives::{Address, B256, I256, U256};
use std::{
    collections::BTreeMap,
    fmt,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A proof and the outputs it proves: the prover's `proof.json` (`fulfill` posts `outputs_quantized` and
/// `proof`; `POST /v1/prove` returns every field).
pub use zkoracle_prover::ProofBundle as Proof;

/// One loaded model that can prove. Implementations are CPU-heavy and blocking.
pub trait Prover: Send + Sync + 'static {
    /// Number of quantized inputs.
    fn input_len(&self) -> usize;
    /// Number of quantized outputs.
    fn output_len(&self) -> usize;
    /// Largest |input| the circuit was calibrated for.
    fn max_abs_input(&self) -> i64;
    /// Runs the model on `input` and proves it for `fulfiller`, the account that will send `fulfill`: the
    /// proof is bound to that address (its last public instance) and fails for any other sender
    /// (blocking, 0.1–5 s).
    fn prove_quantized(
        &self,
        input: &[i64],
        fulfiller: Address,
    ) -> std::result::Result<Proof, zkoracle_prover::Error>;
    /// Input and output fixed-point scales, when known (checked against the registry).
    fn scales(&self) -> Option<(u8, u8)> {
        None
    }
    /// The weights commitment's words, in the order the verifier takes them between the outputs and the
    /// fulfiller (what the registry stores as `weightsCommitment`): none for weights fixed in the verifying key,
    /// the Poseidon hash for `--params hashed`, four limbs per committed column for `--params private`.
    fn weights_commitment_words(&self) -> Vec<U256> {
        Vec::new()
    }
    /// The digest of the verifying key (what the registry stores as `vkDigest`), when known.
    fn vk_digest(&self) -> Option<B256> {
        None
    }
}

/// Loads a model directory (made by `zkoracle compile` + `zkoracle setup`) into a [`Prover`].
pub trait ModelLoader: Send + Sync {
    /// Loads `dir`; called once per configured model, on a blocking thread.
    fn load(&self, dir: &Path) -> std::result::Result<Arc<dyn Prover>, zkoracle_prover::Error>;
}

/// The models this relayer serves, keyed by on-chain model id.
#[derive(Clone, Default)]
pub struct Models {
    map: BTreeMap<U256, Arc<dyn Prover>>,
}

impl fmt::Debug for Models {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Models {
    /// Loads every `(model_id, dir)` with `loader`, each once, on blocking threads.
    pub async fn load(loader: Arc<dyn ModelLoader>, models: &[crate::ModelConfig]) -> Result<Self> {
        let mut map = BTreeMap::new();
        for m in models {
            let (loader, dir) = (loader.clone(), m.dir.clone());
            let started = Instant::now();
            let loaded = tokio::task::spawn_blocking(move || loader.load(&dir))
                .await
                .map_err(|e| Error::Task(format!("loading model {}: {e}", m.model_id)))?
                .map_err(|source| Error::ModelLoad {
                    model_id: m.model_id.to_string(),
                    dir: m.dir.clone(),
                    source,
                })?;
            tracing::info!(
                model_id = %m.model_id,
                dir = %m.dir.display(),
                input_len = loaded.input_len(),
                output_len = loaded.output_len(),
                secs = started.elapsed().as_secs_f64(),
                "model loaded"
            );
            map.insert(m.model_id, loaded);
        }
        Ok(Self { map })
    }

    /// Builds a set from already loaded provers.
    pub fn from_provers(provers: impl IntoIterator<Item = (U256, Arc<dyn Prover>)>) -> Self {
        Self { map: provers.into_iter().collect() }
    }

    /// The prover for `model_id`.
    pub fn get(&self, model_id: U256) -> Option<&Arc<dyn Prover>> {
        self.map.get(&model_id)
    }

    /// Configured model ids.
    pub fn ids(&self) -> impl Iterator<Item = U256> + '_ {
        self.map.keys().copied()
    }
}

/// Checks an on-chain input against a model: length, i64 representability and calibrated range.
/// Returns the input as `i64`s or the reason to skip the request.
pub fn check_input(prover: &dyn Prover, input: &[I256]) -> std::result::Result<Vec<i64>, BadInput> {
    if input.len() != prover.input_len() {
        return Err(BadInput::Length { expected: prover.input_len(), got: input.len() });
    }
    let max = prover.max_abs_input();
    input
        .iter()
        .enumerate()
        .map(|(i, v)| match i64::try_from(*v) {
            Ok(x) if x.checked_abs().is_some_and(|a| a <= max) => Ok(x),
            _ => Err(BadInput::OutOfRange { index: i, value: *v, max }),
        })
        .collect()
}

/// A proof being computed on a blocking thread: its result and how long it took.
pub type ProofTask = tokio::task::JoinHandle<Result<(Proof, Duration)>>;

/// Bounded proving: at most `workers` proofs run at once, each on a blocking thread that holds its slot
/// until the proof ends (a caller that stops waiting does not free it).
#[derive(Clone, Debug)]
pub struct ProverPool {
    models: Models,
    permits: Arc<Semaphore>,
    metrics: Arc<Metrics>,
    fulfiller: Address,
}

impl ProverPool {
    /// A pool of `workers` concurrent proofs over `models`; [`ProverPool::prove`] proves for `fulfiller`
    /// (the relayer's own signing address: each fleet instance proves for its own).
    pub fn new(models: Models, workers: usize, metrics: Arc<Metrics>, fulfiller: Address) -> Self {
        Self { models, permits: Arc::new(Semaphore::new(workers)), metrics, fulfiller }
    }

    /// The served models.
    pub const fn models(&self) -> &Models {
        &self.models
    }

    fn prover(&self, model_id: U256) -> Result<Arc<dyn Prover>> {
        self.models.get(model_id).cloned().ok_or(Error::NotServed(model_id))
    }

    fn spawn(
        &self,
        prover: Arc<dyn Prover>,
        (input, fulfiller): (Vec<i64>, Address),
        permit: OwnedSemaphorePermit,
    ) -> ProofTask {
        let metrics = self.metrics.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = permit;
            let started = Instant::now();
            let out = prover.prove_quantized(&input, fulfiller).map_err(Error::Prove)?;
            let took = started.elapsed();
            metrics.proving_seconds.observe(took.as_secs_f64());
            if out.outputs_quantized.is_empty() || out.proof.is_empty() {
                return Err(Error::EmptyProof);
            }
            Ok((out, took))
        })
    }

    /// Proves `input` (already checked with [`check_input`]) on `model_id` for the pool's fulfiller; waits for
    /// a free worker.
    pub async fn prove(&self, model_id: U256, input: Vec<i64>) -> Result<(Proof, Duration)> {
        let prover = self.prover(model_id)?;
        let permit = self.permits.clone().acquire_owned().await.map_err(|e| Error::Task(e.to_string()))?;
        let job = (input, self.fulfiller);
        self.spawn(prover, job, permit).await.map_err(|e| Error::Task(format!("prover thread: {e}")))?
    }

    /// Starts proving for `fulfiller` at once if a worker is free; `None` when every worker is busy.
    pub fn try_prove(
        &self,
        model_id: U256,
        input: Vec<i64>,
        fulfiller: Address,
    ) -> Result<Option<ProofTask>> {
        let prover = self.prover(model_id)?;
        let Ok(permit) = self.permits.clone().try_acquire_owned() else { return Ok(None) };
        Ok(Some(self.spawn(prover, (input, fulfiller), permit)))
    }
}

/// [`ModelLoader`] for `zkoracle_prover::ProvingModel` (directories from `zkoracle compile` + `setup`): the
/// warm prover. Each model's proving key is read once and kept; the window multiples of its SRS points
/// (`ProvingModel::cache_msm_tables`) and its key-only coset evaluations (`ProvingModel::cache_cosets`) are
/// computed once and kept within a byte budget that the models share in load order, so each proof pays only
/// for its witness-dependent polynomials, committed with the tables.
#[derive(Debug, Default)]
pub struct ProvingModelLoader {
    /// Cache bytes (MSM tables and coset evaluations) not yet given to a model.
    cache_left: Mutex<usize>,
}

impl ProvingModelLoader {
    /// A loader whose models' warm caches (MSM tables, coset evaluations) share `cache_bytes` (0: none).
    pub const fn new(cache_bytes: usize) -> Self {
        Self { cache_left: Mutex::new(cache_bytes) }
    }
}

impl ModelLoader for ProvingModelLoader {
    fn load(&self, dir: &Path) -> std::result::Result<Arc<dyn Prover>, zkoracle_prover::Error> {
        let mut model = zkoracle_prover::ProvingModel::load(dir)?;
        // A poisoned lock still holds a consistent count (it is only ever replaced whole).
        let mut left = self.cache_left.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = Instant::now();
        let tables = model.cache_msm_tables(*left);
        *left = left.saturating_sub(tables);
        let stats = model.cache_cosets(*left);
        *left = left.saturating_sub(stats.bytes());
        tracing::info!(
            dir = %dir.display(),
            msm_tables_mib = tables >> 20,
            cache_mib = stats.bytes() >> 20,
            parts_cached = stats.parts_cached,
            parts_total = stats.parts_total,
            budget_left_mib = *left >> 20,
            secs = started.elapsed().as_secs_f64(),
            "warm caches built"
        );
        Ok(Arc::new(model))
    }
}

impl Prover for zkoracle_prover::ProvingModel {
    fn input_len(&self) -> usize {
        Self::input_len(self)
    }

    fn output_len(&self) -> usize {
        Self::output_len(self)
    }

    fn max_abs_input(&self) -> i64 {
        Self::max_abs_input(self)
    }

    fn scales(&self) -> Option<(u8, u8)> {
        let s = self.settings();
        Some((s.scale, s.output_scale))
    }

    fn weights_commitment_words(&self) -> Vec<U256> {
        Self::weights_commitment_words(self).into_iter().map(U256::from_be_bytes).collect()
    }

    fn vk_digest(&self) -> Option<B256> {
        Some(Self::vk_digest(self))
    }

    fn prove_quantized(
        &self,
        input: &[i64],
        fulfiller: Address,
    ) -> std::result::Result<Proof, zkoracle_prover::Error> {
        Self::prove_quantized(self, input, fulfiller)
    }
}
