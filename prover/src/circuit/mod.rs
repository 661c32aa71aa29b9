//! The halo2 circuit for a quantized neuron graph.
//!
//! One region, laid out with absolute offsets: first the model inputs (`width` per row), then each neuron as
//! `ceil(terms / width)` dense dot-product rows (or one product row) followed by one result row holding `z`
//! in the accumulator and, when the neuron rescales or activates, `q`, the remainder `r` and `y = act(q)`.
//! Copy constraints wire every operand to the cell that produced it; the instance column holds the
//! quantized inputs followed by the quantized outputs.

mod chip;

use std::sync::Arc;

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error as PlonkError};
use serde::{Deserialize, Serialize};

pub use chip::{to_field, InferenceChip, InferenceConfig, InferenceInstructions};

use crate::ir::{Evaluation, Graph};

/// Shape parameters of the circuit that the constraint system depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitParams {
    /// Advice columns carrying dot-product operands (at least 4).
    pub width: usize,
}

impl Default for CircuitParams {
    fn default() -> Self {
        Self { width: 4 }
    }
}

/// Everything the circuit's layout depends on: the graph, the scale and the table range.
#[derive(Clone, Debug)]
pub struct CircuitSpec {
    /// The quantized model.
    pub graph: Graph,
    /// Fixed-point scale (bits).
    pub scale: u8,
    /// Table range: every rescaled value lies in `[-bound, bound)`.
    pub bound: i64,
    /// Column shape.
    pub params: CircuitParams,
}

/// The inference circuit: a spec plus, when proving, the witness.
#[derive(Clone, Debug)]
pub struct InferenceCircuit {
    /// The layout description.
    pub spec: Arc<CircuitSpec>,
    /// The evaluation to prove (absent during key generation).
    pub witness: Option<Arc<Evaluation>>,
}

impl Circuit<Fr> for InferenceCircuit {
    type Config = InferenceConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitParams;

    fn without_witnesses(&self) -> Self {
        Self { spec: self.spec.clone(), witness: None }
    }

    fn params(&self) -> Self::Params {
        self.spec.params
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: Self::Params) -> Self::Config {
        InferenceChip::configure(meta, params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
        InferenceChip::configure(meta, CircuitParams::default())
    }

    fn synthesize(&self, config: Self::Config, mut layouter: impl Layouter<Fr>) -> Result<(), PlonkError> {
        let chip = InferenceChip::new(config, self.spec.clone());
        chip.load_tables(&mut layouter)?;
        let witness = self.witness.as_deref();
        let value = |v: usize| -> Value<i128> {
            witness.map_or(Value::unknown(), |w| Value::known(w.values[v] as i128))
        };
        let cells = chip.assign_graph(&mut layouter, &value, witness)?;
        chip.expose_instances(&mut layouter, &cells)
    }
}

/// Row and table sizes of a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutSize {
    /// Rows used by the region.
    pub rows: usize,
    /// Rows of the activation table (including the all-zero row).
    pub act_table_rows: usize,
    /// Rows of the range table (including the all-zero row).
    pub range_table_rows: usize,
}

impl CircuitSpec {
    /// The activation tags: graph activations are `1..=acts`, the plain range check (identity) follows.
    pub fn identity_tag(&self) -> u64 {
        self.graph.acts.len() as u64 + 1
    }

    /// Whether any neuron rescales without an activation (and so needs the identity table).
    pub fn needs_identity(&self) -> bool {
        self.graph.neurons.iter().any(|n| n.shift > 0 && n.act.is_none())
    }

    /// Distinct non-zero shifts, sorted.
    pub fn shifts(&self) -> Vec<u8> {
        let mut s: Vec<u8> = self.graph.neurons.iter().map(|n| n.shift).filter(|&s| s > 0).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Rows and table sizes.
    pub fn layout_size(&self) -> LayoutSize {
        let w = self.params.width;
        let mut rows = (self.graph.num_inputs as usize).div_ceil(w);
        for n in &self.graph.neurons {
            rows += chip::neuron_rows(n, w);
        }
        let tags = self.graph.acts.len() + usize::from(self.needs_identity());
        LayoutSize {
            rows,
            act_table_rows: 1 + tags * 2 * self.bound as usize,
            range_table_rows: 1 + self.shifts().iter().map(|&d| 1usize << d).sum::<usize>(),
        }
    }

    /// The smallest `k` whose usable rows hold the layout and both tables.
    pub fn min_k(&self) -> u32 {
        let mut cs = ConstraintSystem::<Fr>::default();
        let _ = InferenceChip::configure(&mut cs, self.params);
        let size = self.layout_size();
        let need = size.rows.max(size.act_table_rows).max(size.range_table_rows) + cs.blinding_factors() + 1;
        let mut k = 4u32;
        while (1usize << k) < need.max(cs.minimum_rows()) {
            k += 1;
        }
        k
    }
}
