"""EVM helpers for the benchmark: compile with the pinned solc, run anvil, measure verification gas.

Everything goes through the repository's pinned toolchain (`tools/solc`, `node_modules/.bin/anvil`) and plain
JSON-RPC over urllib: no web3 library, no private keys (anvil's dev accounts are unlocked).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

EIP170_LIMIT = 24_576
VERIFY_PROOF_SELECTOR = "1e8e1e13"  # keccak256("verifyProof(bytes,uint256[])")[:4]


class EvmError(RuntimeError):
    """A compile, deploy or call step failed."""


@dataclass
class Compiled:
    """A compiled contract."""

    name: str
    creation: bytes
    runtime: bytes
    settings: str


def compile_solidity(solc: Path, source: Path, optimizer: dict, evm_version: str = "cancun") -> Compiled:
    """Compile `source` with `solc --standard-json`; return the contract exposing verifyProof (largest one)."""
    inp = {
        "language": "Solidity",
        "sources": {source.name: {"content": source.read_text()}},
        "settings": {
            "optimizer": optimizer,
            "evmVersion": evm_version,
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    proc = subprocess.run(
        [str(solc), "--standard-json"], input=json.dumps(inp), capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0 and not proc.stdout:
        raise EvmError(f"solc failed: {proc.stderr.strip()[:500]}")
    out = json.loads(proc.stdout)
    errors = [e.get("formattedMessage", e.get("message", "")) for e in out.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise EvmError("solc: " + errors[0].strip().splitlines()[0])
    best = None
    for name, c in out.get("contracts", {}).get(source.name, {}).items():
        fns = {f.get("name") for f in c.get("abi", []) if f.get("type") == "function"}
        runtime = bytes.fromhex(c["evm"]["deployedBytecode"]["object"])
        if runtime and (best is None or ("verifyProof" in fns, len(runtime)) > best[0]):
            best = (("verifyProof" in fns, len(runtime)), name, c, runtime)
    if best is None:
        raise EvmError(f"no deployable contract in {source}")
    _, name, c, runtime = best
    opt = f"optimizer runs={optimizer['runs']}" if optimizer.get("enabled") else "optimizer off"
    return Compiled(name, bytes.fromhex(c["evm"]["bytecode"]["object"]), runtime, f"solc {opt}, evm {evm_version}")


def compile_first_that_works(solc: Path, source: Path, evm_version: str = "cancun") -> Compiled:
    """Try the optimizer settings verifiers usually need, in order; return the first that compiles."""
    errors = []
    for opt in ({"enabled": True, "runs": 1}, {"enabled": True, "runs": 200}, {"enabled": False}):
        try:
            return compile_solidity(solc, source, opt, evm_version)
        except EvmError as e:
            errors.append(f"{opt}: {e}")
    raise EvmError("; ".join(errors))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Anvil:
    """A fresh anvil on 127.0.0.1 (no code-size limit, so oversize contracts can still be measured)."""

    def __init__(self, anvil: Path, hardfork: str, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [
                str(anvil),
                "--host", "127.0.0.1",
                "--port", str(self.port),
                "--hardfork", hardfork,
                "--disable-code-size-limit",
                "--gas-limit", "1000000000",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._id = 0
        deadline = time.time() + 30
        while True:
            try:
                self.accounts = self.rpc("eth_accounts", [])
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.close()
                    raise EvmError(f"anvil did not start (see {log})")
                time.sleep(0.2)
        self.sender = self.accounts[0]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self) -> "Anvil":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def rpc(self, method: str, params: list):
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params}).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as r:
            resp = json.loads(r.read())
        if "error" in resp:
            raise EvmError(f"{method}: {resp['error'].get('message', resp['error'])}")
        return resp["result"]

    def _send(self, tx: dict) -> dict:
        tx_hash = self.rpc("eth_sendTransaction", [tx])
        for _ in range(100):
            receipt = self.rpc("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                return receipt
            time.sleep(0.05)
        raise EvmError(f"no receipt for {tx_hash}")

    def deploy(self, creation: bytes) -> str:
        receipt = self._send({"from": self.sender, "data": "0x" + creation.hex(), "gas": hex(900_000_000)})
        if int(receipt["status"], 16) != 1 or not receipt.get("contractAddress"):
            raise EvmError("deployment reverted")
        return receipt["contractAddress"]

    def code_size(self, addr: str) -> int:
        return (len(self.rpc("eth_getCode", [addr, "latest"])) - 2) // 2

    def verify_gas(self, addr: str, calldata: bytes) -> tuple[int, bool]:
        """(gasUsed of a real transaction, whether eth_call returned true). Raises if the call reverts."""
        tx = {"from": self.sender, "to": addr, "data": "0x" + calldata.hex(), "gas": hex(100_000_000)}
        ret = self.rpc("eth_call", [tx, "latest"])
        returned_true = len(ret) >= 66 and int(ret[2:66], 16) == 1
        receipt = self._send(tx)
        if int(receipt["status"], 16) != 1:
            raise EvmError("verifyProof transaction reverted")
        return int(receipt["gasUsed"], 16), returned_true
