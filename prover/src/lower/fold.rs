//! Constant folding with tract's own analysis: every tensor of the ONNX graph whose value does not depend on
//! the model's inputs (ConstantOfShape of a static shape, `Shape → Gather → Unsqueeze → Concat` chains, Range,
//! arithmetic and reductions over initializers, casts…) is computed once by tract's type and value inference,
//! with ONNX's own semantics and types, and the lowering takes it as a constant: its node needs no lowering
//! family and costs nothing in the circuit.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;
use tract_onnx::prelude::tract_ndarray::ArrayD;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

/// The graph's input-independent tensors, by ONNX tensor name, as `f64` (integers and booleans exactly).
#[derive(Clone, Debug, Default)]
pub(crate) struct Folded {
    values: HashMap<String, ArrayD<f64>>,
    /// The tensors whose ONNX type is an integer type (their arithmetic follows ONNX's integer rules:
    /// `Div` truncates).
    integers: HashSet<String>,
}

impl Folded {
    /// Runs tract's analysis on `model` with every graph input fixed to `input_shapes` (the shapes the
    /// lowering uses: symbolic dimensions are 1). Best effort: a model tract cannot analyse folds nothing,
    /// and the lowering then reports the op it cannot lower.
    pub(crate) fn analyse(model: &pb::ModelProto, input_shapes: &[Vec<usize>]) -> Self {
        let run = std::panic::AssertUnwindSafe(|| Self::try_analyse(model, input_shapes));
        std::panic::catch_unwind(run).ok().and_then(|r| r.ok()).unwrap_or_default()
    }

    fn try_analyse(model: &pb::ModelProto, input_shapes: &[Vec<usize>]) -> TractResult<Self> {
        let mut m = crate::lower::onnx().model_for_proto_model(model)?;
        for (i, shape) in input_shapes.iter().enumerate() {
            let dt = m.input_fact(i)?.datum_type.concretize().unwrap_or(DatumType::F32);
            m.set_input_fact(i, InferenceFact::dt_shape(dt, shape.as_slice()))?;
        }
        // Best effort: facts that cannot be inferred stay unknown, the rest is still folded.
        let _ = m.analyse(false);
        let inputs: Vec<OutletId> = m.input_outlets()?.to_vec();
        let mut values = HashMap::new();
        let mut integers = HashSet::new();
        for node in m.nodes() {
            for (slot, output) in node.outputs.iter().enumerate() {
                let integer = output.fact.datum_type.concretize().is_some_and(|dt| dt.is_integer());
                if let Some(label) = m.outlet_label(OutletId::new(node.id, slot)).filter(|_| integer) {
                    integers.insert(label.to_string());
                }
            }
            if node.inputs.is_empty() {
                continue; // inputs, initializers and Constant nodes: the lowering reads them itself
            }
            for (slot, output) in node.outputs.iter().enumerate() {
                let outlet = OutletId::new(node.id, slot);
                let Some(label) = m.outlet_label(outlet) else { continue };
                if inputs.contains(&outlet) {
                    continue;
                }
                let Some(tensor) = output.fact.value.concretize() else { continue };
                let Ok(cast) = tensor.cast_to::<f64>() else { continue };
                let Ok(view) = cast.to_plain_array_view::<f64>() else { continue };
                values.insert(label.to_string(), view.to_owned());
            }
        }
        Ok(Self { values, integers })
    }

    /// Whether the tensor `name` has an integer ONNX type (as tract's analysis typed it).
    pub(crate) fn is_integer(&self, name: &str) -> bool {
        self.integers.contains(name)
    }

    /// The constant values of `outputs` when every one of them is input-independent.
    pub(crate) fn outputs(&self, outputs: &[String]) -> Option<Vec<ArrayD<f64>>> {
        if outputs.is_empty() {
            return None;
        }
        outputs.iter().map(|o| self.values.get(o).cloned()).collect()
    }
}
