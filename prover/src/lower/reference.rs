//! The float reference for ONNX-ML ops that tract does not run (or runs with other semantics than
//! onnxruntime): `compile` calibrates every model against tract's float inference, so these ops are
//! registered with tract here — TreeEnsembleClassifier/Regressor (evaluated by [`Ensemble::eval`], the same
//! ONNX-ML semantics the circuit lowering implements: onnxruntime's binary layout and labels, which tract's
//! own classifier does not follow), Scaler and ZipMap (the probability tensor itself: zkoracle's outputs
//! are tensors), and Celu (tract 0.23 leaves out the factor `alpha` of `alpha·(e^(x/alpha) − 1)`, 0.15 off
//! on corpus/celu.onnx, which made calibration measure tract's error instead of the circuit's).

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::trees::Ensemble;

/// tract's ONNX framework with zkoracle's ONNX-ML reference ops registered.
pub(crate) fn onnx() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    onnx.op_register.insert("TreeEnsembleClassifier", ensemble);
    onnx.op_register.insert("TreeEnsembleRegressor", ensemble);
    onnx.op_register.insert("Scaler", scaler);
    onnx.op_register.insert("ZipMap", zip_map);
    onnx.op_register.insert("Celu", celu);
    onnx
}

fn celu(_: &ParsingContext<'_>, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let alpha = f64::from(node.get_attr_opt::<f32>("alpha")?.unwrap_or(1.0));
    Ok((expand(MlReference { name: node.name.clone(), kind: Kind::Celu { alpha } }), vec![]))
}

fn ensemble(_: &ParsingContext<'_>, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let parsed = Ensemble::parse(node).map_err(|e| format_err!("{e}"))?;
    let op = MlReference { name: node.name.clone(), kind: Kind::Ensemble(Arc::new(parsed)) };
    Ok((expand(op), vec![]))
}

fn scaler(_: &ParsingContext<'_>, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let get = |name: &str| -> TractResult<Vec<f64>> {
        Ok(node.get_attr_opt_vec::<f32>(name)?.unwrap_or_default().into_iter().map(f64::from).collect())
    };
    let op = MlReference {
        name: node.name.clone(),
        kind: Kind::Scaler { offset: get("offset")?, scale: get("scale")? },
    };
    Ok((expand(op), vec![]))
}

fn zip_map(_: &ParsingContext<'_>, node: &NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(MlReference { name: node.name.clone(), kind: Kind::ZipMap }), vec![]))
}

#[derive(Clone, Debug)]
enum Kind {
    Ensemble(Arc<Ensemble>),
    /// `(x − offset) · scale`, per feature (a single value broadcasts).
    Scaler {
        offset: Vec<f64>,
        scale: Vec<f64>,
    },
    ZipMap,
    /// ONNX's Celu, element-wise.
    Celu {
        alpha: f64,
    },
}

/// One reference op; equal when it comes from the same ONNX node.
#[derive(Clone, Debug)]
struct MlReference {
    name: String,
    kind: Kind,
}

impl PartialEq for MlReference {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && std::mem::discriminant(&self.kind) == std::mem::discriminant(&other.kind)
    }
}

impl Eq for MlReference {}

impl MlReference {
    fn outputs(&self) -> usize {
        match &self.kind {
            Kind::Ensemble(e) if e.is_classifier() => 2,
            _ => 1,
        }
    }
}

impl Expansion for MlReference {
    fn name(&self) -> StaticName {
        "zkoracle.MlReference".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.outputs())
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, self.outputs())?;
        match &self.kind {
            Kind::Ensemble(e) if e.is_classifier() => {
                s.equals(&outputs[0].datum_type, DatumType::I64)?;
                s.equals(&outputs[1].datum_type, DatumType::F32)?;
                s.equals(&outputs[0].rank, 1)?;
                s.equals(&outputs[1].rank, 2)?;
            }
            _ => {
                s.equals(&outputs[0].datum_type, DatumType::F32)?;
            }
        }
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

impl Op for MlReference {
    fn name(&self) -> StaticName {
        "zkoracle.MlReference".into()
    }

    op_as_typed_op!();
}

/// The input as rows of f64 features: `[N, F]` (or `[F]`, one row).
fn rows(x: &Tensor) -> TractResult<(usize, usize, Vec<f64>)> {
    let x = x.cast_to::<f64>()?;
    let shape = x.shape().to_vec();
    let data: Vec<f64> = x.to_plain_array_view::<f64>()?.iter().copied().collect();
    let (n, f) = match shape.as_slice() {
        [f] => (1, *f),
        [n, f] => (*n, *f),
        [] => (1, 1),
        s => (s[0], s[1..].iter().product()),
    };
    Ok((n, f, data))
}

impl EvalOp for MlReference {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext<'_>, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        match &self.kind {
            Kind::ZipMap => Ok(tvec!(input)),
            Kind::Celu { alpha } => {
                let (_, _, data) = rows(&input)?;
                let celu = crate::ir::UnaryOp::Celu;
                let out: Vec<f32> = data.iter().map(|&x| celu.eval(x, *alpha, 0.0) as f32).collect();
                Ok(tvec!(tensor1(&out).into_shape(input.shape())?.into_tvalue()))
            }
            Kind::Scaler { offset, scale } => {
                let (_, f, data) = rows(&input)?;
                let at = |v: &[f64], i: usize, d: f64| match v.len() {
                    0 => d,
                    1 => v[0],
                    _ => v.get(i % f.max(1)).copied().unwrap_or(d),
                };
                let out: Vec<f32> = data
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| ((x - at(offset, i, 0.0)) * at(scale, i, 1.0)) as f32)
                    .collect();
                Ok(tvec!(tensor1(&out).into_shape(input.shape())?.into_tvalue()))
            }
            Kind::Ensemble(e) => {
                let (n, f, data) = rows(&input)?;
                let (mut labels, mut values) = (vec![], vec![]);
                for row in data.chunks(f.max(1)).take(n) {
                    let (label, v) = e.eval(row);
                    labels.extend(label.map(|l| l as i64));
                    values.extend(v.iter().map(|&x| x as f32));
                }
                let cols = values.len() / n.max(1);
                let values = tensor1(&values).into_shape(&[n, cols])?.into_tvalue();
                if e.is_classifier() {
                    Ok(tvec!(tensor1(&labels).into_tvalue(), values))
                } else {
                    Ok(tvec!(values))
                }
            }
        }
    }
}

impl TypedOp for MlReference {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = &inputs[0].shape;
        match &self.kind {
            Kind::ZipMap => Ok(tvec!(inputs[0].without_value())),
            Kind::Scaler { .. } | Kind::Celu { .. } => Ok(tvec!(f32::fact(shape.iter()))),
            Kind::Ensemble(e) => {
                let n = if shape.rank() >= 2 { shape[0].clone() } else { 1.to_dim() };
                let cols = if e.is_classifier() && e.width() == 1 { 2 } else { e.width() };
                let values = f32::fact([n.clone(), cols.to_dim()]);
                if e.is_classifier() {
                    Ok(tvec!(i64::fact([n]), values))
                } else {
                    Ok(tvec!(values))
                }
            }
        }
    }

    as_op!();
}
