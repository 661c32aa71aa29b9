//! `zkoracle compile`: ONNX + sample input → calibrated, quantized circuit settings.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use sha3::{Digest, Keccak256};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::circuit::{CircuitParams, CircuitSpec};
use crate::input::{quantize_inputs, read_input};
use crate::ir::{Activation, Graph};
use crate::lower::{input_shapes, lower_model, Folded, LowerOptions};
use crate::settings::{Calibration, CircuitSettings, ModelInfo, ParamsVisibility, SETTINGS_VERSION};
use crate::{Error, Result};

/// What automatic selection optimises once accuracy is settled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prefer {
    /// The fewest verifier MSM terms within 1.5x the least proving work: the cheapest fulfilment.
    #[default]
    Gas,
    /// The least proving work, then the fewest verifier terms: the fastest prover and smallest key.
    Proving,
}

/// Options of `zkoracle compile`.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    /// Fixed-point scale in bits; `None` lets [`compile`]'s selection choose (see `choose`).
    pub scale: Option<u8>,
    /// Operand columns; `None` lets the selection choose.
    pub width: Option<usize>,
    /// Weight scale in bits; `None`: with tables, as wide as the table room at the circuit's `k` allows (at
    /// most 12); with limbs, as wide as the remainder's limbs allow (at most 20).
    pub weight_scale: Option<u8>,
    /// Whether the weights are fixed into the keys or private, committed witnesses.
    pub params: ParamsVisibility,
    /// Range checks: `Some(0)` whole-range lookup tables, `Some(t)` `t`-bit limbs, `None` both are tried.
    pub limb_bits: Option<u8>,
    /// Compile to exactly the circuit of this earlier compilation (same scales, width, range and `k`), so
    /// that a model of the same architecture with other private weights shares its keys and verifier.
    pub like: Option<CircuitSettings>,
    /// The trade-off between verifier gas and proving work among equally accurate candidates.
    pub prefer: Prefer,
    /// Precise non-linear functions (docs/NONLINEAR.md; limbs only): `None` tries layouts with and without,
    /// `Some(true)` only with (for models that have such functions), `Some(false)` only without.
    pub precise: Option<bool>,
    /// Largest circuit size (log2 rows) to build; `None`: what this machine's memory allows
    /// (`default_max_k`). A larger model is refused before anything is built, naming the k it needs.
    pub max_k: Option<u32>,
}

/// Peak proving memory per circuit row, rounded up from BENCHMARKS.md (mlp_784 at width 8, k = 14: 106 MiB
/// peak RSS, 6.6 KiB per row; key generation peaks lower).
pub(crate) const BYTES_PER_ROW: u64 = 8 << 10;

/// The widest operand row automatic calibration lays out (multiply-accumulate terms per row).
const MAX_TERMS_PER_ROW: u64 = 32;

/// The largest k whose estimated proving memory (`2^k · BYTES_PER_ROW`) fits in half of this machine's
/// memory (`MemTotal` in /proc/meminfo; 16 GiB assumed where it cannot be read), between 12 and 26.
pub(crate) fn default_max_k() -> u32 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib << 10)
        })
        .unwrap_or(16 << 30);
    let rows = (total / 2) / BYTES_PER_ROW;
    (63 - rows.max(1).leading_zeros()).clamp(12, 26)
}

/// `ceil(log2(n))`, at least 1.
fn log2_ceil(n: u64) -> u32 {
    64 - n.saturating_sub(1).max(1).leading_zeros()
}

/// Scales tried by automatic calibration.
const AUTO_SCALES: std::ops::RangeInclusive<u8> = 6..=12;
/// Perturbed copies of the sample input evaluated during calibration.
const CALIBRATION_SAMPLES: usize = 16;

/// A loaded ONNX model: its bytes, protobuf and tract's float plan.
pub struct OnnxModel {
    /// The file as read (its keccak256 identifies the model).
    bytes: Vec<u8>,
    /// What tract reads: the file, or its re-encoding with double-precision tensors demoted to f32
    /// ([`crate::lower::demote_doubles`]).
    tract_bytes: Vec<u8>,
    proto: tract_onnx::pb::ModelProto,
    file: String,
    /// The graph's input-independent tensors, computed once by tract's analysis.
    folded: Folded,
}

impl OnnxModel {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut proto = crate::lower::onnx()
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| Error::Onnx { path: path.into(), message: format!("{e:#}") })?;
        let tract_bytes = if crate::lower::demote_doubles(&mut proto) {
            prost::Message::encode_to_vec(&proto)
        } else {
            bytes.clone()
        };
        if proto.graph.as_ref().is_none_or(|g| g.node.is_empty()) {
            return Err(Error::Onnx { path: path.into(), message: "the model has no graph nodes".into() });
        }
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let folded = match input_shapes(&proto) {
            Ok(shapes) => Folded::analyse(&proto, &shapes),
            Err(_) => Folded::default(), // the lowering reports the malformed input
        };
        Ok(Self { bytes, tract_bytes, proto, file, folded })
    }

    /// Sets the symbolic dimension of every graph input that has exactly one (its batch) to `n`, when every
    /// input has one; re-analyses the input-independent tensors. A no-op for other models.
    fn fix_symbolic_batch(&mut self, n: usize) {
        use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
        use tract_onnx::pb::type_proto::Value as TV;
        let Some(g) = self.proto.graph.as_mut() else { return };
        let inits: std::collections::HashSet<String> = g.initializer.iter().map(|t| t.name.clone()).collect();
        let symbolic = |d: &tract_onnx::pb::tensor_shape_proto::Dimension| !matches!(d.value, Some(Dim::DimValue(v)) if v > 0);
        let mut dims = vec![];
        for vi in g.input.iter_mut().filter(|vi| !inits.contains(&vi.name)) {
            let Some(TV::TensorType(tt)) = vi.r#type.as_mut().and_then(|t| t.value.as_mut()) else { return };
            let Some(shape) = tt.shape.as_mut() else { return };
            let mut sym = shape.dim.iter_mut().filter(|d| symbolic(d));
            match (sym.next(), sym.next()) {
                (Some(d), None) => dims.push(d),
                _ => return,
            }
        }
        for d in dims {
            d.value = Some(Dim::DimValue(n as i64));
        }
        self.tract_bytes = prost::Message::encode_to_vec(&self.proto);
        self.folded = match input_shapes(&self.proto) {
            Ok(shapes) => Folded::analyse(&self.proto, &shapes),
            Err(_) => Folded::default(),
        };
    }

    /// tract's typed model for inputs of `shapes`, and each input's type: inputs keep their ONNX type when it
    /// is boolean or integer (fed from their 0/1 or integer values); everything else is f32.
    fn typed_model(&self, shapes: &[Vec<usize>]) -> TractResult<(TypedModel, Vec<DatumType>)> {
        let mut model = crate::lower::onnx().model_for_read(&mut self.tract_bytes.as_slice())?;
        let mut types = Vec::with_capacity(shapes.len());
        for (i, s) in shapes.iter().enumerate() {
            let declared = model.input_fact(i).ok().and_then(|f| f.datum_type.concretize());
            let dt = match declared {
                Some(dt) if dt == DatumType::Bool || dt.is_integer() => dt,
                _ => DatumType::F32,
            };
            model = model.with_input_fact(i, InferenceFact::dt_shape(dt, s.as_slice()))?;
            types.push(dt);
        }
        Ok((model.into_typed()?, types))
    }

    /// Per flattened input element: whether its input is integer or boolean (all `false` when tract cannot
    /// type the model).
    pub fn exact_inputs(&self, shapes: &[Vec<usize>]) -> Vec<bool> {
        let types = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.typed_model(shapes)))
            .ok()
            .and_then(|r| r.ok())
            .map(|(_, types)| types);
        let Some(types) = types else { return vec![] };
        shapes
            .iter()
            .zip(types)
            .flat_map(|(s, dt)| std::iter::repeat_n(dt != DatumType::F32, s.iter().product()))
            .collect()
    }

    /// tract's count of the model's multiply-accumulates for inputs of `shapes` (`None` when tract cannot
    /// type the model or a cost is symbolic).
    pub fn multiply_accumulates(&self, shapes: &[Vec<usize>]) -> Option<u64> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let (typed, _) = self.typed_model(shapes).ok()?;
            let mut total = 0u64;
            for node in typed.nodes() {
                let inputs: Vec<&TypedFact> =
                    node.inputs.iter().map(|o| typed.outlet_fact(*o)).collect::<TractResult<_>>().ok()?;
                for (cost, n) in node.op.cost(&inputs).ok()? {
                    if matches!(cost, tract_onnx::tract_hir::internal::Cost::FMA(_)) {
                        total = total.saturating_add(u64::try_from(n.to_i64().ok()?).ok()?);
                    }
                }
            }
            Some(total)
        }))
        .ok()
        .flatten()
    }

    /// Runs tract's float inference on flattened `inputs` split over `shapes`. A panic inside tract (seen on
    /// EZKL's gather_elements example) is this model's error, not the process's end.
    pub fn float_inference(&self, shapes: &[Vec<usize>], inputs: &[f64]) -> Result<Vec<f64>> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.float_inference_unguarded(shapes, inputs)
        }))
        .unwrap_or_else(|_| {
            Err(Error::Onnx {
                path: self.file.clone().into(),
                message: "tract panicked running the model".into(),
            })
        })
    }

    fn float_inference_unguarded(&self, shapes: &[Vec<usize>], inputs: &[f64]) -> Result<Vec<f64>> {
        let err = |e: TractError| Error::Onnx { path: self.file.clone().into(), message: format!("{e:#}") };
        let (typed, types) = self.typed_model(shapes).map_err(err)?;
        // tract's optimizer can fail on a model its plain typed plan runs (a declutter pass's bug, e.g. on
        // EZKL's large_mlp): fall back to the unoptimized plan, which computes the same float outputs.
        let plan = match typed.clone().into_optimized() {
            Ok(optimized) => optimized.into_runnable().map_err(err)?,
            Err(_) => typed.into_runnable().map_err(err)?,
        };
        let mut offset = 0;
        let mut tensors = TVec::new();
        for (s, dt) in shapes.iter().zip(&types) {
            let n: usize = s.iter().product();
            let data: Vec<f32> = inputs[offset..offset + n].iter().map(|&x| x as f32).collect();
            offset += n;
            let t = tract_ndarray::ArrayD::from_shape_vec(tract_ndarray::IxDyn(s), data)
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
            let t = Tensor::from(t);
            tensors.push(
                if *dt == DatumType::F32 { t } else { t.cast_to_dt(*dt).map_err(err)?.into_owned() }.into(),
            );
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
    /// Precise non-linear functions (docs/NONLINEAR.md), interpolating over this many low bits.
    precise: Option<u8>,
    scale: u8,
    weight_scale: u8,
    output_scale: u8,
    bound: i64,
    params: CircuitParams,
    k: u32,
    rows: usize,
    /// Rows of the range table (the room left for a wider weight scale).
    range_table_rows: usize,
    max_err: f64,
    max_q: i64,
    max_input: i64,
    /// Estimated proving work: committed polynomials × rows.
    prover_cost: u64,
    /// Estimated verifier MSM terms (one ecMul each) that depend on the layout.
    verifier_terms: u64,
}

/// The sample and perturbed copies of it. Elements of integer or boolean inputs (`exact`: indices, masks,
/// token ids) keep the sample's values: a perturbed index could leave its axis.
fn calibration_inputs(sample: &[f64], exact: &[bool]) -> Vec<Vec<f64>> {
    let mut rng = ChaCha20Rng::seed_from_u64(0x7a6b_6f72_6163_6c65);
    let amp = sample.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-3);
    let mut out = vec![sample.to_vec()];
    for _ in 1..CALIBRATION_SAMPLES {
        out.push(
            sample
                .iter()
                .enumerate()
                .map(|(i, &x)| {
                    let (r, a) = (rng.gen_range(-0.5..0.5), rng.gen_range(-0.1..0.1));
                    if exact.get(i).copied().unwrap_or(false) {
                        x
                    } else {
                        x * (1.0 + r) + amp * a
                    }
                })
                .collect(),
        );
    }
    out
}

/// Largest weight scale tried: its remainder table (2^weight_scale rows) must stay small.
const MAX_WEIGHT_SCALE: u8 = 12;

/// Candidates at `scale` with weights at `scale` and, where the smallest circuit leaves table room, wider.
fn table_candidates(
    model: &OnnxModel,
    scale: u8,
    cal: &[(Vec<f64>, Vec<f64>)],
    shape: Shape,
) -> Result<Vec<Candidate>> {
    let mut base = candidates(model, (scale, scale), cal, shape)?;
    let Some(small) = base.iter().min_by_key(|c| c.k) else { return Ok(base) };
    // Rows free for a larger remainder table at the same k (blinding rows kept aside generously).
    let usable = (1usize << small.k).saturating_sub(16);
    let room = usable.saturating_sub(small.range_table_rows);
    let mut ws = scale;
    while ws < MAX_WEIGHT_SCALE && (1usize << (ws + 1)) <= room {
        ws += 1;
    }
    if ws > scale {
        base.extend(candidates(model, (scale, ws), cal, shape)?);
    }
    Ok(base)
}

/// What the candidate's columns may be.
#[derive(Clone, Copy, Debug)]
struct Shape {
    width: Option<usize>,
    /// Fixed, private (KZG-committed weight columns) or hashed (Poseidon) parameters.
    visibility: ParamsVisibility,
    /// Limb width of the range checks (0: whole-range tables).
    limb_bits: u8,
    /// Precise non-linear functions (limbs only): smooth activations interpolated over this many low bits,
    /// reciprocals and reciprocal square roots exact ([`Activation::precise`]).
    precise: Option<u8>,
}

/// The graph with its activations in their precise forms ([`Activation::precise`]); `None` when none has one.
fn make_precise(mut graph: Graph, bits: u8, scale: u8) -> Option<Graph> {
    let mut changed = false;
    for a in &mut graph.acts {
        if let Some(p) = a.precise(bits, scale) {
            *a = p;
            changed = true;
        }
    }
    changed.then_some(graph)
}

/// The interpolation bits of a compiled graph with precise activations (`Some(0)` with exact ones only).
fn precise_of(graph: &Graph) -> Option<u8> {
    let interp = graph.acts.iter().find_map(|a| match a {
        Activation::Interp { bits, .. } => Some(*bits),
        _ => None,
    });
    interp.or_else(|| graph.acts.iter().any(Activation::is_precise).then_some(0))
}

/// The model calibrated at these scales, laid out at each width `shape` allows.
fn candidates(
    model: &OnnxModel,
    (scale, weight_scale): (u8, u8),
    cal: &[(Vec<f64>, Vec<f64>)],
    shape: Shape,
) -> Result<Vec<Candidate>> {
    let private = shape.visibility != ParamsVisibility::Fixed;
    let hashed = shape.visibility == ParamsVisibility::Hashed;
    let Some((graph, output_scale)) = lowered_graph(model, (scale, weight_scale, shape.precise), private)?
    else {
        return Ok(vec![]);
    };
    let out_div = f64::powi(2.0, i32::from(output_scale));
    let (mut max_q, mut max_err, mut max_input) = (0i64, 0f64, 0i64);
    for (x, float_out) in cal {
        let q_in = quantize_inputs(x, scale)?;
        max_input = max_input.max(q_in.iter().map(|v| v.abs()).max().unwrap_or(0));
        let ev = match graph.evaluate(&q_in, scale, None) {
            // A precise candidate whose exact reciprocal meets a non-positive operand is no candidate.
            Err(Error::OutOfRange(_)) if shape.precise.is_some() => return Ok(vec![]),
            r => r?,
        };
        for (n, q) in graph.neurons.iter().zip(&ev.q) {
            if n.has_post() {
                max_q = max_q.max(q.abs());
            }
        }
        for (q, f) in ev.outputs(&graph).iter().zip(float_out) {
            max_err = max_err.max((*q as f64 / out_div - f).abs());
        }
    }
    // With limbs a wider range costs a limb row at most: cover every input the oracle accepts when the
    // model's activations are bounded (no request within `maxAbsInput` can then fail to prove); tables
    // cover the calibrated range with 50% headroom.
    // Interpolation tables cover the range: they take the calibrated range like whole-range tables.
    let log = graph.acts.iter().any(|a| matches!(a, Activation::LogReduced { .. }));
    let interp = log || graph.acts.iter().any(|a| matches!(a, Activation::Interp { .. }));
    let guaranteed =
        (shape.limb_bits > 0 && !interp).then(|| graph.worst_case_bound(max_input, scale)).flatten();
    let reach = guaranteed.filter(|&g| g < 1 << 40).unwrap_or(max_q + max_q / 2).max(max_q);
    let bound = ((reach + 1) as u64).next_power_of_two() as i64;
    let min_width = if hashed { 8 } else { 4 };
    // With hashed parameters the default stays at 8 columns: wider rows pack more Poseidon rounds per row
    // (fewer rows) but their gates make the generated verifier exceed EIP-170 (spread_mlp: 14.1 KB at width
    // 8, 27.7 KB at 16, 67.3 KB at 32). `--width` still picks a wider layout.
    let auto: &[usize] = if hashed { &[8] } else { &[4, 8, 16, 32] };
    let widths: Vec<usize> = shape.width.map_or_else(|| auto.to_vec(), |w| vec![w.max(min_width)]);
    // With limbs, ReLU needs no table; other activations do.
    let used = |f: &dyn Fn(&Activation) -> bool| {
        graph.neurons.iter().any(|n| n.act.is_some_and(|a| f(&graph.acts[a as usize])))
    };
    let act_table = shape.limb_bits == 0 || used(&|a| *a != Activation::Relu && !a.is_precise());
    let exact = used(&|a| {
        matches!(a, Activation::RecipExact | Activation::RsqrtExact { .. } | Activation::SqrtExact)
    });
    let mut out = vec![];
    // `--params private`: the weight columns (`store`: weights per dot-product row) — all the operand
    // columns, or two (half the verifier's weight-column cost where the rows leave room).
    let layouts: Vec<(usize, usize)> = widths
        .iter()
        .flat_map(|&w| {
            let stores: Vec<usize> = if private && !hashed { vec![w, 2] } else { vec![0] };
            stores.into_iter().map(move |j| (w, j))
        })
        .collect();
    for (w, store) in layouts {
        let params = CircuitParams {
            width: w,
            private,
            store,
            limb_bits: shape.limb_bits,
            act_table,
            interp,
            exact,
            log,
        };
        let spec = CircuitSpec { graph: graph.clone(), scale, bound, params };
        let k = spec.min_k();
        let size = spec.layout_size();
        drop(spec);
        // Committed columns ≈ advice + lookups (6) + permutation products + quotient (4); hashed parameters
        // add `w + 1` advice columns, all in the permutation, private ones the `store` weight columns (not in
        // the permutation).
        let (advice, permuted) = match (private, hashed) {
            (false, _) => (w as u64 + 1, w as u64 + 1),
            (true, true) => (2 * w as u64 + 2, 2 * w as u64 + 2),
            (true, false) => (w as u64 + 1 + store as u64, w as u64 + 1),
        };
        // The verifier pays one ecMul per commitment: about three per operand column (advice, fixed
        // coefficient, permutation), five with hashed parameters; two per private weight column (its
        // commitment, its registered commitment in the knowledge proof).
        // The interpolation lookup: three more committed polynomials.
        let lookups = 6 + if interp { 3 } else { 0 };
        out.push(Candidate {
            precise: shape.precise,
            scale,
            weight_scale,
            output_scale,
            bound,
            params,
            k,
            rows: size.rows,
            range_table_rows: size.range_table_rows,
            max_err,
            max_q,
            max_input,
            prover_cost: (1u64 << k) * (advice + lookups + (permuted + 1).div_ceil(3) + 4),
            verifier_terms: if hashed { 5 * w as u64 } else { 3 * w as u64 + 2 * store as u64 },
        });
    }
    Ok(out)
}

/// The model lowered at these scales with exact outputs, and its output scale; with `precise`, its
/// activations in their precise forms (`None` when it has none).
fn lowered_graph(
    model: &OnnxModel,
    (scale, weight_scale, precise): (u8, u8, Option<u8>),
    private: bool,
) -> Result<Option<(Graph, u8)>> {
    let lowered = lower_model(&model.proto, &model.folded, LowerOptions { scale, weight_scale, private })?;
    let mut graph = lowered.graph;
    if let Some(bits) = precise {
        match make_precise(graph, bits, scale) {
            Some(g) => graph = g,
            None => return Ok(None),
        }
    }
    let output_scale = scale + graph.keep_outputs_exact();
    Ok(Some((graph, output_scale)))
}

/// The candidate with exactly `like`'s circuit; fails unless the model has the same architecture and its
/// calibrated values (with limbs: its worst-case values) fit `like`'s range.
fn like_candidate(
    model: &OnnxModel,
    like: &CircuitSettings,
    cal: &[(Vec<f64>, Vec<f64>)],
    visibility: ParamsVisibility,
) -> Result<Candidate> {
    if like.weights_visibility() != visibility {
        return Err(Error::InvalidOption("--like: the reference was compiled with other --params".into()));
    }
    let private = visibility != ParamsVisibility::Fixed;
    let p = like.circuit_params;
    let precise = precise_of(&like.graph);
    let shape = Shape { width: Some(p.width), visibility, limb_bits: p.limb_bits, precise };
    let mut c = candidates(model, (like.scale, like.weight_scale), cal, shape)?
        .into_iter()
        .find(|c| c.params.store == p.store)
        .ok_or_else(|| Error::InvalidOption("--like: no candidate".into()))?;
    let ours = lowered_graph(model, (like.scale, like.weight_scale, precise), private)?
        .ok_or_else(|| Error::InvalidOption("--like: no candidate".into()))?
        .0;
    let (mut ours, mut theirs) = (ours, like.graph.clone());
    crate::params::strip(&mut ours);
    crate::params::strip(&mut theirs);
    if ours != theirs || c.output_scale != like.output_scale {
        return Err(Error::InvalidOption(format!(
            "--like: this model's architecture differs from the reference's ({})",
            like.model.file
        )));
    }
    if c.max_q >= like.bound {
        return Err(Error::InvalidOption(format!(
            "--like: this model's values reach {} on the calibration inputs, beyond the reference's range \
             [-{b}, {b}); recompile the reference with wider calibration data",
            c.max_q,
            b = like.bound
        )));
    }
    // With limbs, this model's own range covers every input the oracle accepts; a reference range that is
    // narrower would leave some valid requests unprovable.
    if p.limb_bits > 0 && c.bound > like.bound {
        return Err(Error::InvalidOption(format!(
            "--like: this model's values can reach [-{}, {}) for inputs within its accepted range, beyond the \
             reference's range [-{b}, {b}); some requests could not be proved",
            c.bound,
            c.bound,
            b = like.bound
        )));
    }
    c.bound = like.bound;
    c.k = like.k;
    Ok(c)
}

/// Automatic calibration considers the candidates within this factor of the least proving work.
const WORK_BUDGET: u64 = 4;
/// The calibration error, relative to `max(1, max |float output|)`, that automatic calibration pays more
/// proving work to reach (half the 1% that `make conformance` accepts, leaving room for other inputs).
const ACCURACY_TARGET: f64 = 0.005;
/// A finer error, relative like [`ACCURACY_TARGET`], that calibration also pays for when a candidate reaches
/// it at most [`FINE_MAX_EXTRA_K`] above the smallest k in the budget (or at k <= [`FINE_FREE_K`]): 1e-4, below EZKL's errors on its own
/// non-linear examples (5e-5 to 5e-4, BENCHMARKS.md), so a coarse low-scale table does not win on price
/// alone (EZKL's 1l_leakyrelu: 9.4e-4 at k 7 before, 6.8e-6 at k 9).
const FINE_TARGET: f64 = 1e-4;
/// How much larger than the smallest candidate's k the [`FINE_TARGET`] may make the circuit.
const FINE_MAX_EXTRA_K: u32 = 2;
/// Up to this k the [`FINE_TARGET`] is always paid for (such circuits prove in about 0.1 s here).
const FINE_FREE_K: u32 = 10;
/// Of these, it keeps those whose calibration error is within this factor of the smallest.
const ERROR_SLACK: f64 = 4.0;
/// Limb widths of limb-decomposed range checks tried by automatic calibration.
const LIMB_BITS: [u8; 2] = [8, 10];
/// Largest weight scale with limb-decomposed range checks (coefficients stay far below 2^63).
const MAX_LIMB_WEIGHT_SCALE: u8 = 20;
/// Scales tried with limb-decomposed range checks.
const LIMB_SCALES: std::ops::RangeInclusive<u8> = 8..=16;

/// The calibrated candidates `opts` allows, and the one chosen. Whole-range tables are tried at scales 6–12
/// (weights as wide as the table room allows), limb-decomposed checks at scales 8–16 with 8- and 10-bit
/// limbs, each at every width. Among the candidates within 4× the least proving work (more when none of them
/// is within 0.5% of the outputs' magnitude: up to the cheapest that is; and up to the cheapest within 1e-4
/// when that costs at most 2 more k, or k <= 10), those within 4× the
/// smallest error of them, and those within 1.5× the least proving work among these. Of the rest, with
/// [`Prefer::Gas`] the cheapest to verify (verifier gas is paid on every fulfilment: mlp_784 at width 8,
/// k = 14 proves in 2.1 s instead of 1.7 s at width 16, k = 13, and verifies for 1.03 M gas instead of
/// 1.24 M in BENCHMARKS.md), then the least proving work; with [`Prefer::Proving`] the least proving work, then the
/// cheapest to verify; then the largest scale.
fn choose(
    model: &OnnxModel,
    opts: &CompileOptions,
    cal: &[(Vec<f64>, Vec<f64>)],
    max_k: u32,
) -> Result<Candidate> {
    let modes: Vec<u8> = match opts.limb_bits {
        Some(t) => vec![t],
        None => std::iter::once(0).chain(LIMB_BITS).collect(),
    };
    let mut cands = vec![];
    // Limb modes are tried as they are and with precise non-linear functions (interpolating over the limb
    // width and two bits fewer; models without such functions have no precise candidate).
    let modes: Vec<(u8, Option<u8>)> = modes
        .into_iter()
        .flat_map(|t| {
            let precise =
                if t == 0 || opts.precise == Some(false) { vec![] } else { vec![Some(t), Some(t - 2)] };
            let plain = (t == 0 || opts.precise != Some(true)).then_some((t, None));
            plain.into_iter().chain(precise.into_iter().map(move |p| (t, p)))
        })
        .collect();
    for (t, precise) in modes {
        let shape = Shape { width: opts.width, visibility: opts.params, limb_bits: t, precise };
        let scales: Vec<u8> = match (opts.scale, t) {
            (Some(s), _) => vec![s],
            (None, 0) => AUTO_SCALES.collect(),
            (None, _) => LIMB_SCALES.collect(),
        };
        for s in scales {
            cands.extend(match (opts.weight_scale, t) {
                (Some(ws), _) => candidates(model, (s, ws), cal, shape)?,
                (None, 0) => table_candidates(model, s, cal, shape)?,
                // Weights as wide as the remainder's limbs allow: extra bits cost no extra row.
                (None, t) => {
                    candidates(model, (s, (t * s.div_ceil(t)).min(MAX_LIMB_WEIGHT_SCALE)), cal, shape)?
                }
            });
        }
    }
    // Within a work budget, accuracy first (an oracle's output moves money), then proving work, then
    // verifier gas. A 1.5x window on the cheapest candidate alone let a coarse one exclude every accurate
    // one (cnn_mnist: 1.1e-3 chosen over 2.4e-5 at the same k); accuracy alone picks huge activation
    // tables (gru_seq: k = 22).
    if !cands.is_empty() && cands.iter().all(|c| c.k > max_k) {
        let small = cands.iter().min_by_key(|c| (c.k, c.rows)).map_or((0, 0), |c| (c.k, c.rows));
        return Err(Error::TooLarge {
            what: "its smallest calibrated layout",
            k: small.0,
            rows: small.1 as u64,
            max_k,
        });
    }
    cands.retain(|c| c.k <= max_k);
    let mut budget = WORK_BUDGET * cands.iter().map(|c| c.prover_cost).min().unwrap_or(0);
    // An output off by more than ACCURACY_TARGET of its magnitude is not an answer: when no candidate within
    // the budget reaches it, the budget grows to the cheapest one that does.
    let scale = cal.iter().flat_map(|(_, f)| f.iter()).fold(1.0f64, |m, v| m.max(v.abs()));
    let target = ACCURACY_TARGET * scale;
    if !cands.iter().any(|c| c.prover_cost <= budget && c.max_err <= target) {
        // The cheapest candidate that reaches the target; if none does, the usual budget (the calibration
        // reference itself may be off: tract runs a reverse RNN forward).
        if let Some(cost) = cands.iter().filter(|c| c.max_err <= target).map(|c| c.prover_cost).min() {
            budget = cost;
        }
    }
    let fine = FINE_TARGET * scale;
    if !cands.iter().any(|c| c.prover_cost <= budget && c.max_err <= fine) {
        let small_k = cands.iter().filter(|c| c.prover_cost <= budget).map(|c| c.k).min().unwrap_or(0);
        let reach = cands
            .iter()
            .filter(|c| c.max_err <= fine && c.k <= (small_k + FINE_MAX_EXTRA_K).max(FINE_FREE_K))
            .map(|c| c.prover_cost)
            .min();
        if let Some(cost) = reach {
            budget = budget.max(cost);
        }
    }
    cands.retain(|c| c.prover_cost <= budget);
    let least_err = cands.iter().map(|c| c.max_err).fold(f64::INFINITY, f64::min);
    cands.retain(|c| c.max_err <= ERROR_SLACK * least_err);
    let least_work = cands.iter().map(|c| c.prover_cost).min().unwrap_or(0);
    let key = |c: &Candidate| match opts.prefer {
        Prefer::Gas => (c.verifier_terms, c.prover_cost),
        Prefer::Proving => (c.prover_cost, c.verifier_terms),
    };
    cands
        .into_iter()
        .filter(|c| 2 * c.prover_cost <= 3 * least_work)
        .min_by(|a, b| key(a).cmp(&key(b)).then(b.scale.cmp(&a.scale)))
        .ok_or_else(|| Error::InvalidModel("calibration produced no candidate".into()))
}

/// The number of samples `lengths` (values per `input_data` list: one list per graph input) hold for
/// `model`'s inputs, when that is more than one for every input alike.
fn batch_of(model: &OnnxModel, lengths: &[usize]) -> Option<usize> {
    let per_input: Vec<usize> = input_shapes(&model.proto).ok()?.iter().map(|s| s.iter().product()).collect();
    if lengths.len() != per_input.len() || per_input.contains(&0) {
        return None;
    }
    let (Some(&first), Some(&per_first)) = (lengths.first(), per_input.first()) else { return None };
    let m = first / per_first;
    let same = lengths.iter().zip(&per_input).all(|(l, p)| *l == m * p);
    (m > 1 && same).then_some(m)
}

/// Compiles `model` with the sample input `data`.
pub fn compile(model_path: &Path, data_path: &Path, opts: &CompileOptions) -> Result<CircuitSettings> {
    let mut model = OnnxModel::load(model_path)?;
    let sample = read_input(data_path)?;
    quantize_inputs(&sample, 0)?; // finiteness
                                  // A symbolic batch holds as many samples as the data brings (one proof for all of them, as EZKL does),
                                  // when the data has one list per graph input, each `m` samples long.
    let lengths = crate::input::input_list_lengths(data_path)?.unwrap_or_else(|| vec![sample.len()]);
    if let Some(m) = batch_of(&model, &lengths) {
        model.fix_symbolic_batch(m);
    }
    let max_k = opts.max_k.unwrap_or_else(default_max_k);
    // Size known before work: tract's multiply-accumulate count bounds the rows from below (a row holds at
    // most 32 terms), so a model far above --max-k is refused before it is lowered.
    if let Some(macs) = input_shapes(&model.proto).ok().and_then(|s| model.multiply_accumulates(&s)) {
        let rows = macs / MAX_TERMS_PER_ROW;
        let k = log2_ceil(rows);
        if k > max_k {
            return Err(Error::TooLarge { what: "its multiply-accumulates alone", k, rows, max_k });
        }
    }
    // Lower once at a default scale to learn the shapes and reject unsupported ops early.
    let probe_opts = LowerOptions { scale: 8, weight_scale: 8, private: false };
    let probe = lower_model(&model.proto, &model.folded, probe_opts)?;
    let rows = probe_rows(&probe.graph);
    if log2_ceil(rows) > max_k {
        return Err(Error::TooLarge {
            what: "its inference rows at the widest layout",
            k: log2_ceil(rows),
            rows,
            max_k,
        });
    }
    let n_in: usize = probe.input_shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    if sample.len() != n_in {
        return Err(Error::InvalidInput(format!(
            "{}: {} values, but the model takes {n_in} ({:?})",
            data_path.display(),
            sample.len(),
            probe.input_shapes
        )));
    }
    let exact = model.exact_inputs(&probe.input_shapes);
    // A perturbed copy on which the float model itself is undefined (a logarithm or square root of a negative
    // value, a division by zero: a non-finite output) is not an input the model serves: it would only drop the
    // precise candidates whose exact gadgets refuse such operands. The sample itself always stays.
    let mut cal: Vec<(Vec<f64>, Vec<f64>)> = Vec::with_capacity(CALIBRATION_SAMPLES);
    for (i, x) in calibration_inputs(&sample, &exact).into_iter().enumerate() {
        let f = model.float_inference(&probe.input_shapes, &x)?;
        if i == 0 || f.iter().all(|v| v.is_finite()) {
            cal.push((x, f));
        }
    }
    let private = opts.params != ParamsVisibility::Fixed;
    let chosen = match &opts.like {
        Some(like) => like_candidate(&model, like, &cal, opts.params)?,
        None => choose(&model, opts, &cal, max_k)?,
    };
    let (graph, _) = lowered_graph(&model, (chosen.scale, chosen.weight_scale, chosen.precise), private)?
        .ok_or_else(|| Error::InvalidModel("calibration produced no candidate".into()))?;
    // Inputs, outputs, the commitment (private parameters) and the fulfiller.
    let spec = CircuitSpec { graph, scale: chosen.scale, bound: chosen.bound, params: chosen.params };
    let num_instances = spec.num_instances();
    let graph = spec.graph;
    Ok(CircuitSettings {
        version: SETTINGS_VERSION,
        zkoracle_version: env!("CARGO_PKG_VERSION").into(),
        model: ModelInfo {
            file: model.file.clone(),
            keccak256: format!("0x{}", hex::encode(Keccak256::digest(&model.bytes))),
            input_shapes: probe.input_shapes,
            output_shapes: probe.output_shapes,
        },
        params_visibility: opts.params,
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
        graph,
    })
}

/// The inference rows of `graph` at the widest layout (a lower bound on any candidate's rows).
fn probe_rows(graph: &Graph) -> u64 {
    let params = CircuitParams {
        width: MAX_TERMS_PER_ROW as usize,
        private: false,
        limb_bits: 8,
        act_table: true,
        ..CircuitParams::default()
    };
    let spec = CircuitSpec { graph: graph.clone(), scale: 8, bound: 1 << 8, params };
    spec.layout_size().rows as u64
}
