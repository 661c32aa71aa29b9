//! `zkoracle compile`: ONNX + sample input → calibrated, quantized circuit settings.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha3::{Digest, Keccak256};
use tract_onnx::prelude::*;

use crate::circuit::{CircuitParams, CircuitSpec};
use crate::input::{quantize_inputs, read_input};
use crate::ir::Graph;
use crate::lower::lower_model;
use crate::settings::{Calibration, CircuitSettings, ModelInfo, ParamsVisibility, SETTINGS_VERSION};
use crate::{Error, Result};

/// Options of `zkoracle compile`.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Fixed-point scale in bits; `None` picks the largest scale that keeps the smallest `k`.
    pub scale: Option<u8>,
    /// Operand columns; `None` picks the cheapest for the model.
    pub width: Option<usize>,
    /// Weight scale in bits; `None` uses the table room the circuit's `k` leaves (at most 12).
    pub weight_scale: Option<u8>,
}

/// Scales tried by automatic calibration.
const AUTO_SCALES: std::ops::RangeInclusive<u8> = 6..=12;
/// Perturbed copies of the sample input evaluated during calibration.
const CALIBRATION_SAMPLES: usize = 16;

/// A loaded ONNX model: its bytes, protobuf and tract's float plan.
pub struct OnnxModel {
    bytes: Vec<u8>,
    proto: tract_onnx::pb::ModelProto,
    file: String,
}

impl OnnxModel {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let proto = tract_onnx::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| Error::Onnx { path: path.into(), message: format!("{e:#}") })?;
        if proto.graph.as_ref().is_none_or(|g| g.node.is_empty()) {
            return Err(Error::Onnx { path: path.into(), message: "the model has no graph nodes".into() });
        }
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(Self { bytes, proto, file })
    }

    /// Runs tract's float inference on flattened `inputs` split over `shapes`.
    pub fn float_inference(&self, shapes: &[Vec<usize>], inputs: &[f64]) -> Result<Vec<f64>> {
        let err = |e: TractError| Error::Onnx { path: self.file.clone().into(), message: format!("{e:#}") };
        let mut model = tract_onnx::onnx().model_for_read(&mut self.bytes.as_slice()).map_err(err)?;
        for (i, s) in shapes.iter().enumerate() {
            model = model.with_input_fact(i, f32::fact(s).into()).map_err(err)?;
        }
        let plan = model.into_optimized().map_err(err)?.into_runnable().map_err(err)?;
        let mut offset = 0;
        let mut tensors = TVec::new();
        for s in shapes {
            let n: usize = s.iter().product();
            let data: Vec<f32> = inputs[offset..offset + n].iter().map(|&x| x as f32).collect();
            offset += n;
            let t = tract_ndarray::ArrayD::from_shape_vec(tract_ndarray::IxDyn(s), data)
                .map_err(|e| Error::Input(e.to_string()))?;
            tensors.push(Tensor::from(t).into());
        }
        let out = plan.run(tensors).map_err(err)?;
        let mut flat = vec![];
        for t in out {
            let t = t.cast_to::<f64>().map_err(err)?;
            flat.extend(t.to_plain_array_view::<f64>().map_err(err)?.iter().copied());
        }
        Ok(flat)
    }
}

/// One calibrated candidate.
struct Candidate {
    graph: Graph,
    scale: u8,
    weight_scale: u8,
    output_scale: u8,
    bound: i64,
    params: CircuitParams,
    k: u32,
    rows: usize,
    max_err: f64,
    max_q: i64,
    max_input: i64,
}

fn calibration_inputs(sample: &[f64]) -> Vec<Vec<f64>> {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7a6b_6f72_6163_6c65);
    let amp = sample.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-3);
    let mut out = vec![sample.to_vec()];
    for _ in 1..CALIBRATION_SAMPLES {
        out.push(
            sample
                .iter()
                .map(|&x| x * (1.0 + rng.gen_range(-0.5..0.5)) + amp * rng.gen_range(-0.1..0.1))
                .collect(),
        );
    }
    out
}

/// Largest weight scale tried: its remainder table (2^weight_scale rows) must stay small.
const MAX_WEIGHT_SCALE: u8 = 12;

/// The candidate at `scale` whose weight scale uses the table room left at that circuit's `k`.
fn best_candidate(
    model: &OnnxModel,
    scale: u8,
    cal: &[(Vec<f64>, Vec<f64>)],
    width: Option<usize>,
) -> Result<Candidate> {
    let base = candidate(model, scale, scale, cal, width)?;
    let spec = CircuitSpec { graph: base.graph.clone(), scale, bound: base.bound, params: base.params };
    let size = spec.layout_size();
    // Rows free for a larger remainder table at the same k (blinding rows kept aside generously).
    let usable = (1usize << base.k).saturating_sub(16);
    let room = usable.saturating_sub(size.range_table_rows);
    let mut ws = scale;
    while ws < MAX_WEIGHT_SCALE && (1usize << (ws + 1)) <= room {
        ws += 1;
    }
    if ws == scale {
        return Ok(base);
    }
    let wider = candidate(model, scale, ws, cal, width)?;
    Ok(if wider.k == base.k && wider.max_err <= base.max_err { wider } else { base })
}

fn candidate(
    model: &OnnxModel,
    scale: u8,
    weight_scale: u8,
    cal: &[(Vec<f64>, Vec<f64>)],
    width: Option<usize>,
) -> Result<Candidate> {
    let lowered = lower_model(&model.proto, scale, weight_scale)?;
    let mut graph = lowered.graph;
    let output_scale = scale + graph.keep_outputs_exact();
    let out_div = f64::powi(2.0, i32::from(output_scale));
    let (mut max_q, mut max_err, mut max_input) = (0i64, 0f64, 0i64);
    for (x, float_out) in cal {
        let q_in = quantize_inputs(x, scale)?;
        max_input = max_input.max(q_in.iter().map(|v| v.abs()).max().unwrap_or(0));
        let ev = graph.evaluate(&q_in, scale, None)?;
        for (n, q) in graph.neurons.iter().zip(&ev.q) {
            if n.has_post() {
                max_q = max_q.max(q.abs());
            }
        }
        for (q, f) in ev.outputs(&graph).iter().zip(float_out) {
            max_err = max_err.max((*q as f64 / out_div - f).abs());
        }
    }
    let bound = ((max_q + max_q / 2 + 1) as u64).next_power_of_two() as i64;
    let widths: Vec<usize> = width.map_or_else(|| vec![4, 8, 16, 32], |w| vec![w.max(4)]);
    let mut best: Option<(u64, CircuitParams, u32, usize)> = None;
    for w in widths {
        let spec = CircuitSpec { graph: graph.clone(), scale, bound, params: CircuitParams { width: w } };
        let k = spec.min_k();
        // Committed columns ≈ advice (w + 1) + lookups (6) + permutation products + quotient (4).
        let cost = (1u64 << k) * (w as u64 + 1 + 6 + (w as u64 + 2).div_ceil(3) + 4);
        if best.as_ref().is_none_or(|b| cost < b.0) {
            best = Some((cost, spec.params, k, spec.layout_size().rows));
        }
    }
    let (_, params, k, rows) = best.ok_or_else(|| Error::Input("no circuit width candidate".into()))?;
    Ok(Candidate {
        graph,
        scale,
        weight_scale,
        output_scale,
        bound,
        params,
        k,
        rows,
        max_err,
        max_q,
        max_input,
    })
}

/// Compiles `model` with the sample input `data`.
pub fn compile(model_path: &Path, data_path: &Path, opts: &CompileOptions) -> Result<CircuitSettings> {
    let model = OnnxModel::load(model_path)?;
    let sample = read_input(data_path)?;
    quantize_inputs(&sample, 0)?; // finiteness
                                  // Lower once at a default scale to learn the shapes and reject unsupported ops early.
    let probe = lower_model(&model.proto, 8, 8)?;
    let n_in: usize = probe.input_shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    if sample.len() != n_in {
        return Err(Error::Input(format!(
            "{}: {} values, but the model takes {n_in} ({:?})",
            data_path.display(),
            sample.len(),
            probe.input_shapes
        )));
    }
    let cal: Vec<(Vec<f64>, Vec<f64>)> = calibration_inputs(&sample)
        .into_iter()
        .map(|x| model.float_inference(&probe.input_shapes, &x).map(|f| (x, f)))
        .collect::<Result<_>>()?;
    let chosen = match opts.scale {
        Some(s) => match opts.weight_scale {
            Some(ws) => candidate(&model, s, ws, &cal, opts.width)?,
            None => best_candidate(&model, s, &cal, opts.width)?,
        },
        None => {
            let mut cands = vec![];
            for s in AUTO_SCALES {
                cands.push(best_candidate(&model, s, &cal, opts.width)?);
            }
            let min_k = cands.iter().map(|c| c.k).min().unwrap_or(0);
            cands
                .into_iter()
                .filter(|c| c.k == min_k)
                .max_by_key(|c| c.scale)
                .ok_or_else(|| Error::Input("calibration produced no candidate".into()))?
        }
    };
    let num_instances = chosen.graph.num_inputs as usize + chosen.graph.outputs.len();
    Ok(CircuitSettings {
        version: SETTINGS_VERSION,
        zkoracle_version: env!("CARGO_PKG_VERSION").into(),
        model: ModelInfo {
            file: model.file.clone(),
            keccak256: format!("0x{}", hex::encode(Keccak256::digest(&model.bytes))),
            input_shapes: probe.input_shapes,
            output_shapes: probe.output_shapes,
        },
        params_visibility: ParamsVisibility::Fixed,
        scale: chosen.scale,
        weight_scale: chosen.weight_scale,
        output_scale: chosen.output_scale,
        k: chosen.k,
        circuit_params: chosen.params,
        bound: chosen.bound,
        max_abs_input: chosen.max_input,
        num_instances,
        rows: chosen.rows,
        calibration: Calibration {
            samples: cal.len(),
            max_abs_error: chosen.max_err,
            max_abs_preactivation: chosen.max_q,
            float_outputs: cal[0].1.clone(),
        },
        graph: chosen.graph,
    })
}
