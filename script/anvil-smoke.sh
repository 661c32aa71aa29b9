#!/usr/bin/env bash
# Checks the deployment scripts against a real, throw-away anvil chain and measures transaction gas.
#
#   script/anvil-smoke.sh            (from the repository root, after `forge build`)
#
# 1. starts anvil on a free 127.0.0.1 port (stopped by PID on exit) and uses its first dev key;
# 2. runs script/01..04 with --broadcast, writing deployments/31337.json (removed on exit unless KEEP_DEPLOYMENTS=1);
#    the spread and risk models are registered against the HashCheckVerifier test verifier
#    (contracts/test/helpers), which accepts exactly proof = abi.encode(instances);
# 3. sends requests and fulfilments (direct, through the AMM, through the risk gate) and prints gasUsed; each
#    proof is made for the sending account (the last public instance), and the same fulfilment copied by
#    anvil's second account must revert;
# 4. for each model with golden files ($GOLDEN_DIR/<model>/verifier.bytecode + proof.json, default tests/golden),
#    deploys the real verifier, registers the model (spread_mlp_private with its golden weights commitment, passed
#    to script/03 as WEIGHTS_COMMITMENT), requests the golden input and fulfils it with the golden proof from the
#    address it was made for (GOLDEN_FULFILLER, impersonated), printing the real verification gas.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=node_modules/.bin
GOLDEN_DIR=${GOLDEN_DIR:-tests/golden}
BOOK=deployments/31337.json
SMOKE_VERIFIER=deployments/.smoke-verifier.bytecode
FEE=10000000000000000
# the fulfiller the golden proofs are made for (their last public instance)
GOLDEN_FULFILLER=0x0000000000000000000000000000000000f11F11

if [[ -e $BOOK ]]; then
  echo "refusing to overwrite an existing $BOOK" >&2
  exit 1
fi

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp)
$BIN/anvil --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
ANVIL_PID=$!
cleanup() {
  kill "$ANVIL_PID" 2>/dev/null || true
  rm -f "$LOG" "$SMOKE_VERIFIER"
  if [[ ${KEEP_DEPLOYMENTS:-0} != 1 ]]; then rm -f "$BOOK"; fi
}
trap cleanup EXIT
RPC=http://127.0.0.1:$PORT
for _ in $(seq 50); do $BIN/cast chain-id --rpc-url "$RPC" >/dev/null 2>&1 && break; sleep 0.2; done

# anvil's first development key (public, for local chains only); the second one plays the copying bot
PRIVATE_KEY=$(grep -A3 'Private Keys' "$LOG" | sed -n 4p | awk '{print $2}')
COPIER_KEY=$(grep -A4 'Private Keys' "$LOG" | sed -n 5p | awk '{print $2}')
export PRIVATE_KEY
FULFILLER=$($BIN/cast wallet address --private-key "$PRIVATE_KEY")

script() {
  local out
  if ! out=$($BIN/forge script "$@" --rpc-url "$RPC" --broadcast 2>&1); then
    echo "$out" >&2
    echo "FAIL: forge script $1" >&2
    exit 1
  fi
  grep -E '^  [A-Za-z0-9_]+: |wrote' <<<"$out" || true
}
send_gas() { $BIN/cast send --rpc-url "$RPC" --private-key "$PRIVATE_KEY" --json "$@" | jq -r .gasUsed | xargs printf '%d'; }
call() { $BIN/cast call --rpc-url "$RPC" "$@" | sed -E 's/ \[[^]]*\]//g'; }
# the HashCheck proof of request $1 with output $2 for the fulfiller $3 (default: the sending account)
hashcheck_proof() {
  $BIN/cast abi-encode 'f(uint256[])' \
    "$(call "$ORACLE" 'buildInstances(uint256,int256[],address)(uint256[])' "$1" "$2" "${3:-$FULFILLER}")"
}
inputs() { python3 -c "print('[' + ','.join(str((i * 37) % 200 - 100) for i in range($1)) + ']')"; }
digest() { printf '0x%064x' "$1"; }

python3 -c "import json; print(json.load(open('out/HashCheckVerifier.sol/HashCheckVerifier.json'))['bytecode']['object'])" >"$SMOKE_VERIFIER"
script script/01_DeployOracle.s.sol
VERIFIER_BYTECODE=$SMOKE_VERIFIER script script/02_DeployVerifier.s.sol
MODEL_NAME=spread_mlp INPUT_LEN=8 OUTPUT_LEN=1 MAX_ABS_INPUT=1000 FEE=$FEE VK_DIGEST=$(digest 1) \
  script script/03_RegisterModel.s.sol
MODEL_NAME=risk_mlp INPUT_LEN=16 OUTPUT_LEN=4 MAX_ABS_INPUT=1000 FEE=$FEE VK_DIGEST=$(digest 2) \
  script script/03_RegisterModel.s.sol
script script/04_DeployConsumers.s.sol
ORACLE=$(jq -r .InferenceOracle "$BOOK")
AMM=$(jq -r .SpreadGatedAMM "$BOOK")
GATE=$(jq -r .RiskParameterGate "$BOOK")

echo "== gasUsed (HashCheckVerifier) =="
for spec in "1 8 [-3]" "2 16 [91,99,-5,7]"; do
  read -r model n out <<<"$spec"
  g1=$(send_gas "$ORACLE" 'requestInference(uint256,int256[],uint32)' "$model" "$(inputs "$n")" 0 --value $FEE)
  id=$(call "$ORACLE" 'requestCount()(uint256)')
  proof=$(hashcheck_proof "$id" "$out")
  if $BIN/cast send --rpc-url "$RPC" --private-key "$COPIER_KEY" "$ORACLE" 'fulfill(uint256,int256[],bytes)' \
    "$id" "$out" "$proof" >/dev/null 2>&1; then
    echo "FAIL: a fulfilment copied by another account was accepted" >&2
    exit 1
  fi
  g2=$(send_gas "$ORACLE" 'fulfill(uint256,int256[],bytes)' "$id" "$out" "$proof")
  echo "EOA, $n inputs: requestInference $g1, fulfill $g2 (no callback; the same fulfilment from another account rejected)"
done
# The pool's minimum feature window (10 min in script/04) must pass before its first request; requests through
# the consumers pay the model fee plus their callback gas (estimateFee with the consumer's callbackGasLimit).
$BIN/cast rpc --rpc-url "$RPC" evm_increaseTime 600 >/dev/null
$BIN/cast rpc --rpc-url "$RPC" evm_mine >/dev/null
consumer_fee() { call "$ORACLE" 'estimateFee(uint256,uint32)(uint256)' "$1" "$(call "$2" 'callbackGasLimit()(uint32)')"; }
g1=$(send_gas "$AMM" 'requestSpreadUpdate()' --value "$(consumer_fee 1 "$AMM")")
id=$(call "$AMM" 'pendingRequestId()(uint256)')
g2=$(send_gas "$ORACLE" 'fulfill(uint256,int256[],bytes)' "$id" '[256]' "$(hashcheck_proof "$id" '[256]')")
echo "SpreadGatedAMM: requestSpreadUpdate $g1, fulfill with callback $g2, fee now $(call "$AMM" 'currentFeeBps()(uint16)') bps"
g1=$(send_gas "$GATE" 'requestUpdate(int256[])' "$(inputs 16)" --value "$(consumer_fee 2 "$GATE")")
id=$(call "$GATE" 'pendingRequestId()(uint256)')
g2=$(send_gas "$ORACLE" 'fulfill(uint256,int256[],bytes)' "$id" '[91,99,-5,7]' "$(hashcheck_proof "$id" '[91,99,-5,7]')")
echo "RiskParameterGate: requestUpdate $g1, fulfill with callback $g2," \
  "ltv $(call "$GATE" 'ltvBps()(uint16)') lt $(call "$GATE" 'liquidationThresholdBps()(uint16)')"
if $BIN/cast send --rpc-url "$RPC" --private-key "$PRIVATE_KEY" "$ORACLE" 'fulfill(uint256,int256[],bytes)' \
  "$id" '[91,99,-5,7]' "$(hashcheck_proof "$id" '[91,99,-5,7]')" >/dev/null 2>&1; then
  echo "FAIL: a replayed fulfilment was accepted" >&2
  exit 1
fi
echo "replayed fulfilment rejected"

for spec in "spread_mlp 8 1" "risk_mlp 16 4" "spread_mlp_private 8 1"; do
  read -r name n_in n_out <<<"$spec"
  dir=$GOLDEN_DIR/$name
  [[ -f $dir/verifier.bytecode && -f $dir/proof.json ]] || { echo "no golden files for $name: skipped"; continue; }
  VERIFIER_BYTECODE=$dir/verifier.bytecode VERIFIER_NAME=${name}Verifier script script/02_DeployVerifier.s.sol
  # golden input, output, the tightest valid input range (max |input|, at least 1) and the weights commitment's
  # words, comma-separated ("-" for none: `read` cannot return an empty middle field)
  read -r golden_in golden_out max_abs words < <(python3 - "$dir/proof.json" "$n_in" "$n_out" "$GOLDEN_FULFILLER" <<'EOF'
import json, sys
p = 21888242871839275222246405745257275088548364400416034343698204186575808495617
proof = json.load(open(sys.argv[1]))
inst = [int(x, 0) if isinstance(x, str) else int(x) for x in proof["instances"]]
signed = [x if x <= (p - 1) // 2 else x - p for x in inst]
n, n_out = int(sys.argv[2]), int(sys.argv[3])
# [inputs..., outputs..., weightsCommitment..., fulfiller]; the golden files' commitment is at most one word, the
# Poseidon hash of hashed weights (`weights_commitment`)
words = [int(proof["weights_commitment"], 0)] if proof.get("weights_commitment") else []
if len(inst) != n + n_out + len(words) + 1 or inst[n + n_out:-1] != words or inst[-1] != int(sys.argv[4], 16):
    sys.exit(f"{sys.argv[1]}: instances are not [inputs..., outputs..., weights_commitment?, GOLDEN_FULFILLER]")
print("[" + ",".join(map(str, signed[:n])) + "]", "[" + ",".join(map(str, signed[n:n + n_out])) + "]",
      max([1] + [abs(x) for x in signed[:n]]), ",".join(map(str, words)) or "-")
EOF
  )
  [[ $words == - ]] && words=
  VERIFIER=$(jq -r ".${name}Verifier" "$BOOK") MODEL_NAME=golden_$name INPUT_LEN=$n_in OUTPUT_LEN=$n_out \
    MAX_ABS_INPUT=$max_abs FEE=$FEE VERIFIER_GAS_LIMIT=5000000 VK_DIGEST=$(digest 3) WEIGHTS_COMMITMENT=$words \
    script script/03_RegisterModel.s.sol
  model=$(jq -r ".golden_${name}ModelId" "$BOOK")
  registered=$($BIN/cast call --rpc-url "$RPC" --json "$ORACLE" \
    'getModel(uint256)(((address,bytes32,uint256[],uint32,uint32,uint8,uint8,int256,uint256,uint32),address,bool,bytes32))' \
    "$model" | jq -r '.[0][0][2] | join(",")')
  if [[ $registered != "$words" ]]; then
    echo "FAIL: golden $name registered with weights commitment [$registered], not [$words]" >&2
    exit 1
  fi
  proof=$(jq -r .proof "$dir/proof.json")
  g1=$(send_gas "$ORACLE" 'requestInference(uint256,int256[],uint32)' "$model" "$golden_in" 0 --value $FEE)
  id=$(call "$ORACLE" 'requestCount()(uint256)')
  if $BIN/cast send --rpc-url "$RPC" --private-key "$PRIVATE_KEY" "$ORACLE" 'fulfill(uint256,int256[],bytes)' \
    "$id" "$golden_out" "$proof" >/dev/null 2>&1; then
    echo "FAIL: the golden proof was accepted from $FULFILLER, not the address it was made for" >&2
    exit 1
  fi
  $BIN/cast rpc --rpc-url "$RPC" anvil_impersonateAccount "$GOLDEN_FULFILLER" >/dev/null
  $BIN/cast rpc --rpc-url "$RPC" anvil_setBalance "$GOLDEN_FULFILLER" 0x8ac7230489e80000 >/dev/null # 10 ether
  g2=$($BIN/cast send --rpc-url "$RPC" --unlocked --from "$GOLDEN_FULFILLER" --json "$ORACLE" \
    'fulfill(uint256,int256[],bytes)' "$id" "$golden_out" "$proof" | jq -r .gasUsed | xargs printf '%d')
  echo "golden $name (real verifier, $(( (${#proof} - 2) / 2 ))-byte proof): requestInference $g1, fulfill $g2"
done
