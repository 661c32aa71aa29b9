//! Double precision demoted to single before tract and the lowering see a model.
//!
//! tract refuses to unify `f32` with `f64` operands (a `Cast` to double next to float weights, as in EZKL's
//! `linear_svc`; skl2onnx's double-precision models), and zkoracle quantizes every real value to fixed point
//! far coarser than `f32` anyway. So every double tensor (initializers, `Constant` / `ConstantOfShape`
//! values), every `Cast` to double and every double-typed graph input, output and value becomes `f32`,
//! recursively through subgraphs. Integer and boolean tensors are untouched.

use tract_onnx::pb::{
    tensor_proto::DataType, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto,
    TypeProto, ValueInfoProto,
};

const DOUBLE: i32 = DataType::Double as i32;
const FLOAT: i32 = DataType::Float as i32;

/// Demotes every double-precision tensor and type of `model` to `f32`; whether anything changed.
pub(crate) fn demote_doubles(model: &mut ModelProto) -> bool {
    model.graph.as_mut().is_some_and(graph)
}

fn graph(g: &mut GraphProto) -> bool {
    let mut changed = false;
    for t in &mut g.initializer {
        changed |= tensor(t);
    }
    for v in g.input.iter_mut().chain(&mut g.output).chain(&mut g.value_info) {
        changed |= value_info(v);
    }
    for n in &mut g.node {
        changed |= node(n);
    }
    changed
}

fn node(n: &mut NodeProto) -> bool {
    let cast = n.op_type == "Cast" || n.op_type == "CastLike";
    let mut changed = false;
    for a in &mut n.attribute {
        if cast && a.name == "to" && a.i == i64::from(DOUBLE) {
            a.i = i64::from(FLOAT);
            changed = true;
        }
        changed |= attribute(a);
    }
    changed
}

fn attribute(a: &mut AttributeProto) -> bool {
    let mut changed = false;
    if let Some(t) = &mut a.t {
        changed |= tensor(t);
    }
    for t in &mut a.tensors {
        changed |= tensor(t);
    }
    if let Some(g) = &mut a.g {
        changed |= graph(g);
    }
    for g in &mut a.graphs {
        changed |= graph(g);
    }
    changed
}

fn value_info(v: &mut ValueInfoProto) -> bool {
    v.r#type.as_mut().is_some_and(type_proto)
}

fn type_proto(t: &mut TypeProto) -> bool {
    match &mut t.value {
        Some(type_proto::Value::TensorType(tt)) if tt.elem_type == DOUBLE => {
            tt.elem_type = FLOAT;
            true
        }
        _ => false,
    }
}

/// A double tensor as `f32` (its `double_data` or little-endian `raw_data`).
fn tensor(t: &mut TensorProto) -> bool {
    if t.data_type != DOUBLE {
        return false;
    }
    t.data_type = FLOAT;
    if !t.raw_data.is_empty() {
        t.raw_data = t
            .raw_data
            .chunks_exact(8)
            .flat_map(|c| {
                let v = f64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
                (v as f32).to_le_bytes()
            })
            .collect();
    }
    t.float_data = t.double_data.drain(..).map(|v| v as f32).collect();
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_tensors_casts_and_types_become_float() {
        let raw: Vec<u8> = [1.5f64, -2.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let init = TensorProto { data_type: DOUBLE, dims: vec![2], raw_data: raw, ..Default::default() };
        let constant = TensorProto { data_type: DOUBLE, double_data: vec![0.5], ..Default::default() };
        let ints =
            TensorProto { data_type: DataType::Int64 as i32, int64_data: vec![3], ..Default::default() };
        let cast = NodeProto {
            op_type: "Cast".into(),
            attribute: vec![AttributeProto { name: "to".into(), i: i64::from(DOUBLE), ..Default::default() }],
            ..Default::default()
        };
        let konst = NodeProto {
            op_type: "Constant".into(),
            attribute: vec![AttributeProto { name: "value".into(), t: Some(constant), ..Default::default() }],
            ..Default::default()
        };
        let typed = |elem_type| ValueInfoProto {
            r#type: Some(TypeProto {
                value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type, shape: None })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut model = ModelProto {
            graph: Some(GraphProto {
                initializer: vec![init, ints.clone()],
                node: vec![cast, konst],
                input: vec![typed(DOUBLE)],
                output: vec![typed(DataType::Int64 as i32)],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(demote_doubles(&mut model));
        let g = model.graph.as_ref().expect("graph");
        assert_eq!(g.initializer[0].data_type, FLOAT);
        let raw: Vec<f32> = g.initializer[0]
            .raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
            .collect();
        assert_eq!(raw, [1.5, -2.25]);
        assert_eq!(g.initializer[1], ints, "integer tensors stay");
        assert_eq!(g.node[0].attribute[0].i, i64::from(FLOAT));
        let t = g.node[1].attribute[0].t.as_ref().expect("value");
        assert_eq!((t.data_type, t.float_data.as_slice()), (FLOAT, &[0.5f32][..]));
        let elem = |v: &ValueInfoProto| match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(type_proto::Value::TensorType(tt)) => tt.elem_type,
            _ => 0,
        };
        assert_eq!((elem(&g.input[0]), elem(&g.output[0])), (FLOAT, DataType::Int64 as i32));
        assert!(!demote_doubles(&mut model), "nothing left to demote");
    }
}
