//! Private model parameters (`compile --params private` / `--params hashed`): which values are private, the
//! weights file and, for `hashed`, the Poseidon commitment that is a public instance (for `private`, the KZG
//! commitment of the weight columns: [`crate::commit`]).
//!
//! The private parameters of a graph are, neuron by neuron in graph order, the coefficients of every private
//! affine neuron in term order followed by its bias, as fixed-point integers (negative values as
//! `p − |x|`). `circuit.json` keeps the graph's structure with these values zeroed; `weights.json` holds
//! them. The commitment is [`crate::circuit::poseidon::hash`] of them: circomlib's Poseidon parameters in
//! iden3's sponge layout, so anyone with the weights can recompute it (see that module).

use std::path::Path;

use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};

use crate::circuit::poseidon;
use crate::commit::HIDING_ROWS;
use crate::field::{fr_from_hex, fr_to_hex, to_field};
use crate::ir::{Graph, NeuronOp};
use crate::{Error, Result};

/// Version of the `weights.json` format of `--params hashed` (values and their Poseidon commitment).
pub(crate) const WEIGHTS_VERSION: u32 = 1;
/// Version of the `weights.json` format of `--params private` (values and the commitment's secret salt).
pub(crate) const WEIGHTS_VERSION_COMMITTED: u32 = 2;

/// The private parameters of `graph`, in commitment order ([`Graph::private_params`]).
pub fn collect(graph: &Graph) -> Vec<i64> {
    graph.private_params()
}

/// Number of private parameters of `graph` ([`Graph::private_param_count`]).
pub(crate) fn count(graph: &Graph) -> usize {
    graph.private_param_count()
}

/// Every private parameter of `graph`, mutably, in commitment order.
fn params_mut(graph: &mut Graph) -> impl Iterator<Item = &mut i64> {
    graph
        .neurons
        .iter_mut()
        .flat_map(|n| match &mut n.op {
            NeuronOp::Linear { terms, bias, private: true } => {
                Some(terms.iter_mut().map(|(_, c)| c).chain(std::iter::once(bias)))
            }
            _ => None,
        })
        .flatten()
}

/// Zeroes every private parameter of `graph` (what `circuit.json` stores).
pub(crate) fn strip(graph: &mut Graph) {
    params_mut(graph).for_each(|c| *c = 0);
}

/// Puts `values` (in [`collect`] order) back into `graph`.
pub fn fill(graph: &mut Graph, values: &[i64]) -> Result<()> {
    let expected = count(graph);
    if values.len() != expected {
        return Err(Error::InvalidInput(format!(
            "{} private parameters given, the graph has {expected}",
            values.len()
        )));
    }
    params_mut(graph).zip(values).for_each(|(c, v)| *c = *v);
    Ok(())
}

/// The Poseidon commitment to `values`.
pub fn commitment(values: &[i64]) -> Fr {
    let fields: Vec<Fr> = values.iter().map(|&v| to_field(i128::from(v))).collect();
    poseidon::hash(&fields)
}

/// `weights.json`: the secret half of a private model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateWeights {
    /// Format version (`WEIGHTS_VERSION` hashed, `WEIGHTS_VERSION_COMMITTED` committed).
    pub version: u32,
    /// `--params hashed`: the Poseidon commitment (0x hex field element), the public instance that
    /// identifies these weights. Empty for `--params private`, whose commitment depends on the SRS
    /// (`zkoracle commit` prints it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commitment: String,
    /// The quantized parameters in commitment order.
    pub values: Vec<i64>,
    /// `--params private`: the secret salt of the KZG commitment, per weight column the values of its
    /// hiding rows ([`crate::commit::hiding_rows`]), 0x hex field elements. Without it the registered
    /// commitment of a guessable model (a public pre-trained one) would confirm the guess.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub salt: Vec<[String; HIDING_ROWS]>,
}

impl PrivateWeights {
    /// `--params hashed`: the private parameters of `graph` and their Poseidon commitment.
    pub fn from_graph(graph: &Graph) -> Self {
        let values = collect(graph);
        Self { version: WEIGHTS_VERSION, commitment: fr_to_hex(&commitment(&values)), values, salt: vec![] }
    }

    /// `--params private`: the private parameters of `graph` with a fresh salt for `columns` weight columns.
    pub fn committed_from_graph(graph: &Graph, columns: usize, rng: impl rand::RngCore) -> Self {
        let salt = crate::commit::random_tails(columns, rng)
            .iter()
            .map(|pair| pair.map(|f| fr_to_hex(&f)))
            .collect();
        Self { version: WEIGHTS_VERSION_COMMITTED, commitment: String::new(), values: collect(graph), salt }
    }

    /// The secret half of a freshly compiled private model: committed weights with a fresh salt (from the
    /// OS) for `--params private`, the Poseidon commitment for `--params hashed`.
    pub fn for_circuit(graph: &Graph, params: crate::circuit::CircuitParams) -> Self {
        if params.committed() {
            Self::committed_from_graph(graph, params.store, rand::rngs::OsRng)
        } else {
            Self::from_graph(graph)
        }
    }

    /// Whether these are the weights of a `--params private` (KZG-committed) model.
    pub fn is_committed(&self) -> bool {
        self.version == WEIGHTS_VERSION_COMMITTED
    }

    /// The Poseidon commitment as a field element (`--params hashed`).
    pub fn commitment_fr(&self) -> Result<Fr> {
        fr_from_hex(&self.commitment).ok_or_else(|| {
            Error::InvalidInput(format!("weights commitment `{}` is not a field element", self.commitment))
        })
    }

    /// The salt as field elements (`--params private`).
    pub fn salt_fr(&self) -> Result<Vec<[Fr; HIDING_ROWS]>> {
        self.salt
            .iter()
            .map(|pair| {
                let [a, b] = pair;
                match (fr_from_hex(a), fr_from_hex(b)) {
                    (Some(a), Some(b)) => Ok([a, b]),
                    _ => Err(Error::InvalidInput(format!(
                        "weights salt `{a}`, `{b}` is not a pair of field elements"
                    ))),
                }
            })
            .collect()
    }

    /// Reads `path` and checks it: a hashed file's commitment must match its values, a committed file's
    /// salt must be field elements.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let w: Self = serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))?;
        match w.version {
            WEIGHTS_VERSION => {
                let stored = w.commitment_fr().map_err(|e| Error::json(path, e.to_string()))?;
                if stored != commitment(&w.values) {
                    return Err(Error::corrupt(path, "the commitment does not match the stored parameters"));
                }
            }
            WEIGHTS_VERSION_COMMITTED => {
                if w.salt.is_empty() {
                    return Err(Error::json(path, "field `salt`: a committed model's salt is missing"));
                }
                w.salt_fr().map_err(|e| Error::json(path, e.to_string()))?;
            }
            v => {
                return Err(Error::json(
                    path,
                    format!(
                        "unsupported weights.json version {v} (this zkoracle reads {WEIGHTS_VERSION} and \
                         {WEIGHTS_VERSION_COMMITTED})"
                    ),
                ))
            }
        }
        Ok(w)
    }

    /// Writes `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::json(path, e))?;
        crate::fsutil::write_atomic(path, &json)
    }
}
