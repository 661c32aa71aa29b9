//! The halo2 circuit for a quantized neuron graph.
//!
//! One region, laid out with absolute offsets: first the model inputs (`width` per row), then each neuron as
//! `ceil(terms / width)` dense dot-product rows (or one product row) followed by one result row holding `z`
//! in the accumulator and, when the neuron rescales or activates, `q`, the remainder `r` and `y = act(q)`.
//! Copy constraints wire every operand to the cell that produced it; the instance column holds the
//! quantized inputs followed by the quantized outputs and, with private parameters, their commitment:
//! `--params private` keeps them in dedicated weight columns under a KZG commitment ([`crate::commit`]),
//! every parameter cell copied from there; `--params hashed` lays out their Poseidon hash ([`poseidon`])
//! in its own region, every parameter cell copied into it.

mod chip;
pub(crate) mod limbs;
pub(crate) mod nonlinear;
pub(crate) mod poseidon;

use std::sync::Arc;

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error as PlonkError};
use serde::{Deserialize, Serialize};

pub(crate) use chip::{InferenceChip, InferenceConfig, InferenceInstructions};
pub(crate) use nonlinear::Gadget;

use crate::ir::{Activation, Evaluation, Graph, Neuron, NeuronOp};

/// Shape parameters of the circuit that the constraint system depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitParams {
    /// Advice columns carrying dot-product operands (at least 4; at least 8 with hashed parameters).
    pub width: usize,
    /// Model parameters are committed witnesses (`--params private` / `hashed`) rather than fixed constants.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
    /// With private parameters: the number of weight columns under a KZG commitment (`--params private`,
    /// `crate::commit`), which is also the number of terms per dot-product row of a private neuron (at most
    /// `width`); 0 commits the parameters by Poseidon in the circuit (`--params hashed`).
    #[serde(default, skip_serializing_if = "is_zero_usize")]
    pub store: usize,
    /// Range checks in limbs of this many bits (`limbs`); 0 checks remainders and activations with
    /// whole-range lookup tables.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limb_bits: u8,
    /// Whether the circuit has the activation lookup (with limbs, only models with activations other than
    /// ReLU need it; without it the proof has three commitments fewer).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub act_table: bool,
    /// Whether the circuit has the interpolation lookup and its gates (`nonlinear`, limb mode): some
    /// activation is an [`Activation::Interp`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interp: bool,
    /// Whether the circuit has the exact reciprocal and reciprocal square root gates (`nonlinear`, limb
    /// mode).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
    /// Whether the circuit has the range-reduced logarithm's gates (`nonlinear`, limb mode; with the
    /// interpolation lookup, which it shares): some activation is an [`Activation::LogReduced`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log: bool,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

fn is_zero_usize(v: &usize) -> bool {
    *v == 0
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

fn yes() -> bool {
    true
}

fn is_true(v: &bool) -> bool {
    *v
}

impl Default for CircuitParams {
    fn default() -> Self {
        Self {
            width: 4,
            private: false,
            store: 0,
            limb_bits: 0,
            act_table: true,
            interp: false,
            exact: false,
            log: false,
        }
    }
}

impl CircuitParams {
    /// Whether the private parameters are committed by KZG (`--params private`).
    pub fn committed(&self) -> bool {
        self.private && self.store > 0
    }

    /// Whether the private parameters are committed by Poseidon in the circuit (`--params hashed`).
    pub fn hashed(&self) -> bool {
        self.private && self.store == 0
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
    /// `--params private`, when proving: the values of the weight columns' hiding rows (fresh per proof).
    pub tails: Option<Arc<StoreTails>>,
}

/// The hiding rows of the weight columns and what a proof puts there (`crate::commit`).
#[derive(Clone, Debug)]
pub struct StoreTails {
    /// The rows ([`crate::commit::hiding_rows`]).
    pub rows: [usize; crate::commit::HIDING_ROWS],
    /// Per weight column, the value of each hiding row.
    pub values: Vec<[Fr; crate::commit::HIDING_ROWS]>,
}

impl Circuit<Fr> for InferenceCircuit {
    type Config = InferenceConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitParams;

    fn without_witnesses(&self) -> Self {
        Self { spec: self.spec.clone(), witness: None, tails: None }
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
        // The commitment (or the weight columns) is laid out first so the parameter cells can be copied into it.
        let commitment = chip.assign_commitment(&mut layouter, witness.is_some(), self.tails.as_deref())?;
        let cells = chip.assign_graph(&mut layouter, &value, witness, commitment.as_ref())?;
        chip.expose_instances(&mut layouter, &cells, commitment.as_ref())
    }
}

/// Row and table sizes of a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutSize {
    /// Rows used by the region.
    pub rows: usize,
    /// Rows of the activation table (including the all-zero row).
    pub act_table_rows: usize,
    /// Rows of the interpolation table (including the all-zero row; 1 without one).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub interp_table_rows: usize,
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
        self.params.limb_bits == 0 && self.graph.neurons.iter().any(|n| n.shift > 0 && n.act.is_none())
    }

    /// Whether `n`'s activation is a ReLU checked through its sign bit (limb mode only).
    pub fn sign_relu(&self, n: &Neuron) -> bool {
        self.params.limb_bits > 0 && n.act.is_some_and(|a| self.graph.acts[a as usize] == Activation::Relu)
    }

    /// Bits of a post block's second limb chain (limb mode): ReLU's `U`, or `q + bound` without activation.
    pub(crate) fn second_chain(&self, n: &Neuron) -> Option<u8> {
        limbs::second_chain_bits(self.sign_relu(n), n.act.is_none(), self.relu_bits())
    }

    /// Bits of the ReLU range check: `bound = 2^relu_bits`.
    pub fn relu_bits(&self) -> u8 {
        (self.bound.max(1) as u64).next_power_of_two().trailing_zeros() as u8
    }

    /// Rows of `n`'s result: one, or its limb chains and its precise activation's gadget.
    fn result_rows(&self, n: &Neuron, gadgets: &[Option<Gadget>]) -> usize {
        let t = self.params.limb_bits;
        if t == 0 || !n.has_post() {
            return 1;
        }
        let gadget = n.act.and_then(|a| gadgets[a as usize]);
        limbs::post_rows(n.shift, self.second_chain(n), t) + gadget.map_or(0, |g| g.rows(t))
    }

    /// Rows a neuron occupies: its operand rows plus its result rows.
    pub fn neuron_rows(&self, n: &Neuron) -> usize {
        self.neuron_rows_with(n, &self.gadgets())
    }

    fn neuron_rows_with(&self, n: &Neuron, gadgets: &[Option<Gadget>]) -> usize {
        let committed_slots = self.params.committed().then_some(self.params.store);
        chip::operand_rows(n, self.params.width, committed_slots) + self.result_rows(n, gadgets)
    }

    /// Whether activation `a` is checked by the activation table.
    pub fn in_act_table(&self, a: &Activation) -> bool {
        self.params.limb_bits == 0 || (*a != Activation::Relu && !a.is_precise())
    }

    /// The gadget of every activation (by index) checked by one (limb mode's precise activations).
    pub fn gadgets(&self) -> Vec<Option<Gadget>> {
        self.graph
            .acts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                (self.params.limb_bits > 0 && a.is_precise())
                    .then(|| Gadget::of(a, i as u64 + 1, self.scale, self.bound))
                    .flatten()
            })
            .collect()
    }

    /// Rows of the interpolation table: the all-zero row, `2·bound / 2^m` nodes per interpolated activation
    /// and, per range-reduced logarithm, its mantissa nodes and one row per exponent.
    pub fn interp_table_rows(&self) -> usize {
        if !self.params.interp {
            return 1;
        }
        1 + self
            .graph
            .acts
            .iter()
            .map(|a| match *a {
                Activation::Interp { bits, .. } => nonlinear::interp_nodes(self.bound.max(1), bits).count(),
                Activation::LogReduced { node_bits } => nonlinear::log_table_rows(self.bound, node_bits),
                _ => 0,
            })
            .sum::<usize>()
    }

    /// Tags of the range table: the rescale shifts, or (limbs) the limb widths in use.
    pub fn range_tags(&self) -> Vec<u8> {
        let t = self.params.limb_bits;
        if t == 0 {
            return self.shifts();
        }
        let mut w: Vec<u8> = vec![];
        let gadgets = self.gadgets();
        for n in self.graph.neurons.iter().filter(|n| n.has_post()) {
            w.extend(limbs::limb_widths(n.shift, t));
            if let Some(b) = self.second_chain(n) {
                w.extend(limbs::limb_widths(b, t));
            }
            if let Some(g) = n.act.and_then(|a| gadgets[a as usize]) {
                for b in g.chains() {
                    w.extend(limbs::limb_widths(b, t));
                }
            }
        }
        w.retain(|&b| b > 0);
        w.sort_unstable();
        w.dedup();
        w
    }

    /// Distinct non-zero shifts, sorted.
    pub fn shifts(&self) -> Vec<u8> {
        let mut s: Vec<u8> = self.graph.neurons.iter().map(|n| n.shift).filter(|&s| s > 0).collect();
        s.sort_unstable();
        s.dedup();
        s
    }

    /// Rows of the inputs and neurons (the private parameters' commitment follows them).
    pub fn inference_rows(&self) -> usize {
        let w = self.params.width;
        let rows = (self.graph.num_inputs as usize).div_ceil(w);
        let gadgets = self.gadgets();
        rows + self.graph.neurons.iter().map(|n| self.neuron_rows_with(n, &gadgets)).sum::<usize>()
    }

    /// Rows and table sizes.
    pub fn layout_size(&self) -> LayoutSize {
        let w = self.params.width;
        let mut rows = self.inference_rows();
        if self.params.hashed() {
            let plan = poseidon::PoseidonPlan::for_width(w.max(8));
            rows += plan.map_or(0, |p| p.rows_for(self.graph.private_param_count()));
        }
        let tags = self.graph.acts.iter().filter(|a| self.in_act_table(a)).count()
            + usize::from(self.needs_identity());
        LayoutSize {
            rows,
            act_table_rows: 1 + tags * 2 * self.bound as usize,
            interp_table_rows: self.interp_table_rows(),
            range_table_rows: 1 + self.range_tags().iter().map(|&d| 1usize << d).sum::<usize>(),
        }
    }

    /// Public instances: the inputs, the outputs, the weights commitment (`--params private`: four limbs
    /// per weight column; `hashed`: one field element), and last the fulfiller's address (bound by the
    /// transcript, see `crate::proof`).
    pub fn num_instances(&self) -> usize {
        self.graph.num_inputs as usize + self.graph.outputs.len() + self.commitment_words() + 1
    }

    /// Public instances that carry the weights commitment.
    pub fn commitment_words(&self) -> usize {
        if self.params.committed() {
            self.params.store * crate::commit::WORDS_PER_POINT
        } else {
            usize::from(self.params.private)
        }
    }

    /// `--params private`: every weight cell of the committed columns, `(column, row, value)`: each private
    /// neuron's bias and coefficients in its operand rows (`chip::committed_weight_cells`). Every other
    /// usable cell of these columns is zero.
    pub fn weight_cells(&self) -> Vec<(usize, usize, i64)> {
        if !self.params.committed() {
            return vec![];
        }
        let gadgets = self.gadgets();
        let mut row = (self.graph.num_inputs as usize).div_ceil(self.params.width.max(4));
        let mut out = vec![];
        for n in &self.graph.neurons {
            if let NeuronOp::Linear { terms, bias, private: true } = &n.op {
                out.extend(chip::committed_weight_cells((terms, *bias), row, self.params.store));
            }
            row += self.neuron_rows_with(n, &gadgets);
        }
        out
    }

    /// The smallest `k` whose usable rows hold the layout, both tables and the instance column.
    pub fn min_k(&self) -> u32 {
        let mut cs = ConstraintSystem::<Fr>::default();
        let _ = InferenceChip::configure(&mut cs, self.params);
        let size = self.layout_size();
        let need = size
            .rows
            .max(size.act_table_rows)
            .max(size.range_table_rows)
            .max(size.interp_table_rows)
            .max(self.num_instances())
            + cs.blinding_factors()
            + 1;
        let mut k = 4u32;
        while (1usize << k) < need.max(cs.minimum_rows()) {
            k += 1;
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn degree(params: CircuitParams) -> usize {
        let mut cs = ConstraintSystem::<Fr>::default();
        let _ = InferenceChip::configure(&mut cs, params);
        cs.degree()
    }

    #[test]
    fn to_field_is_the_signed_integer_mod_p() {
        use crate::field::to_field;
        use halo2_proofs::halo2curves::ff::PrimeField;
        for x in
            [0i128, 1, -1, 255, -(1 << 40), (1 << 64) - 1, 1 << 64, -(1 << 64) - 7, i128::MAX, i128::MIN + 1]
        {
            let m = Fr::from_u128(x.unsigned_abs());
            assert_eq!(to_field(x), if x < 0 { -m } else { m }, "{x}");
        }
    }

    #[test]
    fn private_parameters_do_not_raise_the_degree() {
        // The quotient's size (and the verifier's work) follows the degree: the commitment must not raise it.
        let fixed = degree(CircuitParams { width: 8, ..CircuitParams::default() });
        for width in [8, 16, 32] {
            assert_eq!(
                degree(CircuitParams { width, private: true, ..CircuitParams::default() }),
                fixed,
                "width {width}"
            );
            assert_eq!(
                degree(CircuitParams {
                    width,
                    private: true,
                    limb_bits: 8,
                    act_table: false,
                    ..CircuitParams::default()
                }),
                fixed,
                "limbs, width {width}"
            );
            assert_eq!(
                degree(CircuitParams { width, private: true, store: width, ..CircuitParams::default() }),
                fixed,
                "committed weight columns, width {width}"
            );
        }
    }
}
