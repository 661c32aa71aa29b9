// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {InferenceOracle} from "../InferenceOracle.sol";
import {RiskParameterGate} from "../RiskParameterGate.sol";
import {SpreadGatedAMM} from "../SpreadGatedAMM.sol";
import {DemoToken} from "../demo/DemoToken.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {IRiskParameterGate} from "../interfaces/IRiskParameterGate.sol";
import {ISpreadGatedAMM} from "../interfaces/ISpreadGatedAMM.sol";
import {ModelPin} from "../libraries/ModelPin.sol";
import {TestBase} from "./Vm.sol";
import {HashCheckVerifier} from "./helpers/HashCheckVerifier.sol";

/// @notice Drives the oracle and both consumers through every path a caller has — valid proofs, forged and
///         mismatched proofs, direct callbacks, cancellations, swaps, time — and keeps ghost accounting of what
///         a verified result may do. Parameters may only change inside `fulfillValid`.
contract Handler is TestBase {
    uint256 internal constant P =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    int256 internal constant HALF_P =
        10944121435919637611123202872628637544274182200208017171849102093287904247808;

    InferenceOracle public immutable oracle;
    SpreadGatedAMM public immutable amm;
    RiskParameterGate public immutable gate;
    uint256 public immutable plainModel;

    /// @dev Every request made: id and the kind of requester (0 pool, 1 gate, 2 this handler, no callback).
    uint256[] public requestIds;
    mapping(uint256 requestId => uint8 kind) public kindOf;

    // ghost state
    uint256 public unverifiedChanges;
    uint256 public referenceMismatches;
    uint256 public verifiedDeliveries;
    uint256 public forgedAttempts;
    uint256 public forgedAccepted;
    uint16 public expectedFee;
    uint16 public expectedLtv;
    uint16 public expectedLt;

    constructor(InferenceOracle oracle_, SpreadGatedAMM amm_, RiskParameterGate gate_, uint256 plainModel_) {
        oracle = oracle_;
        amm = amm_;
        gate = gate_;
        plainModel = plainModel_;
        expectedFee = amm_.feeBps();
        expectedLtv = gate_.ltvBps();
        expectedLt = gate_.liquidationThresholdBps();
        amm_.token0().approve(address(amm_), type(uint256).max);
        amm_.token1().approve(address(amm_), type(uint256).max);
    }

    receive() external payable {}

    function requestCount() external view returns (uint256) {
        return requestIds.length;
    }

    // ------------------------------------------------------------------------------------------------------------
    // actions that deliver no verified result: parameters must not move
    // ------------------------------------------------------------------------------------------------------------

    function swap(uint256 amount, bool zeroForOne) external {
        bytes32 before = _snapshot();
        amount = boundU(amount, 1e15, 50_000e18);
        try amm.swap(amount, zeroForOne, 0, address(this)) {} catch {}
        _checkUnchanged(before);
    }

    function requestSpread() external {
        bytes32 before = _snapshot();
        uint256 fee = oracle.estimateFee(amm.modelId(), amm.callbackGasLimit());
        try amm.requestSpreadUpdate{value: fee}() returns (uint256 id) {
            _track(id, 0);
        } catch {}
        _checkUnchanged(before);
    }

    function requestRisk(int256 seed) external {
        bytes32 before = _snapshot();
        uint256 fee = oracle.estimateFee(gate.modelId(), gate.callbackGasLimit());
        try gate.requestUpdate{value: fee}(_features(16, seed)) returns (uint256 id) {
            _track(id, 1);
        } catch {}
        _checkUnchanged(before);
    }

    function requestPlain(int256 seed) external {
        bytes32 before = _snapshot();
        uint256 fee = oracle.estimateFee(plainModel, 0);
        try oracle.requestInference{value: fee}(plainModel, _features(8, seed), 0) returns (uint256 id) {
            _track(id, 2);
        } catch {}
        _checkUnchanged(before);
    }

    /// @dev A proof for a different output than the one posted.
    function fulfillMismatched(uint256 index, int256 proven, int256 posted) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[index % requestIds.length];
        int256[] memory output = _output(id, posted);
        int256[] memory provenOutput = _output(id, proven);
        // the same output would make this a valid proof, not a forged one
        if (keccak256(abi.encode(output)) == keccak256(abi.encode(provenOutput))) return;
        bytes memory proof = _proofFor(id, provenOutput);
        _attemptForged(id, output, proof);
    }

    /// @dev Arbitrary proof bytes.
    function fulfillGarbage(uint256 index, int256 y, bytes calldata proof) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[index % requestIds.length];
        _attemptForged(id, _output(id, y), proof);
    }

    /// @dev A proof that would be valid for another request's input.
    function fulfillWithOtherRequestsProof(uint256 a, uint256 b, int256 y) external {
        if (requestIds.length < 2) return;
        uint256 id = requestIds[a % requestIds.length];
        uint256 other = requestIds[b % requestIds.length];
        if (
            keccak256(abi.encode(oracle.getRequest(id).input))
                == keccak256(abi.encode(oracle.getRequest(other).input))
        ) {
            return;
        }
        int256[] memory output = _output(id, y);
        if (output.length != oracle.getModel(oracle.getRequest(other).modelId).params.outputLen) return;
        _attemptForged(id, output, _proofFor(other, output));
    }

    /// @dev A valid proof of the output, made for another fulfiller (copied from its pending transaction).
    function fulfillCopiedProof(uint256 index, int256 y, address prover) external {
        if (requestIds.length == 0 || prover == address(this)) return;
        uint256 id = requestIds[index % requestIds.length];
        int256[] memory output = _output(id, y);
        _attemptForged(id, output, _proofFor(id, output, prover));
    }

    /// @dev Callbacks sent by anyone but the oracle.
    function directCallback(uint256 index, int256 y, bool toGate) external {
        bytes32 before = _snapshot();
        uint256 id = requestIds.length == 0 ? 1 : requestIds[index % requestIds.length];
        int256[] memory output = new int256[](4);
        output[0] = y;
        output[1] = y;
        if (toGate) {
            try gate.onInferenceResult(id, output) {
                ++forgedAccepted;
            } catch {}
        } else {
            try amm.onInferenceResult(id, output) {
                ++forgedAccepted;
            } catch {}
        }
        _checkUnchanged(before);
    }

    function cancel(uint256 index) external {
        if (requestIds.length == 0) return;
        bytes32 before = _snapshot();
        try oracle.cancel(requestIds[index % requestIds.length]) {} catch {}
        _checkUnchanged(before);
    }

    function warp(uint256 seconds_) external {
        bytes32 before = _snapshot();
        vm.warp(block.timestamp + boundU(seconds_, 1, 2 days));
        _checkUnchanged(before);
    }

    function withdraw() external {
        bytes32 before = _snapshot();
        try oracle.withdraw(payable(address(this))) {} catch {}
        _checkUnchanged(before);
    }

    // ------------------------------------------------------------------------------------------------------------
    // the only action allowed to move parameters: a valid proof through the oracle
    // ------------------------------------------------------------------------------------------------------------

    function fulfillValid(uint256 index, int256 y0, int256 y1) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[index % requestIds.length];
        uint8 kind = kindOf[id];
        int256[] memory output = _output(id, y0);
        if (output.length > 1) output[1] = y1 % (HALF_P + 1);

        // reference outcome, computed before delivery from the consumer's state and the rails
        (uint16 refFee, bool feeApplies) = _referenceFee(output[0]);
        (uint16 refLtv, uint16 refLt, bool applies) = _referenceRisk(output);
        bool gateWaiting = gate.pendingRequestId() == id;
        bool ammWaiting = amm.pendingRequestId() == id;

        bytes memory proof = _proofFor(id, output);
        try oracle.fulfill(id, output, proof) {
            ++verifiedDeliveries;
            if (kind == 0 && ammWaiting && feeApplies) {
                expectedFee = refFee;
            } else if (kind == 1 && gateWaiting && applies) {
                expectedLtv = refLtv;
                expectedLt = refLt;
            }
        } catch {}
        if (amm.feeBps() != expectedFee) ++referenceMismatches;
        if (gate.ltvBps() != expectedLtv || gate.liquidationThresholdBps() != expectedLt) {
            ++referenceMismatches;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // internals
    // ------------------------------------------------------------------------------------------------------------

    function _attemptForged(uint256 id, int256[] memory output, bytes memory proof) internal {
        bytes32 before = _snapshot();
        IInferenceOracle.RequestStatus statusBefore = oracle.getRequest(id).status;
        ++forgedAttempts;
        try oracle.fulfill(id, output, proof) {
            ++forgedAccepted;
        } catch {}
        if (oracle.getRequest(id).status != statusBefore) ++forgedAccepted;
        _checkUnchanged(before);
    }

    function _snapshot() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                amm.feeBps(),
                amm.lastFeeUpdate(),
                gate.ltvBps(),
                gate.liquidationThresholdBps(),
                gate.lastUpdate()
            )
        );
    }

    function _checkUnchanged(bytes32 before) internal {
        if (_snapshot() != before) ++unverifiedChanges;
    }

    function _track(uint256 id, uint8 kind) internal {
        requestIds.push(id);
        kindOf[id] = kind;
    }

    function _output(uint256 id, int256 y) internal view returns (int256[] memory output) {
        uint256 len = oracle.getModel(oracle.getRequest(id).modelId).params.outputLen;
        output = new int256[](len);
        // keep outputs in the field range, biased toward the interesting small values half of the time
        y = y % (HALF_P + 1);
        output[0] = y % 2 == 0 ? y % 512 : y;
    }

    function _features(uint256 len, int256 seed) internal pure returns (int256[] memory f) {
        f = new int256[](len);
        for (uint256 i; i < len; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            f[i] = (seed % 1000 + int256(i)) % 1000;
        }
    }

    /// @dev `abi.encode(instances)`, the HashCheckVerifier's proof, with the spec's encoding, for a fulfilment
    ///      sent by this handler.
    function _proofFor(uint256 id, int256[] memory output) internal view returns (bytes memory) {
        return _proofFor(id, output, address(this));
    }

    /// @dev The proof of `output` on request `id` made for the fulfiller `who`:
    ///      `[input..., output..., uint256(uint160(who))]` (the suite's models have no weights commitment).
    function _proofFor(uint256 id, int256[] memory output, address who) internal view returns (bytes memory) {
        int256[] memory input = oracle.getRequest(id).input;
        uint256[] memory inst = new uint256[](input.length + output.length + 1);
        for (uint256 i; i < input.length; ++i) {
            inst[i] = _field(input[i]);
        }
        for (uint256 j; j < output.length; ++j) {
            inst[input.length + j] = _field(output[j]);
        }
        inst[inst.length - 1] = uint256(uint160(who));
        return abi.encode(inst);
    }

    function _field(int256 x) internal pure returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return x >= 0 ? uint256(x) : P - uint256(-x);
    }

    // forge-lint: disable-start(block-timestamp)
    function _referenceFee(int256 y) internal view returns (uint16, bool) {
        if (block.timestamp > uint256(amm.pendingRequestedAt()) + amm.maxResultAge()) return (0, false);
        uint256 last = amm.lastFeeUpdate();
        uint256 inForce = (last == 0 || block.timestamp > last + amm.stalenessWindow())
            ? amm.defaultFeeBps()
            : amm.feeBps();
        uint256 target =
            y <= 0 ? 0 : (_abs(y) >= 2 ** 100 ? type(uint16).max : (_abs(y) * amm.bpsPerUnit()) >> 7);
        target = target < amm.minFeeBps()
            ? amm.minFeeBps()
            : (target > amm.maxFeeBps() ? amm.maxFeeBps() : target);
        return (uint16(_step(inForce, target, amm.maxStepBps())), true);
    }

    function _referenceRisk(int256[] memory output) internal view returns (uint16, uint16, bool) {
        if (output.length < 2) return (0, 0, false);
        if (block.timestamp > uint256(gate.pendingRequestedAt()) + gate.maxResultAge()) return (0, 0, false);
        uint256 last = gate.lastUpdate();
        if (last != 0 && block.timestamp < last + gate.minUpdateDelay()) return (0, 0, false);
        uint256 tLtv = _clampRisk(output[0], gate.minLtvBps(), gate.maxLtvBps());
        uint256 tLt =
            _clampRisk(output[1], gate.minLiquidationThresholdBps(), gate.maxLiquidationThresholdBps());
        if (tLtv >= tLt) return (0, 0, false);
        uint256 nLtv = _step(gate.ltvBps(), tLtv, gate.maxLtvChangeBps());
        uint256 nLt = _step(gate.liquidationThresholdBps(), tLt, gate.maxLiquidationThresholdChangeBps());
        // the pair stays ordered: a falling threshold waits above the LTV, a rising LTV below the threshold
        if (nLtv >= nLt && nLtv <= gate.ltvBps()) nLt = nLtv + 1;
        else if (nLtv >= nLt) nLtv = nLt - 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        return (uint16(nLtv), uint16(nLt), true);
    }
    // forge-lint: disable-end(block-timestamp)

    function _clampRisk(int256 y, uint256 lo, uint256 hi) internal pure returns (uint256) {
        uint256 bps = y <= 0 ? 0 : (_abs(y) >= 2 ** 100 ? type(uint256).max : (_abs(y) * 10_000) >> 7);
        return bps < lo ? lo : (bps > hi ? hi : bps);
    }

    function _step(uint256 cur, uint256 target, uint256 step) internal pure returns (uint256) {
        if (target > cur + step) return cur + step;
        if (target + step < cur) return cur - step;
        return target;
    }

    function _abs(int256 y) internal pure returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return y >= 0 ? uint256(y) : uint256(-y);
    }
}

contract InvariantsTest is TestBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    InferenceOracle internal oracle;
    SpreadGatedAMM internal amm;
    RiskParameterGate internal gate;
    Handler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        oracle = new InferenceOracle(address(this), 1 hours, 2_000_000);
        address verifier = address(new HashCheckVerifier());
        uint256 spreadModel = oracle.registerModel(_params(verifier, 8, 1));
        uint256 riskModel = oracle.registerModel(_params(verifier, 16, 4));
        uint256 plainModel = oracle.registerModel(_params(verifier, 8, 2));

        DemoToken t0 = new DemoToken("T0", "T0");
        DemoToken t1 = new DemoToken("T1", "T1");
        amm = new SpreadGatedAMM(
            oracle,
            spreadModel,
            _pinOf(oracle, spreadModel),
            t0,
            t1,
            ISpreadGatedAMM.SpreadConfig({
                minFeeBps: 5,
                maxFeeBps: 100,
                defaultFeeBps: 30,
                maxStepBps: 10,
                stalenessWindow: 1 hours,
                callbackGasLimit: 200_000,
                bpsPerUnit: 100,
                minUpdateInterval: 15 minutes,
                minFeatureWindow: 10 minutes,
                maxResultAge: 30 minutes
            }),
            address(this)
        );
        gate = new RiskParameterGate(
            oracle,
            riskModel,
            _pinOf(oracle, riskModel),
            IRiskParameterGate.RiskConfig({
                minLtvBps: 5000,
                maxLtvBps: 8000,
                minLiquidationThresholdBps: 6000,
                maxLiquidationThresholdBps: 9000,
                maxLtvChangeBps: 200,
                maxLiquidationThresholdChangeBps: 300,
                minUpdateDelay: 1 hours,
                maxResultAge: 30 minutes,
                callbackGasLimit: 150_000
            }),
            7000,
            7500,
            address(this),
            address(0)
        );
        handler = new Handler(oracle, amm, gate, plainModel);
        gate.setKeeper(address(handler));

        t0.mint(address(this), 1_000_000e18);
        t1.mint(address(this), 1_000_000e18);
        t0.approve(address(amm), type(uint256).max);
        t1.approve(address(amm), type(uint256).max);
        amm.addLiquidity(1_000_000e18, 1_000_000e18, 0);
        t0.mint(address(handler), 10_000_000e18);
        t1.mint(address(handler), 10_000_000e18);
        vm.deal(address(handler), 1_000_000 ether);
    }

    /// @dev The pin of a registered model, as its oracle reports it (the suite registers the models itself).
    function _pinOf(InferenceOracle o, uint256 modelId) internal view returns (ModelPin.Pin memory) {
        IInferenceOracle.Model memory m = o.getModel(modelId);
        return ModelPin.Pin({
            verifier: m.params.verifier,
            verifierCodehash: m.verifierCodehash,
            vkDigest: m.params.vkDigest,
            weightsCommitmentHash: ModelPin.commitmentHash(m.params.weightsCommitment)
        });
    }

    function _params(address verifier, uint32 inputLen, uint32 outputLen)
        internal
        pure
        returns (IInferenceOracle.ModelParams memory)
    {
        return IInferenceOracle.ModelParams({
            verifier: verifier,
            vkDigest: keccak256("vk"),
            weightsCommitment: new uint256[](0),
            inputLen: inputLen,
            outputLen: outputLen,
            inputScale: 7,
            outputScale: 7,
            maxAbsInput: 1000,
            fee: 0.01 ether,
            verifierGasLimit: 1_000_000
        });
    }

    /// @notice Forge's invariant runner reads the fuzzed contracts from this (forge-std's StdInvariant is absent).
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @notice Only the handler's actions are fuzzed (not its ghost getters).
    function targetSelectors() public view returns (FuzzSelector[] memory selectors) {
        bytes4[] memory s = new bytes4[](14);
        s[0] = Handler.swap.selector;
        s[1] = Handler.requestSpread.selector;
        s[2] = Handler.requestRisk.selector;
        s[3] = Handler.requestPlain.selector;
        s[4] = Handler.fulfillMismatched.selector;
        s[5] = Handler.fulfillGarbage.selector;
        s[6] = Handler.fulfillWithOtherRequestsProof.selector;
        s[7] = Handler.directCallback.selector;
        s[8] = Handler.cancel.selector;
        s[9] = Handler.warp.selector;
        s[10] = Handler.withdraw.selector;
        s[11] = Handler.fulfillValid.selector;
        s[12] = Handler.fulfillValid.selector; // weighted: valid deliveries are the interesting path
        s[13] = Handler.fulfillCopiedProof.selector;
        selectors = new FuzzSelector[](1);
        selectors[0] = FuzzSelector({addr: address(handler), selectors: s});
    }

    /// @notice The handler is not vacuous: its valid path moves parameters and its forged paths are refused.
    function test_handler_validPathMovesForgedPathsDoNot() public {
        handler.warp(10 minutes); // the pool's minimum feature window
        handler.requestSpread();
        handler.requestRisk(5);
        handler.requestPlain(1);
        handler.requestPlain(2);
        handler.fulfillMismatched(0, 256, 254);
        handler.fulfillGarbage(1, 120, hex"00");
        handler.fulfillWithOtherRequestsProof(2, 3, 256);
        handler.fulfillCopiedProof(0, 256, address(0xF00D));
        handler.directCallback(0, 256, false);
        handler.directCallback(1, 110, true);
        assertEq(handler.forgedAttempts(), 4, "forged attempts ran");
        assertEq(uint256(amm.feeBps()), 0, "no fee set yet");

        handler.fulfillValid(0, 256, 0); // 256 / 128 * 100 bps = 200 -> clamp 100 -> one step from 30
        handler.fulfillValid(1, 110, 120); // 8593 -> 8000 -> 7200; 9375 -> 9000 -> 7800
        assertEq(handler.verifiedDeliveries(), 2, "delivered");
        assertEq(uint256(amm.feeBps()), 40, "fee moved");
        assertEq(uint256(gate.ltvBps()), 7200, "ltv moved");
        assertEq(uint256(gate.liquidationThresholdBps()), 7800, "lt moved");
        invariant_noUnverifiedOutputChangesAParameter();
        invariant_parametersMatchVerifiedReference();
        invariant_parametersWithinRails();
        invariant_oracleHoldsExactlyPendingFeesAndCredits();
    }

    function invariant_noUnverifiedOutputChangesAParameter() public view {
        assertEq(handler.unverifiedChanges(), 0, "a parameter moved without a verified result");
        assertEq(handler.forgedAccepted(), 0, "a forged proof or a direct callback was accepted");
    }

    function invariant_parametersMatchVerifiedReference() public view {
        assertEq(handler.referenceMismatches(), 0, "a delivery diverged from the reference rails");
        assertEq(uint256(amm.feeBps()), uint256(handler.expectedFee()), "fee");
        assertEq(uint256(gate.ltvBps()), uint256(handler.expectedLtv()), "ltv");
        assertEq(uint256(gate.liquidationThresholdBps()), uint256(handler.expectedLt()), "lt");
    }

    function invariant_parametersWithinRails() public view {
        uint16 fee = amm.currentFeeBps();
        assertTrue(fee >= 5 && fee <= 100, "fee bounds");
        uint16 ltv = gate.ltvBps();
        uint16 lt = gate.liquidationThresholdBps();
        assertTrue(ltv >= 5000 && ltv <= 8000, "ltv bounds");
        assertTrue(lt >= 6000 && lt <= 9000, "lt bounds");
        assertTrue(ltv < lt, "ltv < lt");
    }

    function invariant_oracleHoldsExactlyPendingFeesAndCredits() public view {
        uint256 pending;
        uint256 n = handler.requestCount();
        for (uint256 i; i < n; ++i) {
            uint256 id = handler.requestIds(i);
            IInferenceOracle.Request memory r = oracle.getRequest(id);
            if (r.status == IInferenceOracle.RequestStatus.Pending) pending += r.feePaid;
            bool hasResult = oracle.getResult(id).length != 0;
            assertEq(hasResult, r.status == IInferenceOracle.RequestStatus.Fulfilled, "result iff fulfilled");
            assertEq(
                r.commitment == bytes32(0),
                r.status != IInferenceOracle.RequestStatus.Pending,
                "commitment iff pending"
            );
        }
        uint256 credits = oracle.withdrawable(address(handler)) + oracle.withdrawable(address(amm))
            + oracle.withdrawable(address(gate));
        assertEq(address(oracle).balance, pending + credits, "solvency");
    }

    function assertEq(bool a, bool b, string memory message) internal pure {
        if (a != b) revert AssertionFailed(message);
    }
}
