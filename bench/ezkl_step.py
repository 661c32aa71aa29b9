#!/usr/bin/env python3
"""Run one EZKL step in its own process, so that `bench.py` can measure its peak RSS alone.

Usage: ezkl_step.py STEP WORKDIR [options]

Steps (files live in WORKDIR: settings.json, model.compiled, pk.key, vk.key, witness.json, proof.json,
Verifier.sol, calldata.bin):
  settings  --model M --data D [--params fixed|hashed|polycommit]
                                  gen_settings (public input/output, params as given: fixed by default),
                                  calibrate_settings (target "resources"), compile_circuit
  srs       --logrows K --srs P   gen_srs (EZKL's local, insecure test SRS; `get_srs` needs the network)
  setup     --srs P               setup (keygen: pk.key, vk.key)
  witness   --data D              gen_witness
  prove     --srs P               prove
  verify    --srs P               verify
  evm       --srs P               create_evm_verifier (writes Verifier.sol; its solc download fails offline,
                                  which is expected) and encode_evm_calldata

The last line printed on stdout is a JSON object: {"ok": bool, "elapsed_s": seconds spent inside the EZKL
call(s) of the step, ...step-specific fields}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import ezkl


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    res = fn(*args, **kwargs)
    return res, time.perf_counter() - t0


def step_settings(wd: Path, a) -> dict:
    run_args = ezkl.PyRunArgs()
    run_args.input_visibility = "public"
    run_args.output_visibility = "public"
    run_args.param_visibility = a.params
    settings = str(wd / "settings.json")
    ok1, t1 = _timed(ezkl.gen_settings, a.model, settings, py_run_args=run_args)
    ok2, t2 = _timed(ezkl.calibrate_settings, a.data, a.model, settings, "resources")
    ok3, t3 = _timed(ezkl.compile_circuit, a.model, str(wd / "model.compiled"), settings)
    s = json.loads((wd / "settings.json").read_text())
    ra = s["run_args"]
    return {
        "ok": bool(ok1 and ok2 and ok3),
        "elapsed_s": t1 + t2 + t3,
        "calibrate_s": t2,
        "logrows": ra["logrows"],
        "input_scale": ra.get("input_scale"),
        "param_scale": ra.get("param_scale"),
        "num_rows": s.get("num_rows"),
        "num_inner_cols": ra.get("num_inner_cols"),
    }


def step_srs(wd: Path, a) -> dict:
    _, t = _timed(ezkl.gen_srs, a.srs, a.logrows)
    return {"ok": Path(a.srs).exists(), "elapsed_s": t}


def step_setup(wd: Path, a) -> dict:
    ok, t = _timed(
        ezkl.setup, str(wd / "model.compiled"), str(wd / "vk.key"), str(wd / "pk.key"), srs_path=a.srs
    )
    return {"ok": bool(ok), "elapsed_s": t}


def step_witness(wd: Path, a) -> dict:
    _, t = _timed(ezkl.gen_witness, a.data, str(wd / "model.compiled"), str(wd / "witness.json"))
    w = json.loads((wd / "witness.json").read_text())
    outs = w["pretty_elements"]["rescaled_outputs"]
    return {"ok": True, "elapsed_s": t, "outputs": [[float(v) for v in o] for o in outs]}


def step_prove(wd: Path, a) -> dict:
    ok, t = _timed(
        ezkl.prove,
        str(wd / "witness.json"),
        str(wd / "model.compiled"),
        str(wd / "pk.key"),
        str(wd / "proof.json"),
        srs_path=a.srs,
    )
    p = json.loads((wd / "proof.json").read_text())
    proof_bytes = bytes.fromhex(p["hex_proof"].removeprefix("0x"))
    n_inst = sum(len(i) for i in p["instances"])
    return {"ok": bool(ok), "elapsed_s": t, "proof_bytes": len(proof_bytes), "num_instances": n_inst}


def step_verify(wd: Path, a) -> dict:
    ok, t = _timed(
        ezkl.verify, str(wd / "proof.json"), str(wd / "settings.json"), str(wd / "vk.key"), srs_path=a.srs
    )
    return {"ok": bool(ok), "elapsed_s": t}


def step_evm(wd: Path, a) -> dict:
    sol = wd / "Verifier.sol"
    sol.unlink(missing_ok=True)
    err = None

    async def make() -> None:
        await ezkl.create_evm_verifier(
            str(wd / "vk.key"), str(wd / "settings.json"), str(sol), str(wd / "Verifier.abi"), srs_path=a.srs
        )

    t0 = time.perf_counter()
    try:
        asyncio.run(make())
    except Exception as e:  # its solc download (svm) fails offline after Verifier.sol is written
        err = str(e)
    t = time.perf_counter() - t0
    calldata = ezkl.encode_evm_calldata(str(wd / "proof.json"), str(wd / "calldata.bin"))
    return {
        "ok": sol.exists() and sol.stat().st_size > 0,
        "elapsed_s": t,
        "create_evm_verifier_error": err,
        "calldata_bytes": len(bytes(calldata)),
    }


STEPS = {
    "settings": step_settings,
    "srs": step_srs,
    "setup": step_setup,
    "witness": step_witness,
    "prove": step_prove,
    "verify": step_verify,
    "evm": step_evm,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=sorted(STEPS))
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--model")
    ap.add_argument("--data")
    ap.add_argument("--srs")
    ap.add_argument("--logrows", type=int)
    ap.add_argument("--params", default="fixed", choices=["fixed", "hashed", "polycommit"])
    a = ap.parse_args()
    a.workdir.mkdir(parents=True, exist_ok=True)
    try:
        res = STEPS[a.step](a.workdir, a)
    except Exception as e:
        res = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    print(json.dumps(res), flush=True)
    return 0 if res.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
