#!/usr/bin/env python3
"""Generate zkoracle's corpus of REAL exporter output (issue #15 item 4).

Every model here is made by the exporter a user would run — `torch.onnx.export` (the TorchScript exporter,
`dynamo=False`, opset 17, plus a few with the dynamo exporter), skl2onnx for scikit-learn, onnxmltools for
XGBoost and LightGBM — never by hand. For each model `<name>` this writes into corpus/:

- `<name>.onnx`           the exported model (small: tiny hidden sizes, well under 1 MB),
- `<name>.input.json`     a sample input in EZKL's format `{"input_data": [[...flat floats...], ...]}`,
                          one flat list per graph input, values rounded to 4 decimals,
- `<name>.expected.json`  onnxruntime's outputs on that input: `output_names`, `output_shapes` and
                          `output_data` (one flat list per output; ZipMap dictionaries flattened in key order),
                          plus `output_flat`, every output concatenated in graph order,

and `MANIFEST.json` (name, family, exporter, ops of the graph, input shapes, file size).
Seeds are fixed (torch, numpy, the estimators' random_state), so a rerun reproduces the files.

Usage: .venv-corpus/bin/python corpus/gen_corpus.py [--only NAME ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent
OPSET = 17
INPUT_DECIMALS = 4
OUTPUT_DECIMALS = 8
MAX_BYTES = 1 << 20
ML_OPSET = 15  # the highest opset onnxmltools 1.16's XGBoost / LightGBM converters support

warnings.filterwarnings("ignore")


@dataclass
class Model:
    name: str
    family: str
    exporter: str
    make: Callable[[], tuple[bytes, list[np.ndarray]]]
    covers: str


REGISTRY: list[Model] = []


def model(name: str, family: str, covers: str, exporter: str = "torch.onnx.export"):
    def deco(fn):
        REGISTRY.append(Model(name, family, exporter, fn, covers))
        return fn

    return deco


def sample(seed: int, shape: tuple[int, ...], lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round(rng.uniform(lo, hi, size=shape), INPUT_DECIMALS).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# PyTorch

def torch_export(module, inputs: list[np.ndarray], dynamo: bool = False) -> bytes:
    import torch

    module.eval()
    args = tuple(torch.from_numpy(a) for a in inputs)
    names = ["input"] if len(inputs) == 1 else [f"input{i}" for i in range(len(inputs))]
    buf = io.BytesIO()
    with torch.no_grad():
        if dynamo:
            prog = torch.onnx.export(module, args, dynamo=True, opset_version=18, input_names=names,
                                     external_data=False)
            prog.save(buf) if hasattr(prog, "save") else None
            if buf.tell() == 0:
                proto = prog.model_proto
                buf.write(proto.SerializeToString())
        else:
            torch.onnx.export(module, args, buf, opset_version=OPSET, input_names=names,
                              do_constant_folding=True, dynamo=False)
    return buf.getvalue()


def tmodel(name: str, family: str, covers: str, shapes: list[tuple[int, ...]], seed: int,
           lo: float = -1.0, hi: float = 1.0, dynamo: bool = False):
    """Register a PyTorch module factory: `fn()` returns an nn.Module built after seeding."""

    def deco(fn):
        def make():
            import torch

            torch.manual_seed(seed)
            np.random.seed(seed)
            mod = fn()
            inputs = [sample(seed * 10 + i, s, lo, hi) for i, s in enumerate(shapes)]
            return torch_export(mod, inputs, dynamo), inputs

        REGISTRY.append(Model(name, family, "torch.onnx.export" + (" (dynamo)" if dynamo else ""), make,
                              covers))
        return fn

    return deco


def nn():
    import torch.nn

    return torch.nn


def torch_():
    import torch

    return torch


class Lambda:
    """nn.Module with a forward given as a function and optional submodules."""

    def __new__(cls, fwd, **subs):
        import torch

        class _L(torch.nn.Module):
            def __init__(self):
                super().__init__()
                for k, v in subs.items():
                    setattr(self, k, v)

            def forward(self, *xs):
                return fwd(self, *xs)

        return _L()


def lin_act(act, n: int = 6):
    """Linear(n, n) → act: the activation families."""
    return Lambda(lambda s, x: s.act(s.fc(x)), fc=nn().Linear(n, n), act=act)


# Pad ------------------------------------------------------------------------------------------------------
for _mode, _torch_mode in [("constant", "constant"), ("reflect", "reflect"), ("edge", "replicate")]:
    def _pad(m=_torch_mode):
        import torch.nn.functional as F

        return Lambda(lambda s, x: F.pad(x, (1, 2, 2, 1), mode=m, **({"value": 0.5} if m == "constant" else {})))

    tmodel(f"pad_{_mode}", "Pad", f"F.pad mode={_torch_mode} on [1,2,4,4] → Pad mode={_mode}",
           [(1, 2, 4, 4)], 101)(_pad)


@tmodel("constant_of_shape", "ConstantOfShape", "torch.zeros(x.shape) + x, torch.ones(x.size(0), 3): the "
        "exporter folds these to constants (ConstantOfShape itself appears in pad_*, tile, expand)", [(1, 5)], 102)
def _cos():
    torch = torch_()
    return Lambda(lambda s, x: torch.cat([torch.zeros(x.shape) + x * 2, torch.ones(x.size(0), 3)], dim=1))


@tmodel("conv_transpose", "ConvTranspose", "nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)",
        [(1, 2, 4, 4)], 103)
def _convt():
    return nn().ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1)


@tmodel("resize_nearest", "Resize", "nn.Upsample(scale_factor=2, mode='nearest')", [(1, 2, 3, 3)], 104)
def _up_n():
    return nn().Upsample(scale_factor=2, mode="nearest")


@tmodel("resize_bilinear", "Resize", "F.interpolate(scale 2, bilinear, align_corners=False)", [(1, 1, 3, 4)], 105)
def _up_b():
    import torch.nn.functional as F

    return Lambda(lambda s, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))


@tmodel("conv1d_pool", "Conv/pool 1-D", "Conv1d(2,4,3,p1) → ReLU → MaxPool1d(2) → AvgPool1d(2) on [1,2,12]",
        [(1, 2, 12)], 106)
def _c1d():
    return nn().Sequential(nn().Conv1d(2, 4, 3, padding=1), nn().ReLU(), nn().MaxPool1d(2), nn().AvgPool1d(2))


@tmodel("conv3d_pool", "Conv/pool 3-D", "Conv3d(1,2,3,p1) → ReLU → MaxPool3d(2) → AvgPool3d(2) on [1,1,4,4,4]",
        [(1, 1, 4, 4, 4)], 107)
def _c3d():
    return nn().Sequential(nn().Conv3d(1, 2, 3, padding=1), nn().ReLU(), nn().MaxPool3d(2), nn().AvgPool3d(2))


@tmodel("split", "Split", "torch.split(x, [2, 4], dim=1) → a*2 , b+1 (two outputs)", [(1, 6)], 108)
def _split():
    torch = torch_()

    def f(s, x):
        a, b = torch.split(x, [2, 4], dim=1)
        return a * 2, b + 1

    return Lambda(f)


@tmodel("tile", "Tile", "x.repeat(1, 2, 3) on [1,2,2]", [(1, 2, 2)], 109)
def _tile():
    return Lambda(lambda s, x: x.repeat(1, 2, 3))


@tmodel("expand", "Expand", "x.expand(1, 3, 4) from [1,1,4], plus x", [(1, 1, 4)], 110)
def _expand():
    return Lambda(lambda s, x: x.expand(1, 3, 4) * 1.5)


@tmodel("depth_to_space", "DepthToSpace", "nn.PixelShuffle(2) on [1,4,2,2]", [(1, 4, 2, 2)], 111)
def _d2s():
    return nn().PixelShuffle(2)


# Activations ----------------------------------------------------------------------------------------------
_ACTS = [
    ("prelu", "PRelu", lambda: nn().PReLU(6, init=0.2)),
    ("elu", "Elu", lambda: nn().ELU(alpha=0.8)),
    ("celu", "Celu", lambda: nn().CELU(alpha=1.3)),
    ("selu", "Selu", lambda: nn().SELU()),
    ("softplus", "Softplus", lambda: nn().Softplus()),
    ("softsign", "Softsign", lambda: nn().Softsign()),
    ("hardsigmoid", "HardSigmoid", lambda: nn().Hardsigmoid()),
    ("hardswish", "HardSwish", lambda: nn().Hardswish()),
    ("mish", "Mish", lambda: nn().Mish()),
    ("gelu_erf", "Erf/Gelu", lambda: nn().GELU()),
    ("gelu_tanh", "Erf/Gelu", lambda: nn().GELU(approximate="tanh")),
    ("log_softmax", "LogSoftmax", lambda: nn().LogSoftmax(dim=-1)),
]
for _i, (_n, _fam, _act) in enumerate(_ACTS):
    def _mk(a=_act):
        return lin_act(a())

    tmodel(_n, _fam, f"Linear(6,6) → nn.{_fam.split('/')[-1]}", [(1, 6)], 120 + _i)(_mk)


# Elementwise math -----------------------------------------------------------------------------------------
_MATH = [
    ("log", "Log", "torch.log(x*x + 0.5)", lambda x: torch_().log(x * x + 0.5)),
    ("sqrt", "Sqrt", "torch.sqrt(x*x + 0.25)", lambda x: torch_().sqrt(x * x + 0.25)),
    ("rsqrt", "Sqrt", "torch.rsqrt(x*x + 0.5)", lambda x: torch_().rsqrt(x * x + 0.5)),
    ("pow", "Pow", "x ** 3 and (x*x + 1) ** 0.5", lambda x: torch_().cat([x ** 3, (x * x + 1) ** 0.5], 1)),
    ("abs", "Abs", "torch.abs(x) * 2", lambda x: torch_().abs(x) * 2),
    ("floor", "Floor", "torch.floor(x * 4)", lambda x: torch_().floor(x * 4)),
    ("round", "Round", "torch.round(x * 4)", lambda x: torch_().round(x * 4)),
    ("div_computed", "Div (computed divisor)", "x / (x*x + 1)", lambda x: x / (x * x + 1)),
    ("max_min", "Max/Min", "torch.maximum / torch.minimum of x and 0.5-x, x*2",
     lambda x: torch_().cat([torch_().maximum(x, 0.5 - x), torch_().minimum(x, x * 2)], 1)),
    ("remainder", "Mod", "torch.fmod(x * 3, 1.0)", lambda x: torch_().fmod(x * 3, 1.0)),
]
for _i, (_n, _fam, _cov, _f) in enumerate(_MATH):
    def _mk(f=_f):
        return Lambda(lambda s, x: f(x))

    tmodel(_n, _fam, _cov, [(1, 6)], 140 + _i)(_mk)


@tmodel("sum_variadic", "Max/Min/Sum (variadic)", "torch.stack([a, b, c]).max/min/sum(0) of three "
        "computed tensors (torch emits ReduceMax/Min/Sum over a stack, not variadic Max/Min/Sum)",
        [(1, 6)], 151)
def _variadic():
    torch = torch_()

    def f(s, x):
        st = torch.stack([x, x * 0.5 + 0.1, 1 - x])
        return torch.cat([st.max(0).values, st.min(0).values, st.sum(0)], 1)

    return Lambda(f)


@tmodel("instance_norm", "InstanceNormalization", "nn.InstanceNorm2d(2, affine=True) on [1,2,3,3]",
        [(1, 2, 3, 3)], 152)
def _inorm():
    m = nn().InstanceNorm2d(2, affine=True)
    torch = torch_()
    with torch.no_grad():
        m.weight.copy_(torch.tensor([0.7, 1.2]))
        m.bias.copy_(torch.tensor([0.1, -0.2]))
    return m


@tmodel("reduce_min_l2_lse", "ReduceMin/L2/LogSumExp", "x.amin(1), torch.norm(x, dim=1), x.norm(p=1, dim=1), "
        "torch.logsumexp(x, 1) on [1,3,4]", [(1, 3, 4)], 153)
def _reduce():
    torch = torch_()
    return Lambda(lambda s, x: torch.cat([x.amin(1), torch.norm(x, dim=1), x.norm(p=1, dim=1),
                                          torch.logsumexp(x, 1)], 1))


@tmodel("argmax", "ArgMax", "Linear(6,5) → argmax(-1, keepdim) (int64 output)", [(1, 6)], 154)
def _argmax():
    return Lambda(lambda s, x: s.fc(x).argmax(-1, keepdim=True), fc=nn().Linear(6, 5))


@tmodel("topk", "TopK", "torch.topk(Linear(6,6)(x), 3): values and int64 indices", [(1, 6)], 155)
def _topk():
    torch = torch_()

    def f(s, x):
        v, i = torch.topk(s.fc(x), 3)
        return v, i

    return Lambda(f, fc=nn().Linear(6, 6))


def int_model(name: str, family: str, covers: str, seed: int):
    """Register a PyTorch module whose inputs include int64 tensors: `fn()` returns (module, inputs)."""

    def deco(fn):
        def make():
            import torch

            torch.manual_seed(seed)
            module, inputs = fn(np.random.default_rng(seed))
            return torch_export(module, inputs), inputs

        REGISTRY.append(Model(name, family, "torch.onnx.export", make, covers))
        return fn

    return deco


@int_model("int_floor_div", "Div (integer)", "x // 3 and x // -2 on an int64 input (ONNX integer Div, then Cast)",
           158)
def _int_div(rng):
    x = rng.integers(-20, 20, size=(1, 2, 8)).astype(np.int64)
    return Lambda(lambda s, x: (x // 3).float() * 0.5 + (x // -2).float()), [x]


@int_model("gather_input_index", "GatherElements (input indices)",
           "torch.gather(Linear(6,6)(x), 1, idx) with idx an int64 graph input", 159)
def _gather_idx(rng):
    torch = torch_()
    x = sample(1590, (3, 6))
    idx = rng.integers(0, 6, size=(3, 4)).astype(np.int64)
    return Lambda(lambda s, x, i: torch.gather(s.fc(x), 1, i), fc=nn().Linear(6, 6)), [x, idx]


@int_model("scatter_input_index", "ScatterElements (input indices)",
           "torch.scatter(x, 1, idx, src) with idx an int64 graph input (distinct per row)", 160)
def _scatter_idx(rng):
    torch = torch_()
    x = sample(1600, (2, 6))
    idx = np.stack([rng.permutation(6)[:3] for _ in range(2)]).astype(np.int64)
    src = sample(1601, (2, 3))
    return Lambda(lambda s, x, i, u: torch.scatter(x * 2, 1, i, u)), [x, idx, src]


@tmodel("constant_output", "Constant output", "(Linear(4,2)(x), torch.arange(0, 10, 2) * 0.5): an output that "
        "does not depend on the input (EZKL's arange)", [(1, 4)], 161)
def _const_out():
    torch = torch_()
    return Lambda(lambda s, x: (s.fc(x), torch.arange(0, 10, 2).float() * 0.5), fc=nn().Linear(4, 2))


@tmodel("arange_no_input", "Constant output (no input)", "forward() = torch.arange(0, 10, 2): a model without "
        "inputs, `{\"input_data\": []}` (EZKL's arange)", [], 162)
def _arange():
    torch = torch_()
    return Lambda(lambda s: torch.arange(0, 10, 2))


@tmodel("onehot", "OneHot", "F.one_hot(argmax(Linear(6,4)(x)), 4).float() * 2 + x[:, :4]", [(1, 6)], 156)
def _onehot():
    import torch.nn.functional as F

    return Lambda(lambda s, x: F.one_hot(s.fc(x).argmax(-1), 4).float() * 2 + x[:, :4], fc=nn().Linear(6, 4))


@tmodel("gemm_computed_bias", "Gemm (computed bias)", "torch.addmm(Linear(6,4)(x), x, W): Gemm whose C is computed",
        [(1, 6)], 157)
def _addmm():
    torch = torch_()

    def f(s, x):
        return torch.addmm(s.fc(x), x, s.w)

    m = Lambda(f, fc=nn().Linear(6, 4))
    m.w = nn().Parameter(torch.randn(6, 4) * 0.4)
    return m


@tmodel("trilu", "Trilu", "torch.triu(x) + torch.tril(x, -1) * 0.5 on [1,4,4]", [(1, 4, 4)], 158)
def _trilu():
    torch = torch_()
    return Lambda(lambda s, x: torch.triu(x) + torch.tril(x, -1) * 0.5)


@tmodel("scatter_elements", "ScatterElements", "x.scatter(1, const idx, x*2) on [1,6]", [(1, 6)], 159)
def _scatter():
    torch = torch_()
    idx = torch.tensor([[5, 0, 3]])
    return Lambda(lambda s, x: x.scatter(1, idx, x[:, :3] * 2))


# Whole models ---------------------------------------------------------------------------------------------
@tmodel("cnn_small", "CNN", "Conv(1,4,3,p1) → BatchNorm → ReLU → MaxPool2 → Conv(4,4,3,p1) → ReLU → "
        "AvgPool2 → Flatten → Linear(64,10) on [1,1,16,16]", [(1, 1, 16, 16)], 201)
def _cnn():
    n = nn()
    m = n.Sequential(n.Conv2d(1, 4, 3, padding=1), n.BatchNorm2d(4), n.ReLU(), n.MaxPool2d(2),
                     n.Conv2d(4, 4, 3, padding=1), n.ReLU(), n.AvgPool2d(2), n.Flatten(), n.Linear(64, 10))
    torch = torch_()
    with torch.no_grad():
        m[1].running_mean.uniform_(-0.1, 0.1)
        m[1].running_var.uniform_(0.5, 1.5)
    return m


@tmodel("lstm", "LSTM", "nn.LSTM(3, 4, batch_first=True) on [1,5,3], no initial state; outputs y, h, c",
        [(1, 5, 3)], 202)
def _lstm():
    def f(s, x):
        y, (h, c) = s.rnn(x)
        return y, h, c

    return Lambda(f, rnn=nn().LSTM(3, 4, batch_first=True))


@tmodel("gru", "GRU", "nn.GRU(3, 4, batch_first=True) on [1,5,3], no initial state; outputs y, h",
        [(1, 5, 3)], 203)
def _gru():
    def f(s, x):
        y, h = s.rnn(x)
        return y, h

    return Lambda(f, rnn=nn().GRU(3, 4, batch_first=True))


@tmodel("rnn", "RNN", "nn.RNN(3, 4) on [5,1,3] (seq first), no initial state; outputs y, h", [(5, 1, 3)], 204)
def _rnn():
    def f(s, x):
        y, h = s.rnn(x)
        return y, h

    return Lambda(f, rnn=nn().RNN(3, 4))


@tmodel("lstm_2layer_bidir", "LSTM", "nn.LSTM(3, 3, num_layers=2, bidirectional=True) on [4,1,3] → Linear(6,2) "
        "on the last step", [(4, 1, 3)], 205)
def _lstm2():
    return Lambda(lambda s, x: s.fc(s.rnn(x)[0][-1]), rnn=nn().LSTM(3, 3, num_layers=2, bidirectional=True),
                  fc=nn().Linear(6, 2))


def _block():
    """Pre-norm transformer block: LayerNorm → 2-head self-attention (Q/K/V Linear, softmax(QKᵀ/√d)V) →
    residual → LayerNorm → Linear → GELU → Linear → residual."""
    torch = torch_()
    n = nn()
    d, h, t = 8, 2, 4

    def f(s, x):
        a = s.ln1(x)
        q = s.q(a).reshape(1, t, h, d // h).transpose(1, 2)
        k = s.k(a).reshape(1, t, h, d // h).transpose(1, 2)
        v = s.v(a).reshape(1, t, h, d // h).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) / (d // h) ** 0.5, dim=-1)
        o = (w @ v).transpose(1, 2).reshape(1, t, d)
        x = x + s.o(o)
        return x + s.fc2(s.act(s.fc1(s.ln2(x))))

    return Lambda(f, ln1=n.LayerNorm(d), q=n.Linear(d, d), k=n.Linear(d, d), v=n.Linear(d, d),
                  o=n.Linear(d, d), ln2=n.LayerNorm(d), fc1=n.Linear(d, 16), act=n.GELU(), fc2=n.Linear(16, d))


tmodel("transformer_block", "Transformer", "pre-norm block, d=8, 2 heads, seq 4: LayerNorm, attention "
       "(MatMul, Softmax, Transpose, Reshape), GELU MLP, residuals", [(1, 4, 8)], 206)(_block)


@tmodel("mha_torch", "Transformer", "nn.MultiheadAttention(8, 2, batch_first=True) self-attention on [1,4,8]",
        [(1, 4, 8)], 207)
def _mha():
    torch_().backends.mha.set_fastpath_enabled(False)  # else eval mode exports aten::_native_multi_head_attention
    return Lambda(lambda s, x: s.mha(x, x, x, need_weights=False)[0],
                  mha=nn().MultiheadAttention(8, 2, batch_first=True))


tmodel("transformer_block_dynamo", "Transformer", "the transformer_block module exported with "
       "torch.onnx.export(dynamo=True), opset 18", [(1, 4, 8)], 206, dynamo=True)(_block)


@tmodel("cnn_small_dynamo", "CNN", "Conv(1,2,3,p1) → ReLU → MaxPool2 → Flatten → Linear(32,3) exported with "
        "dynamo=True, opset 18", [(1, 1, 8, 8)], 208, dynamo=True)
def _cnn_d():
    n = nn()
    return n.Sequential(n.Conv2d(1, 2, 3, padding=1), n.ReLU(), n.MaxPool2d(2), n.Flatten(), n.Linear(32, 3))


# ---------------------------------------------------------------------------------------------------------
# scikit-learn / XGBoost / LightGBM

N_FEATURES = 4


def tabular(seed: int, n: int = 200, classes: int | None = 3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, N_FEATURES)).astype(np.float32)
    score = x @ np.array([1.0, -0.7, 0.5, 0.3], dtype=np.float32) + 0.3 * np.sin(3 * x[:, 0])
    if classes is None:
        return x, score.astype(np.float32)
    edges = np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])
    return x, np.digitize(score, edges).astype(np.int64)


def sk_input(seed: int) -> list[np.ndarray]:
    return [sample(seed, (1, N_FEATURES))]


def skl(est, seed: int, options=None) -> bytes:
    from skl2onnx import to_onnx

    x = sample(seed, (1, N_FEATURES))
    onx = to_onnx(est, x, target_opset={"": OPSET, "ai.onnx.ml": 3}, options=options)
    return onx.SerializeToString()


def sk_model(name: str, family: str, covers: str, seed: int, exporter: str = "skl2onnx"):
    def deco(fn):
        def make():
            return fn(seed), sk_input(seed + 1000)

        REGISTRY.append(Model(name, family, exporter, make, covers))
        return fn

    return deco


@sk_model("sk_logistic_regression", "logistic regression", "LogisticRegression (3 classes), default skl2onnx "
          "options: label + ZipMap probabilities", 301)
def _logreg(seed):
    from sklearn.linear_model import LogisticRegression

    x, y = tabular(seed)
    return skl(LogisticRegression(max_iter=500).fit(x, y), seed)


@sk_model("sk_logreg_pipeline", "logistic regression", "StandardScaler → LogisticRegression (binary), "
          "zipmap=False: Scaler, LinearClassifier", 302)
def _logreg_pipe(seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = tabular(seed, classes=2)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    return skl(pipe, seed, options={id(pipe.steps[-1][1]): {"zipmap": False}})


@sk_model("sk_linear_regression", "linear regression", "LinearRegression → LinearRegressor", 303)
def _linreg(seed):
    from sklearn.linear_model import LinearRegression

    x, y = tabular(seed, classes=None)
    return skl(LinearRegression().fit(x, y), seed)


@sk_model("sk_ridge_double", "linear regression", "Ridge exported in double precision (skl2onnx with a float64 "
          "sample: double MatMul/Add, double input; zkoracle demotes doubles to f32 before tract)", 311)
def _ridge_double(seed):
    from skl2onnx import to_onnx
    from sklearn.linear_model import Ridge

    x, y = tabular(seed, classes=None)
    est = Ridge(alpha=0.5).fit(x.astype(np.float64), y.astype(np.float64))
    return to_onnx(est, sample(seed, (1, N_FEATURES)).astype(np.float64), target_opset={"": OPSET}).SerializeToString()


@sk_model("sk_random_forest", "random forest", "RandomForestClassifier(4 trees, depth 3, 3 classes), "
          "zipmap=False: TreeEnsembleClassifier", 304)
def _rf(seed):
    from sklearn.ensemble import RandomForestClassifier

    x, y = tabular(seed)
    est = RandomForestClassifier(n_estimators=4, max_depth=3, random_state=seed).fit(x, y)
    return skl(est, seed, options={id(est): {"zipmap": False}})


@sk_model("sk_random_forest_reg", "random forest", "RandomForestRegressor(4 trees, depth 3): "
          "TreeEnsembleRegressor", 305)
def _rfr(seed):
    from sklearn.ensemble import RandomForestRegressor

    x, y = tabular(seed, classes=None)
    return skl(RandomForestRegressor(n_estimators=4, max_depth=3, random_state=seed).fit(x, y), seed)


@sk_model("sk_decision_tree", "decision tree", "DecisionTreeClassifier(depth 3), default options (ZipMap)", 306)
def _dt(seed):
    from sklearn.tree import DecisionTreeClassifier

    x, y = tabular(seed)
    return skl(DecisionTreeClassifier(max_depth=3, random_state=seed).fit(x, y), seed)


@sk_model("sk_gradient_boosting", "gradient-boosted trees", "sklearn GradientBoostingClassifier(5 trees, depth 2, "
          "binary), zipmap=False", 307)
def _gb(seed):
    from sklearn.ensemble import GradientBoostingClassifier

    x, y = tabular(seed, classes=2)
    est = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=seed).fit(x, y)
    return skl(est, seed, options={id(est): {"zipmap": False}})


@sk_model("sk_mlp", "MLP", "MLPClassifier(hidden 8, 3 classes), zipmap=False", 308)
def _mlp(seed):
    from sklearn.neural_network import MLPClassifier

    x, y = tabular(seed)
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=seed).fit(x, y)
    return skl(est, seed, options={id(est): {"zipmap": False}})


@sk_model("sk_linear_svc", "linear SVM", "LinearSVC (3 classes): LinearClassifier", 309)
def _svc(seed):
    from sklearn.svm import LinearSVC

    x, y = tabular(seed)
    return skl(LinearSVC(random_state=seed).fit(x, y), seed)


def mltools_types():
    from onnxmltools.convert.common.data_types import FloatTensorType

    return [("input", FloatTensorType([1, N_FEATURES]))]


@sk_model("xgb_classifier", "gradient-boosted trees (XGBoost)", "XGBClassifier(5 trees, depth 3, 3 classes) via "
          "onnxmltools.convert_xgboost", 401, exporter="onnxmltools")
def _xgbc(seed):
    import onnxmltools
    from xgboost import XGBClassifier

    x, y = tabular(seed)
    est = XGBClassifier(n_estimators=5, max_depth=3, random_state=seed, n_jobs=1).fit(x, y)
    return onnxmltools.convert_xgboost(est, initial_types=mltools_types(), target_opset=ML_OPSET).SerializeToString()


@sk_model("xgb_regressor", "gradient-boosted trees (XGBoost)", "XGBRegressor(5 trees, depth 3) via "
          "onnxmltools.convert_xgboost", 402, exporter="onnxmltools")
def _xgbr(seed):
    import onnxmltools
    from xgboost import XGBRegressor

    x, y = tabular(seed, classes=None)
    est = XGBRegressor(n_estimators=5, max_depth=3, random_state=seed, n_jobs=1).fit(x, y)
    return onnxmltools.convert_xgboost(est, initial_types=mltools_types(), target_opset=ML_OPSET).SerializeToString()


@sk_model("lgbm_classifier", "gradient-boosted trees (LightGBM)", "LGBMClassifier(5 trees, 4 leaves, binary) via "
          "onnxmltools.convert_lightgbm, zipmap=False", 403, exporter="onnxmltools")
def _lgbc(seed):
    import onnxmltools
    from lightgbm import LGBMClassifier

    x, y = tabular(seed, classes=2)
    est = LGBMClassifier(n_estimators=5, num_leaves=4, random_state=seed, n_jobs=1, verbose=-1).fit(x, y)
    return onnxmltools.convert_lightgbm(est, initial_types=mltools_types(), target_opset=ML_OPSET,
                                        zipmap=False).SerializeToString()


@sk_model("lgbm_regressor", "gradient-boosted trees (LightGBM)", "LGBMRegressor(5 trees, 4 leaves) via "
          "onnxmltools.convert_lightgbm", 404, exporter="onnxmltools")
def _lgbr(seed):
    import onnxmltools
    from lightgbm import LGBMRegressor

    x, y = tabular(seed, classes=None)
    est = LGBMRegressor(n_estimators=5, num_leaves=4, random_state=seed, n_jobs=1, verbose=-1).fit(x, y)
    return onnxmltools.convert_lightgbm(est, initial_types=mltools_types(), target_opset=ML_OPSET).SerializeToString()


# ---------------------------------------------------------------------------------------------------------
# Reference outputs, manifest


def graph_ops(m: onnx.ModelProto) -> list[str]:
    ops: set[str] = set()

    def walk(g):
        for node in g.node:
            ops.add(node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}")
            for a in node.attribute:
                if a.g is not None and a.g.node:
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)

    walk(m.graph)
    return sorted(ops)


def flatten_output(v) -> tuple[list[float], list[int]]:
    if isinstance(v, list):  # ZipMap: list of dicts, one per row
        flat: list[float] = []
        for row in v:
            flat.extend(float(row[k]) for k in sorted(row))
        return flat, [len(v), len(v[0]) if v else 0]
    a = np.asarray(v)
    return [float(t) for t in a.astype(np.float64).reshape(-1)], list(a.shape)


def run_ort(data: bytes, inputs: list[np.ndarray]):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    feed = {i.name: (a.astype(np.float64) if i.type == "tensor(double)" else a) for i, a in zip(sess.get_inputs(), inputs)}
    names = [o.name for o in sess.get_outputs()]
    return names, sess.run(names, feed)


def dump(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--out", type=Path, default=ROOT)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass

    manifest_path = args.out / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"models": []}
    entries = {e["name"]: e for e in manifest.get("models", [])}
    failed = []
    for m in REGISTRY:
        if args.only and m.name not in args.only:
            continue
        try:
            data, inputs = m.make()
            proto = onnx.load_from_string(data)
            if proto.graph.name != m.name:  # onnxmltools names the graph with a random uuid
                proto.graph.name = m.name
                data = proto.SerializeToString()
            onnx.checker.check_model(proto)
            names, outs = run_ort(data, inputs)
        except Exception as e:  # noqa: BLE001 — an exporter failure is recorded, not fatal
            msg = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:300]
            print(f"FAILED {m.name}: {msg}", file=sys.stderr)
            failed.append((m.name, msg))
            continue
        if len(data) > MAX_BYTES:
            print(f"FAILED {m.name}: {len(data)} bytes > 1 MiB", file=sys.stderr)
            failed.append((m.name, "too large"))
            continue
        (args.out / f"{m.name}.onnx").write_bytes(data)
        dump(args.out / f"{m.name}.input.json",
             {"input_data": [[round(float(v), INPUT_DECIMALS) for v in a.reshape(-1)] for a in inputs]})
        flats, shapes = zip(*(flatten_output(o) for o in outs))
        flats = [[round(v, OUTPUT_DECIMALS) for v in f] for f in flats]
        dump(args.out / f"{m.name}.expected.json", {
            "output_names": names, "output_shapes": list(shapes), "output_data": flats,
            "output_flat": [v for f in flats for v in f], "reference": f"onnxruntime {ort.__version__}"})
        entries[m.name] = {
            "name": m.name, "family": m.family, "exporter": m.exporter, "covers": m.covers,
            "ops": graph_ops(proto), "opset": {o.domain or "ai.onnx": o.version for o in proto.opset_import},
            "inputs": [list(a.shape) for a in inputs], "outputs": names, "bytes": len(data)}
        print(f"ok {m.name:28s} {len(data):7d} B  ops: {' '.join(graph_ops(proto))}")
    order = {m.name: i for i, m in enumerate(REGISTRY)}
    manifest = {"generator": "corpus/gen_corpus.py",
                "models": sorted(entries.values(), key=lambda e: order.get(e["name"], 1 << 30))}
    if failed:
        manifest["failed_exports"] = {n: msg for n, msg in failed}
    dump(manifest_path, manifest)
    return 1 if failed else 0


if __name__ == "__main__":
    if os.environ.get("PYTHONHASHSEED") != "0":  # skl2onnx / onnxmltools order opset imports by a set
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    sys.exit(main())
