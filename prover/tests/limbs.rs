//! Limb-decomposed range checks: the sign-bit ReLU and the limb chains accept exactly the honest witness.

use std::sync::Arc;

use halo2_proofs::dev::MockProver;
use zkoracle_prover::testing::InferenceCircuit;
use zkoracle_prover::{to_field, CircuitParams, CircuitSpec};
use zkoracle_prover::{Activation, Graph, Neuron, NeuronOp};

/// `y = relu(round((3·x + 1) / 2))` (or without the ReLU) with 8-bit limbs and `bound = 256`.
fn spec(relu: bool) -> CircuitSpec {
    let mut graph = Graph { num_inputs: 1, neurons: vec![], acts: vec![], outputs: vec![] };
    let act = relu.then(|| graph.act_id(Activation::Relu));
    let y = graph.push(Neuron {
        op: NeuronOp::Linear { terms: vec![(0, 3)], bias: 1, private: false },
        shift: 1,
        act,
    });
    graph.outputs = vec![y];
    CircuitSpec {
        graph,
        scale: 4,
        bound: 256,
        params: CircuitParams {
            width: 4,
            private: false,
            limb_bits: 8,
            act_table: false,
            ..CircuitParams::default()
        },
    }
}

/// MockProver's verdict on input `x` claiming output `y` (the witness is honest except for `y`).
fn accepts(x: i64, y: i64) -> bool {
    accepts_with(true, x, y)
}

fn accepts_with(relu: bool, x: i64, y: i64) -> bool {
    let spec = spec(relu);
    let mut ev = spec.graph.evaluate(&[x], spec.scale, None).expect("evaluate");
    ev.values[1] = y;
    let k = spec.min_k();
    let instances = vec![vec![to_field(i128::from(x)), to_field(i128::from(y))]];
    let circuit = InferenceCircuit { spec: Arc::new(spec), witness: Some(Arc::new(ev)), tails: None };
    MockProver::run(k, &circuit, instances).expect("mock run").verify().is_ok()
}

#[test]
fn sign_relu_accepts_the_honest_output_only() {
    // (3·x + 1) / 2 rounded: x = 5 → 8, x = -5 → -7, x = 0 → 1 (0.5 rounds up), x = -1 → -1.
    for (x, q) in [(5, 8), (-5, -7), (0, 1), (-1, -1), (80, 121), (-80, -119)] {
        let honest = q.max(0);
        assert!(accepts(x, honest), "x = {x}: honest relu({q}) = {honest} rejected");
        for forged in [q, honest + 1, honest - 1, -q] {
            if forged != honest {
                assert!(!accepts(x, forged), "x = {x}: forged relu({q}) = {forged} accepted");
            }
        }
    }
}

#[test]
fn values_outside_the_limb_range_are_rejected() {
    // q = 301 needs 9 bits: U = q does not fit the 8 bits of `bound = 256`, for either sign bit.
    assert!(!accepts(200, 301));
    assert!(!accepts(-200, 0));
}

#[test]
fn rescaled_values_without_activation_are_range_checked() {
    for (x, q) in [(5, 8), (-5, -7), (80, 121), (-85, -127)] {
        assert!(accepts_with(false, x, q), "x = {x}: honest {q} rejected");
        assert!(!accepts_with(false, x, q + 1), "x = {x}: forged {} accepted", q + 1);
    }
    // q = 301 is outside [-256, 256): the signed range chain (9 bits for q + 256) rejects it.
    assert!(!accepts_with(false, 200, 301));
    assert!(!accepts_with(false, -200, -299));
}
