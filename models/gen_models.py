#!/usr/bin/env python3
"""Generate zkoracle's committed test ONNX models, sample inputs and float reference outputs.

Every model is built with the `onnx` helper API, deterministic weights (one numpy seed per model),
opset 17, IR version 8 and a fixed batch dimension of 1. For each model `<name>` this writes:

- `<name>.onnx`           the model,
- `<name>.input.json`     a sample input in EZKL's format `{"input_data": [[...flat floats...]]}`,
- `<name>.expected.json`  the float output of `onnx.reference.ReferenceEvaluator` on that input,
                          `{"output_data": [[...flat floats...]]}`.

Each model is checked with `onnx.checker.check_model(full_check=True)`, and every intermediate value is
checked to stay within `ACTIVATION_BOUND` on the sample input (quantized circuits need bounded ranges).

Usage: python models/gen_models.py [--out DIR] [--only NAME ...] [--check]
  --check  regenerate into a temporary directory and fail if any committed file differs.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

OPSET = 17
IR_VERSION = 8
ACTIVATION_BOUND = 4.0
INPUT_DECIMALS = 4
OUTPUT_DECIMALS = 8


@dataclass
class Builder:
    """Accumulates nodes and initializers for one graph."""

    name: str
    seed: int
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, prefix: str, value: np.ndarray) -> str:
        name = self.fresh(prefix)
        self.inits.append(numpy_helper.from_array(value, name=name))
        return name

    def node(self, op: str, inputs: list[str], prefix: str | None = None, **attrs) -> str:
        out = self.fresh(prefix or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{self.counter}", **attrs))
        return out

    def weight(self, shape: tuple[int, ...], fan_in: int, gain: float) -> np.ndarray:
        """He-normal weights times `gain`, float32."""
        std = gain * np.sqrt(2.0 / fan_in)
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def bias(self, n: int, scale: float = 0.05) -> np.ndarray:
        return self.rng.uniform(-scale, scale, size=(n,)).astype(np.float32)

    def gemm(self, x: str, n_in: int, n_out: int, gain: float = 0.8) -> str:
        w = self.const("W", self.weight((n_out, n_in), n_in, gain))
        b = self.const("B", self.bias(n_out))
        return self.node("Gemm", [x, w, b], "gemm", transB=1)

    def conv(
        self, x: str, c_in: int, c_out: int, ksize: int, gain: float = 0.8, group: int = 1, **attrs
    ) -> str:
        fan_in = (c_in // group) * ksize * ksize
        w = self.const("W", self.weight((c_out, c_in // group, ksize, ksize), fan_in, gain))
        b = self.const("B", self.bias(c_out))
        return self.node(
            "Conv", [x, w, b], "conv", kernel_shape=[ksize, ksize], group=group, **attrs
        )

    def i64(self, prefix: str, values: list[int]) -> str:
        return self.const(prefix, np.array(values, dtype=np.int64))

    def f32(self, prefix: str, values) -> str:
        return self.const(prefix, np.asarray(values, dtype=np.float32))

    def model(self, in_shape: list[int], out: str, out_shape: list[int]) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            self.name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, in_shape)],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
            initializer=self.inits,
        )
        m = helper.make_model(
            graph,
            producer_name="zkoracle-gen_models",
            opset_imports=[helper.make_opsetid("", OPSET)],
        )
        m.ir_version = IR_VERSION
        return m


# ---------------------------------------------------------------------------------------------
# Sample inputs (values roughly in [-1, 1], deterministic)


def smooth_vector(seed: int, n: int) -> np.ndarray:
    """Feature-like vector: a smooth random signal plus noise, in about [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    v = 0.6 * np.sin(t * rng.uniform(0.5, 2.0) + rng.uniform(0, np.pi)) + 0.3 * rng.standard_normal(n)
    return np.clip(v, -1.0, 1.0)


def digit_image(seed: int) -> np.ndarray:
    """A synthetic 28x28 handwritten-'0'-like ring, normalized like MNIST ((x - 0.5) / 0.5) into [-1, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28].astype(np.float64)
    cy, cx = 14.0 + rng.uniform(-1, 1), 14.0 + rng.uniform(-1, 1)
    r = np.sqrt(((yy - cy) / 1.25) ** 2 + ((xx - cx) / 0.9) ** 2)
    ink = np.exp(-((r - 7.0) ** 2) / 3.0)
    ink = np.clip(ink + 0.05 * rng.standard_normal(ink.shape), 0.0, 1.0)
    return (ink - 0.5) / 0.5


def image_channels(seed: int, c: int, h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(c):
        fy, fx = rng.uniform(0.3, 1.0, size=2)
        chans.append(0.7 * np.sin(fy * yy + fx * xx + rng.uniform(0, np.pi)) + 0.2 * rng.standard_normal((h, w)))
    return np.clip(np.stack(chans), -1.0, 1.0)


# ---------------------------------------------------------------------------------------------
# Models


def mlp(name: str, seed: int, dims: list[int], gain: float = 0.8) -> tuple[onnx.ModelProto, list[int]]:
    b = Builder(name, seed)
    x = "input"
    for i in range(len(dims) - 1):
        x = b.gemm(x, dims[i], dims[i + 1], gain=gain if i < len(dims) - 2 else 0.5)
        if i < len(dims) - 2:
            x = b.node("Relu", [x])
    return b.model([1, dims[0]], x, [1, dims[-1]]), [1, dims[0]]


def spread_mlp():
    return mlp("spread_mlp", 1001, [8, 32, 32, 1])


def spread_mlp_alt():
    """The spread model's architecture with other weights: `--params private` shares its keys and verifier."""
    return mlp("spread_mlp_alt", 1011, [8, 32, 32, 1])


def risk_mlp():
    return mlp("risk_mlp", 1002, [16, 64, 64, 4])


def mlp_784():
    return mlp("mlp_784", 1004, [784, 128, 64, 10], gain=0.6)


def cnn_mnist():
    b = Builder("cnn_mnist", 1003)
    x = b.conv("input", 1, 4, 5, gain=0.6, strides=[2, 2])  # [1,4,12,12]
    x = b.node("Relu", [x])
    x = b.conv(x, 4, 8, 3, gain=0.6, strides=[2, 2], pads=[1, 1, 1, 1])  # [1,8,6,6]
    x = b.node("Relu", [x])
    x = b.node("Flatten", [x], axis=1)  # [1,288]
    x = b.gemm(x, 288, 10, gain=0.5)
    return b.model([1, 1, 28, 28], x, [1, 10]), [1, 1, 28, 28]


def act_mlp():
    b = Builder("act_mlp", 1005)
    x = b.gemm("input", 6, 8, gain=1.0)
    x = b.node("Sigmoid", [x])
    x = b.gemm(x, 8, 8, gain=1.5)
    x = b.node("Tanh", [x])
    x = b.gemm(x, 8, 4, gain=1.2)
    x = b.node("LeakyRelu", [x], alpha=0.1)
    x = b.gemm(x, 4, 3, gain=1.0)
    x = b.node("Softmax", [x], axis=-1)
    return b.model([1, 6], x, [1, 3]), [1, 6]


def pool_cnn():
    b = Builder("pool_cnn", 1006)
    x = b.conv("input", 2, 4, 3, gain=0.8, group=2, strides=[1, 1], pads=[1, 1, 1, 1])  # [1,4,8,8]
    x = b.node("Relu", [x])
    x = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])  # [1,4,4,4]
    x = b.conv(x, 4, 4, 3, gain=0.8, strides=[1, 1], pads=[1, 1, 1, 1])  # [1,4,4,4]
    x = b.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])  # [1,4,2,2]
    x = b.node("GlobalAveragePool", [x])  # [1,4,1,1]
    x = b.node("Flatten", [x], axis=1)  # [1,4]
    return b.model([1, 2, 8, 8], x, [1, 4]), [1, 2, 8, 8]


def norm_mlp():
    b = Builder("norm_mlp", 1007)
    x = b.gemm("input", 8, 8, gain=1.0)
    x = b.node("Unsqueeze", [x, b.i64("axes", [2])])  # [1,8,1]
    scale = b.f32("bn_scale", b.rng.uniform(0.6, 1.2, 8))
    bias = b.f32("bn_bias", b.rng.uniform(-0.2, 0.2, 8))
    mean = b.f32("bn_mean", b.rng.uniform(-0.2, 0.2, 8))
    var = b.f32("bn_var", b.rng.uniform(0.5, 1.5, 8))
    x = b.node("BatchNormalization", [x, scale, bias, mean, var], "bn", epsilon=1e-5)
    x = b.node("Squeeze", [x, b.i64("axes", [2])])  # [1,8]
    x = b.node("Relu", [x])
    x = b.gemm(x, 8, 8, gain=1.0)
    ln_scale = b.f32("ln_scale", b.rng.uniform(0.7, 1.1, 8))
    ln_bias = b.f32("ln_bias", b.rng.uniform(-0.1, 0.1, 8))
    x = b.node("LayerNormalization", [x, ln_scale, ln_bias], "ln", axis=-1, epsilon=1e-5)
    x = b.gemm(x, 8, 2, gain=0.5)
    return b.model([1, 8], x, [1, 2]), [1, 8]


def shape_ops():
    b = Builder("shape_ops", 1008)
    x = b.node("Reshape", ["input", b.i64("shape", [1, 3, 4])])  # [1,3,4]
    x = b.node("Transpose", [x], perm=[0, 2, 1])  # [1,4,3]
    a = b.node(
        "Slice", [x, b.i64("starts", [0]), b.i64("ends", [3]), b.i64("axes", [1]), b.i64("steps", [1])]
    )  # [1,3,3]
    br = b.node("Sub", [a, b.f32("c_sub", [0.25])])
    br = b.node("Add", [br, b.f32("c_add", b.rng.uniform(-0.3, 0.3, (1, 1, 3)))])  # broadcast on last axis
    br = b.node("Mul", [br, b.f32("c_mul", [0.5])])
    x = b.node("Concat", [a, br], axis=2)  # [1,3,6]
    x = b.node("Gather", [x, b.i64("idx", [5, 0, 2, 3])], axis=2)  # [1,3,4]
    x = b.node("Unsqueeze", [x, b.i64("axes", [1])])  # [1,1,3,4]
    x = b.node("Squeeze", [x, b.i64("axes", [1])])  # [1,3,4]
    x = b.node("Flatten", [x], axis=1)  # [1,12]
    x = b.node("Add", [x, b.f32("c_bias", b.rng.uniform(-0.2, 0.2, 12))])  # broadcast [12]
    x = b.node("Mul", [x, b.f32("c_scale", b.rng.uniform(0.8, 1.6, (1, 12)))])  # broadcast constant
    x = b.node("Mul", [x, "input"])  # elementwise, two dynamic tensors
    x = b.node("Div", [x, b.f32("c_div", np.float32(0.5))])  # scalar constant
    clip = b.node("Clip", [x, b.f32("lo", np.float32(-1.0)), b.f32("hi", np.float32(1.0))])  # [1,12]
    rsum = b.node("ReduceSum", [clip, b.i64("axes", [1])], keepdims=1)  # [1,1]
    rmean = b.node("ReduceMean", [clip], axes=[1], keepdims=1)  # [1,1] (axes attribute at opset 17)
    e = b.node("Exp", [rmean])  # [1,1]
    out = b.node("Concat", [clip, rsum, e], axis=1)  # [1,14]
    return b.model([1, 12], out, [1, 14]), [1, 12]


def multi(b: Builder, op: str, inputs: list[str], n_out: int, **attrs) -> list[str]:
    """A node with `n_out` outputs."""
    outs = [b.fresh(op.lower()) for _ in range(n_out)]
    b.nodes.append(helper.make_node(op, inputs, outs, name=f"{op}_{b.counter}", **attrs))
    return outs


def flat_row(b: Builder, x: str) -> str:
    return b.node("Reshape", [x, b.i64("shape", [1, -1])])


def rec_params(b: Builder, gates: int, dirs: int, n_in: int, hidden: int, gain: float = 0.6) -> list[str]:
    """W, R, B of a recurrent op (uniform in ±gain/sqrt(hidden))."""
    r = gain / np.sqrt(hidden)
    w = b.f32("W", b.rng.uniform(-r, r, (dirs, gates * hidden, n_in)))
    rr = b.f32("R", b.rng.uniform(-r, r, (dirs, gates * hidden, hidden)))
    bb = b.f32("B", b.rng.uniform(-0.2, 0.2, (dirs, 2 * gates * hidden)))
    return [w, rr, bb]


def lstm_seq():
    """LSTM, forward, with bias, constant initial_h / initial_c and peepholes: Y, Y_h and Y_c."""
    b = Builder("lstm_seq", 1009)
    seq, n_in, hidden = 4, 3, 4
    w, r, bias = rec_params(b, 4, 1, n_in, hidden, gain=1.8)
    h0 = b.f32("h0", b.rng.uniform(-0.3, 0.3, (1, 1, hidden)))
    c0 = b.f32("c0", b.rng.uniform(-0.3, 0.3, (1, 1, hidden)))
    p = b.f32("P", b.rng.uniform(-0.3, 0.3, (1, 3 * hidden)))
    y, yh, yc = multi(b, "LSTM", ["input", w, r, bias, "", h0, c0, p], 3, hidden_size=hidden)
    out = b.node("Concat", [flat_row(b, y), flat_row(b, yh), flat_row(b, yc)], axis=1)
    return b.model([seq, 1, n_in], out, [1, seq * hidden + 2 * hidden]), [seq, 1, n_in]


def gru_seq():
    """Two stacked GRUs: forward with linear_before_reset=0 and no initial state, then bidirectional with
    linear_before_reset=1 and a constant initial_h: Y and Y_h of the second."""
    b = Builder("gru_seq", 1010)
    seq, n_in, h1, h2 = 4, 3, 4, 3
    w, r, bias = rec_params(b, 3, 1, n_in, h1, gain=1.8)
    y1, _ = multi(b, "GRU", ["input", w, r, bias], 2, hidden_size=h1)
    x2 = b.node("Squeeze", [y1, b.i64("axes", [1])])  # [seq, 1, h1]
    w, r, bias = rec_params(b, 3, 2, h1, h2, gain=1.8)
    h0 = b.f32("h0", b.rng.uniform(-0.3, 0.3, (2, 1, h2)))
    y2, yh2 = multi(
        b, "GRU", [x2, w, r, bias, "", h0], 2, hidden_size=h2, direction="bidirectional", linear_before_reset=1
    )
    out = b.node("Concat", [flat_row(b, y2), flat_row(b, yh2)], axis=1)
    return b.model([seq, 1, n_in], out, [1, seq * 2 * h2 + 2 * h2]), [seq, 1, n_in]


def rnn_seq():
    """RNN, batch-first layout (1), constant initial_h: Y and Y_h."""
    b = Builder("rnn_seq", 1016)
    seq, n_in, hidden = 5, 3, 4
    w, r, bias = rec_params(b, 1, 1, n_in, hidden, gain=0.9)
    h0 = b.f32("h0", b.rng.uniform(-0.3, 0.3, (1, 1, hidden)))  # layout 1: [batch, dirs, hidden]
    y, yh = multi(b, "RNN", ["input", w, r, bias, "", h0], 2, hidden_size=hidden, layout=1)
    out = b.node("Concat", [flat_row(b, y), flat_row(b, yh)], axis=1)
    return b.model([1, seq, n_in], out, [1, seq * hidden + hidden]), [1, seq, n_in]


def rnn_reverse():
    """RNN, direction reverse, without bias or initial state: Y and Y_h. (tract 0.23 ignores `direction` and
    runs a single-direction RNN forward, so this model is checked against the ONNX reference only.)"""
    b = Builder("rnn_reverse", 1015)
    seq, n_in, hidden = 5, 3, 4
    w, r, _ = rec_params(b, 1, 1, n_in, hidden, gain=0.9)
    y, yh = multi(b, "RNN", ["input", w, r], 2, hidden_size=hidden, direction="reverse")
    out = b.node("Concat", [flat_row(b, y), flat_row(b, yh)], axis=1)
    return b.model([seq, 1, n_in], out, [1, seq * hidden + hidden]), [seq, 1, n_in]


# Tree ensembles, as Hummingbird converts them. Trees are random but fixed (seeded), in sklearn's preorder
# node numbering; thresholds are multiples of 0.01.
TREE_FEATURES = 4
TREE_CLASSES = 3


def random_tree(rng: np.random.Generator, depth: int, max_nodes: int) -> list[tuple]:
    """Nodes `("split", feature, threshold, left, right)` / `("leaf", probabilities)`; depth <= `depth`."""
    while True:
        nodes: list = []

        def build(d: int) -> int:
            i = len(nodes)
            nodes.append(None)
            if d == depth or (d >= 1 and rng.random() < 0.3):
                nodes[i] = ("leaf", rng.dirichlet(np.ones(TREE_CLASSES)))
            else:
                f, t = int(rng.integers(TREE_FEATURES)), round(float(rng.uniform(-0.6, 0.6)), 2)
                left = build(d + 1)
                right = build(d + 1)
                nodes[i] = ("split", f, t, left, right)
            return i

        build(0)
        if len(nodes) <= max_nodes:
            return nodes


def tree_forest(seed: int, n_trees: int, depth: int, max_nodes: int) -> list[list[tuple]]:
    rng = np.random.default_rng(seed)
    return [random_tree(rng, depth, max_nodes) for _ in range(n_trees)]


FOREST = dict(seed=2024, n_trees=3, depth=3, max_nodes=11)


def tree_trav_forest():
    """Hummingbird's `tree_trav` strategy for a random-forest classifier (3 trees, depth 3, 4 features,
    3 classes), as `hummingbird.ml.convert(model, "onnx")` exports TreeTraversalTreeImpl.forward: node
    arrays (features, thresholds, lefts, rights, values) as initializers, trees flattened with per-tree node
    offsets, leaves pointing to themselves, and the loop over depth unrolled as
    Gather -> GatherElements -> GreaterOrEqual -> Where -> Cast -> Add; then the leaf values are gathered
    and averaged over the trees (the class probabilities)."""
    b = Builder("tree_trav_forest", 1012)
    trees = tree_forest(**FOREST)
    n_trees, n_nodes = len(trees), max(len(t) for t in trees)
    lefts = np.zeros((n_trees, n_nodes), np.int64)
    rights = np.zeros((n_trees, n_nodes), np.int64)
    feats = np.zeros((n_trees, n_nodes), np.int64)
    thr = np.zeros((n_trees, n_nodes), np.float32)
    vals = np.zeros((n_trees, n_nodes, TREE_CLASSES), np.float32)
    for ti, tree in enumerate(trees):
        for i, nd in enumerate(tree):
            if nd[0] == "split":
                _, feats[ti, i], thr[ti, i], lefts[ti, i], rights[ti, i] = nd
            else:
                lefts[ti, i] = rights[ti, i] = i
                vals[ti, i] = nd[1]
    features = b.const("features", feats.reshape(-1))
    thresholds = b.const("thresholds", thr.reshape(-1))
    lefts_c = b.const("lefts", lefts.reshape(-1))
    rights_c = b.const("rights", rights.reshape(-1))
    values = b.const("values", vals.reshape(-1, TREE_CLASSES))
    offsets = [[i * n_nodes for i in range(n_trees)]]
    nodes_offset = b.const("nodes_offset", np.array(offsets, np.int64))
    idx = b.node("Reshape", [nodes_offset, b.i64("shape", [-1])])
    as_row = b.i64("shape", [-1, n_trees])
    for _ in range(FOREST["depth"]):
        fn = b.node("Reshape", [b.node("Gather", [features, idx], axis=0), as_row])
        fv = b.node("GatherElements", ["input", fn], axis=1)
        th = b.node("Reshape", [b.node("Gather", [thresholds, idx], axis=0), as_row])
        lf = b.node("Reshape", [b.node("Gather", [lefts_c, idx], axis=0), as_row])
        rt = b.node("Reshape", [b.node("Gather", [rights_c, idx], axis=0), as_row])
        go_right = b.node("GreaterOrEqual", [fv, th])
        nxt = b.node("Cast", [b.node("Where", [go_right, rt, lf])], to=TensorProto.INT64)
        idx = b.node("Reshape", [b.node("Add", [nxt, nodes_offset]), b.i64("shape", [-1])])
    out = b.node("Gather", [values, idx], axis=0)  # [trees, classes]
    out = b.node("Reshape", [out, b.i64("shape", [-1, n_trees, TREE_CLASSES])])
    out = b.node("ReduceMean", [out], axes=[1], keepdims=0)  # [1, classes]
    return b.model([1, TREE_FEATURES], out, [1, TREE_CLASSES]), [1, TREE_FEATURES]


def tree_gemm():
    """Hummingbird's `gemm` strategy for one decision tree (depth 3, 4 features, 3 classes), as
    GEMMTreeImpl.forward exports it with the tree axis squeezed (one tree): features = x[:, weight_1];
    x = (features >= bias_1).float(); x = (weight_2 @ x == bias_2).float(); x = weight_3 @ x."""
    b = Builder("tree_gemm", 1013)
    (tree,) = tree_forest(seed=7, n_trees=1, depth=3, max_nodes=15)
    splits = [i for i, nd in enumerate(tree) if nd[0] == "split"]
    leaves = [i for i, nd in enumerate(tree) if nd[0] == "leaf"]
    w1 = [tree[i][1] for i in splits]
    b1 = np.array([[tree[i][2] for i in splits]], np.float32)
    # weight_2[l, s] = 1 if leaf l is in the right subtree of split s, -1 if in the left one; bias_2[l] =
    # the number of right turns on the path to l.
    w2 = np.zeros((len(leaves), len(splits)), np.float32)
    b2 = np.zeros((len(leaves), 1), np.float32)

    def walk(i: int, path: list[tuple[int, int]]) -> None:
        nd = tree[i]
        if nd[0] == "leaf":
            li = leaves.index(i)
            for s, turn in path:
                w2[li, splits.index(s)] = 1.0 if turn else -1.0
            b2[li, 0] = sum(turn for _, turn in path)
            return
        walk(nd[3], path + [(i, 0)])
        walk(nd[4], path + [(i, 1)])

    walk(0, [])
    w3 = np.array([tree[i][1] for i in leaves], np.float32).T  # [classes, leaves]
    feats = b.node("Gather", ["input", b.i64("weight_1", w1)], axis=1)  # [1, splits]
    x = b.node("Cast", [b.node("GreaterOrEqual", [feats, b.f32("bias_1", b1)])], to=TensorProto.FLOAT)
    x = b.node("Transpose", [x], perm=[1, 0])  # [splits, 1]
    x = b.node("MatMul", [b.f32("weight_2", w2), x])  # [leaves, 1]
    x = b.node("Cast", [b.node("Equal", [x, b.f32("bias_2", b2)])], to=TensorProto.FLOAT)
    x = b.node("MatMul", [b.f32("weight_3", w3), x])  # [classes, 1]
    x = b.node("Transpose", [x], perm=[1, 0])  # [1, classes]
    return b.model([1, TREE_FEATURES], x, [1, TREE_CLASSES]), [1, TREE_FEATURES]


def logic_ops():
    """The remaining comparison / logic patterns: Less, LessOrEqual, Greater, GreaterOrEqual and Equal between
    computed tensors and constants, Not / And / Or / Xor, Where with computed and constant branches, Cast of
    booleans, and Gather with computed indices on computed and constant data."""
    b = Builder("logic_ops", 1014)
    a = b.node("Slice", ["input", b.i64("s", [0]), b.i64("e", [3]), b.i64("ax", [1])])  # [1,3]
    c = b.node("Slice", ["input", b.i64("s", [3]), b.i64("e", [6]), b.i64("ax", [1])])  # [1,3]
    lt = b.node("Less", [a, c])
    le = b.node("LessOrEqual", [a, b.f32("t_le", [0.1, -0.2, 0.3])])
    gt = b.node("Greater", [c, b.f32("t_gt", np.float32(0.05))])
    ge = b.node("GreaterOrEqual", [c, a])
    flt = lambda t: b.node("Cast", [t], to=TensorProto.FLOAT)  # noqa: E731
    eq = b.node("Equal", [flt(lt), flt(gt)])
    an = b.node("And", [lt, gt])
    orr = b.node("Or", [b.node("Not", [le]), gt])
    xo = b.node("Xor", [lt, le])
    w1 = b.node("Where", [an, a, c])
    w2 = b.node("Where", [orr, a, b.f32("w_c", np.float32(0.5))])
    w3 = b.node("Where", [xo, b.f32("w_t", [0.25, -0.5, 0.75]), c])
    w4 = b.node("Where", [ge, b.f32("w_a", [1.5, -1.0, 0.5]), b.f32("w_b", [-0.25, 0.5, 2.0])])
    idx = b.node("Add", [b.node("Cast", [lt], to=TensorProto.INT64), b.node("Cast", [gt], to=TensorProto.INT64)])
    idx = b.node("Reshape", [idx, b.i64("shape", [3])])  # values in 0..2
    g1 = b.node("Gather", [b.node("Reshape", [c, b.i64("shape", [3])]), idx], axis=0)  # computed data
    g2 = b.node("Gather", [b.f32("table", [[0.3, -0.7], [1.1, 0.2], [-0.4, 0.9]]), idx], axis=0)  # [3, 2]
    parts = [flt(eq), w1, w2, w3, w4, flat_row(b, g1), flat_row(b, g2), flt(xo)]
    out = b.node("Concat", parts, axis=1)
    return b.model([1, 6], out, [1, 27]), [1, 6]


def tree_input(seed: int, margin: float) -> np.ndarray:
    """A tree-model input whose features are at least `margin` away from every threshold of every tree:
    fixed-point inputs within 2^-scale of a threshold can take the other branch."""
    thresholds = {nd[2] for tree in tree_forest(**FOREST) + tree_forest(7, 1, 3, 15) for nd in tree if nd[0] == "split"}
    rng = np.random.default_rng(seed)
    for _ in range(1000):
        x = np.round(rng.uniform(-0.9, 0.9, TREE_FEATURES), 4)
        if all(abs(v - t) >= margin for v in x for t in thresholds):
            return x
    raise SystemExit("no tree input far enough from the thresholds")


def logic_input(seed: int) -> np.ndarray:
    """Six values with every compared pair at least 0.05 apart."""
    rng = np.random.default_rng(seed)
    consts = [0.1, -0.2, 0.3, 0.05]
    for _ in range(1000):
        x = np.round(rng.uniform(-0.9, 0.9, 6), 4)
        a, c = x[:3], x[3:]
        if (
            np.all(np.abs(a - c) >= 0.05)
            and all(abs(a[i] - consts[i]) >= 0.05 for i in range(3))
            and np.all(np.abs(c - 0.05) >= 0.05)
        ):
            return x
    raise SystemExit("no logic input far enough from the comparison points")


# name -> (builder, input generator)
MODELS: dict[str, tuple[Callable, Callable[[list[int]], np.ndarray]]] = {
    "spread_mlp": (spread_mlp, lambda s: smooth_vector(11, int(np.prod(s)))),
    "spread_mlp_alt": (spread_mlp_alt, lambda s: smooth_vector(11, int(np.prod(s)))),
    "risk_mlp": (risk_mlp, lambda s: smooth_vector(12, int(np.prod(s)))),
    "cnn_mnist": (cnn_mnist, lambda s: digit_image(13)),
    "mlp_784": (mlp_784, lambda s: digit_image(14)),
    "act_mlp": (act_mlp, lambda s: smooth_vector(15, int(np.prod(s)))),
    "pool_cnn": (pool_cnn, lambda s: image_channels(16, 2, 8, 8)),
    "norm_mlp": (norm_mlp, lambda s: smooth_vector(17, int(np.prod(s)))),
    "shape_ops": (shape_ops, lambda s: smooth_vector(18, int(np.prod(s)))),
    "lstm_seq": (lstm_seq, lambda s: smooth_vector(19, int(np.prod(s)))),
    "gru_seq": (gru_seq, lambda s: smooth_vector(20, int(np.prod(s)))),
    "rnn_seq": (rnn_seq, lambda s: smooth_vector(21, int(np.prod(s)))),
    "rnn_reverse": (rnn_reverse, lambda s: smooth_vector(25, int(np.prod(s)))),
    "tree_trav_forest": (tree_trav_forest, lambda s: tree_input(22, 0.05)),
    "tree_gemm": (tree_gemm, lambda s: tree_input(23, 0.05)),
    "logic_ops": (logic_ops, lambda s: logic_input(24)),
}


# ---------------------------------------------------------------------------------------------


def write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, separators=(", ", ": ")) + "\n")
    os.replace(tmp, path)


def check_ranges(model: onnx.ModelProto, feed: np.ndarray) -> float:
    """Evaluate every intermediate value; return the largest absolute value seen."""
    names = [o for n in model.graph.node for o in n.output]
    sess = ReferenceEvaluator(model)
    outs = sess.run(names, {"input": feed})
    worst = 0.0
    for n, v in zip(names, outs):
        if np.issubdtype(np.asarray(v).dtype, np.floating):
            m = float(np.max(np.abs(v)))
            if m > ACTIVATION_BOUND:
                raise SystemExit(f"{model.graph.name}: intermediate {n} reaches {m:.3f} > {ACTIVATION_BOUND}")
            worst = max(worst, m)
    return worst


def generate(name: str, out_dir: Path, verbose: bool) -> None:
    build, make_input = MODELS[name]
    model, in_shape = build()
    onnx.checker.check_model(model, full_check=True)

    flat = np.round(np.asarray(make_input(in_shape), dtype=np.float64).reshape(-1), INPUT_DECIMALS)
    feed = flat.astype(np.float32).reshape(in_shape)
    worst = check_ranges(model, feed)
    (result,) = ReferenceEvaluator(model).run(None, {"input": feed})

    tmp = out_dir / f"{name}.onnx.tmp"
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    os.replace(tmp, out_dir / f"{name}.onnx")
    write_json(out_dir / f"{name}.input.json", {"input_data": [[float(v) for v in flat]]})
    expected = [round(float(v), OUTPUT_DECIMALS) for v in np.asarray(result, dtype=np.float64).reshape(-1)]
    write_json(out_dir / f"{name}.expected.json", {"output_data": [expected]})

    if verbose:
        n_params = sum(int(np.prod(i.dims)) for i in model.graph.initializer if i.data_type == TensorProto.FLOAT)
        ops = sorted({n.op_type for n in model.graph.node})
        print(
            f"{name:11s} in={in_shape} out={list(np.shape(result))} float-params={n_params} "
            f"max|act|={worst:.3f} ops={','.join(ops)}"
        )


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=here, help="output directory (default: models/)")
    ap.add_argument("--only", nargs="*", choices=sorted(MODELS), help="generate only these models")
    ap.add_argument("--check", action="store_true", help="fail if the committed files are not reproduced")
    args = ap.parse_args()
    names = args.only or list(MODELS)

    if args.check:
        with tempfile.TemporaryDirectory() as td:
            for n in names:
                generate(n, Path(td), verbose=False)
            bad = [
                f
                for n in names
                for f in (f"{n}.onnx", f"{n}.input.json", f"{n}.expected.json")
                if not (args.out / f).exists() or not filecmp.cmp(Path(td) / f, args.out / f, shallow=False)
            ]
        if bad:
            print("not reproduced: " + ", ".join(bad), file=sys.stderr)
            return 1
        print(f"all {len(names)} models reproduced")
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    for n in names:
        generate(n, args.out, verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
