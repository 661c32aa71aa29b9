//! Recurrent layers — LSTM, GRU, RNN — unrolled over the (fixed) sequence length.
//!
//! Each gate pre-activation is one affine neuron over `[x_t, h_{t−1}]` (plus LSTM peepholes `P ⊙ c`) whose
//! coefficients `W`, `R`, `P` and bias `Wb + Rb` are model parameters; the gate activation is its table
//! activation, and element-wise gating is a product neuron. Supported: every `direction` (forward, reverse,
//! bidirectional), both `layout`s, GRU `linear_before_reset`, the `clip` attribute (a Clip table before each
//! activation), and the `activations` Sigmoid, Tanh, Relu, LeakyRelu, HardSigmoid, Affine and ScaledTanh
//! with `activation_alpha` / `activation_beta`. `initial_h` / `initial_c` may be constants (model
//! parameters), computed tensors, or absent (zeros). `sequence_lens` must be constant and equal to the
//! sequence length; LSTM `input_forget` is not supported.

use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::tract_ndarray::{ArrayD, Axis, IxDyn};

use super::compare::{to_var, Elem};
use super::elementwise::from_vec;
use super::{attr_i, const_input, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, Var};
use crate::Result;

pub(crate) struct Recurrent;

impl OpLowering for Recurrent {
    fn op_types(&self) -> &'static [&'static str] {
        &["LSTM", "GRU", "RNN"]
    }

    fn lower(&self, cx: &mut Ctx<'_>, node: &NodeProto, inputs: &[Option<Value>]) -> Result<Vec<Value>> {
        let spec = Spec::parse(node, inputs)?;
        let (seq, batch) = (spec.seq, spec.batch);
        let (dirs, h) = (spec.dirs.len(), spec.hidden);
        // ys[d][t][b] = hidden state; finals[d][b] = (h, c).
        let mut ys = vec![vec![vec![]; seq]; dirs];
        let mut last_h = vec![vec![]; dirs];
        let mut last_c = vec![vec![]; dirs];
        for (d, &reverse) in spec.dirs.iter().enumerate() {
            let w = Weights::of(node, inputs, &spec, d)?;
            for b in 0..batch {
                let mut hs = initial(node, inputs, 5, &spec, d, b)?;
                let mut cs =
                    if spec.kind == Kind::Lstm { initial(node, inputs, 6, &spec, d, b)? } else { vec![] };
                let steps: Vec<usize> = if reverse { (0..seq).rev().collect() } else { (0..seq).collect() };
                for t in steps {
                    let x: Vec<Elem> = spec.x_at(t, b).into_iter().map(Elem::V).collect();
                    let (nh, nc) = match spec.kind {
                        Kind::Rnn => (rnn_step(cx, &spec, &w, &x, &hs), vec![]),
                        Kind::Gru => (gru_step(cx, &spec, &w, &x, &hs), vec![]),
                        Kind::Lstm => lstm_step(cx, &spec, &w, &x, &hs, &cs),
                    };
                    ys[d][t].push(nh.clone());
                    hs = nh;
                    cs = nc;
                }
                last_h[d].push(hs);
                last_c[d].push(cs);
            }
        }
        let mut to_vars = |v: &[Elem]| v.iter().map(|&e| to_var(cx, e)).collect::<Vec<Var>>();
        // Y: [seq, dirs, batch, hidden] (layout 0) or [batch, seq, dirs, hidden] (layout 1).
        let mut y = Vec::with_capacity(seq * dirs * batch * h);
        let mut yh = Vec::with_capacity(dirs * batch * h);
        let mut yc = Vec::with_capacity(dirs * batch * h);
        if spec.batch_first {
            for b in 0..batch {
                for t in 0..seq {
                    for ys_d in &ys {
                        y.extend(to_vars(&ys_d[t][b]));
                    }
                }
                for d in 0..dirs {
                    yh.extend(to_vars(&last_h[d][b]));
                    yc.extend(to_vars(&last_c[d][b]));
                }
            }
        } else {
            for t in 0..seq {
                for ys_d in &ys {
                    for step in &ys_d[t] {
                        y.extend(to_vars(step));
                    }
                }
            }
            for d in 0..dirs {
                for b in 0..batch {
                    yh.extend(to_vars(&last_h[d][b]));
                    yc.extend(to_vars(&last_c[d][b]));
                }
            }
        }
        let (y_shape, s_shape) = if spec.batch_first {
            (vec![batch, seq, dirs, h], vec![batch, dirs, h])
        } else {
            (vec![seq, dirs, batch, h], vec![dirs, batch, h])
        };
        let mut out =
            vec![Value::Dyn(from_vec(node, &y_shape, y)?), Value::Dyn(from_vec(node, &s_shape, yh)?)];
        if spec.kind == Kind::Lstm {
            out.push(Value::Dyn(from_vec(node, &s_shape, yc)?));
        }
        Ok(out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Lstm,
    Gru,
    Rnn,
}

impl Kind {
    /// Gates per direction in `W` / `R`, and activations per direction.
    fn gates_and_acts(self) -> (usize, usize) {
        match self {
            Self::Lstm => (4, 3),
            Self::Gru => (3, 2),
            Self::Rnn => (1, 1),
        }
    }
}

/// An activation of a recurrent cell.
#[derive(Clone, Debug)]
enum CellAct {
    /// A table activation.
    Table(Activation),
    /// `alpha · x + beta`.
    Affine(f64, f64),
    /// `max(0, min(1, alpha · x + beta))`.
    HardSigmoid(f64, f64),
    /// `alpha · tanh(beta · x)`.
    ScaledTanh(f64, f64),
}

/// Everything about the node that does not depend on the direction.
struct Spec {
    kind: Kind,
    x: ArrayD<Var>,
    batch_first: bool,
    seq: usize,
    batch: usize,
    input_size: usize,
    hidden: usize,
    /// Per direction: whether it runs backwards in time.
    dirs: Vec<bool>,
    /// Per direction, the cell's activations (f, g, h as the op defines them).
    acts: Vec<Vec<CellAct>>,
    clip: Option<f64>,
    linear_before_reset: bool,
}

impl Spec {
    fn parse(node: &NodeProto, inputs: &[Option<Value>]) -> Result<Self> {
        let kind = match node.op_type.as_str() {
            "LSTM" => Kind::Lstm,
            "GRU" => Kind::Gru,
            _ => Kind::Rnn,
        };
        let Value::Dyn(x) = input(node, inputs, 0)? else {
            return Err(invalid(node, "input X is constant: nothing to prove"));
        };
        if x.ndim() != 3 {
            return Err(invalid(node, format!("input X must have rank 3, got shape {:?}", x.shape())));
        }
        let batch_first = match attr_i(node, "layout", 0)? {
            0 => false,
            1 => true,
            l => return Err(invalid(node, format!("attribute `layout` = {l} is not 0 or 1"))),
        };
        let (seq, batch) =
            if batch_first { (x.shape()[1], x.shape()[0]) } else { (x.shape()[0], x.shape()[1]) };
        if seq == 0 || batch == 0 {
            return Err(invalid(node, format!("empty input X of shape {:?}", x.shape())));
        }
        let direction = node
            .get_attr_opt::<String>("direction")
            .map_err(|e| invalid(node, e.to_string()))?
            .unwrap_or_else(|| "forward".into());
        let dirs = match direction.as_str() {
            "forward" => vec![false],
            "reverse" => vec![true],
            "bidirectional" => vec![false, true],
            other => {
                return Err(invalid(node, format!("attribute `direction` = `{other}` is not supported")))
            }
        };
        let r = const_input(node, inputs, 2)?;
        if r.ndim() != 3 {
            return Err(invalid(node, format!("input R must have rank 3, got shape {:?}", r.shape())));
        }
        let hidden = r.shape()[2];
        let hs = attr_i(node, "hidden_size", hidden as i64)?;
        if hs != hidden as i64 {
            return Err(invalid(node, format!("attribute `hidden_size` = {hs} but R has {hidden} columns")));
        }
        if kind == Kind::Lstm && attr_i(node, "input_forget", 0)? != 0 {
            return Err(invalid(
                node,
                "attribute `input_forget` = 1 (coupled input and forget gates) is not supported",
            ));
        }
        if let Some(v) = inputs.get(4).and_then(|v| v.as_ref()) {
            let ok = matches!(v, Value::Const(c) if c.iter().all(|&l| l as usize == seq));
            if !ok {
                return Err(invalid(
                    node,
                    format!("input `sequence_lens` must be a constant equal to the sequence length {seq}"),
                ));
            }
        }
        let clip = node.get_attr_opt::<f32>("clip").map_err(|e| invalid(node, e.to_string()))?.map(f64::from);
        if clip.is_some_and(|c| c <= 0.0) {
            return Err(invalid(node, "attribute `clip` must be positive"));
        }
        let acts = activations(node, kind, dirs.len())?;
        let linear_before_reset = kind == Kind::Gru && attr_i(node, "linear_before_reset", 0)? != 0;
        Ok(Self {
            kind,
            input_size: x.shape()[2],
            x: x.clone(),
            batch_first,
            seq,
            batch,
            hidden,
            dirs,
            acts,
            clip,
            linear_before_reset,
        })
    }

    /// The input vector at time `t` of batch entry `b`.
    fn x_at(&self, t: usize, b: usize) -> Vec<Var> {
        let (i0, i1) = if self.batch_first { (b, t) } else { (t, b) };
        (0..self.input_size).map(|k| self.x[[i0, i1, k]]).collect()
    }
}

/// The `activations` attribute (with `activation_alpha` / `activation_beta`), or the op's defaults.
fn activations(node: &NodeProto, kind: Kind, dirs: usize) -> Result<Vec<Vec<CellAct>>> {
    let per_dir = kind.gates_and_acts().1;
    let names: Vec<String> =
        match node.get_attr_opt_vec::<String>("activations").map_err(|e| invalid(node, e.to_string()))? {
            Some(n) => n,
            None => {
                let one: &[&str] = match kind {
                    Kind::Lstm => &["Sigmoid", "Tanh", "Tanh"],
                    Kind::Gru => &["Sigmoid", "Tanh"],
                    Kind::Rnn => &["Tanh"],
                };
                (0..dirs).flat_map(|_| one.iter().map(|s| s.to_string())).collect()
            }
        };
    if names.len() != per_dir * dirs {
        return Err(invalid(
            node,
            format!("attribute `activations` has {} entries, expected {}", names.len(), per_dir * dirs),
        ));
    }
    let floats = |name: &str| Ok::<_, crate::Error>(super::attr_floats(node, name)?.unwrap_or_default());
    let (alphas, betas) = (floats("activation_alpha")?, floats("activation_beta")?);
    let (mut ai, mut bi) = (alphas.iter(), betas.iter());
    let mut acts = Vec::with_capacity(names.len());
    for name in &names {
        // Activations with parameters consume the next alpha / beta, in order (onnxruntime's rule).
        let mut alpha = |default: f64| ai.next().copied().unwrap_or(default);
        let act = match name.to_ascii_lowercase().as_str() {
            "sigmoid" => CellAct::Table(Activation::Sigmoid),
            "tanh" => CellAct::Table(Activation::Tanh),
            "relu" => CellAct::Table(Activation::Relu),
            "leakyrelu" => CellAct::Table(Activation::LeakyRelu { alpha: alpha(0.01) }),
            "hardsigmoid" => {
                let a = alpha(0.2);
                CellAct::HardSigmoid(a, bi.next().copied().unwrap_or(0.5))
            }
            "affine" => {
                let a = alpha(1.0);
                CellAct::Affine(a, bi.next().copied().unwrap_or(0.0))
            }
            "scaledtanh" => {
                let a = alpha(1.0);
                CellAct::ScaledTanh(a, bi.next().copied().unwrap_or(1.0))
            }
            _ => {
                return Err(invalid(
                    node,
                    format!(
                        "attribute `activations`: `{name}` is not supported (Sigmoid, Tanh, Relu, LeakyRelu, \
                         HardSigmoid, Affine, ScaledTanh are)"
                    ),
                ))
            }
        };
        acts.push(act);
    }
    Ok(acts.chunks(per_dir).map(<[CellAct]>::to_vec).collect())
}

/// One direction's parameters.
struct Weights {
    /// `[gates · hidden, input]`.
    w: ArrayD<f64>,
    /// `[gates · hidden, hidden]`.
    r: ArrayD<f64>,
    /// `[2 · gates · hidden]` (`Wb` then `Rb`).
    b: Vec<f64>,
    /// LSTM peepholes `[3 · hidden]` (`Pi, Po, Pf`), zeros when absent.
    p: Option<Vec<f64>>,
    /// Index of this direction's activations.
    dir: usize,
}

impl Weights {
    fn of(node: &NodeProto, inputs: &[Option<Value>], spec: &Spec, d: usize) -> Result<Self> {
        let (gates, _) = spec.kind.gates_and_acts();
        let (gh, dirs) = (gates * spec.hidden, spec.dirs.len());
        let check = |name: &str, a: &ArrayD<f64>, want: &[usize]| -> Result<()> {
            if a.shape() != want {
                return Err(invalid(
                    node,
                    format!("input {name} has shape {:?}, expected {want:?}", a.shape()),
                ));
            }
            Ok(())
        };
        let w = const_input(node, inputs, 1)?;
        check("W", w, &[dirs, gh, spec.input_size])?;
        let r = const_input(node, inputs, 2)?;
        check("R", r, &[dirs, gh, spec.hidden])?;
        let b = match inputs.get(3).and_then(|v| v.as_ref()) {
            Some(Value::Const(b)) => {
                check("B", b, &[dirs, 2 * gh])?;
                b.index_axis(Axis(0), d).iter().copied().collect()
            }
            Some(Value::Dyn(_)) => return Err(invalid(node, "input B must be a constant")),
            None => vec![0.0; 2 * gh],
        };
        let p = match inputs.get(7).and_then(|v| v.as_ref()) {
            Some(Value::Const(p)) if spec.kind == Kind::Lstm => {
                check("P", p, &[dirs, 3 * spec.hidden])?;
                Some(p.index_axis(Axis(0), d).iter().copied().collect())
            }
            Some(_) => return Err(invalid(node, "input P (peepholes) must be a constant")),
            None => None,
        };
        Ok(Self {
            w: w.index_axis(Axis(0), d).to_owned(),
            r: r.index_axis(Axis(0), d).to_owned(),
            b,
            p,
            dir: d,
        })
    }

    /// Row `row` (`gate · hidden + j`) of `W` as coefficients on `x`, of `R` on `h` (omitted when `None`),
    /// with the bias `Wb (+ Rb)`, as one affine neuron; constant elements fold into the bias.
    fn pre(
        &self,
        cx: &mut Ctx<'_>,
        spec: &Spec,
        row: usize,
        x: &[Elem],
        h: Option<&[Elem]>,
        extra: &[(Elem, f64)],
    ) -> Var {
        let gh = spec.kind.gates_and_acts().0 * spec.hidden;
        let mut bias = self.b[row];
        let mut terms: Vec<(Var, f64)> = vec![];
        let mut add = |e: Elem, c: f64, bias: &mut f64| match e {
            Elem::V(v) => terms.push((v, c)),
            Elem::C(k) => *bias += k * c,
        };
        for (k, &e) in x.iter().enumerate() {
            add(e, self.w[[row, k]], &mut bias);
        }
        if let Some(h) = h {
            bias += self.b[gh + row];
            for (k, &e) in h.iter().enumerate() {
                add(e, self.r[[row, k]], &mut bias);
            }
        }
        for &(e, c) in extra {
            add(e, c, &mut bias);
        }
        cx.affine_params(&terms, bias)
    }

    /// Applies the direction's activation `which` (0 = f, 1 = g, 2 = h), after `clip` when set.
    fn act(&self, cx: &mut Ctx<'_>, spec: &Spec, which: usize, v: Var) -> Var {
        let v = match spec.clip {
            Some(c) => cx.activation(v, Activation::Clip { min: -c, max: c }),
            None => v,
        };
        match spec.acts[self.dir][which].clone() {
            CellAct::Table(a) => cx.activation(v, a),
            CellAct::Affine(a, b) => cx.affine(&[(v, a)], b),
            CellAct::HardSigmoid(a, b) => {
                let z = cx.affine(&[(v, a)], b);
                cx.activation(z, Activation::Clip { min: 0.0, max: 1.0 })
            }
            CellAct::ScaledTanh(a, b) => {
                let z = cx.affine(&[(v, b)], 0.0);
                let t = cx.activation(z, Activation::Tanh);
                cx.affine(&[(t, a)], 0.0)
            }
        }
    }
}

/// The initial state (input `i`: 5 = initial_h, 6 = initial_c) of direction `d`, batch entry `b`; zeros
/// when absent.
fn initial(
    node: &NodeProto,
    inputs: &[Option<Value>],
    i: usize,
    spec: &Spec,
    d: usize,
    b: usize,
) -> Result<Vec<Elem>> {
    let name = if i == 5 { "initial_h" } else { "initial_c" };
    let Some(v) = inputs.get(i).and_then(|v| v.as_ref()) else {
        return Ok(vec![Elem::C(0.0); spec.hidden]);
    };
    let dirs = spec.dirs.len();
    let want =
        if spec.batch_first { [spec.batch, dirs, spec.hidden] } else { [dirs, spec.batch, spec.hidden] };
    if v.shape() != want {
        return Err(invalid(node, format!("input {name} has shape {:?}, expected {want:?}", v.shape())));
    }
    let (i0, i1) = if spec.batch_first { (b, d) } else { (d, b) };
    Ok((0..spec.hidden)
        .map(|k| match v {
            Value::Const(c) => Elem::C(c[IxDyn(&[i0, i1, k])]),
            Value::Dyn(x) => Elem::V(x[IxDyn(&[i0, i1, k])]),
        })
        .collect())
}

/// `a ⊙ b` for a computed `a` and an element `b` (a constant `b` is a model parameter: an initial state;
/// a zero is folded away unless parameters are private, where the circuit must not depend on their values).
fn gate_mul(cx: &mut Ctx<'_>, a: Var, b: Elem) -> Elem {
    match b {
        Elem::C(c) => {
            if c == 0.0 && !cx.private {
                Elem::C(0.0)
            } else {
                Elem::V(cx.affine_params(&[(a, c)], 0.0))
            }
        }
        Elem::V(v) => Elem::V(cx.mul(a, v)),
    }
}

/// `Ht = f(Xt·Wᵀ + Ht−1·Rᵀ + Wb + Rb)`.
fn rnn_step(cx: &mut Ctx<'_>, spec: &Spec, w: &Weights, x: &[Elem], h: &[Elem]) -> Vec<Elem> {
    (0..spec.hidden)
        .map(|j| {
            let z = w.pre(cx, spec, j, x, Some(h), &[]);
            Elem::V(w.act(cx, spec, 0, z))
        })
        .collect()
}

/// GRU (gates z, r, h in `W` order): `Ht = (1 − zt) ⊙ ht + zt ⊙ Ht−1 = ht + zt ⊙ (Ht−1 − ht)`.
fn gru_step(cx: &mut Ctx<'_>, spec: &Spec, w: &Weights, x: &[Elem], h: &[Elem]) -> Vec<Elem> {
    let n = spec.hidden;
    let gh = 3 * n;
    let z: Vec<Var> = (0..n)
        .map(|j| {
            let p = w.pre(cx, spec, j, x, Some(h), &[]);
            w.act(cx, spec, 0, p)
        })
        .collect();
    let r: Vec<Var> = (0..n)
        .map(|j| {
            let p = w.pre(cx, spec, spec.hidden + j, x, Some(h), &[]);
            w.act(cx, spec, 0, p)
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    // Default: ht = g(Xt·Whᵀ + (rt ⊙ Ht−1)·Rhᵀ + Rbh + Wbh).
    let rh: Vec<Elem> =
        if spec.linear_before_reset { vec![] } else { (0..n).map(|k| gate_mul(cx, r[k], h[k])).collect() };
    for j in 0..n {
        let row = 2 * n + j;
        let pre = if spec.linear_before_reset {
            // ht = g(Xt·Whᵀ + rt ⊙ (Ht−1·Rhᵀ + Rbh) + Wbh).
            let mut hb = w.b[gh + row];
            let mut terms = vec![];
            for (k, &e) in h.iter().enumerate() {
                match e {
                    Elem::V(v) => terms.push((v, w.r[[row, k]])),
                    Elem::C(c) => hb += c * w.r[[row, k]],
                }
            }
            let lin = if terms.is_empty() { Elem::C(hb) } else { Elem::V(cx.affine_params(&terms, hb)) };
            let gated = match lin {
                Elem::C(c) => Elem::V(cx.affine_params(&[(r[j], c)], 0.0)),
                Elem::V(v) => Elem::V(cx.mul(r[j], v)),
            };
            w.pre(cx, spec, row, x, None, &[(gated, 1.0)])
        } else {
            let mut extra: Vec<(Elem, f64)> =
                rh.iter().enumerate().map(|(k, &e)| (e, w.r[[row, k]])).collect();
            extra.push((Elem::C(1.0), w.b[gh + row]));
            w.pre(cx, spec, row, x, None, &extra)
        };
        let ht = w.act(cx, spec, 1, pre);
        let diff = match h[j] {
            Elem::C(c) => cx.affine_params(&[(ht, -1.0)], c),
            Elem::V(v) => cx.affine(&[(v, 1.0), (ht, -1.0)], 0.0),
        };
        let m = cx.mul(z[j], diff);
        out.push(Elem::V(cx.affine(&[(ht, 1.0), (m, 1.0)], 0.0)));
    }
    out
}

/// LSTM (gates i, o, f, c in `W` order; peepholes Pi, Po, Pf):
/// `Ct = ft ⊙ Ct−1 + it ⊙ ct`, `Ht = ot ⊙ h(Ct)`.
fn lstm_step(
    cx: &mut Ctx<'_>,
    spec: &Spec,
    w: &Weights,
    x: &[Elem],
    h: &[Elem],
    c: &[Elem],
) -> (Vec<Elem>, Vec<Elem>) {
    let n = spec.hidden;
    let peep = |k: usize, j: usize| w.p.as_ref().map_or(0.0, |p| p[k * n + j]);
    let (mut hs, mut cs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (j, &cj) in c.iter().enumerate() {
        let extra_i: Vec<(Elem, f64)> = if w.p.is_some() { vec![(cj, peep(0, j))] } else { vec![] };
        let extra_f: Vec<(Elem, f64)> = if w.p.is_some() { vec![(cj, peep(2, j))] } else { vec![] };
        let pi = w.pre(cx, spec, j, x, Some(h), &extra_i);
        let i = w.act(cx, spec, 0, pi);
        let pf = w.pre(cx, spec, 2 * spec.hidden + j, x, Some(h), &extra_f);
        let f = w.act(cx, spec, 0, pf);
        let pc = w.pre(cx, spec, 3 * spec.hidden + j, x, Some(h), &[]);
        let g = w.act(cx, spec, 1, pc);
        let fc = gate_mul(cx, f, cj);
        let ig = cx.mul(i, g);
        let ct = match fc {
            Elem::V(v) => cx.affine(&[(v, 1.0), (ig, 1.0)], 0.0),
            Elem::C(_) => ig, // f ⊙ 0
        };
        let extra_o: Vec<(Elem, f64)> = if w.p.is_some() { vec![(Elem::V(ct), peep(1, j))] } else { vec![] };
        let po = w.pre(cx, spec, spec.hidden + j, x, Some(h), &extra_o);
        let o = w.act(cx, spec, 0, po);
        let hc = w.act(cx, spec, 2, ct);
        hs.push(Elem::V(cx.mul(o, hc)));
        cs.push(Elem::V(ct));
    }
    (hs, cs)
}
