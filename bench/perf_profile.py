#!/usr/bin/env python3
"""Where `zkoracle prove` spends its time: `perf record` of one prove, folded stacks, a flamegraph and a table.

`perf record -F <hz> --call-graph dwarf` samples the prove process (all its threads); `perf script` stacks are
folded (root first, `;`-separated, as inferno/FlameGraph read them) into <raw>.folded, drawn as a
self-contained SVG flamegraph (hover a frame for its name and share), and each sample is put in
one category by the innermost frame that names a known prover step (MSM, FFT, quotient evaluation, lookup or
permutation argument, SHPLONK, witness synthesis, key loading). The table gives each category's share of the
samples and the matching part of the profiled run's wall time.

Usage: perf_profile.py <model dir> --data <input.json> --svg bench/profiles/<model>.svg [--raw PREFIX]
                       [--zkoracle BIN] [--hz N]
       perf_profile.py --check        (exit 0 when perf can record here)
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Categories, most specific first: a sample goes to the first category whose pattern matches its innermost
# (leaf-most) matching frame. Rayon jobs lose their caller, so patterns name the halo2 functions themselves.
CATEGORIES: list[tuple[str, re.Pattern]] = [
    ("MSM (commitments)", re.compile(
        r"msm_serial|msm_best|multiexp|commit_lagrange|ParamsKZG.*::commit\b|\bmsm::|signed_msm|get_booth_index"
        # Curve-point arithmetic only happens in MSMs in the prover (bucket jobs lose their caller frames).
        r"|G1 as .*Add|G1::(add|double|mul_by_3b)|G1Affine as .*Add")),
    ("FFT (iFFT, coset FFT)", re.compile(
        r"halo2_axiom::fft::|best_fft|butterfly|lagrange_to_coeff|coeff_to_extended|extended_to_coeff"
        r"|distribute_powers|EvaluationDomain.*::ifft")),
    ("lookup argument (compress, sort, grand product)", re.compile(
        r"lookup::prover|permute_expression_pair|commit_permuted|commit_product")),
    ("permutation argument (grand product)", re.compile(r"permutation::prover|permutation::keygen")),
    ("quotient h(X): gates/lookups/permutation on the extended domain", re.compile(
        r"evaluate_h|GraphEvaluator|plonk::evaluation|divide_by_vanishing|extended_from_lagrange_vec")),
    ("vanishing argument (random poly, h pieces)", re.compile(r"vanishing::prover")),
    ("SHPLONK multiopen and evaluations", re.compile(
        r"multiopen|shplonk|kate_division|eval_polynomial|lagrange_interpolate")),
    ("witness synthesis (layout, assignment, graph evaluation)", re.compile(
        r"synthesize|WitnessCollection|assign_advice|assign_region|floor_planner|SimpleFloorPlanner"
        r"|InferenceChip|zkoracle_prover::ir::|Graph.*evaluate|run_phase1|build_instance")),
    ("key/SRS/settings loading", re.compile(
        r"read_pk|ProvingKey.*read|read_srs|check_points|load_settings|CircuitSettings.*read|ParamsKZG.*read"
        r"|SerdeCurveAffine|serde_json|read_custom|unframe|Keccak")),
    ("transcript (Keccak, hashing)", re.compile(r"transcript|keccak|sha3")),
    ("allocation, memcpy, page faults", re.compile(
        r"^(__memmove|__memcpy|__memset|memcpy|memmove|malloc|free|_int_malloc|_int_free|cfree|realloc"
        r"|__libc_|asm_exc_page_fault|exc_page_fault|clear_page)")),
    ("thread pool (rayon) wait and scheduling", re.compile(r"rayon_core::|crossbeam|futex|sched_yield")),
]
OTHER = "other (start-up, kernel, unattributed)"


def perf_ok() -> tuple[bool, str]:
    """Whether `perf record` works here, and why not."""
    perf = shutil.which("perf")
    if perf is None:
        return False, "perf is not installed"
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([perf, "record", "-q", "-o", f"{d}/t.data", "--", "true"], capture_output=True, text=True)
        if p.returncode != 0:
            paranoid = Path("/proc/sys/kernel/perf_event_paranoid")
            level = paranoid.read_text().strip() if paranoid.exists() else "?"
            return False, f"perf record failed (perf_event_paranoid={level}): {p.stderr.strip()[:200]}"
    return True, "ok"


def parse_script(text: str) -> Counter:
    """`perf script -F comm,tid,period,ip,sym` output → Counter of root-first frame tuples (weighted by 1)."""
    stacks: Counter = Counter()
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        if not lines:
            continue
        frames = []
        for ln in lines[1:]:
            parts = ln.strip().split(None, 1)
            sym = parts[1] if len(parts) > 1 else "[unknown]"
            sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
            sym = re.sub(r" \(.*\)$", "", sym) if sym.endswith(")") and " (" in sym else sym
            frames.append(sym)
        if not frames:
            frames = ["[no stack]"]
        stacks[tuple(reversed(frames))] += 1
    return stacks


def categorize(stack: tuple[str, ...]) -> str:
    for frame in reversed(stack):  # leaf first
        for name, pat in CATEGORIES:
            if pat.search(frame):
                return name
    return OTHER


def short(sym: str) -> str:
    """Drop hash suffixes and generic arguments, and shorten paths inside `<X as Y>`, so frames stay readable."""
    sym = re.sub(r"::h[0-9a-f]{16}$", "", sym)
    prev = None
    while prev != sym:
        prev = sym
        sym = re.sub(r"(?<=[\w\]])<[^<>]*>", "", sym)
    sym = re.sub(r"<([^<>]*)>", lambda m: "<" + re.sub(r"(?:\w+::)+(\w+)", r"\1", m.group(1)) + ">", sym)
    return sym if len(sym) < 160 else sym[:157] + "..."


def write_folded(stacks: Counter, path: Path) -> None:
    with open(path, "w") as f:
        for st, n in sorted(stacks.items()):
            f.write(";".join(short(s).replace(";", ":") for s in st) + f" {n}\n")


def flamegraph_svg(stacks: Counter, title: str, path: Path, width: int = 1200) -> None:
    """A static flamegraph (root at the bottom), one <rect> per frame wide enough to see, with tooltips."""
    tree: dict = {"n": 0, "c": {}}
    for st, n in stacks.items():
        node = tree
        node["n"] += n
        for fr in st:
            node = node["c"].setdefault(short(fr), {"n": 0, "c": {}})
            node["n"] += n
    total = tree["n"] or 1
    depth_max = [0]
    rects: list[tuple[float, int, float, str, int]] = []

    def walk(node, x: float, depth: int):
        for name, child in sorted(node["c"].items()):
            w = child["n"] / total * (width - 20)
            if w >= 0.3:
                rects.append((x, depth, w, name, child["n"]))
                depth_max[0] = max(depth_max[0], depth)
                walk(child, x, depth + 1)
            x += w

    walk(tree, 10.0, 0)
    fh = 16
    height = (depth_max[0] + 1) * fh + 60
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" '
        f'font-size="11">',
        f'<rect width="100%" height="100%" fill="#f8f8f0"/>',
        f'<text x="10" y="20" font-size="14">{html.escape(title)}</text>',
        f'<text x="10" y="36" fill="#555">{total} samples; width = share of samples; hover a frame for its '
        "name</text>",
    ]
    for x, d, w, name, n in rects:
        y = height - (d + 1) * fh - 4
        cat = categorize((name,))
        hue = int(hashlib.md5(cat.encode()).hexdigest()[:2], 16) % 60 if cat != OTHER else 45
        shade = int(hashlib.md5(name.encode()).hexdigest()[:2], 16) % 10
        color = f"hsl({hue},{70 if cat != OTHER else 15}%,{62 + shade}%)"
        label = html.escape(name)
        out.append(
            f'<g><title>{label} ({n} samples, {100 * n / total:.2f}%)</title>'
            f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{fh - 1}" fill="{color}" rx="2"/>'
        )
        chars = int(w / 6.6)
        if chars >= 3:
            text = name if len(name) <= chars else name[: chars - 1] + "…"
            out.append(f'<text x="{x + 2:.1f}" y="{y + 11}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n")


def summarize(stacks: Counter) -> list[tuple[str, int, float]]:
    """(category, samples, share) sorted by samples."""
    by = Counter()
    for st, n in stacks.items():
        by[categorize(st)] += n
    total = sum(by.values()) or 1
    return [(c, n, n / total) for c, n in by.most_common()]


def top_functions(stacks: Counter, n: int = 8) -> list[tuple[str, float]]:
    """Leaf functions by self share."""
    selfc = Counter()
    for st, c in stacks.items():
        selfc[short(st[-1])] += c
    total = sum(selfc.values()) or 1
    return [(f, c / total) for f, c in selfc.most_common(n)]


def profile(zkoracle: Path, model_dir: Path, data: Path, svg: Path, raw: Path | None = None, hz: int = 999) -> dict:
    """Record one prove; write the flamegraph to `svg` and the folded stacks and summary to `raw`.folded/.json
    (default: beside the SVG); returns the summary."""
    raw = raw or svg.with_suffix("")
    for d in (svg.parent, raw.parent):
        d.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        pdata, proof = Path(d) / "perf.data", Path(d) / "proof.json"
        cmd = ["perf", "record", "-q", "-F", str(hz), "--call-graph", "dwarf,16384", "-o", str(pdata), "--",
               str(zkoracle), "prove", str(model_dir), "--data", str(data), "-o", str(proof)]
        t0 = time.perf_counter()
        rec = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        if rec.returncode != 0:
            raise RuntimeError(f"perf record: exit {rec.returncode}: {rec.stderr.strip()[-300:]}")
        m = re.search(r"proved in ([0-9.]+)s \(key load ([0-9.]+)s\)", rec.stdout)
        scr = subprocess.run(["perf", "script", "-i", str(pdata), "--no-inline", "-F", "comm,tid,period,ip,sym"],
                             capture_output=True, text=True)
        if scr.returncode != 0:
            raise RuntimeError(f"perf script: exit {scr.returncode}: {scr.stderr.strip()[-300:]}")
    stacks = parse_script(scr.stdout)
    write_folded(stacks, raw.with_suffix(".folded"))
    name = svg.stem
    flamegraph_svg(stacks, f"zkoracle prove {name}: perf record -F {hz} --call-graph dwarf", svg)
    threads = len({ln.split()[1] for ln in scr.stdout.split("\n") if ln and not ln[0].isspace() and len(ln.split()) > 1})
    summary = {
        "model": name,
        "samples": sum(stacks.values()),
        "hz": hz,
        "threads": threads,
        "wall_s": wall,
        "prove_s": float(m.group(1)) if m else None,
        "key_load_s": float(m.group(2)) if m else None,
        "categories": [{"category": c, "samples": n, "share": s} for c, n, s in summarize(stacks)],
        "top_functions": [{"function": f, "share": s} for f, s in top_functions(stacks)],
        "svg": str(svg.relative_to(ROOT)) if svg.is_relative_to(ROOT) else str(svg),
    }
    raw.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def resummarize(folded: Path, summary: dict) -> dict:
    """`summary` with its categories and top functions recomputed from the folded stacks (after a change to
    CATEGORIES, without profiling again)."""
    stacks: Counter = Counter()
    for line in folded.read_text().splitlines():
        frames, _, n = line.rpartition(" ")
        if frames:
            stacks[tuple(frames.split(";"))] += int(n)
    out = dict(summary)
    out["categories"] = [{"category": c, "samples": n, "share": s} for c, n, s in summarize(stacks)]
    out["top_functions"] = [{"function": f, "share": s} for f, s in top_functions(stacks)]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", nargs="?", type=Path)
    ap.add_argument("--data", type=Path)
    ap.add_argument("--svg", type=Path, help="flamegraph to write, e.g. bench/profiles/mlp_784.svg")
    ap.add_argument("--raw", type=Path, help="prefix of the .folded/.json files (default: beside the SVG)")
    ap.add_argument("--zkoracle", type=Path,
                    default=Path(os.environ.get("ZKORACLE_BIN", ROOT / "target" / "release" / "zkoracle")))
    ap.add_argument("--hz", type=int, default=999)
    ap.add_argument("--check", action="store_true", help="only check that perf can record here")
    a = ap.parse_args()
    ok, why = perf_ok()
    if a.check:
        print(why)
        return 0 if ok else 1
    if not ok:
        print(f"profile: {why}", file=sys.stderr)
        return 1
    if not (a.model_dir and a.data and a.svg):
        ap.error("model_dir, --data and --svg are required")
    raw = a.raw.resolve() if a.raw else None
    s = profile(a.zkoracle.resolve(), a.model_dir, a.data, a.svg.resolve(), raw, a.hz)
    print(f"{s['samples']} samples over {s['threads']} threads, prove {s['prove_s']} s -> {s['svg']}")
    for c in s["categories"]:
        print(f"  {100 * c['share']:5.1f}%  {c['category']}")
    print("top leaf functions:")
    for f in s["top_functions"]:
        print(f"  {100 * f['share']:5.1f}%  {f['function']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
