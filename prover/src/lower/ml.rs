//! ONNX-ML's LinearRegressor, as skl2onnx emits it for scikit-learn's linear models:
//! `X·coefficientsᵀ + intercepts` with `post_transform = NONE`, the coefficients model parameters (private
//! with `--params private`). (Scaler and LinearClassifier are not lowered: tract, which `compile` calibrates
//! against, cannot run Scaler, and LinearClassifier's SOFTMAX/ZipMap outputs are not tensors of one type.)

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};

use super::{attr_i, input, invalid, Ctx, OpLowering, Value};
use crate::ir::Var;
use crate::Result;

/// LinearRegressor.
pub(crate) struct MlLinear;

impl OpLowering for MlLinear {
    fn op_types(&self) -> &'static [&'static str] {
        &["LinearRegressor"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let Value::Dyn(x) = input(node, inputs, 0)? else {
            return Err(invalid(node, "constant input: nothing to prove"));
        };
        let (n, f) = match x.shape() {
            [f] => (1, *f),
            [n, f] => (*n, *f),
            s => return Err(invalid(node, format!("expects [N, features], got {s:?}"))),
        };
        let post = node.get_attr_opt::<String>("post_transform").map_err(|e| invalid(node, e.to_string()))?;
        if post.as_deref().is_some_and(|p| p != "NONE") {
            return Err(invalid(node, "only post_transform NONE is supported"));
        }
        let floats = |name: &str| -> Result<Option<Vec<f64>>> {
            let v = node.get_attr_opt_vec::<f32>(name).map_err(|e| invalid(node, e.to_string()))?;
            Ok(v.map(|v| v.iter().map(|&c| f64::from(c)).collect()))
        };
        let coef = floats("coefficients")?.ok_or_else(|| invalid(node, "missing coefficients"))?;
        let targets = usize::try_from(attr_i(node, "targets", 1)?).unwrap_or(0);
        if targets == 0 || coef.len() != targets * f {
            return Err(invalid(
                node,
                format!("{} coefficients for {targets} targets of {f} features", coef.len()),
            ));
        }
        let intercepts = floats("intercepts")?.unwrap_or_else(|| vec![0.0; targets]);
        if intercepts.len() != targets {
            return Err(invalid(node, format!("{} intercepts for {targets} targets", intercepts.len())));
        }
        let flat: Vec<Var> = x.iter().copied().collect();
        let mut out = Vec::with_capacity(n * targets);
        for row in flat.chunks(f) {
            for t in 0..targets {
                let terms: Vec<(Var, f64)> =
                    row.iter().zip(&coef[t * f..(t + 1) * f]).map(|(&v, &w)| (v, w)).collect();
                out.push(cx.affine_params(&terms, intercepts[t]));
            }
        }
        let v =
            ArrayD::from_shape_vec(IxDyn(&[n, targets]), out).map_err(|e| invalid(node, e.to_string()))?;
        Ok(vec![Value::Dyn(v)])
    }
}
