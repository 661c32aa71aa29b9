//! `circuit.json`: the versioned, self-describing description of a compiled model.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::circuit::{CircuitParams, CircuitSpec};
use crate::ir::Graph;
use crate::{Error, Result};

/// Version of the `circuit.json` format; bumped on any incompatible change.
pub(crate) const SETTINGS_VERSION: u32 = 2;

/// How model weights enter the circuit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamsVisibility {
    /// Weights are constants of the circuit, fixed into the verifying key.
    #[default]
    Fixed,
    /// Weights are private witnesses in dedicated advice columns; their KZG commitment (with a secret salt,
    /// blinded afresh in every proof) is a public instance and the keys depend only on the model's
    /// architecture (`crate::commit`). A `circuit.json` of an older zkoracle that says `private` with no
    /// weight columns is a hashed model.
    Private,
    /// Weights are private witnesses hashed by Poseidon in the circuit; the hash is a public instance (a
    /// field element) and the keys depend only on the model's architecture.
    Hashed,
}

/// Where the model came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// File name of the ONNX model.
    pub file: String,
    /// keccak256 of the ONNX file (0x hex).
    pub keccak256: String,
    /// Input shapes.
    pub input_shapes: Vec<Vec<usize>>,
    /// Output shapes.
    pub output_shapes: Vec<Vec<usize>>,
}

/// What calibration measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Inputs evaluated (the sample plus perturbed copies).
    pub samples: usize,
    /// Largest |output − float output| over the samples (real units).
    pub max_abs_error: f64,
    /// Largest |rescaled value| seen, in fixed point.
    pub max_abs_preactivation: i64,
    /// Float outputs of the sample input, from tract.
    pub float_outputs: Vec<f64>,
}

/// Everything `setup`, `prove` and `verify` need; written as `<dir>/circuit.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CircuitSettings {
    /// Format version (`SETTINGS_VERSION`).
    pub version: u32,
    /// zkoracle version that compiled it.
    pub zkoracle_version: String,
    /// The source model.
    pub model: ModelInfo,
    /// Weight visibility.
    pub params_visibility: ParamsVisibility,
    /// Fixed-point scale: real = integer / 2^scale, for inputs, outputs and every intermediate value.
    pub scale: u8,
    /// Scale of the constant weights (coefficients are round(w · 2^weight_scale)).
    pub weight_scale: u8,
    /// Scale of the outputs (real = integer / 2^output_scale); at least `scale`.
    pub output_scale: u8,
    /// log2 of the number of rows.
    pub k: u32,
    /// Column shape.
    pub circuit_params: CircuitParams,
    /// Rescaled values must lie in `[-bound, bound)`.
    pub bound: i64,
    /// Largest |quantized input| accepted (what the oracle registers as `maxAbsInput`).
    pub max_abs_input: i64,
    /// Number of public instances: inputs, then outputs, then (private parameters) the weights commitment.
    pub num_instances: usize,
    /// Rows used by the layout.
    pub rows: usize,
    /// Calibration figures.
    pub calibration: Calibration,
    /// The quantized graph itself.
    pub graph: Graph,
}

impl CircuitSettings {
    /// The circuit spec.
    pub fn spec(&self) -> CircuitSpec {
        CircuitSpec {
            graph: self.graph.clone(),
            scale: self.scale,
            bound: self.bound,
            params: self.circuit_params,
        }
    }

    /// Number of (flattened) inputs.
    pub fn input_len(&self) -> usize {
        self.graph.num_inputs as usize
    }

    /// Number of (flattened) outputs.
    pub fn output_len(&self) -> usize {
        self.graph.outputs.len()
    }

    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))?;
        let version = v.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(SETTINGS_VERSION)) {
            return Err(Error::json(
                path,
                format!(
                    "unsupported circuit.json version {version:?} (this zkoracle reads {SETTINGS_VERSION}): \
                     run `zkoracle compile` again"
                ),
            ));
        }
        let s: Self = serde_json::from_value(v).map_err(|e| Error::json(path, e))?;
        s.validate().map_err(|m| Error::json(path, m))?;
        Ok(s)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let g = &self.graph;
        let total = g.num_inputs as usize + g.neurons.len();
        for (i, n) in g.neurons.iter().enumerate() {
            let own = g.num_inputs as usize + i;
            if n.op.inputs().iter().any(|&v| v as usize >= own) {
                return Err(format!("graph neuron {i} reads a value that is not computed before it"));
            }
            if n.act.is_some_and(|a| a as usize >= g.acts.len()) || n.shift > 24 {
                return Err(format!("graph neuron {i} has an invalid activation or shift"));
            }
        }
        if g.outputs.iter().any(|&o| o as usize >= total) {
            return Err("graph output refers to a missing value".into());
        }
        if self.circuit_params.width < 4
            || !(4..=26).contains(&self.k)
            || self.bound < 1
            || self.scale > 20
            || self.weight_scale > 20
            || self.output_scale > 40
        {
            return Err("invalid width, k, bound or scale".into());
        }
        if self.num_instances != self.spec().num_instances() {
            return Err("num_instances does not match the graph".into());
        }
        if self.circuit_params.private != self.is_private() {
            return Err("circuit_params.private does not match params_visibility".into());
        }
        if self.params_visibility == ParamsVisibility::Hashed && self.circuit_params.store > 0 {
            return Err("hashed parameters have no weight columns".into());
        }
        if self.circuit_params.store > self.circuit_params.width {
            return Err("more weight columns than operand columns".into());
        }
        if self.circuit_params.hashed() && self.circuit_params.width < 8 {
            return Err("hashed parameters need a width of at least 8".into());
        }
        let private_neurons = self
            .graph
            .neurons
            .iter()
            .any(|n| matches!(n.op, crate::ir::NeuronOp::Linear { private: true, .. }));
        if private_neurons && !self.is_private() {
            return Err("graph has private neurons but params_visibility is fixed".into());
        }
        Ok(())
    }

    /// Whether the model's parameters are private (`--params private` or `hashed`).
    pub fn is_private(&self) -> bool {
        self.params_visibility != ParamsVisibility::Fixed
    }

    /// How the weights enter the circuit, reading a legacy `private` without weight columns as `hashed`.
    pub fn weights_visibility(&self) -> ParamsVisibility {
        match self.params_visibility {
            ParamsVisibility::Private if self.circuit_params.hashed() => ParamsVisibility::Hashed,
            v => v,
        }
    }

    /// Writes `path` atomically. Private parameters are never written here (they go to `weights.json`):
    /// the graph is stored with them zeroed.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = if self.is_private() {
            let mut public = self.clone();
            crate::params::strip(&mut public.graph);
            serde_json::to_vec_pretty(&public)
        } else {
            serde_json::to_vec_pretty(self)
        }
        .map_err(|e| Error::json(path, e))?;
        crate::fsutil::write_atomic(path, &json)
    }
}
