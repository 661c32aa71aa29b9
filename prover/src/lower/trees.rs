//! ONNX-ML's TreeEnsembleClassifier and TreeEnsembleRegressor, as skl2onnx (random forests, decision trees,
//! gradient boosting) and onnxmltools (XGBoost, LightGBM) emit them.
//!
//! Every internal node is one exact comparison of a feature with its threshold ([`compare`], a `Step` or
//! `IsZero` table activation on the quantized difference). A node's *indicator* — 1 when the sample reaches
//! it — is its parent's indicator times the branch bit: the true child gets `p · b` (one `Mul` neuron, exact
//! on 0/1 values), the false child `p − p · b` (one affine neuron); a root is reached by every sample. The
//! score of class (target) `c` is then one affine neuron `base_c + Σ_leaves w_{leaf,c} · indicator(leaf)`:
//! leaf weights, thresholds and base values are model parameters (committed with `--params private`), the
//! tree shapes and the feature each node tests are the architecture.
//!
//! Aggregation: SUM, AVERAGE (the sum over the tree count), MIN and MAX (per tree, then an exact running
//! max). Post-transforms: NONE, LOGISTIC (the sigmoid table) and SOFTMAX; the binary layout (two labels, every
//! leaf on class 0: XGBoost's and LightGBM's binary classifiers) gives `[1 − p, p]` and the label of `s > 0`.
//! The classifier's label is the class label of the first maximal score. Missing-value tracking has no
//! meaning here: fixed-point inputs are never NaN.

use std::collections::HashMap;

use tract_onnx::pb::NodeProto;

use super::compare::compare_const;
use super::elementwise::from_vec;
use super::norm::softmax;
use super::variadic::first_extreme_index;
use super::{attr_floats, attr_ints, input, invalid, Ctx, OpLowering, Value};
use crate::ir::{Activation, Var};
use crate::Result;

/// TreeEnsembleClassifier and TreeEnsembleRegressor.
pub(crate) struct TreeEnsembles;

impl OpLowering for TreeEnsembles {
    fn op_types(&self) -> &'static [&'static str] {
        &["TreeEnsembleClassifier", "TreeEnsembleRegressor"]
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
        let ensemble = Ensemble::parse(node)?;
        if let Some(bad) = ensemble.nodes.iter().find(|nd| nd.branch.is_some() && nd.feature >= f) {
            return Err(invalid(node, format!("a node tests feature {} of {f}", bad.feature)));
        }
        let rows: Vec<Vec<Var>> =
            x.iter().copied().collect::<Vec<_>>().chunks(f).map(<[Var]>::to_vec).collect();
        let scores: Vec<Vec<Var>> = rows.iter().map(|row| ensemble.scores(cx, row)).collect();
        if node.op_type == "TreeEnsembleRegressor" {
            if ensemble.post != Post::None {
                return Err(invalid(node, "a regressor's post_transform must be NONE"));
            }
            let flat = scores.concat();
            return Ok(vec![Value::Dyn(from_vec(node, &[n, ensemble.width], flat)?)]);
        }
        let labels = ensemble.labels.as_ref().ok_or_else(|| invalid(node, "missing classlabels_int64s"))?;
        let (mut out_labels, mut out_probs) = (vec![], vec![]);
        for s in &scores {
            let (label, probs) = classify(cx, &ensemble, labels, s);
            out_labels.push(label);
            out_probs.extend(probs);
        }
        let classes = out_probs.len() / n.max(1);
        Ok(vec![
            Value::Dyn(from_vec(node, &[n], out_labels)?),
            Value::Dyn(from_vec(node, &[n, classes], out_probs)?),
        ])
    }
}

/// A classifier's label and probabilities from its raw scores.
pub(crate) fn classify(cx: &mut Ctx<'_>, e: &Ensemble, labels: &[i64], scores: &[Var]) -> (Var, Vec<Var>) {
    if labels.len() == 2 && scores.len() == 1 {
        // Binary layout: one score s; probabilities [1 − p, p], label 1 iff s > 0 (p > 1/2 for LOGISTIC).
        let s = scores[0];
        let p = post_one(cx, e.post, s);
        let q = cx.affine(&[(p, -1.0)], 1.0);
        let threshold = if e.post == Post::None && e.weights_nonnegative { 0.5 } else { 0.0 };
        let bit = compare_const(cx, "Greater", s, threshold);
        let label = cx.affine(&[(bit, (labels[1] - labels[0]) as f64)], labels[0] as f64);
        return (label, vec![q, p]);
    }
    let probs = match e.post {
        Post::Softmax => softmax(cx, scores),
        p => scores.iter().map(|&s| post_one(cx, p, s)).collect(),
    };
    let label = label_of(cx, labels, scores);
    (label, probs)
}

/// `labels[argmax(scores)]` (the first maximum): the index itself when the labels are `0..n`.
pub(crate) fn label_of(cx: &mut Ctx<'_>, labels: &[i64], scores: &[Var]) -> Var {
    let idx = first_extreme_index(cx, scores, 1.0, false);
    if labels.iter().enumerate().all(|(i, &l)| l == i as i64) {
        return idx;
    }
    // Σ_c label_c · [idx == c]: one exact equality per class.
    let terms: Vec<(Var, f64)> = labels
        .iter()
        .enumerate()
        .map(|(c, &l)| {
            let d = cx.affine(&[(idx, 1.0)], -(c as f64));
            (cx.activation(d, Activation::IsZero), l as f64)
        })
        .collect();
    cx.affine(&terms, 0.0)
}

/// The post-transform of one score.
fn post_one(cx: &mut Ctx<'_>, post: Post, s: Var) -> Var {
    match post {
        Post::Logistic => cx.activation(s, Activation::Sigmoid),
        _ => s,
    }
}

/// One tree's contribution to one output column: weighted leaf indicators and a constant (the weights of
/// leaves reached unconditionally).
type Column = (Vec<(Var, f64)>, f64);

/// Node index by `(tree, node id)`.
type NodeIndex = HashMap<(i64, i64), usize>;

/// How scores are transformed into probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Post {
    None,
    Logistic,
    Softmax,
}

impl Post {
    pub(crate) fn parse(node: &NodeProto) -> Result<Self> {
        let s = node.get_attr_opt::<String>("post_transform").map_err(|e| invalid(node, e.to_string()))?;
        match s.as_deref().unwrap_or("NONE") {
            "NONE" => Ok(Self::None),
            "LOGISTIC" => Ok(Self::Logistic),
            "SOFTMAX" => Ok(Self::Softmax),
            other => Err(invalid(node, format!("post_transform {other} is not supported"))),
        }
    }
}

/// How the trees' outputs combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

/// A node's branch test: `feature <op> threshold`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Branch {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

#[derive(Clone, Debug)]
struct TreeNode {
    tree: i64,
    id: i64,
    feature: usize,
    threshold: f64,
    /// `None` for a leaf.
    branch: Option<Branch>,
    if_true: i64,
    if_false: i64,
}

/// A parsed ensemble.
#[derive(Debug)]
pub(crate) struct Ensemble {
    nodes: Vec<TreeNode>,
    /// `(tree, node id) → index into nodes`.
    index: NodeIndex,
    /// Each tree's id and the index of its root.
    roots: Vec<(i64, usize)>,
    /// `(tree, node) → [(output column, weight)]`.
    leaves: HashMap<(i64, i64), Vec<(usize, f64)>>,
    /// Output columns (classes or targets) the leaves write.
    width: usize,
    base: Vec<f64>,
    aggregate: Aggregate,
    post: Post,
    pub(crate) labels: Option<Vec<i64>>,
    weights_nonnegative: bool,
}

fn ints(node: &NodeProto, name: &str) -> Result<Vec<i64>> {
    attr_ints(node, name)?.ok_or_else(|| invalid(node, format!("missing attribute {name}")))
}

fn same_len(node: &NodeProto, n: usize, lists: &[(&str, usize)]) -> Result<()> {
    match lists.iter().find(|(_, l)| *l != n) {
        Some((name, l)) => Err(invalid(node, format!("attribute {name} has {l} entries, expected {n}"))),
        None => Ok(()),
    }
}

impl Ensemble {
    pub(crate) fn parse(node: &NodeProto) -> Result<Self> {
        let classifier = node.op_type == "TreeEnsembleClassifier";
        if node.get_attr_opt_vec::<&str>("classlabels_strings").ok().flatten().is_some() {
            return Err(invalid(node, "string class labels are not supported (export classlabels_int64s)"));
        }
        let trees = ints(node, "nodes_treeids")?;
        let ids = ints(node, "nodes_nodeids")?;
        let features = ints(node, "nodes_featureids")?;
        let modes = node
            .get_attr_opt_vec::<String>("nodes_modes")
            .map_err(|e| invalid(node, e.to_string()))?
            .ok_or_else(|| {
                invalid(node, "missing attribute nodes_modes (nodes_values_as_tensor unsupported)")
            })?;
        let values = attr_floats(node, "nodes_values")?.ok_or_else(|| {
            invalid(node, "missing attribute nodes_values (nodes_values_as_tensor unsupported)")
        })?;
        let (t_ids, f_ids) = (ints(node, "nodes_truenodeids")?, ints(node, "nodes_falsenodeids")?);
        let n = trees.len();
        same_len(
            node,
            n,
            &[
                ("nodes_nodeids", ids.len()),
                ("nodes_featureids", features.len()),
                ("nodes_modes", modes.len()),
                ("nodes_values", values.len()),
                ("nodes_truenodeids", t_ids.len()),
                ("nodes_falsenodeids", f_ids.len()),
            ],
        )?;
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let branch = match modes[i].as_str() {
                "LEAF" => None,
                "BRANCH_LEQ" => Some(Branch::Leq),
                "BRANCH_LT" => Some(Branch::Lt),
                "BRANCH_GTE" => Some(Branch::Gte),
                "BRANCH_GT" => Some(Branch::Gt),
                "BRANCH_EQ" => Some(Branch::Eq),
                "BRANCH_NEQ" => Some(Branch::Neq),
                m => return Err(invalid(node, format!("node mode {m} is not supported"))),
            };
            let feature = usize::try_from(features[i]).map_err(|_| invalid(node, "negative feature id"))?;
            nodes.push(TreeNode {
                tree: trees[i],
                id: ids[i],
                feature,
                threshold: values[i],
                branch,
                if_true: t_ids[i],
                if_false: f_ids[i],
            });
        }
        let prefix = if classifier { "class" } else { "target" };
        let l_trees = ints(node, &format!("{prefix}_treeids"))?;
        let l_nodes = ints(node, &format!("{prefix}_nodeids"))?;
        let l_cols = ints(node, &format!("{prefix}_ids"))?;
        let l_weights = attr_floats(node, &format!("{prefix}_weights"))?
            .ok_or_else(|| invalid(node, format!("missing attribute {prefix}_weights")))?;
        let nl = l_trees.len();
        same_len(
            node,
            nl,
            &[
                (&format!("{prefix}_nodeids"), l_nodes.len()),
                (&format!("{prefix}_ids"), l_cols.len()),
                (&format!("{prefix}_weights"), l_weights.len()),
            ],
        )?;
        let labels = if classifier { Some(ints(node, "classlabels_int64s")?) } else { None };
        let mut width = match &labels {
            Some(l) => l.len(),
            None => usize::try_from(super::attr_i(node, "n_targets", 1)?).unwrap_or(0),
        };
        let mut leaves: HashMap<(i64, i64), Vec<(usize, f64)>> = HashMap::new();
        for i in 0..nl {
            let col = usize::try_from(l_cols[i]).ok().filter(|&c| c < width.max(1));
            let col = col.ok_or_else(|| invalid(node, format!("leaf output {} out of range", l_cols[i])))?;
            leaves.entry((l_trees[i], l_nodes[i])).or_default().push((col, l_weights[i]));
        }
        // The binary layout: two labels, every leaf writing class 0 — one score column.
        if labels.as_ref().is_some_and(|l| l.len() == 2) && l_cols.iter().all(|&c| c == 0) {
            width = 1;
        }
        if width == 0 {
            return Err(invalid(node, "no output columns"));
        }
        let base = attr_floats(node, "base_values")?.unwrap_or_else(|| vec![0.0; width]);
        if base.len() != width {
            return Err(invalid(node, format!("{} base_values for {width} outputs", base.len())));
        }
        let agg =
            node.get_attr_opt::<String>("aggregate_function").map_err(|e| invalid(node, e.to_string()))?;
        let aggregate = match agg.as_deref().unwrap_or("SUM") {
            "SUM" => Aggregate::Sum,
            "AVERAGE" => Aggregate::Average,
            "MIN" => Aggregate::Min,
            "MAX" => Aggregate::Max,
            a => return Err(invalid(node, format!("aggregate_function {a} is not supported"))),
        };
        let weights_nonnegative = l_weights.iter().all(|&w| w >= 0.0);
        let (index, roots) = structure(node, &nodes)?;
        let post = Post::parse(node)?;
        Ok(Self { nodes, index, roots, leaves, width, base, aggregate, post, labels, weights_nonnegative })
    }

    /// The number of output columns: classes (1 in the binary layout) or targets.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Whether this is a classifier (label and probabilities) rather than a regressor.
    pub(crate) fn is_classifier(&self) -> bool {
        self.labels.is_some()
    }

    /// The child of `nd` a sample with feature values `row` takes (float reference).
    fn next(&self, nd: &TreeNode, row: &[f64]) -> Option<usize> {
        let (x, t) = (row.get(nd.feature).copied().unwrap_or(0.0), nd.threshold);
        let taken = match nd.branch? {
            Branch::Leq => x <= t,
            Branch::Lt => x < t,
            Branch::Gte => x >= t,
            Branch::Gt => x > t,
            Branch::Eq => x == t,
            Branch::Neq => x != t,
        };
        self.index.get(&(nd.tree, if taken { nd.if_true } else { nd.if_false })).copied()
    }

    /// The float reference of one sample: the classifier's label and probabilities, or the regressor's
    /// targets (label `None`), with ONNX-ML's semantics as implemented by [`TreeEnsembles`].
    pub(crate) fn eval(&self, row: &[f64]) -> (Option<f64>, Vec<f64>) {
        let mut per_tree = Vec::with_capacity(self.roots.len());
        for &(t, root) in &self.roots {
            let mut cols = vec![0.0; self.width];
            let mut at = root;
            for _ in 0..=self.nodes.len() {
                match self.next(&self.nodes[at], row) {
                    Some(n) if self.nodes[at].branch.is_some() => at = n,
                    _ => break,
                }
            }
            for &(c, w) in self.leaves.get(&(t, self.nodes[at].id)).map(Vec::as_slice).unwrap_or(&[]) {
                cols[c] += w;
            }
            per_tree.push(cols);
        }
        let n = per_tree.len().max(1) as f64;
        let scores: Vec<f64> = (0..self.width)
            .map(|c| {
                let col = per_tree.iter().map(|t| t[c]);
                let agg = match self.aggregate {
                    Aggregate::Sum => col.sum(),
                    Aggregate::Average => col.sum::<f64>() / n,
                    Aggregate::Min => col.fold(f64::INFINITY, f64::min),
                    Aggregate::Max => col.fold(f64::NEG_INFINITY, f64::max),
                };
                agg + self.base[c]
            })
            .collect();
        let Some(labels) = &self.labels else { return (None, scores) };
        let logistic = |s: f64| 1.0 / (1.0 + (-s).exp());
        if labels.len() == 2 && scores.len() == 1 {
            let s = scores[0];
            let p = if self.post == Post::Logistic { logistic(s) } else { s };
            let threshold = if self.post == Post::None && self.weights_nonnegative { 0.5 } else { 0.0 };
            let label = if s > threshold { labels[1] } else { labels[0] };
            return (Some(label as f64), vec![1.0 - p, p]);
        }
        let best = scores.iter().enumerate().fold(0, |b, (i, &s)| if s > scores[b] { i } else { b });
        let probs = match self.post {
            Post::None => scores.clone(),
            Post::Logistic => scores.iter().map(|&s| logistic(s)).collect(),
            Post::Softmax => {
                let m = scores.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                let e: Vec<f64> = scores.iter().map(|&s| (s - m).exp()).collect();
                let z: f64 = e.iter().sum();
                e.iter().map(|x| x / z).collect()
            }
        };
        (Some(labels[best] as f64), probs)
    }

    /// The aggregated raw scores (with base values) of one sample `row`.
    fn scores(&self, cx: &mut Ctx<'_>, row: &[Var]) -> Vec<Var> {
        // Per tree, per output column: the weighted leaf indicators (a `None` indicator is the constant 1).
        let mut per_tree: Vec<Vec<Column>> = Vec::with_capacity(self.roots.len());
        for &(t, root) in &self.roots {
            let mut cols = vec![(vec![], 0.0); self.width];
            let mut stack: Vec<(usize, Option<Var>)> = vec![(root, None)];
            while let Some((at, ind)) = stack.pop() {
                let nd = &self.nodes[at];
                let child = |id: i64| self.index.get(&(t, id)).copied();
                match (nd.branch, child(nd.if_true), child(nd.if_false)) {
                    (Some(branch), Some(yes), Some(no)) => {
                        let (taken, other) =
                            branch_indicators(cx, row[nd.feature], nd.threshold, branch, ind);
                        stack.push((yes, Some(taken)));
                        stack.push((no, Some(other)));
                    }
                    _ => {
                        for &(c, w) in self.leaves.get(&(t, nd.id)).map(Vec::as_slice).unwrap_or(&[]) {
                            match ind {
                                Some(v) => cols[c].0.push((v, w)),
                                None => cols[c].1 += w,
                            }
                        }
                    }
                }
            }
            per_tree.push(cols);
        }
        self.aggregate_trees(cx, &per_tree)
    }
}

/// The indicators of a node's true and false children, from the node's own indicator `ind`.
fn branch_indicators(cx: &mut Ctx<'_>, x: Var, t: f64, branch: Branch, ind: Option<Var>) -> (Var, Var) {
    let (op, swap) = match branch {
        Branch::Leq => ("LessOrEqual", false),
        Branch::Lt => ("Less", false),
        Branch::Gte => ("GreaterOrEqual", false),
        Branch::Gt => ("Greater", false),
        Branch::Eq => ("Equal", false),
        Branch::Neq => ("Equal", true),
    };
    let b = compare_const(cx, op, x, t);
    let (hit, miss) = match ind {
        None => (b, cx.affine(&[(b, -1.0)], 1.0)),
        Some(p) => {
            let hit = cx.mul(p, b);
            (hit, cx.affine(&[(p, 1.0), (hit, -1.0)], 0.0))
        }
    };
    if swap {
        (miss, hit)
    } else {
        (hit, miss)
    }
}

impl Ensemble {
    /// Combines per-tree outputs: `per_tree[tree][column] = (weighted indicators, constant)`.
    fn aggregate_trees(&self, cx: &mut Ctx<'_>, per_tree: &[Vec<Column>]) -> Vec<Var> {
        let trees = per_tree.len().max(1) as f64;
        let mut out = Vec::with_capacity(self.width);
        for c in 0..self.width {
            let v = match self.aggregate {
                Aggregate::Sum | Aggregate::Average => {
                    let div = if self.aggregate == Aggregate::Average { trees } else { 1.0 };
                    let mut terms = vec![];
                    let mut constant = 0.0;
                    for cols in per_tree {
                        terms.extend(cols[c].0.iter().map(|&(v, w)| (v, w / div)));
                        constant += cols[c].1 / div;
                    }
                    cx.affine_params(&terms, constant + self.base[c])
                }
                Aggregate::Min | Aggregate::Max => {
                    let sign = if self.aggregate == Aggregate::Max { 1.0 } else { -1.0 };
                    let mut best: Option<Var> = None;
                    for cols in per_tree {
                        let (terms, k) = &cols[c];
                        let signed: Vec<(Var, f64)> = terms.iter().map(|&(v, w)| (v, sign * w)).collect();
                        let tree = cx.affine_params(&signed, sign * k);
                        best = Some(match best {
                            None => tree,
                            Some(b) => cx.max(b, tree),
                        });
                    }
                    let best = best.unwrap_or_else(|| cx.affine_params(&[], 0.0));
                    cx.affine_params(&[(best, sign)], self.base[c])
                }
            };
            out.push(v);
        }
        out
    }
}

/// Indexes the nodes by `(tree, id)` and finds each tree's root (the one node no other node points to),
/// checking that every child exists and that every tree is acyclic.
fn structure(node: &NodeProto, nodes: &[TreeNode]) -> Result<(NodeIndex, Vec<(i64, usize)>)> {
    let mut index = HashMap::with_capacity(nodes.len());
    for (i, nd) in nodes.iter().enumerate() {
        if index.insert((nd.tree, nd.id), i).is_some() {
            return Err(invalid(node, format!("tree {} has two nodes {}", nd.tree, nd.id)));
        }
    }
    let mut pointed = std::collections::HashSet::new();
    for nd in nodes.iter().filter(|nd| nd.branch.is_some()) {
        for id in [nd.if_true, nd.if_false] {
            if !index.contains_key(&(nd.tree, id)) {
                return Err(invalid(
                    node,
                    format!("tree {}: node {} points to missing node {id}", nd.tree, nd.id),
                ));
            }
            pointed.insert((nd.tree, id));
        }
    }
    let mut roots: Vec<(i64, usize)> = vec![];
    for (i, nd) in nodes.iter().enumerate() {
        if !pointed.contains(&(nd.tree, nd.id)) {
            if roots.iter().any(|&(t, _)| t == nd.tree) {
                return Err(invalid(node, format!("tree {} has more than one root", nd.tree)));
            }
            roots.push((nd.tree, i));
        }
    }
    // Every node reachable from its root exactly once (a tree, not a DAG or a cycle).
    let mut seen = vec![false; nodes.len()];
    for &(t, root) in &roots {
        let mut stack = vec![root];
        while let Some(at) = stack.pop() {
            if std::mem::replace(&mut seen[at], true) {
                return Err(invalid(
                    node,
                    format!("tree {t} is not a tree (node {} reached twice)", nodes[at].id),
                ));
            }
            let nd = &nodes[at];
            if nd.branch.is_some() {
                stack.extend([index[&(t, nd.if_true)], index[&(t, nd.if_false)]]);
            }
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(invalid(node, format!("tree {}: node {} is unreachable", nodes[i].tree, nodes[i].id)));
    }
    Ok((index, roots))
}
