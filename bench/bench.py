#!/usr/bin/env python3
"""Benchmark zkoracle against EZKL 23.0.5 on the same ONNX models and inputs, in one run.

For each model both systems run one after the other (never two heavy steps at once). Every step is its own
process, so its peak RSS (os.wait4's ru_maxrss) is its own. Setup, prove and verify run `--repeat` times
(default 2) and the best time is reported. Each system's Solidity verifier is compiled with the pinned solc
(tools/solc), deployed on a fresh anvil, and a real `verifyProof(bytes,uint256[])` transaction is sent: its
receipt's gasUsed is the verify gas (it includes the 21,000 base and the calldata cost).

The report goes to BENCHMARKS.md at the repository root, between `<!-- bench:begin -->` and
`<!-- bench:end -->` (text outside the markers is kept); raw figures go to bench/work/results.json.

A zkoracle command that does not exist yet, or fails, gives "n/a" in its columns and a line under "Notes".
The zkoracle binary is target/release/zkoracle, or $ZKORACLE_BIN.

For zkoracle the harness also measures the prover's floor (`zkoracle floor --data`: the MSMs and FFTs that
halo2-axiom performs for the model's committed columns at its k, timed alone; the table shows prove / floor),
and, when `perf` works here, profiles one more prove (bench/perf_profile.py): a flamegraph goes to
bench/profiles/<model>.svg and a table of where prove time goes into the report.

Usage: bench.py [--models NAME ...] [--systems ezkl zkoracle] [--repeat N] [--out FILE] [--hardfork NAME]
                [--no-profile] [--floor-repeat N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evm  # noqa: E402
import conformance  # noqa: E402
import perf_profile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
MODELS_DIR = ROOT / "models"
PROFILES = BENCH / "profiles"
SOLC = ROOT / "tools" / "solc"
ANVIL = ROOT / "node_modules" / ".bin" / "anvil"
ZKORACLE = Path(os.environ.get("ZKORACLE_BIN", ROOT / "target" / "release" / "zkoracle")).resolve()
DEFAULT_MODELS = [
    "spread_mlp", "risk_mlp", "cnn_mnist", "mlp_784", "act_mlp", "pool_cnn", "norm_mlp", "shape_ops",
]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
TARGETS = {"prove": 0.2, "pk": 0.1, "gas": 0.5, "warm": 0.1}


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Proc:
    """One finished subprocess."""

    cmd: list[str]
    rc: int
    wall_s: float
    maxrss_kb: int
    stdout: str
    stderr: str

    def last_json(self) -> dict:
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    break
        return {}

    def why(self) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        msg = next((ln for ln in reversed(text) if ln.strip()), "") if text else ""
        return f"exit {self.rc}: {msg[:300]}"


def run_proc(cmd: list[str], logdir: Path, tag: str, timeout_s: float) -> Proc:
    """Run `cmd` alone; measure wall time and this child's own peak RSS."""
    logdir.mkdir(parents=True, exist_ok=True)
    out_p, err_p = logdir / f"{tag}.stdout", logdir / f"{tag}.stderr"
    with open(out_p, "w") as fo, open(err_p, "w") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, cwd=ROOT)
        timer = threading.Timer(timeout_s, p.kill)
        timer.start()
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
    return Proc(cmd, p.returncode, wall, usage.ru_maxrss, out_p.read_text(), err_p.read_text())


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class Result:
    """Figures for one (model, system); None means n/a."""

    k: int | None = None
    compile_s: float | None = None
    setup_s: float | None = None
    prove_s: float | None = None
    verify_s: float | None = None
    pk_bytes: int | None = None
    vk_bytes: int | None = None
    proof_bytes: int | None = None
    prove_rss_mb: float | None = None
    verify_gas: int | None = None
    runtime_bytes: int | None = None
    calldata_bytes: int | None = None
    max_abs_err: float | None = None
    verified: bool | None = None
    verified_onchain: bool | None = None
    sol_settings: str | None = None
    extra: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def flatten(x) -> list[float]:
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in flatten(item)]
    return [float(x)]


def max_abs_err(got, expected: list[float]) -> float | None:
    g = flatten(got)
    if len(g) != len(expected):
        return None
    return max(abs(a - b) for a, b in zip(g, expected))


# Directories of EZKL-layout models (`<dir>/<name>/network.onnx` + `input.json`), from --ezkl-models.
EZKL_MODEL_DIRS: list[Path] = []


def model_files(name: str) -> tuple[Path, Path]:
    """`(model.onnx, input.json)` of `name`: models/, then the corpus (corpus/), then --ezkl-models dirs."""
    for d in (MODELS_DIR, ROOT / "corpus"):
        if (d / f"{name}.onnx").exists():
            return d / f"{name}.onnx", d / f"{name}.input.json"
    for d in EZKL_MODEL_DIRS:
        if (d / name / "network.onnx").exists():
            return d / name / "network.onnx", d / name / "input.json"
    raise FileNotFoundError(name)


def expected_outputs(name: str) -> list[float]:
    """The committed reference (`<name>.expected.json`), else onnxruntime's outputs on the model's input (the
    runner `make conformance` uses), else onnx's reference evaluator (single-input models)."""
    onnx_path, input_path = model_files(name)
    path = onnx_path.with_name(f"{name}.expected.json")
    if path.exists():
        return flatten(json.loads(path.read_text())["output_data"])
    ref = conformance.ort_reference(conformance.Case(name, onnx_path, input_path))
    if ref is not None:
        return ref
    import numpy as np  # only when neither reference exists
    import onnx
    from onnx.reference import ReferenceEvaluator

    model = onnx.load(str(onnx_path))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    data = json.loads(input_path.read_text())["input_data"][0]
    (out,) = ReferenceEvaluator(model).run(None, {model.graph.input[0].name: np.array(data, np.float32).reshape(dims)})
    return [float(v) for v in np.asarray(out).reshape(-1)]


def best_of(repeat: int, once) -> tuple[float | None, list[Proc]]:
    """Run `once()` (returns (seconds, Proc) or raises StepFailed) `repeat` times; best seconds."""
    times, procs = [], []
    for i in range(1, repeat + 1):
        secs, proc = once(i)
        times.append(secs)
        procs.append(proc)
    return (min(times) if times else None), procs


class StepFailed(Exception):
    """A step failed; the message says why."""


def onchain(res: Result, compiled: evm.Compiled, calldata: bytes, hardfork: str, logdir: Path) -> None:
    res.sol_settings = compiled.settings
    with evm.Anvil(ANVIL, hardfork, logdir / "anvil.log") as chain:
        addr = chain.deploy(compiled.creation)
        res.runtime_bytes = chain.code_size(addr)
        res.verify_gas, res.verified_onchain = chain.verify_gas(addr, calldata)
    res.calldata_bytes = len(calldata)


# ---------------------------------------------------------------------------------------------
# EZKL


# EZKL variants: the `param_visibility` of each.
EZKL_PARAMS = {"ezkl": "fixed", "ezkl-hashed": "hashed", "ezkl-polycommit": "polycommit"}


def bench_ezkl(name: str, a, wd: Path, expected: list[float], sysname: str = "ezkl") -> Result:
    res = Result()
    py = sys.executable
    model, data = map(str, model_files(name))
    logs = wd / "logs"

    def step(tag: str, *args: str) -> tuple[dict, Proc]:
        p = run_proc([py, str(BENCH / "ezkl_step.py"), tag.split(".")[0], str(wd), *args], logs, tag, a.timeout)
        out = p.last_json()
        if p.rc != 0 or not out.get("ok"):
            raise StepFailed(f"ezkl {tag.split('.')[0]}: {out.get('error') or p.why()}")
        out["_wall_s"] = p.wall_s
        return out, p

    try:
        s, _ = step("settings", "--model", model, "--data", data, "--params", EZKL_PARAMS[sysname])
        res.k, res.compile_s = s["logrows"], s["elapsed_s"]
        res.extra.update({k: s.get(k) for k in ("input_scale", "param_scale", "num_rows", "calibrate_s")})
        srs = BENCH / "work" / "srs" / f"ezkl_kzg{res.k}.srs"
        if not srs.exists():
            srs.parent.mkdir(parents=True, exist_ok=True)
            step("srs", "--logrows", str(res.k), "--srs", str(srs))
        srs_a = ("--srs", str(srs))

        def once(tag):
            def f(i):
                out, p = step(f"{tag}.{i}", *srs_a)
                return out["elapsed_s"], p
            return f

        res.setup_s, sprocs = best_of(a.repeat, once("setup"))
        res.extra["setup_rss_mb"] = max(p.maxrss_kb for p in sprocs) / 1024
        res.pk_bytes = (wd / "pk.key").stat().st_size
        res.vk_bytes = (wd / "vk.key").stat().st_size
        w, _ = step("witness", "--data", data)
        res.extra["witness_s"] = w["elapsed_s"]
        res.max_abs_err = max_abs_err(w["outputs"], expected)
        res.prove_s, procs = best_of(a.repeat, once("prove"))
        res.prove_rss_mb = max(p.maxrss_kb for p in procs) / 1024
        res.proof_bytes = procs[-1].last_json()["proof_bytes"]
        res.verify_s, vprocs = best_of(a.repeat, once("verify"))
        res.verified = all(p.last_json().get("ok") for p in vprocs)
        if not a.evm:
            return res
        e, _ = step("evm", *srs_a)
        compiled = evm.compile_first_that_works(SOLC, wd / "Verifier.sol")
        onchain(res, compiled, (wd / "calldata.bin").read_bytes(), a.hardfork, logs)
    except (StepFailed, evm.EvmError, OSError, KeyError) as e:
        res.notes.append(f"EZKL {name}: {e}")
    finally:
        if not a.keep:
            (wd / "pk.key").unlink(missing_ok=True)
    return res


# ---------------------------------------------------------------------------------------------
# zkoracle


def find_bytecode(out_dir: Path) -> bytes | None:
    """Creation bytecode from a file written by `zkoracle verifier --compile`, whatever its exact layout."""

    def pick(obj) -> str | None:
        if isinstance(obj, str):
            return obj
        if isinstance(obj, dict):
            for key in ("bytecode", "creation", "creationBytecode", "object", "initcode", "deploy"):
                if key in obj:
                    found = pick(obj[key])
                    if found:
                        return found
        return None

    for f in sorted(out_dir.iterdir()):
        if f.suffix not in (".json", ".bin", ".hex"):
            continue
        text = f.read_text().strip()
        try:
            hexstr = pick(json.loads(text)) if f.suffix == ".json" else text
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if hexstr:
            try:
                return bytes.fromhex(hexstr.removeprefix("0x"))
            except ValueError:
                continue
    return None


def find_key(obj, names: tuple[str, ...]):
    """First value under any of `names`, searching nested dicts."""
    if isinstance(obj, dict):
        for n in names:
            if n in obj and isinstance(obj[n], (int, float)):
                return obj[n]
        for v in obj.values():
            found = find_key(v, names)
            if found is not None:
                return found
    return None


def floor_step(res: Result, step, circuit: Path, data: str, a) -> None:
    """`zkoracle floor --json`: the MSM/FFT floor of the model (a failure is a note, not fatal)."""
    try:
        fl = step("floor", str(circuit), "--data", data, "--json", "--repeat", str(a.floor_repeat)).last_json()
        if "floor_s" not in fl:
            raise StepFailed("zkoracle floor printed no JSON")
        res.extra["floor"] = fl
    except StepFailed as e:
        res.notes.append(str(e))


def warm_step(res: Result, step, circuit: Path, data: str, a) -> None:
    """`zkoracle prove --repeat N`: cold and warm (coset cache kept) prove times in one process, as the relayer
    proves; the process's peak RSS is the warm prover's (a failure is a note, not fatal)."""
    try:
        out = step("prove.warm", str(circuit), "--data", data, "-o", str(circuit / "warm-proof.json"),
                   "--repeat", str(a.warm_repeat))
        line = next((ln for ln in reversed(out.stdout.splitlines()) if ln.startswith("bench: ")), None)
        if line is None:
            raise StepFailed("zkoracle prove --repeat printed no `bench:` line")
        warm = {k: float(v) for k, v in (kv.split("=", 1) for kv in line.removeprefix("bench: ").split())}
        warm["rss_mb"] = out.maxrss_kb / 1024
        res.extra["warm"] = warm
    except (StepFailed, ValueError) as e:
        res.notes.append(f"warm prove: {e}")


def profile_step(res: Result, name: str, circuit: Path, data: str) -> None:
    """perf profile of one more prove: bench/profiles/<name>.svg and the category table."""
    ok, why = perf_profile.perf_ok()
    if not ok:
        res.notes.append(f"zkoracle {name}: no profile: {why}")
        return
    try:
        res.extra["profile"] = perf_profile.profile(
            ZKORACLE, circuit, Path(data), PROFILES / f"{name}.svg", BENCH / "work" / "profiles" / name
        )
    except (RuntimeError, OSError) as e:
        res.notes.append(f"zkoracle {name}: profile failed: {e}")


# zkoracle variants: extra `compile` flags of each.
ZKORACLE_FLAGS = {
    "zkoracle": [],
    "zkoracle-private": ["--params", "private"],
    "zkoracle-hashed": ["--params", "hashed"],
    "zkoracle-proving": ["--prefer", "proving"],
    "zkoracle-private-proving": ["--params", "private", "--prefer", "proving"],
}
SYSTEM_LABEL = {"zkoracle": "zkoracle", "zkoracle-proving": "zkoracle --prefer proving",
                "zkoracle-private": "zkoracle --params private", "zkoracle-hashed": "zkoracle --params hashed",
                "zkoracle-private-proving": "zkoracle --params private --prefer proving",
                "ezkl": "EZKL", "ezkl-hashed": "EZKL hashed", "ezkl-polycommit": "EZKL polycommit"}
SYSTEMS = list(SYSTEM_LABEL)


def bench_zkoracle(name: str, a, wd: Path, expected: list[float], sysname: str = "zkoracle") -> Result:
    """zkoracle's pipeline on one model, compiled with `sysname`'s flags (ZKORACLE_FLAGS); the floor is taken
    for every variant, the perf profile for the default one only."""
    flags = ZKORACLE_FLAGS[sysname]
    diagnostics = sysname == "zkoracle"
    res = Result()
    model, data = map(str, model_files(name))
    logs = wd / "logs"
    circuit = wd / "circuit"
    proof = wd / "proof.json"
    if not ZKORACLE.exists():
        res.notes.append(f"zkoracle {name}: {ZKORACLE} not built")
        return res

    def step(tag: str, *args: str) -> Proc:
        p = run_proc([str(ZKORACLE), tag.split(".")[0], *args], logs, tag, a.timeout)
        if p.rc != 0:
            raise StepFailed(f"zkoracle {tag.split('.')[0]}: {p.why()}")
        return p

    def timed(tag: str, *args: str):
        def f(i):
            p = step(f"{tag}.{i}", *args)
            return p.wall_s, p
        return f

    # Each stage is tried even if an earlier optional one failed; a missing prerequisite fails on its own.
    try:
        p = step("compile", model, "--data", data, "-o", str(circuit), *flags)
        res.compile_s = p.wall_s
        cj = json.loads((circuit / "circuit.json").read_text()) if (circuit / "circuit.json").exists() else {}
        res.k = find_key(cj, ("k", "logrows"))
        circuit_err = find_key(cj, ("max_abs_error", "max_abs_err", "error", "max_error"))
        if circuit_err is not None:
            res.extra["compile_max_abs_err"] = circuit_err
        res.setup_s, sprocs = best_of(a.repeat, timed("setup", str(circuit)))
        res.extra["setup_rss_mb"] = max(p.maxrss_kb for p in sprocs) / 1024
        for attr, fname in (("pk_bytes", "pk.bin"), ("vk_bytes", "vk.bin")):
            if (circuit / fname).exists():
                setattr(res, attr, (circuit / fname).stat().st_size)
        if a.floor_repeat > 0:
            floor_step(res, step, circuit, data, a)
        res.prove_s, procs = best_of(a.repeat, timed("prove", str(circuit), "--data", data, "-o", str(proof)))
        res.prove_rss_mb = max(p.maxrss_kb for p in procs) / 1024
        if a.warm_repeat > 0:
            warm_step(res, step, circuit, data, a)
        if a.profile and diagnostics:
            profile_step(res, name, circuit, data)
        pj = json.loads(proof.read_text())
        res.proof_bytes = len(bytes.fromhex(pj["proof"].removeprefix("0x")))
        if "outputs" in pj:
            res.max_abs_err = max_abs_err(pj["outputs"], expected)
        if res.max_abs_err is None:
            res.max_abs_err = circuit_err
        calldata = bytes.fromhex(pj["calldata"].removeprefix("0x")) if "calldata" in pj else None
        res.verify_s, _ = best_of(a.repeat, timed("verify", str(circuit), str(proof)))
        res.verified = True
    except (StepFailed, OSError, KeyError, ValueError) as e:
        res.notes.append(f"zkoracle {name}: {e}")
        return res
    if not a.evm:
        return res

    try:
        vdir = wd / "verifier"
        vdir.mkdir()
        sol = vdir / "Verifier.sol"
        step("verifier", str(circuit), "-o", str(sol), "--compile")
        creation = find_bytecode(vdir)
        if creation is not None:
            compiled = evm.Compiled("Verifier", creation, b"", "as written by `zkoracle verifier --compile`")
        else:
            compiled = evm.compile_first_that_works(SOLC, sol)
        if calldata is None:
            raise StepFailed("proof.json has no calldata")
        onchain(res, compiled, calldata, a.hardfork, logs)
    except (StepFailed, evm.EvmError, OSError, ValueError) as e:
        res.notes.append(f"zkoracle {name} (EVM): {e}")
    return res


# ---------------------------------------------------------------------------------------------
# Report


def fmt_s(v):
    return "n/a" if v is None else (f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}")


def fmt_bytes(v):
    if v is None:
        return "n/a"
    if v >= 1 << 20:
        return f"{v / (1 << 20):.1f} MiB"
    if v >= 1 << 10:
        return f"{v / (1 << 10):.1f} KiB"
    return f"{v} B"


def fmt_int(v, unit: str = ""):
    return "n/a" if v is None else f"{v:,}{unit}"


def fmt_err(v):
    return "n/a" if v is None else f"{v:.2e}"


def ratio_cell(z, e, limit, fmt="{:.3f}") -> tuple[str, bool | None]:
    if z is None or e is None or e == 0:
        return "n/a", None
    r = z / e
    ok = r <= limit
    return f"{fmt.format(r)} {'pass' if ok else 'FAIL'}", ok


def machine_info() -> str:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    mem_kb = next(
        (int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")), 0
    )
    return f"{cpu}, nproc {len(os.sched_getaffinity(0))}, {mem_kb / (1 << 20):.0f} GiB RAM"


def tool_version(cmd: list[str]) -> str:
    """The first x.y.z in the tool's --version output (the whole first line if there is none)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except OSError:
        return "n/a"
    if p.returncode != 0:
        return "n/a"
    m = re.search(r"\d+\.\d+\.\d+", p.stdout)
    return m.group(0) if m else (p.stdout.strip().splitlines() or ["?"])[0]


def render(results: dict, a, meta: dict) -> str:
    L = [
        "## Results (generated by `make bench`)",
        "",
        f"- date: {meta['date']}; machine: {meta['machine']}; load average at start: {meta['load']}",
        f"- versions: zkoracle {meta['zkoracle']}; ezkl {meta['ezkl']}; solc {meta['solc']}; anvil {meta['anvil']} "
        f"(hardfork {a.hardfork})",
        f"- setup/prove/verify: best of {a.repeat} runs, each step in its own process; peak RSS is the prove "
        "process's own (EZKL's includes the Python interpreter).",
        "",
        "| model | system | k | compile s | setup s | prove s | warm prove s | floor s | prove/floor | verify s | pk "
        "| vk | proof | prove peak RSS | warm peak RSS | verify gas | runtime code | calldata | max abs err |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, per in results.items():
        for sysname in ("zkoracle", "zkoracle-proving", "ezkl"):
            r = per.get(sysname)
            if r is None:
                continue
            rss = "n/a" if r.prove_rss_mb is None else f"{r.prove_rss_mb:.0f} MiB"
            code = fmt_int(r.runtime_bytes, " B")
            if r.runtime_bytes is not None and r.runtime_bytes > evm.EIP170_LIMIT:
                code += " (over EIP-170)"
            gas = fmt_int(r.verify_gas)
            if r.verify_gas is not None and r.verified_onchain is False:
                gas += " (returned false)"
            fl = r.extra.get("floor", {}).get("floor_s")
            over = f"{r.prove_s / fl:.2f}" if fl and r.prove_s is not None else "n/a"
            warm = r.extra.get("warm", {})
            warm_rss = f"{warm['rss_mb']:.0f} MiB" if "rss_mb" in warm else "n/a"
            L.append(
                f"| {name} | {SYSTEM_LABEL[sysname]} | {fmt_int(r.k)} | {fmt_s(r.compile_s)} "
                f"| {fmt_s(r.setup_s)} | {fmt_s(r.prove_s)} | {fmt_s(warm.get('warm_prove_s'))} | {fmt_s(fl)} "
                f"| {over} | {fmt_s(r.verify_s)} | {fmt_bytes(r.pk_bytes)} "
                f"| {fmt_bytes(r.vk_bytes)} | {fmt_int(r.proof_bytes, ' B')} | {rss} | {warm_rss} | {gas} | {code} "
                f"| {fmt_int(r.calldata_bytes, ' B')} | {fmt_err(r.max_abs_err)} |"
            )
    L += [
        "",
        f"Ratios zkoracle / EZKL against the targets: prove time <= {TARGETS['prove']}, pk size <= {TARGETS['pk']}, "
        f"verify gas <= {TARGETS['gas']}, max abs error no worse than EZKL's; warm prove (zkoracle's warm prover, "
        f"`prove --repeat`, against EZKL's prove) <= {TARGETS['warm']}, not part of \"all targets\".",
        "",
        "| model | prove time | pk size | verify gas | max abs error (zkoracle vs EZKL) | all targets | warm prove |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for (name, per), (sysname, suffix) in itertools.product(
            results.items(), (("zkoracle", ""), ("zkoracle-proving", " (--prefer proving)"))):
        z, e = per.get(sysname), per.get("ezkl")
        if z is None or e is None:
            continue
        name += suffix
        cells, oks = [], []
        for zv, ev, lim in ((z.prove_s, e.prove_s, TARGETS["prove"]), (z.pk_bytes, e.pk_bytes, TARGETS["pk"]),
                            (z.verify_gas, e.verify_gas, TARGETS["gas"])):
            c, ok = ratio_cell(zv, ev, lim)
            cells.append(c)
            oks.append(ok)
        if z.max_abs_err is None or e.max_abs_err is None:
            cells.append("n/a")
            oks.append(None)
        else:
            ok = z.max_abs_err <= e.max_abs_err
            cells.append(f"{z.max_abs_err:.2e} vs {e.max_abs_err:.2e} {'pass' if ok else 'FAIL'}")
            oks.append(ok)
        verdict = "FAIL" if False in oks else ("incomplete" if None in oks else "pass")
        warm_cell, _ = ratio_cell(z.extra.get("warm", {}).get("warm_prove_s"), e.prove_s, TARGETS["warm"])
        L.append(f"| {name} | " + " | ".join(cells) + f" | {verdict} | {warm_cell} |")
    notes = [n for per in results.values() for r in per.values() for n in r.notes]
    sol = sorted({f"{s}: {r.sol_settings}" for per in results.values() for s, r in per.items() if r.sol_settings})
    L += [
        "",
        "How it is measured: EZKL 23.0.5 through its Python API with public input and output, fixed params, "
        "`calibrate_settings(target=\"resources\")` and its local test SRS (`gen_srs`); its times are those of the "
        "EZKL call alone, without interpreter start-up, and its prove time excludes `gen_witness` "
        "(zkoracle's `prove` includes witness generation, so the prove ratio is conservative). zkoracle times "
        "are the wall time of each CLI process. pk/vk are the sizes of the files each system writes. Verify gas "
        "is the gasUsed of a real `verifyProof(bytes,uint256[])` transaction on anvil (21,000 base and calldata "
        "included). Max abs error: each system's output against the float output of `onnx.reference` "
        "(models/<name>.expected.json).",
    ]
    if sol:
        L += ["", "Verifier compilation: " + "; ".join(sol) + "."]
    L += render_private(results) + render_floor(results) + render_profiles(results)
    if notes:
        L += ["", "### Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(L) + "\n"


def private_compile_only(name: str, wd: Path) -> Result:
    """`compile --params hashed` alone: the circuit size hashing the weights would take."""
    res = Result()
    model, data = str(MODELS_DIR / f"{name}.onnx"), str(MODELS_DIR / f"{name}.input.json")
    p = run_proc([str(ZKORACLE), "compile", model, "--data", data, "-o", str(wd / "circuit"), "--params", "hashed"],
                 wd / "logs", "compile", 600)
    if p.rc != 0:
        res.notes.append(f"zkoracle --params hashed {name}: {p.why()}")
        return res
    cj = json.loads((wd / "circuit" / "circuit.json").read_text())
    res.k = cj["k"]
    res.compile_s = p.wall_s
    res.max_abs_err = cj["calibration"]["max_abs_error"]
    res.notes.append(
        f"zkoracle --params hashed {name}: compiled only (k = {cj['k']}, {cj['rows']:,} rows, mostly the "
        "Poseidon rows of its weights); not proved by the benchmark"
    )
    return res


def render_private(results: dict) -> list[str]:
    """Fixed vs hidden weights: zkoracle `--params private` (KZG-committed weight columns) and `hashed`
    (Poseidon), EZKL `hashed` and `polycommit`, with the targets of `--params private`."""
    variants = [("fixed", "zkoracle"), ("private", "zkoracle-private"),
                ("private --prefer proving", "zkoracle-private-proving"), ("hashed", "zkoracle-hashed"),
                ("EZKL fixed", "ezkl"), ("EZKL hashed", "ezkl-hashed"), ("EZKL polycommit", "ezkl-polycommit")]
    rows = [(n, per) for n, per in results.items() if "zkoracle" in per and "zkoracle-private" in per]
    if not rows:
        return []
    L = [
        "",
        "### Hidden weights: fixed vs private vs hashed",
        "",
        "zkoracle with the weights fixed into the verifying key (`--params fixed`), in weight columns under a salted "
        "KZG commitment blinded afresh in every proof (`--params private`, docs/HIDDEN_WEIGHTS.md: four instance "
        "words per weight column, a 128-byte knowledge proof) and hashed by Poseidon in the circuit "
        "(`--params hashed`, one instance); EZKL 23.0.5 with `param_visibility` fixed, hashed and polycommit "
        "(polycommit: EZKL's unblinded weight column, whose commitment EZKL leaves the user to compare); same model, "
        "input and harness.",
        "",
        "| model | params | k | setup s | prove s | pk | proof | verify gas | runtime code | max abs err |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, per in rows:
        for label, sysname in variants:
            r = per.get(sysname)
            if r is None:
                continue
            L.append(
                f"| {name} | {label} | {fmt_int(r.k)} | {fmt_s(r.setup_s)} | {fmt_s(r.prove_s)} "
                f"| {fmt_bytes(r.pk_bytes)} | {fmt_int(r.proof_bytes, ' B')} | {fmt_int(r.verify_gas)} "
                f"| {fmt_int(r.runtime_bytes, ' B')} | {fmt_err(r.max_abs_err)} |"
            )
    L += [
        "",
        "Targets of `--params private`: prove time <= 1.5x fixed, verify gas <= fixed + 60,000, pk <= 0.1x EZKL's "
        "(hashed and polycommit, where EZKL ran).",
        "",
        "| model | prove private / fixed | verify gas private - fixed | pk private / EZKL hashed | pk private / EZKL polycommit |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, per in rows:
        f = per["zkoracle"]
        for label, sysname in (("", "zkoracle-private"), (" (--prefer proving)", "zkoracle-private-proving")):
            p = per.get(sysname)
            if p is None:
                continue
            prove = ratio_cell(p.prove_s, f.prove_s, 1.5, "{:.2f}")[0] if p.prove_s and f.prove_s else "n/a"
            if p.verify_gas is not None and f.verify_gas is not None:
                d = p.verify_gas - f.verify_gas
                gas = f"{d:+,} {'pass' if d <= 60_000 else 'FAIL'}"
            else:
                gas = "n/a"
            pks = []
            for e in ("ezkl-hashed", "ezkl-polycommit"):
                er = per.get(e)
                ok = er and er.pk_bytes and p.pk_bytes
                pks.append(ratio_cell(p.pk_bytes, er.pk_bytes, 0.1)[0] if ok else "n/a")
            L.append(f"| {name}{label} | {prove} | {gas} | {pks[0]} | {pks[1]} |")
    return L


def render_floor(results: dict) -> list[str]:
    """The floor table: what one zkoracle proof commits to and transforms, and how long that takes alone."""
    rows = [(n, sysname, per[sysname]) for n, per in results.items() for sysname in ZKORACLE_FLAGS
            if "floor" in per.get(sysname, Result()).extra]
    if not rows:
        return []
    L = [
        "",
        "### The floor: halo2-axiom's MSMs and FFTs for zkoracle's committed columns",
        "",
        "`zkoracle floor <dir> --data <input>` (prover/src/floor.rs) counts, from the keyed constraint system, the "
        "size-2^k MSMs (advice columns; per lookup the permuted input, permuted table and grand product; "
        "ceil(equality columns / (degree - 2)) permutation products; the random and `degree - 1` quotient pieces "
        "of the vanishing argument; SHPLONK's two) and FFTs (inverse FFTs of advice, instance, lookup and "
        "permutation polynomials; coset FFTs of every fixed, advice, instance, sigma, permutation and lookup "
        "polynomial on each of the 2^(extended k - k) parts of the extended domain; one extended inverse FFT) "
        "that halo2-axiom 0.5.3 performs for one proof, and times that many real `commit_lagrange`/`commit` "
        "(its `best_multiexp` on the SRS bases) and `EvaluationDomain` transforms here, best of "
        f"{rows[0][2].extra['floor'].get('repeats', '?')}. Advice and lookup MSMs run on the witness of the "
        "benchmark input (an MSM's cost depends on its scalars), the other MSMs on random full-width scalars. "
        "prove/floor is the prove time above divided by the floor: how much the prover spends beyond "
        "the MSMs and FFTs its columns require. \"witness MSM s\" is the part of the MSM time spent on the witness "
        "columns, and in parentheses the same MSMs as zkoracle's prover commits them (prover/src/signed_msm.rs): "
        "small signed values (a negative one is stored as p - |x|, a full-width scalar) by a signed bucket method "
        "over their magnitudes' bits only, the few full-width values by halo2's MSM: \"signed floor s\" is the "
        "floor with those commitments, the least MSM and FFT time zkoracle's own prover needs, and prove/signed "
        "its prove time over it.",
        "",
        "| model | system | k | extended k | degree | advice / fixed / equality columns | lookups | perm. products "
        "| MSMs | FFTs (size 2^k) | MSM s | witness MSM s (signed) | FFT s | floor s | signed floor s "
        "| prove s | prove/floor | prove/signed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, sysname, r in rows:
        f = r.extra["floor"]
        c, sec = f["counts"], f.get("seconds", {})
        over = f"{r.prove_s / f['floor_s']:.2f}" if r.prove_s and f["floor_s"] else "n/a"
        signed = None
        if sec.get("msm_witness") is not None and sec.get("msm_witness_signed") is not None and f["floor_s"]:
            signed = f["floor_s"] - sec["msm_witness"] + sec["msm_witness_signed"]
        over_signed = f"{r.prove_s / signed:.2f}" if r.prove_s and signed else "n/a"
        L.append(
            f"| {name} | {SYSTEM_LABEL.get(sysname, sysname)} | {c['k']} | {c['extended_k']} | {c['degree']} "
            f"| {c['advice_columns']} / {c['fixed_columns']} / {c['equality_columns']} | {c['lookups']} "
            f"| {c['permutation_products']} "
            f"| {c['msm_lagrange'] + c['msm_monomial']} | {c['ifft'] + c['coset_fft']} + {c['extended_ifft']} "
            f"of 2^{c['extended_k']} | {fmt_s(f['msm_s'])} | {fmt_s(sec.get('msm_witness'))} "
            f"({fmt_s(sec.get('msm_witness_signed'))}) | {fmt_s(f['fft_s'])} | {fmt_s(f['floor_s'])} "
            f"| {fmt_s(signed)} | {fmt_s(r.prove_s)} | {over} | {over_signed} |"
        )
    return L


def render_profiles(results: dict) -> list[str]:
    """Where zkoracle's prove time goes, from one perf-profiled prove per model."""
    profs = [(n, per["zkoracle"].extra["profile"]) for n, per in results.items()
             if "profile" in per.get("zkoracle", Result()).extra]
    if not profs:
        return []
    cats = []
    for _, p in profs:
        for c in p["categories"]:
            if c["category"] not in cats:
                cats.append(c["category"])
    L = [
        "",
        "### Where zkoracle's prove time goes (perf)",
        "",
        f"One more `zkoracle prove` per model under `perf record -F {profs[0][1]['hz']} --call-graph dwarf` "
        "(bench/perf_profile.py). Each sample is put in the category of its innermost frame that names a "
        "prover step; a cell is the category's share of all samples (all threads) and, in parentheses, that "
        "share of the profiled prove's wall time in seconds. Flamegraphs: "
        + ", ".join(f"[{n}]({p['svg']})" for n, p in profs) + ".",
        "",
        "| category | " + " | ".join(n for n, _ in profs) + " |",
        "|---|" + "---:|" * len(profs),
    ]
    for cat in cats:
        cells = []
        for _, p in profs:
            c = next((x for x in p["categories"] if x["category"] == cat), None)
            wall = p.get("prove_s") or p.get("wall_s") or 0
            cells.append("-" if c is None else f"{100 * c['share']:.1f}% ({c['share'] * wall:.3f})")
        L.append(f"| {cat} | " + " | ".join(cells) + " |")
    L.append("| samples / profiled prove s | " + " | ".join(
        f"{p['samples']} / {fmt_s(p.get('prove_s'))}" for _, p in profs) + " |")
    L += ["", "Hottest leaf functions (share of samples): " + "; ".join(
        f"{n}: " + ", ".join(f"`{f['function']}` {100 * f['share']:.0f}%" for f in p["top_functions"][:3])
        for n, p in profs) + "."]
    return L


def write_report(path: Path, body: str, begin: str = BEGIN, end: str = END) -> None:
    block = f"{begin}\n{body}{end}"
    if path.exists():
        text = path.read_text()
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + block + rest.split(end, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    else:
        text = (
            "# Benchmarks: zkoracle vs EZKL\n\n"
            "Regenerate with `make bench` (see bench/run.sh). Everything between the bench markers is generated.\n\n"
            + block + "\n"
        )
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Non-linear accuracy (issue #16): zkoracle vs EZKL on models whose outputs pass through non-linear functions

NL_BEGIN, NL_END = "<!-- bench:nonlinear:begin -->", "<!-- bench:nonlinear:end -->"
# EZKL's own examples the issue measured (read from --ezkl-models: EZKL's files are not committed here).
NONLINEAR_EZKL = ["1l_sigmoid", "1l_tanh", "1l_softmax", "layernorm", "exp", "2l_relu_sigmoid_small", "clip",
                  "1l_leakyrelu"]
# ONNX ops that make a corpus model "non-linear" for this table (ReLU/max/pool are exact in both systems).
NONLINEAR_OPS = {
    "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Exp", "Log", "Erf", "Gelu", "Softplus", "Softsign", "Mish",
    "Elu", "Celu", "Selu", "HardSigmoid", "HardSwish", "LeakyRelu", "PRelu", "Clip", "Sqrt", "Reciprocal",
    "Pow", "Div", "LayerNormalization", "InstanceNormalization", "LSTM", "GRU", "RNN", "ReduceL2",
    "ReduceLogSumExp", "Sin", "Cos", "Atan",
}


def nonlinear_corpus() -> list[str]:
    """Corpus models (PyTorch exports: EZKL runs no ai.onnx.ml op) with a non-linear op."""
    manifest = json.loads((ROOT / "corpus" / "MANIFEST.json").read_text())
    return [m["name"] for m in manifest["models"]
            if m["exporter"].startswith("torch") and NONLINEAR_OPS & set(m["ops"]) and not m["name"].startswith("int_")]


def run_nonlinear(a, meta: dict) -> int:
    """Both systems on every non-linear model: k, max abs error against onnxruntime, prove time (no EVM step,
    no floor/profile); the table goes between the non-linear markers of the report."""
    a.evm, a.profile, a.warm_repeat, a.floor_repeat = False, False, 0, 0
    names = a.models or ([n for n in NONLINEAR_EZKL if EZKL_MODEL_DIRS] + nonlinear_corpus())
    work = BENCH / "work" / "nonlinear"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Result]] = {}
    for name in names:
        try:
            expected = expected_outputs(name)
        except FileNotFoundError:
            print(f"[bench] {name}: not found (EZKL examples need --ezkl-models)", flush=True)
            continue
        results[name] = {}
        for sysname, run in (("zkoracle", bench_zkoracle), ("ezkl", bench_ezkl)):
            wd = work / name / sysname
            if wd.exists():
                shutil.rmtree(wd)
            wd.mkdir(parents=True)
            r = run(name, a, wd, expected, sysname)
            results[name][sysname] = r
            print(f"[bench] {name:24s} {sysname:8s} k={r.k} prove={fmt_s(r.prove_s)} err={fmt_err(r.max_abs_err)}"
                  + (f"  [{r.notes[0]}]" if r.notes else ""), flush=True)
        # After every model, so an interrupted run still leaves what it measured.
        raw = {"meta": meta, "results": {n: {s: r.__dict__ for s, r in per.items()} for n, per in results.items()}}
        (work / "results.json").write_text(json.dumps(raw, indent=1) + "\n")
        write_report(a.out, render_nonlinear(results, a, meta), NL_BEGIN, NL_END)
    print(f"[bench] wrote {a.out} (non-linear section) and {work / 'results.json'}")
    return 0


def render_nonlinear(results: dict, a, meta: dict) -> str:
    lines = [
        "### Non-linear accuracy: zkoracle vs EZKL (issue #16)",
        "",
        f"Generated by `make bench-nonlinear` ({meta['date']}; {meta['machine']}; load {meta['load']}; EZKL "
        f"{meta['ezkl']}, `calibrate_settings(target=\"resources\")`; zkoracle `compile`'s default selection; "
        f"best of {a.repeat} proofs; no EVM step). Max abs error of the proved outputs against onnxruntime on the "
        "model's own input. Targets: error <= EZKL's at a k no larger than EZKL's, prove <= 0.2x EZKL's.",
        "",
        "| model | zkoracle k | zkoracle max abs err | zkoracle prove s | EZKL k | EZKL max abs err | EZKL prove s "
        "| err <= EZKL | k <= EZKL | prove / EZKL |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    met = {"err": 0, "k": 0, "prove": 0}
    rows = compared = 0
    for name, per in results.items():
        z, e = per.get("zkoracle", Result()), per.get("ezkl", Result())
        err_ok = None if z.max_abs_err is None or e.max_abs_err is None else z.max_abs_err <= e.max_abs_err
        k_ok = None if z.k is None or e.k is None else z.k <= e.k
        ratio, prove_ok = ratio_cell(z.prove_s, e.prove_s, 0.2)
        cell = lambda ok: "n/a" if ok is None else ("pass" if ok else "FAIL")  # noqa: E731
        lines.append(f"| `{name}` | {z.k if z.k is not None else 'n/a'} | {fmt_err(z.max_abs_err)} | {fmt_s(z.prove_s)} "
                     f"| {e.k if e.k is not None else 'n/a'} | {fmt_err(e.max_abs_err)} | {fmt_s(e.prove_s)} "
                     f"| {cell(err_ok)} | {cell(k_ok)} | {ratio} |")
        rows += 1
        compared += err_ok is not None
        met["err"] += bool(err_ok)
        met["k"] += bool(k_ok)
        met["prove"] += bool(prove_ok)
    lines += ["", f"{rows} models, {compared} with an EZKL result; met: error {met['err']}, k {met['k']}, "
              f"prove time {met['prove']}.", ""]
    notes = [n for per in results.values() for r in per.values() for n in r.notes]
    if notes:
        lines += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=None, help=f"default: {' '.join(DEFAULT_MODELS)}; with "
                    "--suite nonlinear, EZKL's non-linear examples (with --ezkl-models) and every non-linear corpus "
                    "export")
    ap.add_argument("--suite", choices=["main", "nonlinear"], default="main",
                    help="main: the table of models/ (BENCHMARKS.md's bench section); nonlinear: issue #16's "
                    "accuracy comparison (its own section)")
    ap.add_argument("--ezkl-models", type=Path, nargs="*", default=[],
                    help="directories of EZKL-layout models (`<dir>/<name>/network.onnx`, e.g. a checkout's "
                    "examples/onnx): model names are looked up there after models/ and corpus/")
    ap.add_argument("--evm", action=argparse.BooleanOptionalAction, default=True,
                    help="deploy each verifier on anvil and measure verify gas (default: on)")
    ap.add_argument("--systems", nargs="+",
                    default=["zkoracle", "zkoracle-proving", "zkoracle-private", "zkoracle-hashed", "ezkl",
                             "ezkl-hashed", "ezkl-polycommit"],
                    choices=SYSTEMS,
                    help="zkoracle: `compile`'s default selection (--prefer gas); zkoracle-proving: `--prefer "
                    "proving`; zkoracle-private / -hashed: `--params private` / `hashed`; ezkl-hashed / "
                    "-polycommit: EZKL's param_visibility (the hidden-weights table)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per timed step; the best is reported (this shared 2-core VM varies run to run)")
    ap.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    ap.add_argument("--hardfork", default="osaka", help="anvil hardfork for the gas measurement")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per step")
    ap.add_argument("--keep", action="store_true", help="keep EZKL's pk.key files (hundreds of MB)")
    ap.add_argument("--profile", action=argparse.BooleanOptionalAction, default=True,
                    help="perf-profile one zkoracle prove per model into bench/profiles/ (default: on)")
    ap.add_argument("--private-models", nargs="*", default=["spread_mlp", "risk_mlp"],
                    help="models proved with --params hashed and EZKL hashed/polycommit (others: hashed is only "
                    "compiled, its k reported; EZKL's are skipped). --params private proves every model")
    ap.add_argument("--floor-repeat", type=int, default=3, help="timed repetitions of `zkoracle floor`")
    ap.add_argument("--warm-repeat", type=int, default=3,
                    help="warm proofs of `zkoracle prove --repeat` (the relayer's warm prover; 0: skip)")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite the report from bench/work/results.json (profiles re-categorized), running nothing")
    a = ap.parse_args()
    if a.render_only and a.suite == "nonlinear":
        raw = json.loads((BENCH / "work" / "nonlinear" / "results.json").read_text())
        results = {n: {s: Result(**f) for s, f in per.items()} for n, per in raw["results"].items()}
        write_report(a.out, render_nonlinear(results, a, raw["meta"]), NL_BEGIN, NL_END)
        return 0
    if a.render_only:
        return render_only(a)
    EZKL_MODEL_DIRS.extend(a.ezkl_models)
    if a.suite == "main":
        a.models = a.models or DEFAULT_MODELS
        unknown = [m for m in a.models if not (MODELS_DIR / f"{m}.onnx").exists()]
        if unknown:
            ap.error(f"no such model in models/: {', '.join(unknown)}")

    work = BENCH / "work"
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "ezkl": importlib.metadata.version("ezkl") if any(s.startswith("ezkl") for s in a.systems) else "not run",
        "zkoracle": tool_version([str(ZKORACLE), "--version"]) if ZKORACLE.exists() else "not built",
        "solc": tool_version([str(SOLC), "--version"]),
        "anvil": tool_version([str(ANVIL), "--version"]),
    }
    if a.suite == "nonlinear":
        return run_nonlinear(a, meta)
    results: dict[str, dict[str, Result]] = {}
    for name in a.models:
        expected = expected_outputs(name)
        results[name] = {}
        for sysname in a.systems:
            wd = work / name / sysname
            if wd.exists():
                shutil.rmtree(wd)
            wd.mkdir(parents=True)
            t0 = time.time()
            hidden_ezkl = sysname in ("ezkl-hashed", "ezkl-polycommit")
            if hidden_ezkl and name not in a.private_models:
                continue
            if sysname == "zkoracle-hashed" and name not in a.private_models:
                r = private_compile_only(name, wd)
            elif sysname.startswith("ezkl"):
                r = bench_ezkl(name, a, wd, expected, sysname)
            else:
                r = bench_zkoracle(name, a, wd, expected, sysname)
            results[name][sysname] = r
            print(
                f"[bench] {name:11s} {sysname:8s} k={r.k} setup={fmt_s(r.setup_s)} prove={fmt_s(r.prove_s)} "
                f"verify={fmt_s(r.verify_s)} pk={fmt_bytes(r.pk_bytes)} gas={fmt_int(r.verify_gas)} "
                f"err={fmt_err(r.max_abs_err)} ({time.time() - t0:.0f} s)" + (f"  [{r.notes[0]}]" if r.notes else ""),
                flush=True,
            )
    raw = {"meta": meta, "results": {n: {s: r.__dict__ for s, r in per.items()} for n, per in results.items()}}
    (work / "results.json").write_text(json.dumps(raw, indent=1) + "\n")
    write_report(a.out, render(results, a, meta))
    print(f"[bench] wrote {a.out} and {work / 'results.json'}")
    return 0


def render_only(a) -> int:
    """The report from the last run's raw figures, with the profile categories recomputed from the folded stacks."""
    raw = json.loads((BENCH / "work" / "results.json").read_text())
    results: dict[str, dict[str, Result]] = {}
    for name, per in raw["results"].items():
        results[name] = {}
        for sysname, fields in per.items():
            r = Result(**fields)
            folded = BENCH / "work" / "profiles" / f"{name}.folded"
            if "profile" in r.extra and folded.exists():
                r.extra["profile"] = perf_profile.resummarize(folded, r.extra["profile"])
            results[name][sysname] = r
    write_report(a.out, render(results, a, raw["meta"]))
    print(f"[bench] rewrote {a.out} from {BENCH / 'work' / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
