//! ONNX → quantized neuron graph. One module per op family, each behind [`OpLowering`]; the driver walks the
//! ONNX graph in order, folds constants and asks the family that claims each op type to lower it.

mod broadcast;
mod compare;
mod elementwise;
mod fold;
mod linear;
mod ml;
mod movement;
mod norm;
#[cfg(test)]
mod op_tests;
mod pool;
mod precision;
mod recurrent;
mod reference;
mod resize;
mod scatter;
mod select;
mod shape;
mod trees;
mod variadic;
mod window;

use std::collections::HashMap;

use tract_onnx::pb::{self, NodeProto};
use tract_onnx::prelude::tract_ndarray::{ArrayD, IxDyn};

pub(crate) use fold::Folded;
pub(crate) use precision::demote_doubles;
pub(crate) use reference::onnx;

use crate::ir::{Activation, Graph, Neuron, NeuronOp, Var};
use crate::{Error, Result};

/// A tensor flowing through the ONNX graph: known at compile time, or computed from the input.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A constant (initializer, Constant node, or folded sub-graph).
    Const(ArrayD<f64>),
    /// A tensor of circuit values.
    Dyn(ArrayD<Var>),
}

impl Value {
    pub(crate) fn shape(&self) -> &[usize] {
        match self {
            Self::Const(a) => a.shape(),
            Self::Dyn(a) => a.shape(),
        }
    }
}

/// A family of ONNX ops lowered together.
pub(crate) trait OpLowering: Sync {
    /// The ONNX op types this family lowers.
    fn op_types(&self) -> &'static [&'static str];
    /// Lowers one node. `inputs[i]` is `None` for an omitted optional input.
    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>>;
}

static FAMILIES: &[&dyn OpLowering] = &[
    &linear::Linear,
    &elementwise::Elementwise,
    &pool::Pooling,
    &shape::Shape,
    &broadcast::Broadcast,
    &variadic::Variadic,
    &movement::Movement,
    &resize::Resize,
    &ml::MlLinear,
    &trees::TreeEnsembles,
    &norm::Normalization,
    &recurrent::Recurrent,
    &compare::Compare,
    &select::Select,
];

fn family_for(op_type: &str) -> Option<&'static dyn OpLowering> {
    FAMILIES.iter().copied().find(|f| f.op_types().contains(&op_type))
}

/// The lowering context: the graph under construction and the fixed-point scales.
pub(crate) struct Ctx<'a> {
    pub(crate) graph: &'a mut Graph,
    /// Scale of every value (activations, inputs, outputs).
    pub(crate) scale: u8,
    /// Scale of constant coefficients (weights); products are rescaled by it.
    pub(crate) weight_scale: u8,
    /// Whether model parameters are private witnesses (`--params private`).
    pub(crate) private: bool,
    /// One-hot vectors `[idx == j]` of computed gather indices, by `(idx, axis size)` (`select.rs`).
    pub(crate) one_hots: HashMap<(Var, usize), Vec<Var>>,
    /// The input-independent tensors and the ONNX types tract's analysis found.
    pub(crate) folded: &'a Folded,
}

/// How a model is quantized and lowered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LowerOptions {
    /// Scale (bits) of every value.
    pub scale: u8,
    /// Scale (bits) of weights.
    pub weight_scale: u8,
    /// Model parameters become private, committed witnesses: their neurons' structure must not depend on
    /// their values (no zero terms dropped, no integral fast path).
    pub private: bool,
}

/// `round(x · 2^bits)`.
fn fixed(x: f64, bits: u8) -> i64 {
    (x * f64::powi(2.0, i32::from(bits))).round() as i64
}

impl Ctx<'_> {
    /// `bias + Σ coef · v` with real coefficients fixed by the model's structure (sums, means, differences),
    /// at the model scale. Never private.
    pub(crate) fn affine(&mut self, terms: &[(Var, f64)], bias: f64) -> Var {
        let integral = terms.iter().all(|(_, c)| c.fract() == 0.0 && c.abs() < 1e6);
        let neuron = if integral {
            Neuron {
                op: NeuronOp::Linear {
                    terms: terms.iter().filter(|(_, c)| *c != 0.0).map(|(v, c)| (*v, *c as i64)).collect(),
                    bias: fixed(bias, self.scale),
                    private: false,
                },
                shift: 0,
                act: None,
            }
        } else {
            self.weighted(terms, bias, false)
        };
        self.graph.push(neuron)
    }

    /// `bias + Σ coef · v` where the coefficients and the bias are model parameters (weights, biases,
    /// normalisation constants taken from initializers). With `--params private` they become committed
    /// witnesses and the neuron's shape depends only on the number of terms.
    pub(crate) fn affine_params(&mut self, terms: &[(Var, f64)], bias: f64) -> Var {
        if !self.private {
            return self.affine(terms, bias);
        }
        let neuron = self.weighted(terms, bias, true);
        self.graph.push(neuron)
    }

    /// A neuron with coefficients at the weight scale, rescaled back to the model scale.
    fn weighted(&self, terms: &[(Var, f64)], bias: f64, private: bool) -> Neuron {
        let coef = terms.iter().map(|(v, c)| (*v, fixed(*c, self.weight_scale)));
        Neuron {
            op: NeuronOp::Linear {
                // Private parameters keep zero coefficients: dropping them would reveal where they are.
                terms: if private { coef.collect() } else { coef.filter(|(_, c)| *c != 0).collect() },
                bias: fixed(bias, self.scale + self.weight_scale),
                private,
            },
            shift: self.weight_scale,
            act: None,
        }
    }

    /// `act(v)`.
    pub(crate) fn activation(&mut self, v: Var, act: Activation) -> Var {
        let act = self.graph.act_id(act);
        self.graph.push(Neuron {
            op: NeuronOp::Linear { terms: vec![(v, 1)], bias: 0, private: false },
            shift: 0,
            act: Some(act),
        })
    }

    /// `a · b` of two circuit values.
    pub(crate) fn mul(&mut self, a: Var, b: Var) -> Var {
        self.graph.push(Neuron { op: NeuronOp::Mul { a, b }, shift: self.scale, act: None })
    }

    /// `max(a, b) = relu(a − b) + b`.
    pub(crate) fn max(&mut self, a: Var, b: Var) -> Var {
        let d = self.affine(&[(a, 1.0), (b, -1.0)], 0.0);
        let r = self.activation(d, Activation::Relu);
        self.affine(&[(r, 1.0), (b, 1.0)], 0.0)
    }
}

/// Node context for error messages.
pub(crate) fn node_name(node: &NodeProto) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else {
        node.output.first().cloned().unwrap_or_default()
    }
}

/// An "invalid node" error.
pub(crate) fn invalid(node: &NodeProto, reason: impl Into<String>) -> Error {
    Error::InvalidNode { op: node.op_type.clone(), node: node_name(node), reason: reason.into() }
}

/// A required input.
pub(crate) fn input<'v>(node: &NodeProto, inputs: &'v [Option<Value>], i: usize) -> Result<&'v Value> {
    inputs.get(i).and_then(|v| v.as_ref()).ok_or_else(|| invalid(node, format!("missing input #{i}")))
}

/// A required constant input.
pub(crate) fn const_input<'v>(
    node: &NodeProto,
    inputs: &'v [Option<Value>],
    i: usize,
) -> Result<&'v ArrayD<f64>> {
    match input(node, inputs, i)? {
        Value::Const(c) => Ok(c),
        Value::Dyn(_) => Err(invalid(node, format!("input #{i} must be a constant (weights are fixed)"))),
    }
}

/// An attribute, or `default`.
pub(crate) fn attr_i(node: &NodeProto, name: &str, default: i64) -> Result<i64> {
    Ok(node.get_attr_opt::<i64>(name).map_err(|e| invalid(node, e.to_string()))?.unwrap_or(default))
}

/// A float attribute, or `default`.
pub(crate) fn attr_f(node: &NodeProto, name: &str, default: f64) -> Result<f64> {
    Ok(node.get_attr_opt::<f32>(name).map_err(|e| invalid(node, e.to_string()))?.map_or(default, f64::from))
}

/// A float-list attribute, as f64.
pub(crate) fn attr_floats(node: &NodeProto, name: &str) -> Result<Option<Vec<f64>>> {
    let v = node.get_attr_opt_vec::<f32>(name).map_err(|e| invalid(node, e.to_string()))?;
    Ok(v.map(|v| v.into_iter().map(f64::from).collect()))
}

/// An int-list attribute.
pub(crate) fn attr_ints(node: &NodeProto, name: &str) -> Result<Option<Vec<i64>>> {
    node.get_attr_opt_vec::<i64>(name).map_err(|e| invalid(node, e.to_string()))
}

/// Resolves a possibly negative axis against `rank`.
pub(crate) fn axis(node: &NodeProto, a: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(invalid(node, format!("axis {a} out of range for rank {rank}")));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}

/// A 1-D Conv or pooling node as the 2-D node over a height-1 image: `kernel_shape`, `strides` and
/// `dilations` gain a leading 1, `pads [b, e]` become `[0, b, 0, e]`.
pub(crate) fn lift_1d(node: &NodeProto) -> NodeProto {
    let mut lifted = node.clone();
    for a in &mut lifted.attribute {
        match a.name.as_str() {
            "kernel_shape" | "strides" | "dilations" if a.ints.len() == 1 => a.ints.insert(0, 1),
            "output_padding" if a.ints.len() == 1 => a.ints.insert(0, 0),
            "pads" if a.ints.len() == 2 => a.ints = vec![0, a.ints[0], 0, a.ints[1]],
            _ => {}
        }
    }
    lifted
}

/// A tensor with a unit axis inserted at `at` (1-D → 2-D lifting), or that axis removed.
pub(crate) fn with_unit_axis(v: &Value, at: usize, insert: bool) -> Value {
    use tract_onnx::prelude::tract_ndarray::Axis;
    match (v, insert) {
        (Value::Const(c), true) => Value::Const(c.clone().insert_axis(Axis(at))),
        (Value::Dyn(d), true) => Value::Dyn(d.clone().insert_axis(Axis(at))),
        (Value::Const(c), false) => Value::Const(c.clone().remove_axis(Axis(at))),
        (Value::Dyn(d), false) => Value::Dyn(d.clone().remove_axis(Axis(at))),
    }
}

/// The result of lowering a whole model.
#[derive(Clone, Debug)]
pub(crate) struct Lowered {
    /// The quantized graph.
    pub graph: Graph,
    /// Shape of each model input.
    pub input_shapes: Vec<Vec<usize>>,
    /// Shape of each model output.
    pub output_shapes: Vec<Vec<usize>>,
}

fn tensor_to_f64(t: &pb::TensorProto, what: &str) -> Result<ArrayD<f64>> {
    let resolver = tract_onnx::data_resolver::MmapDataResolver;
    let tensor = tract_onnx::tensor::load_tensor(&resolver, t, None)
        .and_then(|t| t.cast_to::<f64>().map(|c| c.into_owned()))
        .map_err(|e| Error::InvalidModel(format!("tensor `{what}`: {e}")))?;
    let arr = tensor
        .to_plain_array_view::<f64>()
        .map_err(|e| Error::InvalidModel(format!("tensor `{what}`: {e}")))?;
    Ok(arr.to_owned())
}

fn value_info_shape(vi: &pb::ValueInfoProto) -> Result<Vec<usize>> {
    use pb::type_proto::Value as TV;
    let Some(TV::TensorType(tt)) = vi.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(Error::InvalidModel(format!("graph input `{}` is not a tensor", vi.name)));
    };
    let Some(shape) = tt.shape.as_ref() else {
        return Err(Error::InvalidModel(format!("graph input `{}` has no shape", vi.name)));
    };
    Ok(shape
        .dim
        .iter()
        .map(|d| match &d.value {
            // A symbolic dimension is the batch: zkoracle proves one sample at a time.
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) if *v > 0 => *v as usize,
            _ => 1,
        })
        .collect())
}

/// The shapes the lowering gives the graph's inputs (symbolic dimensions are 1: one sample per proof).
pub(crate) fn input_shapes(model: &pb::ModelProto) -> Result<Vec<Vec<usize>>> {
    let g = model.graph.as_ref().ok_or_else(|| Error::InvalidModel("the ONNX model has no graph".into()))?;
    let inits: std::collections::HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    g.input.iter().filter(|vi| !inits.contains(vi.name.as_str())).map(value_info_shape).collect()
}

/// Lowers an ONNX model to the quantized neuron graph: values at `opts.scale`, weights at
/// `opts.weight_scale`; `folded` holds the input-independent tensors ([`Folded::analyse`]).
pub(crate) fn lower_model(model: &pb::ModelProto, folded: &Folded, opts: LowerOptions) -> Result<Lowered> {
    let LowerOptions { scale, weight_scale, private } = opts;
    let g = model.graph.as_ref().ok_or_else(|| Error::InvalidModel("the ONNX model has no graph".into()))?;
    let mut graph = Graph { num_inputs: 0, neurons: vec![], acts: vec![], outputs: vec![] };
    let mut env: HashMap<String, Value> = HashMap::new();
    for init in &g.initializer {
        env.insert(init.name.clone(), Value::Const(tensor_to_f64(init, &init.name)?));
    }
    let mut input_shapes = vec![];
    let graph_inputs: Vec<&pb::ValueInfoProto> =
        g.input.iter().filter(|vi| !env.contains_key(&vi.name)).collect();
    for vi in graph_inputs {
        let shape = value_info_shape(vi)?;
        let n: usize = shape.iter().product();
        let start = graph.num_inputs;
        let vars: Vec<Var> = (start..start + n as u32).collect();
        graph.num_inputs += n as u32;
        let arr =
            ArrayD::from_shape_vec(IxDyn(&shape), vars).map_err(|e| Error::InvalidModel(e.to_string()))?;
        env.insert(vi.name.clone(), Value::Dyn(arr));
        input_shapes.push(shape);
    }
    let mut cx = Ctx { graph: &mut graph, scale, weight_scale, private, one_hots: HashMap::new(), folded };
    for node in &g.node {
        // Input-independent outputs are constants (tract's analysis computed them): no family needed.
        if node.op_type != "Constant" {
            if let Some(values) = folded.outputs(&node.output) {
                for (name, value) in node.output.iter().zip(values) {
                    env.insert(name.clone(), Value::Const(value));
                }
                continue;
            }
        }
        let family = family_for(&node.op_type)
            .ok_or_else(|| Error::UnsupportedOp { op: node.op_type.clone(), node: node_name(node) })?;
        let inputs: Vec<Option<Value>> = node
            .input
            .iter()
            .map(|name| {
                if name.is_empty() {
                    Ok(None)
                } else {
                    env.get(name).cloned().map(Some).ok_or_else(|| {
                        invalid(node, format!("input `{name}` is not produced by any earlier node"))
                    })
                }
            })
            .collect::<Result<_>>()?;
        let outputs = family.lower(&mut cx, node, &inputs)?;
        for (name, value) in node.output.iter().zip(outputs) {
            env.insert(name.clone(), value);
        }
    }
    let (mut output_shapes, mut outputs) = (vec![], vec![]);
    for vo in &g.output {
        match env.get(&vo.name) {
            Some(Value::Dyn(arr)) => {
                output_shapes.push(arr.shape().to_vec());
                outputs.extend(arr.iter().copied());
            }
            // An input-independent output is still a claim the proof makes: constant neurons (the circuit
            // fixes their values), as EZKL proves torch.arange.
            Some(Value::Const(c)) => {
                output_shapes.push(c.shape().to_vec());
                outputs.extend(c.iter().map(|&v| cx.affine(&[], v)));
            }
            None => return Err(Error::InvalidModel(format!("graph output `{}` is never produced", vo.name))),
        }
    }
    graph.outputs = outputs;
    graph.fuse_activations();
    Ok(Lowered { graph, input_shapes, output_shapes })
}
