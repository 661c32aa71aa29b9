//! Private model parameters (`compile --params private`): which values are private, the weights file and
//! the Poseidon commitment that is the circuit's last public instance.
//!
//! The private parameters of a graph are, neuron by neuron in graph order, the coefficients of every private
//! affine neuron in term order followed by its bias, as fixed-point integers (negative values as
//! `p − |x|`). `circuit.json` keeps the graph's structure with these values zeroed; `weights.json` holds
//! them. The commitment is [`crate::circuit::poseidon::hash`] of them: circomlib's Poseidon parameters in
//! iden3's sponge layout, so anyone with the weights can recompute it (see that module).

use std::path::Path;

use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};

use crate::circuit::{poseidon, to_field};
use crate::ir::{Graph, NeuronOp};
use crate::proof::{fr_from_hex, fr_to_hex};
use crate::{Error, Result};

/// Version of the `weights.json` format.
pub const WEIGHTS_VERSION: u32 = 1;

/// The private parameters of `graph`, in commitment order.
pub fn collect(graph: &Graph) -> Vec<i64> {
    graph
        .neurons
        .iter()
        .flat_map(|n| private_of(&n.op))
        .flat_map(|(terms, bias)| terms.iter().map(|(_, c)| *c).chain(std::iter::once(bias)))
        .collect()
}

/// Number of private parameters of `graph`.
pub fn count(graph: &Graph) -> usize {
    graph.neurons.iter().flat_map(|n| private_of(&n.op)).map(|(terms, _)| terms.len() + 1).sum()
}

/// A private affine neuron's terms and bias.
fn private_of(op: &NeuronOp) -> Option<(&[(crate::ir::Var, i64)], i64)> {
    match op {
        NeuronOp::Linear { terms, bias, private: true } => Some((terms, *bias)),
        _ => None,
    }
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
pub fn strip(graph: &mut Graph) {
    params_mut(graph).for_each(|c| *c = 0);
}

/// Puts `values` (in [`collect`] order) back into `graph`.
pub fn fill(graph: &mut Graph, values: &[i64]) -> Result<()> {
    let expected = count(graph);
    if values.len() != expected {
        return Err(Error::Input(format!(
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
    /// Format version ([`WEIGHTS_VERSION`]).
    pub version: u32,
    /// The commitment (0x hex field element), the public instance that identifies these weights.
    pub commitment: String,
    /// The quantized parameters in commitment order.
    pub values: Vec<i64>,
}

impl PrivateWeights {
    /// The private parameters of `graph` and their commitment.
    pub fn from_graph(graph: &Graph) -> Self {
        let values = collect(graph);
        Self { version: WEIGHTS_VERSION, commitment: fr_to_hex(&commitment(&values)), values }
    }

    /// The commitment as a field element.
    pub fn commitment_fr(&self) -> Result<Fr> {
        fr_from_hex(&self.commitment).ok_or_else(|| {
            Error::Input(format!("weights commitment `{}` is not a field element", self.commitment))
        })
    }

    /// Reads `path` and checks that the stored commitment matches the values.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let w: Self = serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))?;
        if w.version != WEIGHTS_VERSION {
            return Err(Error::json(
                path,
                format!(
                    "unsupported weights.json version {} (this zkoracle reads {WEIGHTS_VERSION})",
                    w.version
                ),
            ));
        }
        let stored = w.commitment_fr().map_err(|e| Error::json(path, e.to_string()))?;
        if stored != commitment(&w.values) {
            return Err(Error::corrupt(path, "the commitment does not match the stored parameters"));
        }
        Ok(w)
    }

    /// Writes `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::json(path, e))?;
        crate::fsutil::write_atomic(path, &json)
    }
}
