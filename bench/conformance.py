#!/usr/bin/env python3
"""`make conformance`: run real models through zkoracle compile → setup → prove → verify and compare the
proof's outputs with onnxruntime's (issue #15 item 5). Writes docs/COVERAGE.md.

Models: every corpus model (corpus/<name>.onnx with <name>.input.json and <name>.expected.json beside it),
and every `*.onnx` under each directory given with --models (EZKL's layout: `<dir>/<name>/network.onnx` with
`input.json` beside it; otherwise `<stem>.input.json` or `input.json` beside the file).

Each step runs as its own process under a wall-clock timeout and an address-space limit (RLIMIT_AS, as
`ulimit -v`; default 8 GiB), one model at a time. The reference is onnxruntime run here when it is importable
(and can run the model), else the committed `<name>.expected.json`, else "no reference".

Status per model: proved (verified and max abs error ≤ 1% of max(1, max |reference|)), mismatch (verified,
but the output count differs or the error is larger), no reference (verified, nothing to compare with),
compile error / setup error / prove error / verify error (the step's last stderr line), timeout, OOM
(allocation failure or killed by the memory limit).

docs/COVERAGE.md keeps one section per source between `<!-- conformance:<section>:begin/end -->` markers, so
the corpus table and a --models table live side by side; a run rewrites only its own sections.

Usage: conformance.py [--models DIR ...] [--no-corpus] [--only NAME ...] [--list FILE] [--timeout S]
                      [--mem-gib G] [--out FILE] [--section NAME] [--title T] [--keep] [--strict]
  --list FILE  restrict --models to the names in FILE: a text file (one name a line) or a Rust file holding
               `const TESTS: [&str; N] = [...]` (EZKL's tests/integration_tests.rs); a listed name with no
               model under --models gets the status "missing".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
WORK = ROOT / "bench" / "work" / "conformance"
TOLERANCE = 0.01


def zkoracle_bin() -> Path:
    env = os.environ.get("ZKORACLE")
    if env:
        return Path(env).resolve()
    for p in (ROOT / "target" / "release" / "zkoracle", ROOT / "target" / "debug" / "zkoracle"):
        if p.exists():
            return p
    sys.exit("conformance: no zkoracle binary (target/release or target/debug); build it or set ZKORACLE=")


@dataclass
class Case:
    name: str
    onnx: Path | None
    data: Path | None
    expected: Path | None = None
    ops: list[str] = field(default_factory=list)
    status: str = ""
    error: str = ""
    k: int | None = None
    prove_s: float | None = None
    max_err: float | None = None
    ref: str = ""


# ---------------------------------------------------------------------------------------------------------
# Discovery


def parse_list(path: Path) -> list[str]:
    text = path.read_text()
    m = re.search(r"const\s+TESTS\s*:\s*\[&str;\s*\d+\]\s*=\s*\[(.*?)\];", text, re.S)
    if m:
        body = re.sub(r"//[^\n]*", "", m.group(1))
        return re.findall(r'"([^"]+)"', body)
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def corpus_cases() -> list[Case]:
    manifest = CORPUS / "MANIFEST.json"
    names = ([e["name"] for e in json.loads(manifest.read_text())["models"]] if manifest.exists()
             else sorted(p.stem for p in CORPUS.glob("*.onnx")))
    return [Case(n, CORPUS / f"{n}.onnx", CORPUS / f"{n}.input.json", CORPUS / f"{n}.expected.json")
            for n in names]


def dir_cases(root: Path, listed: list[str] | None) -> list[Case]:
    found: dict[str, Case] = {}
    for p in sorted(root.rglob("*.onnx")):
        rel = p.relative_to(root)
        name = str(rel.parent) if p.name == "network.onnx" and str(rel.parent) != "." else str(rel.with_suffix(""))
        data = next((c for c in (p.with_name(p.stem + ".input.json"), p.parent / "input.json") if c.exists()), None)
        exp = p.with_name(p.stem + ".expected.json")
        found[name] = Case(name, p, data, exp if exp.exists() else None)
    if listed is None:
        return list(found.values())
    out = []
    for n in listed:
        c = found.get(n) or Case(n, None, None)
        if c.onnx is None:
            c.status, c.error = "missing", f"no .onnx for {n} under {root}"
        out.append(c)
    return out


# ---------------------------------------------------------------------------------------------------------
# Reference (onnxruntime or expected.json)


def graph_ops(path: Path) -> list[str]:
    try:
        import onnx
    except ImportError:
        return []
    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001
        return []
    ops: set[str] = set()

    def walk(g):
        for n in g.node:
            ops.add(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain.split('.')[-1]}.{n.op_type}")
            for a in n.attribute:
                if a.HasField("g"):
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)

    walk(m.graph)
    return sorted(ops)


def flat(v) -> list[float]:
    import numpy as np

    if isinstance(v, list):  # ZipMap output: one dict per row
        out: list[float] = []
        for row in v:
            if isinstance(row, dict):
                out.extend(float(row[k]) for k in sorted(row))
            else:
                out.extend(flat(row))
        return out
    return [float(t) for t in np.asarray(v).astype(np.float64).reshape(-1)]


ORT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int64)": "int64",
             "tensor(int32)": "int32", "tensor(bool)": "bool", "tensor(float16)": "float16",
             "tensor(int8)": "int8", "tensor(uint8)": "uint8"}


def ort_reference(case: Case) -> list[float] | None:
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        return None
    try:
        data = json.loads(case.data.read_text())["input_data"]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        sess = ort.InferenceSession(str(case.onnx), opts, providers=["CPUExecutionProvider"])
        feed = {}
        for inp, vals in zip(sess.get_inputs(), data):
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
            arr = np.asarray(vals, dtype=np.float64).reshape(-1)
            n = int(np.prod(shape)) if shape else 1
            if arr.size != n and shape:  # one free dimension: let it absorb the sample's size
                free = [i for i, d in enumerate(inp.shape) if not (isinstance(d, int) and d > 0)]
                if len(free) == 1:
                    shape[free[0]] = arr.size // max(1, n // shape[free[0]])
            feed[inp.name] = arr.reshape(shape).astype(ORT_TYPES.get(inp.type, "float32"))
        outs = sess.run(None, feed)
    except Exception:  # noqa: BLE001 — onnxruntime cannot run it: fall back to expected.json
        return None
    case.ref = "onnxruntime"
    return [v for o in outs for v in flat(o)]


def reference(case: Case) -> list[float] | None:
    ref = ort_reference(case)
    if ref is not None:
        return ref
    if case.expected and case.expected.exists():
        e = json.loads(case.expected.read_text())
        case.ref = "expected.json"
        if "output_flat" in e:
            return [float(v) for v in e["output_flat"]]
        return [float(v) for row in e.get("output_data", []) for v in flat(row)]
    return None


# ---------------------------------------------------------------------------------------------------------
# Running zkoracle


def limits(mem_bytes: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        os.setsid()

    return apply


def one_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("warning:")]
    pick = next((ln for ln in reversed(lines) if ln.lower().startswith(("error", "thread", "panicked"))), None)
    s = pick or (lines[-1] if lines else "")
    return s.replace("|", "\\|")[:220]


def step(cmd: list[str], timeout: float, mem: int) -> tuple[str | None, str, float]:
    """Run one step; returns (failure kind or None, one-line error, seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=limits(mem))
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.communicate()
        return "timeout", f"over {timeout:.0f} s", time.monotonic() - t0
    secs = time.monotonic() - t0
    if p.returncode == 0:
        return None, "", secs
    text = err + "\n" + out
    if re.search(r"memory allocation of \d+ bytes failed|out of memory|Cannot allocate memory|"
                 r"capacity overflow|std::bad_alloc", text) or p.returncode == -9:
        return "OOM", one_line(text) or f"killed (rc {p.returncode})", secs
    line = one_line(text) or f"exit {p.returncode}"
    if p.returncode < 0:
        line = f"signal {-p.returncode}: {line}"
    return "error", line, secs


def run_case(case: Case, exe: Path, args) -> None:
    if case.status:  # missing
        return
    case.ops = graph_ops(case.onnx)
    if case.data is None:
        case.status, case.error = "compile error", "no input.json beside the model"
        return
    work = WORK / re.sub(r"[^A-Za-z0-9_.-]", "_", f"{args.section}-{case.name}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    mem = int(args.mem_gib * (1 << 30))
    proof = work / "proof.json"
    steps = [
        ("compile", [str(exe), "compile", str(case.onnx), "--data", str(case.data), "-o", str(work)]),
        ("setup", [str(exe), "setup", str(work)]),
        ("prove", [str(exe), "prove", str(work), "--data", str(case.data), "-o", str(proof)]),
        ("verify", [str(exe), "verify", str(work), str(proof)]),
    ]
    for name, cmd in steps:
        kind, line, secs = step(cmd, args.timeout, mem)
        if name == "compile" and (work / "circuit.json").exists():
            try:
                case.k = json.loads((work / "circuit.json").read_text()).get("k")
            except (OSError, json.JSONDecodeError):
                pass
        if name == "prove" and kind is None:
            case.prove_s = secs
        if kind is not None:
            case.status = {"error": f"{name} error"}.get(kind, kind)
            case.error = f"{name}: {line}" if kind != "error" else line
            break
    if not args.keep:
        for f in ("pk.bin", "kzg.srs"):
            (work / f).unlink(missing_ok=True)
    if case.status:
        return
    outputs = [float(v) for v in json.loads(proof.read_text()).get("outputs", [])]
    ref = reference(case)
    if ref is None:
        # onnxruntime cannot load the model (e.g. EZKL's Hummingbird trees: int8 MatMul): tract's float
        # inference of the same input, recorded by compile, is the reference, and the table says so.
        try:
            cal = json.loads((work / "circuit.json").read_text())["calibration"]["float_outputs"]
            ref, case.ref = [float(v) for v in cal], "tract (onnxruntime cannot load it)"
        except (OSError, KeyError, TypeError, json.JSONDecodeError):
            ref = None
    if ref is None:
        case.status = "no reference"
        return
    if len(ref) != len(outputs):
        case.status, case.error = "mismatch", f"{len(outputs)} outputs, reference has {len(ref)}"
        return
    case.max_err = max((abs(a - b) for a, b in zip(outputs, ref)), default=0.0)
    bound = TOLERANCE * max([1.0] + [abs(v) for v in ref])
    if case.max_err <= bound:
        case.status = "proved"
    else:
        case.status, case.error = "mismatch", f"max abs error {case.max_err:.4g} > 1% bound {bound:.4g}"


# ---------------------------------------------------------------------------------------------------------
# Report


def table(cases: list[Case], title: str, source: str, exe: Path, args) -> str:
    proved = sum(c.status == "proved" for c in cases)
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.status] = counts.get(c.status, 0) + 1
    lines = [
        f"## {title}", "",
        f"**{proved} of {len(cases)} proved within 1%** of onnxruntime "
        f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))}).", "",
        f"Source: {source}. Binary: `{exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe}`; per-step "
        f"timeout {args.timeout:.0f} s, address-space limit {args.mem_gib:g} GiB; run "
        f"{dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} cores.", "",
        "| model | ops | status | error | k | prove s | max abs err | ref |",
        "|---|---|---|---|---:|---:|---:|---|",
    ]
    for c in cases:
        lines.append(
            f"| `{c.name}` | {' '.join(c.ops)} | {c.status} | {c.error} | {c.k if c.k is not None else ''} | "
            f"{f'{c.prove_s:.1f}' if c.prove_s is not None else ''} | "
            f"{f'{c.max_err:.3g}' if c.max_err is not None else ''} | {c.ref} |")
    return "\n".join(lines) + "\n"


HEADER = """# Model coverage

Written by `make conformance` (bench/conformance.py): each model goes through `zkoracle compile → setup →
prove → verify`, and the proof's `outputs` are compared with onnxruntime's on the same input. "proved" means
verified with max abs error ≤ 1% of max(1, max |reference output|). Regenerate with `make conformance`
(corpus) or `make conformance MODELS=<dir>`; see corpus/README.md for the corpus.
"""


def write_report(path: Path, section: str, body: str) -> None:
    begin, end = f"<!-- conformance:{section}:begin -->", f"<!-- conformance:{section}:end -->"
    text = path.read_text() if path.exists() else HEADER
    block = f"{begin}\n{body}{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", type=Path, default=[])
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--list", type=Path, default=None)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per step")
    ap.add_argument("--mem-gib", type=float, default=8.0)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "COVERAGE.md")
    ap.add_argument("--section", default=None, help="section name for --models (default: the dir's name)")
    ap.add_argument("--title", default=None, help="heading of the --models section")
    ap.add_argument("--keep", action="store_true", help="keep pk.bin / kzg.srs in bench/work/conformance")
    ap.add_argument("--strict", action="store_true", help="exit 1 unless every model is proved")
    args = ap.parse_args()
    exe = zkoracle_bin()
    listed = parse_list(args.list) if args.list else None

    groups: list[tuple[str, str, str, list[Case]]] = []
    if not args.no_corpus:
        groups.append(("corpus", "Corpus of real exports (corpus/)", "corpus/MANIFEST.json", corpus_cases()))
    for d in args.models:
        d = d.resolve()
        sec = args.section or d.name
        src = f"every `*.onnx` under `{d}`" + (f", restricted to the {len(listed)} names of `{args.list.name}`"
                                                 if listed else "")
        title = args.title or (f"{sec}: the {len(listed)} models listed in {args.list.name}" if listed
                               else f"Models under {d.name}")
        groups.append((sec, title, src, dir_cases(d, listed)))

    rc = 0
    for sec, title, src, cases in groups:
        if args.only:
            cases = [c for c in cases if c.name in args.only]
        args.section = sec
        for i, c in enumerate(cases, 1):
            t0 = time.monotonic()
            run_case(c, exe, args)
            print(f"[{sec} {i}/{len(cases)}] {c.name}: {c.status} {c.error} "
                  f"(k {c.k}, {time.monotonic() - t0:.0f} s)", flush=True)
        write_report(args.out, sec, table(cases, title, src, exe, args))
        if args.strict and any(c.status != "proved" for c in cases):
            rc = 1
    print(f"wrote {args.out}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
