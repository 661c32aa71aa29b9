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


# name -> (builder, input generator)
MODELS: dict[str, tuple[Callable, Callable[[list[int]], np.ndarray]]] = {
    "spread_mlp": (spread_mlp, lambda s: smooth_vector(11, int(np.prod(s)))),
    "risk_mlp": (risk_mlp, lambda s: smooth_vector(12, int(np.prod(s)))),
    "cnn_mnist": (cnn_mnist, lambda s: digit_image(13)),
    "mlp_784": (mlp_784, lambda s: digit_image(14)),
    "act_mlp": (act_mlp, lambda s: smooth_vector(15, int(np.prod(s)))),
    "pool_cnn": (pool_cnn, lambda s: image_channels(16, 2, 8, 8)),
    "norm_mlp": (norm_mlp, lambda s: smooth_vector(17, int(np.prod(s)))),
    "shape_ops": (shape_ops, lambda s: smooth_vector(18, int(np.prod(s)))),
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
