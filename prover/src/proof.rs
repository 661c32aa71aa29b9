//! `zkoracle prove` / `verify`: SHPLONK KZG proofs over BN254 with the Keccak (EVM) transcript.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::{sol, SolCall};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{verify_proof, CosetCacheStats, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::TranscriptWriterBuffer;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;

use crate::circuit::{CircuitSpec, InferenceChip, InferenceCircuit, StoreTails};
use crate::commit::{self, KnowledgeProof, Statement, WeightsCommitment, HIDING_ROWS};
use crate::field::to_field;
pub(crate) use crate::field::{address_to_field, fr_from_b256, fr_to_b256, fr_to_be_bytes};
use crate::input::quantize_inputs;
use crate::keys::{read_pk, read_vk, vk_digest};
use crate::model_dir::ModelDir;
use crate::params::PrivateWeights;
use crate::settings::CircuitSettings;
use crate::signed_msm::{create_proof_signed, SignedParams};
use crate::srs::read_srs;
use crate::{Error, Result};

sol! {
    /// The generated verifier's entry point (same ABI as EZKL's and PSE's).
    function verifyProof(bytes proof, uint256[] instances) external view returns (bool);
}

/// Default memory budget of a warm prover's coset cache, in MiB (`zkoracle prove --cache-mb`, the relayer's
/// `prover_cache_mb`): every model up to k = 16 fits whole, a k = 18 model about half.
pub const DEFAULT_COSET_CACHE_MB: usize = 1024;

type Transcript<S> = EvmTranscript<G1Affine, NativeLoader, S, Vec<u8>>;

/// `proof.json`: what `zkoracle prove` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProofBundle {
    /// Dequantized model outputs.
    pub outputs: Vec<f64>,
    /// Outputs as fixed-point integers at `output_scale` (what goes on-chain).
    pub outputs_quantized: Vec<i64>,
    /// Inputs as fixed-point integers at `scale`.
    pub inputs_quantized: Vec<i64>,
    /// The fixed-point scale of the inputs.
    pub scale: u8,
    /// The fixed-point scale of the outputs.
    pub output_scale: u8,
    /// Public instances: inputs, outputs, then (private parameters) the weights commitment (`private`: four
    /// 128-bit limbs per weight column; `hashed`: one field element), then the fulfiller's address; EVM words
    /// (32-byte big-endian field elements, 0x hex in JSON).
    pub instances: Vec<B256>,
    /// The only account whose `fulfill` this proof can pass: its address is the last public instance, which
    /// the Fiat–Shamir transcript absorbs, so the proof fails for any other sender (a copied pending
    /// `fulfill` is worthless).
    pub fulfiller: Address,
    /// The weights commitment (0x hex): `--params private`, the weight columns' KZG commitment points
    /// (`x ‖ y`, 32-byte big-endian each, per column); `--params hashed`, the Poseidon field element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_commitment: Option<Bytes>,
    /// The proof bytes (0x hex); for `--params private` the halo2 proof followed by the weights knowledge
    /// proof ([`crate::commit::KnowledgeProof`], 128 bytes).
    pub proof: Bytes,
    /// ABI-encoded `verifyProof(bytes,uint256[])` call for the generated verifier (0x hex).
    pub calldata: Bytes,
    /// keccak256 of the verifying key (0x hex).
    pub vk_digest: B256,
}

/// ABI-encodes `verifyProof(proof, instances)`.
pub fn encode_calldata(proof: &[u8], instances: &[Fr]) -> Bytes {
    let instances = instances.iter().map(|f| U256::from_be_bytes(fr_to_be_bytes(f)));
    verifyProofCall { proof: Bytes::copy_from_slice(proof), instances: instances.collect() }
        .abi_encode()
        .into()
}

/// A compiled, set-up model loaded once and shared by provers (`Send + Sync`).
pub struct ProvingModel {
    dir: PathBuf,
    settings: CircuitSettings,
    spec: Arc<CircuitSpec>,
    /// The SRS, committing witness columns by their signed magnitudes (`crate::signed_msm`).
    params: SignedParams,
    pk: ProvingKey<G1Affine>,
    vk_digest: B256,
    /// How the private weights are committed (none for fixed weights).
    weights: Weights,
}

/// A loaded model's weights commitment.
enum Weights {
    /// Fixed into the verifying key.
    Fixed,
    /// `--params hashed`: the Poseidon commitment.
    Hashed(Fr),
    /// `--params private`: the weight columns' salt, registered commitment and hiding bases.
    Committed(Committed),
}

/// What proving a `--params private` model needs besides the circuit.
struct Committed {
    salt: Vec<[Fr; HIDING_ROWS]>,
    registered: WeightsCommitment,
    bases: [G1Affine; HIDING_ROWS],
    /// The weight columns' advice indices: their proof commitments are the points at `64 · index`.
    columns: Vec<usize>,
}

/// The advice-column indices of the weight columns of a circuit with `params`.
pub fn store_columns(params: crate::circuit::CircuitParams) -> Vec<usize> {
    let mut cs = halo2_proofs::plonk::ConstraintSystem::<Fr>::default();
    let config = InferenceChip::configure(&mut cs, params);
    config.private.map(|p| p.committed_columns().iter().map(|c| c.index()).collect()).unwrap_or_default()
}

/// The proof's commitments of the advice columns `columns` (phase-0 advice commitments open the proof, one
/// 64-byte point per column in index order).
pub fn proof_columns(proof: &[u8], columns: &[usize]) -> Option<Vec<G1Affine>> {
    columns.iter().map(|&i| commit::point_from_be(proof.get(64 * i..64 * i + 64)?)).collect()
}

/// What the verifier of a `--params private` circuit checks besides the halo2 proof (zkoracle-codegen's
/// `WeightsKnowledge`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsKnowledgeSpec {
    /// The weight columns' advice indices.
    pub columns: Vec<usize>,
    /// Index among the instances of the commitment's first word.
    pub first_word: usize,
    /// The hiding rows' Lagrange commitments ([`commit::hiding_bases`]).
    pub bases: [G1Affine; HIDING_ROWS],
    /// The challenge's domain separator ([`commit::challenge_domain`]).
    pub domain: [u8; 32],
}

/// The knowledge proof a `--params private` circuit's verifier checks (`None` for other circuits).
pub fn weights_knowledge_spec(
    settings: &CircuitSettings,
    params: &ParamsKZG<Bn256>,
) -> Option<WeightsKnowledgeSpec> {
    settings.circuit_params.committed().then(|| WeightsKnowledgeSpec {
        columns: store_columns(settings.circuit_params),
        first_word: settings.input_len() + settings.output_len(),
        bases: commit::hiding_bases(params),
        domain: commit::challenge_domain(),
    })
}

/// The registered commitment of `values` under `settings` with `salt`.
pub fn registered_commitment(
    params: &ParamsKZG<Bn256>,
    settings: &CircuitSettings,
    values: &[i64],
    salt: &[[Fr; HIDING_ROWS]],
) -> Result<WeightsCommitment> {
    let store = settings.circuit_params.store;
    if salt.len() != store {
        return Err(Error::InvalidInput(format!(
            "weights.json has a salt for {} weight columns, the circuit has {store}",
            salt.len()
        )));
    }
    let mut graph = settings.graph.clone();
    crate::params::fill(&mut graph, values)?;
    let spec =
        CircuitSpec { graph, scale: settings.scale, bound: settings.bound, params: settings.circuit_params };
    Ok(WeightsCommitment(commit::commit_columns(params, &spec.weight_cells(), store, salt)))
}

impl std::fmt::Debug for ProvingModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvingModel").field("dir", &self.dir).field("k", &self.settings.k).finish()
    }
}

/// Loads `circuit.json` and the SRS of a model directory.
pub fn load_settings_and_srs(dir: &Path) -> Result<(CircuitSettings, ParamsKZG<Bn256>)> {
    let dir = ModelDir::new(dir);
    let settings = dir.read_settings()?;
    let srs_path = dir.srs();
    let params = read_srs(&srs_path)?;
    if params.k() != settings.k {
        return Err(Error::corrupt(
            &srs_path,
            format!("SRS has k = {}, circuit.json says {}", params.k(), settings.k),
        ));
    }
    Ok((settings, params))
}

impl ProvingModel {
    /// Loads a directory made by `zkoracle compile` and `zkoracle setup`.
    /// A `--params private` model also needs its `weights.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let (mut settings, params) = load_settings_and_srs(dir)?;
        let weights =
            if settings.is_private() {
                let path = ModelDir::new(dir).weights();
                let w = PrivateWeights::read(&path)?;
                crate::params::fill(&mut settings.graph, &w.values)
                    .map_err(|e| Error::corrupt(&path, e.to_string()))?;
                match (settings.circuit_params.committed(), w.is_committed()) {
                    (true, true) => {
                        let salt = w.salt_fr()?;
                        let registered = registered_commitment(&params, &settings, &w.values, &salt)
                            .map_err(|e| Error::corrupt(&path, e.to_string()))?;
                        let columns = store_columns(settings.circuit_params);
                        Weights::Committed(Committed {
                            salt,
                            registered,
                            bases: commit::hiding_bases(&params),
                            columns,
                        })
                    }
                    (false, false) => Weights::Hashed(w.commitment_fr()?),
                    _ => return Err(Error::corrupt(
                        &path,
                        "these weights are for the other --params mode (private vs hashed) than circuit.json",
                    )),
                }
            } else {
                Weights::Fixed
            };
        let pk = read_pk(&ModelDir::new(dir).pk(), &settings)?;
        let vk_digest = B256::from(vk_digest(pk.get_vk()));
        let params = SignedParams::new(params);
        Ok(Self {
            dir: dir.into(),
            spec: Arc::new(settings.spec()),
            settings,
            params,
            pk,
            vk_digest,
            weights,
        })
    }

    /// The Poseidon commitment of a `--params hashed` model.
    pub fn weights_commitment(&self) -> Option<Fr> {
        match &self.weights {
            Weights::Hashed(c) => Some(*c),
            _ => None,
        }
    }

    /// The Poseidon commitment as 32 big-endian bytes (`--params hashed`).
    pub fn weights_commitment_be(&self) -> Option<[u8; 32]> {
        self.weights_commitment().as_ref().map(fr_to_be_bytes)
    }

    /// The words the registry stores as `weightsCommitment` (32-byte big-endian): none for fixed weights,
    /// the Poseidon hash for `hashed`, four 128-bit limbs per weight column's KZG commitment for `private`.
    pub fn weights_commitment_words(&self) -> Vec<[u8; 32]> {
        self.commitment_instances().iter().map(fr_to_be_bytes).collect()
    }

    /// The registered KZG commitment of a `--params private` model's weight columns.
    pub fn weights_kzg_commitment(&self) -> Option<&WeightsCommitment> {
        match &self.weights {
            Weights::Committed(c) => Some(&c.registered),
            _ => None,
        }
    }

    /// The commitment's public instances.
    fn commitment_instances(&self) -> Vec<Fr> {
        match &self.weights {
            Weights::Fixed => vec![],
            Weights::Hashed(c) => vec![*c],
            Weights::Committed(c) => c.registered.words(),
        }
    }

    /// The commitment as `proof.json` states it.
    fn commitment_bytes(&self) -> Option<Bytes> {
        match &self.weights {
            Weights::Fixed => None,
            Weights::Hashed(c) => Some(fr_to_b256(c).into()),
            Weights::Committed(c) => Some(c.registered.to_bytes()),
        }
    }

    /// The compiled settings.
    pub fn settings(&self) -> &CircuitSettings {
        &self.settings
    }

    /// Number of (flattened) inputs.
    pub fn input_len(&self) -> usize {
        self.settings.input_len()
    }

    /// Number of (flattened) outputs.
    pub fn output_len(&self) -> usize {
        self.settings.output_len()
    }

    /// Largest |quantized input| the model was calibrated for.
    pub fn max_abs_input(&self) -> i64 {
        self.settings.max_abs_input
    }

    /// keccak256 of the verifying key.
    pub fn vk_digest(&self) -> B256 {
        self.vk_digest
    }

    /// Quantizes real-valued `input` and proves it for `fulfiller` (see [`ProofBundle::fulfiller`]).
    pub fn prove(&self, input: &[f64], fulfiller: Address) -> Result<ProofBundle> {
        self.prove_quantized(&quantize_inputs(input, self.settings.scale)?, fulfiller)
    }

    /// Keeps, in memory, the evaluations of the proving key's fixed, permutation and Lagrange polynomials
    /// on as many parts of the extended domain as fit in `max_bytes` (halo2-axiom's
    /// `ProvingKey::cache_cosets`, a zkoracle patch): every later proof skips those FFTs and pays only for
    /// its witness-dependent polynomials. Proofs are byte-identical with or without it. Replaces an earlier
    /// cache; `max_bytes = 0` drops it.
    pub fn cache_cosets(&mut self, max_bytes: usize) -> CosetCacheStats {
        self.pk.cache_cosets(max_bytes)
    }

    /// Keeps, in memory, the window multiples of the SRS points (Lagrange basis first, then monomial; each
    /// only if it fits in `max_bytes`, about `2^k · 20 · 64` bytes, and only up to k = 16, above which they
    /// gain nothing): every later proof's full-width commitments (permutation and lookup products, quotient
    /// pieces, the vanishing argument's random polynomial) then put each scalar's 13-bit digits into one
    /// shared set of buckets instead of running a bucket pass per 10-bit window. Same commitments, so proofs are byte-identical with or
    /// without them; returns the bytes kept; `max_bytes = 0` drops them. The warm prover calls it before
    /// [`ProvingModel::cache_cosets`], which saves less per byte.
    pub fn cache_msm_tables(&mut self, max_bytes: usize) -> usize {
        self.params.cache_tables(max_bytes)
    }

    /// What the coset cache holds now, and what one part of it costs (see [`ProvingModel::cache_cosets`]).
    pub fn coset_cache_stats(&self) -> CosetCacheStats {
        self.pk.coset_cache_stats()
    }

    /// Proves the model on fixed-point `input` (at the model's scale) for `fulfiller`, the account that will
    /// send `fulfill`. CPU-heavy and blocking.
    pub fn prove_quantized(&self, input: &[i64], fulfiller: Address) -> Result<ProofBundle> {
        self.prove_quantized_with_rng(input, fulfiller, rand::rngs::OsRng)
    }

    /// [`ProvingModel::prove_quantized`] with the blinding randomness drawn from `rng` (the same `rng`
    /// state gives the same proof bytes, with or without the coset cache).
    pub fn prove_quantized_with_rng(
        &self,
        input: &[i64],
        fulfiller: Address,
        mut rng: impl RngCore,
    ) -> Result<ProofBundle> {
        let s = &self.settings;
        if input.len() != s.input_len() {
            return Err(Error::InvalidInput(format!(
                "expected {} input values, got {}",
                s.input_len(),
                input.len()
            )));
        }
        let witness = s.graph.evaluate(input, s.scale, Some(s.bound))?;
        let outputs_q = witness.outputs(&s.graph);
        let mut instances: Vec<Fr> =
            input.iter().chain(&outputs_q).map(|&v| to_field(i128::from(v))).collect();
        instances.extend(self.commitment_instances());
        instances.push(address_to_field(fulfiller));
        // A private model's weight columns get fresh random values in their hiding rows.
        let tails = match &self.weights {
            Weights::Committed(c) => Some(commit::random_tails(c.salt.len(), &mut rng)),
            _ => None,
        };
        let circuit = InferenceCircuit {
            spec: self.spec.clone(),
            witness: Some(Arc::new(witness)),
            tails: tails
                .clone()
                .map(|values| Arc::new(StoreTails { rows: commit::hiding_rows(s.k), values })),
        };
        let mut transcript = Transcript::<_>::init(Vec::new());
        create_proof_signed(&self.params, &self.pk, &[circuit], &[&[&instances]], &mut rng, &mut transcript)?;
        let mut proof = transcript.finalize();
        if let (Weights::Committed(c), Some(tails)) = (&self.weights, tails) {
            let proof_cols = proof_columns(&proof, &c.columns).ok_or_else(|| {
                Error::Verification("the proof lacks its weight columns' commitments".into())
            })?;
            let deltas: Vec<_> = tails.iter().zip(&c.salt).map(|(t, s)| [t[0] - s[0], t[1] - s[1]]).collect();
            let st = Statement { bases: &c.bases, registered: &c.registered.0, proof_columns: &proof_cols };
            proof.extend(KnowledgeProof::prove(st, &deltas, &mut rng).to_bytes());
        }
        let out_div = f64::powi(2.0, i32::from(s.output_scale));
        Ok(ProofBundle {
            outputs: outputs_q.iter().map(|&q| q as f64 / out_div).collect(),
            outputs_quantized: outputs_q,
            inputs_quantized: input.to_vec(),
            scale: s.scale,
            output_scale: s.output_scale,
            instances: instances.iter().map(fr_to_b256).collect(),
            weights_commitment: self.commitment_bytes(),
            fulfiller,
            calldata: encode_calldata(&proof, &instances),
            proof: proof.into(),
            vk_digest: self.vk_digest,
        })
    }
}

/// Verifies a `--params private` proof's weights knowledge proof (the last [`KnowledgeProof::BYTES`] of
/// `proof`) against the commitment among `instances`; returns the halo2 proof before it.
pub fn verify_weights<'p>(
    params: &ParamsKZG<Bn256>,
    settings: &CircuitSettings,
    proof: &'p [u8],
    instances: &[Fr],
) -> Result<&'p [u8]> {
    let fail = |why: &str| Error::Verification(format!("weights knowledge proof: {why}"));
    let split =
        proof.len().checked_sub(KnowledgeProof::BYTES).ok_or_else(|| fail("the proof is too short"))?;
    let (halo2, pok) = proof.split_at(split);
    let pok = KnowledgeProof::from_bytes(pok).ok_or_else(|| fail("malformed"))?;
    let registered = commitment_of(settings, instances)
        .ok_or_else(|| fail("the instances carry no valid commitment points"))?;
    let proof_cols = proof_columns(halo2, &store_columns(settings.circuit_params))
        .ok_or_else(|| fail("the proof's weight-column commitments are not curve points"))?;
    let bases = commit::hiding_bases(params);
    let st = Statement { bases: &bases, registered: &registered.0, proof_columns: &proof_cols };
    if !pok.verify(st) {
        return Err(fail("the proof's weight columns are not the registered ones"));
    }
    Ok(halo2)
}

/// The KZG commitment among `instances` (after the inputs and outputs) of a `--params private` model.
fn commitment_of(settings: &CircuitSettings, instances: &[Fr]) -> Option<WeightsCommitment> {
    let at = settings.input_len() + settings.output_len();
    let words = settings.circuit_params.store * commit::WORDS_PER_POINT;
    WeightsCommitment::from_words(instances.get(at..at + words)?)
}

/// Verifies `proof` against `instances` with `vk`.
pub fn verify_with(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    proof: &[u8],
    instances: &[Fr],
) -> Result<()> {
    let verifier_params = params.verifier_params();
    let strategy = SingleStrategy::new(verifier_params);
    let mut transcript = Transcript::<_>::new(proof);
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            verifier_params,
            vk,
            strategy,
            &[&[instances]],
            &mut transcript,
        )
    }));
    match ok {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(Error::Verification(format!("{e:?}"))),
        Err(_) => Err(Error::Verification("malformed proof".into())),
    }
}

/// What `zkoracle verify` established about a `proof.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBundle {
    /// The weights commitment the proof is for (private models).
    pub weights_commitment: Option<Bytes>,
    /// keccak256 of the verifying key the proof verified under.
    pub vk_digest: B256,
}

/// `zkoracle verify`: checks a `proof.json` against the model directory — the proof against its instances,
/// and every other field a reader reads (inputs, outputs, scales, weights commitment, calldata, vk digest)
/// against those verified instances and the directory's keys.
pub fn verify_bundle(dir: &Path, bundle: &ProofBundle) -> Result<VerifiedBundle> {
    let (settings, params) = load_settings_and_srs(dir)?;
    let vk = read_vk(&ModelDir::new(dir).vk(), &settings)?;
    if bundle.instances.len() != settings.num_instances {
        return Err(Error::Verification(format!(
            "{} instances, the circuit has {}",
            bundle.instances.len(),
            settings.num_instances
        )));
    }
    let instances: Vec<Fr> = bundle
        .instances
        .iter()
        .enumerate()
        .map(|(i, w)| {
            fr_from_b256(w)
                .ok_or_else(|| Error::Verification(format!("instance #{i} is not a field element")))
        })
        .collect::<Result<_>>()?;
    // A private model's owner also checks that the proof is about *these* weights.
    let weights_path = ModelDir::new(dir).weights();
    if settings.is_private() && weights_path.exists() {
        let w = PrivateWeights::read(&weights_path)?;
        let ours: Bytes = if settings.circuit_params.committed() {
            registered_commitment(&params, &settings, &w.values, &w.salt_fr()?)?.to_bytes()
        } else {
            fr_to_b256(&w.commitment_fr()?).into()
        };
        if commitment_bytes(&settings, &instances).as_ref() != Some(&ours) {
            return Err(Error::OtherWeights { path: weights_path, ours: ours.to_string() });
        }
    }
    let halo2 = if settings.circuit_params.committed() {
        verify_weights(&params, &settings, &bundle.proof, &instances)?
    } else {
        &bundle.proof
    };
    verify_with(&params, &vk, halo2, &instances)?;
    let digest = B256::from(vk_digest(&vk));
    check_readable_fields(bundle, &settings, &instances, digest)?;
    Ok(VerifiedBundle { weights_commitment: commitment_bytes(&settings, &instances), vk_digest: digest })
}

/// The weights commitment among `instances` (after the inputs and outputs) as `proof.json` states it.
fn commitment_bytes(settings: &CircuitSettings, instances: &[Fr]) -> Option<Bytes> {
    if settings.circuit_params.committed() {
        return commitment_of(settings, instances).map(|c| c.to_bytes());
    }
    let at = settings.input_len() + settings.output_len();
    settings.is_private().then(|| instances.get(at).map(|f| fr_to_b256(f).into())).flatten()
}

/// Every field of `bundle` besides `proof` and `instances` must say what the verified `instances` say.
fn check_readable_fields(
    bundle: &ProofBundle,
    settings: &CircuitSettings,
    instances: &[Fr],
    digest: B256,
) -> Result<()> {
    let mismatch = |field: String, reason: String| Error::BundleField { field, reason };
    let (n_in, n_out) = (settings.input_len(), settings.output_len());
    let ints = [
        ("inputs_quantized", &bundle.inputs_quantized, 0, n_in),
        ("outputs_quantized", &bundle.outputs_quantized, n_in, n_out),
    ];
    for (field, values, first, len) in ints {
        if values.len() != len {
            return Err(mismatch(field.into(), format!("{} values, the circuit has {len}", values.len())));
        }
        for (i, &v) in values.iter().enumerate() {
            if to_field(i128::from(v)) != instances[first + i] {
                return Err(mismatch(format!("{field}[{i}]"), format!("{v} is not instance #{}", first + i)));
            }
        }
    }
    if bundle.scale != settings.scale {
        return Err(mismatch(
            "scale".into(),
            format!("{}, the circuit's is {}", bundle.scale, settings.scale),
        ));
    }
    if bundle.output_scale != settings.output_scale {
        let reason = format!("{}, the circuit's is {}", bundle.output_scale, settings.output_scale);
        return Err(mismatch("output_scale".into(), reason));
    }
    let out_div = f64::powi(2.0, i32::from(settings.output_scale));
    if bundle.outputs.len() != n_out {
        return Err(mismatch(
            "outputs".into(),
            format!("{} values, the circuit has {n_out}", bundle.outputs.len()),
        ));
    }
    for (j, (&real, &q)) in bundle.outputs.iter().zip(&bundle.outputs_quantized).enumerate() {
        // A JSON reader may land one unit in the last place off; distinct outputs differ by 2^-output_scale.
        let exact = q as f64 / out_div;
        if (real - exact).abs() > 4.0 * f64::EPSILON * exact.abs().max(1.0) {
            return Err(mismatch(
                format!("outputs[{j}]"),
                format!("{real} is not {q} / 2^{}", settings.output_scale),
            ));
        }
    }
    let committed = commitment_bytes(settings, instances);
    match (&bundle.weights_commitment, &committed) {
        (None, None) => {}
        (Some(c), Some(v)) if c == v => {}
        (claimed, _) => {
            let reason = format!("{claimed:?}, the proof commits to {committed:?}");
            return Err(mismatch("weights_commitment".into(), reason));
        }
    }
    if bundle.calldata != encode_calldata(&bundle.proof, instances) {
        let reason = "not the ABI-encoded verifyProof(proof, instances) call".into();
        return Err(mismatch("calldata".into(), reason));
    }
    if instances.last() != Some(&address_to_field(bundle.fulfiller)) {
        let reason = format!("{}, the proof is bound to another fulfiller", bundle.fulfiller);
        return Err(mismatch("fulfiller".into(), reason));
    }
    if bundle.vk_digest != digest {
        return Err(mismatch(
            "vk_digest".into(),
            format!("{}, the directory's key is {digest}", bundle.vk_digest),
        ));
    }
    Ok(())
}

/// Reads a `proof.json`.
pub fn read_bundle(path: &Path) -> Result<ProofBundle> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))
}

/// Writes a `proof.json` atomically.
pub fn write_bundle(path: &Path, bundle: &ProofBundle) -> Result<()> {
    let json = serde_json::to_vec_pretty(bundle).map_err(|e| Error::json(path, e))?;
    crate::fsutil::write_atomic(path, &json)
}
