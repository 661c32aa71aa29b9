// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {RiskParameterGate} from "../RiskParameterGate.sol";
import {HexText} from "../libraries/HexText.sol";
import {IHalo2Verifier} from "../interfaces/IHalo2Verifier.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {IRiskParameterGate} from "../interfaces/IRiskParameterGate.sol";
import {AttestingClient} from "./helpers/AttestingClient.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";
import {TestConsumer} from "./helpers/TestConsumer.sol";

/// @notice End-to-end tests against the real generated verifier and golden proof of one model:
///         `<dir>/verifier.bytecode` (the verifier's creation bytecode as hex, `0x` optional, surrounding
///         whitespace allowed) and `<dir>/proof.json` with `proof` (0x hex) and `instances` (array of field
///         elements, 0x hex or decimal strings, in zkoracle's order
///         `[inputs..., outputs..., weightsCommitment..., fulfiller]`; the commitment is one word, the
///         Poseidon hash of the weights, and only for a model with hashed weights (`--params hashed`, which was
///         `--params private` when the golden files were made), which also carries it as
///         `weights_commitment`; the fulfiller is `GOLDEN_FULFILLER`, the address the golden proofs are made
///         for), where `<dir>` is `$ZKORACLE_GOLDEN_DIR/<model>/` (default `tests/golden/<model>/`). The whole
///         suite is skipped while those files do not exist. Swapping the verifier is the `_deployVerifier()`
///         override below.
abstract contract GoldenFixture is OracleTestBase {
    uint32 internal constant GOLDEN_VERIFIER_GAS = 5_000_000;
    /// @dev The fulfiller every golden proof is made for (its last public instance): the golden proofs are
    ///      fulfilled from this address, and from no other.
    address internal constant GOLDEN_FULFILLER = 0x0000000000000000000000000000000000f11F11;

    bytes internal goldenProof;
    uint256[] internal goldenInstances;
    int256[] internal goldenInput;
    int256[] internal goldenOutput;
    uint256 internal goldenModel;
    /// @dev The golden weights commitment (the instance before the fulfiller); 0 for a model without one.
    uint256 internal goldenCommitment;

    /// @dev The model's directory name under the golden root and its input and output counts.
    function _model() internal pure virtual returns (string memory name, uint32 inputLen, uint32 outputLen);

    /// @dev Whether the model hashes its weights (`--params hashed`): the instance before the fulfiller is the
    ///      weights commitment, and the model is registered with `weightsCommitment = [goldenCommitment]`.
    function _hasCommitment() internal pure virtual returns (bool) {
        return false;
    }

    function _dir() internal view returns (string memory) {
        (string memory name,,) = _model();
        return string.concat(vm.envOr("ZKORACLE_GOLDEN_DIR", string("tests/golden")), "/", name, "/");
    }

    function setUp() public virtual override {
        string memory dir = _dir();
        if (
            !vm.exists(string.concat(dir, "verifier.bytecode"))
                || !vm.exists(string.concat(dir, "proof.json"))
        ) {
            vm.skip(true);
            return;
        }
        super.setUp();
        string memory json = vm.readFile(string.concat(dir, "proof.json"));
        goldenProof = vm.parseJsonBytes(json, ".proof");
        goldenInstances = vm.parseJsonUintArray(json, ".instances");
        (, uint32 inputLen, uint32 outputLen) = _model();
        bool hasCommitment = _hasCommitment();
        assertEq(
            goldenInstances.length,
            uint256(inputLen) + outputLen + (hasCommitment ? 1 : 0) + 1,
            "instances are [inputs..., outputs..., weightsCommitment..., fulfiller]"
        );
        assertEq(
            goldenInstances[goldenInstances.length - 1],
            uint256(uint160(GOLDEN_FULFILLER)),
            "the last instance is GOLDEN_FULFILLER"
        );
        if (hasCommitment) {
            goldenCommitment = goldenInstances[goldenInstances.length - 2];
            assertEq(
                vm.parseJsonUint(json, ".weights_commitment"),
                goldenCommitment,
                "weights_commitment is the instance before the fulfiller"
            );
        }
        for (uint256 i; i < inputLen; ++i) {
            goldenInput.push(_signed(goldenInstances[i]));
        }
        for (uint256 j; j < outputLen; ++j) {
            goldenOutput.push(_signed(goldenInstances[inputLen + j]));
        }
        IInferenceOracle.ModelParams memory p = _params(inputLen, outputLen);
        p.maxAbsInput = HALF_P;
        p.verifierGasLimit = GOLDEN_VERIFIER_GAS;
        p.weightsCommitment = hasCommitment ? _words1(goldenCommitment) : _noWords();
        goldenModel = _register(p);
    }

    /// @dev The real verifier: deployed from the golden creation bytecode.
    function _deployVerifier() internal override returns (IHalo2Verifier) {
        bytes memory code =
            vm.parseBytes(HexText.clean(vm.readFile(string.concat(_dir(), "verifier.bytecode"))));
        address deployed;
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        assertTrue(deployed != address(0) && deployed.code.length != 0, "golden verifier deploys");
        return IHalo2Verifier(deployed);
    }

    /// @dev A real verifier cannot prove arbitrary instances: only the golden ones have a proof.
    function _proof(uint256[] memory instances) internal view override returns (bytes memory) {
        assertEq(
            keccak256(abi.encode(instances)), keccak256(abi.encode(goldenInstances)), "only golden proofs"
        );
        return goldenProof;
    }

    /// @dev The verifier, called directly under the oracle's gas cap, rejects `instances` with the golden proof
    ///      by reverting: it never returns false (EZKL's clients treat "did not revert" as success).
    function _verifierRejects(uint256[] memory instances) internal view returns (bool) {
        return _verifierReverts(abi.encodeCall(IHalo2Verifier.verifyProof, (goldenProof, instances)));
    }

    /// @dev Whether the verifier reverts on the raw calldata `data`.
    function _verifierReverts(bytes memory data) internal view returns (bool) {
        (bool ok,) = address(verifier).staticcall{gas: GOLDEN_VERIFIER_GAS}(data);
        return !ok;
    }
}

/// @notice The tests every golden model runs, on the fixture above.
abstract contract GoldenVerifierBase is GoldenFixture {
    function _request(TestConsumer consumer) internal returns (uint256) {
        return consumer.request{value: _feeFor(FEE, 500_000)}(goldenModel, goldenInput, 500_000);
    }

    // ==========================================================================================================
    // tests every golden model runs
    // ==========================================================================================================

    function test_golden_verifierAcceptsGoldenProof() public view {
        uint256 before = gasleft();
        bool ok = verifier.verifyProof(goldenProof, goldenInstances);
        uint256 used = before - gasleft();
        assertTrue(ok, "golden proof verifies");
        assertLe(used, GOLDEN_VERIFIER_GAS, "fits the verifier gas cap");
    }

    function test_verifyProof_revertsOnNonCanonicalCalldata() public view {
        bytes memory canonical = abi.encodeCall(IHalo2Verifier.verifyProof, (goldenProof, goldenInstances));
        assertFalse(_verifierReverts(canonical), "canonical calldata verifies");
        // one trailing byte
        assertTrue(_verifierReverts(bytes.concat(canonical, hex"00")), "trailing byte rejected");
        // the same proof and instances with the proof's offset moved one word on (a gap word after the head)
        bytes memory shifted = abi.encodePacked(
            IHalo2Verifier.verifyProof.selector,
            uint256(0x60),
            uint256(0x60 + 0x20 + 0x20 + ((goldenProof.length + 31) / 32) * 32),
            uint256(0),
            _tail(canonical)
        );
        assertTrue(_verifierReverts(shifted), "non-canonical proof offset rejected");
    }

    function test_verifyProof_revertsForAttestingClient() public {
        AttestingClient client = new AttestingClient();
        bytes memory good = abi.encodeCall(IHalo2Verifier.verifyProof, (goldenProof, goldenInstances));
        uint256 at = goldenInput.length;
        client.attest(address(verifier), good, goldenProof.length, at);
        assertEq(client.attested(), goldenInstances[at], "the client reads the verified first output");
        uint256[] memory tampered = goldenInstances;
        tampered[at] = addmod(tampered[at], 1, P);
        bytes memory bad = abi.encodeCall(IHalo2Verifier.verifyProof, (goldenProof, tampered));
        vm.expectRevert(AttestingClient.VerificationFailed.selector);
        client.attest(address(verifier), bad, goldenProof.length, at);
        bytes memory badProof = goldenProof;
        badProof[badProof.length - 1] ^= 0x01;
        bytes memory forged = abi.encodeCall(IHalo2Verifier.verifyProof, (badProof, goldenInstances));
        vm.expectRevert(AttestingClient.VerificationFailed.selector);
        client.attest(address(verifier), forged, goldenProof.length, at);
    }

    /// @dev `data` without its selector and two head words (the proof's length word onwards).
    function _tail(bytes memory data) internal pure returns (bytes memory out) {
        out = new bytes(data.length - 0x44);
        for (uint256 i; i < out.length; ++i) {
            out[i] = data[i + 0x44];
        }
    }

    function test_golden_verifierRejectsTamperedInstance() public view {
        // the last output, which precedes the weights commitment when the model has one
        uint256 at = goldenInput.length + goldenOutput.length - 1;
        uint256[] memory tampered = goldenInstances; // a memory copy of the storage array
        tampered[at] = addmod(tampered[at], 1, P);
        assertTrue(_verifierRejects(tampered), "tampered output rejected");
    }

    function test_golden_oracleFulfilsWithRealProof() public {
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        uint256 id = _request(consumer);
        assertEq(
            oracle.buildInstances(id, goldenOutput, GOLDEN_FULFILLER),
            goldenInstances,
            "oracle rebuilds the golden instances"
        );
        vm.prank(GOLDEN_FULFILLER);
        oracle.fulfill(id, goldenOutput, goldenProof);
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Fulfilled, "fulfilled");
        assertEq(oracle.getResult(id), goldenOutput, "result");
        assertTrue(oracle.getRequest(id).callbackSuccess, "callback ran");
        assertEq(consumer.lastOutput(), goldenOutput, "consumer got the verified output");
        assertEq(oracle.withdrawable(GOLDEN_FULFILLER), _feeFor(FEE, 500_000), "fee credited");
    }

    /// @dev Issue #22, item 2, with the real circuit: the golden fulfilment copied from the mempool by another
    ///      sender fails, and the fulfiller the proof was made for is still paid.
    function test_golden_oracleRejectsProofCopiedByAnotherSender() public {
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        uint256 id = _request(consumer);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(stranger);
        oracle.fulfill(id, goldenOutput, goldenProof);
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Pending, "still pending");
        assertEq(consumer.calls(), 0, "nothing delivered");

        vm.prank(GOLDEN_FULFILLER);
        oracle.fulfill(id, goldenOutput, goldenProof);
        assertEq(oracle.withdrawable(GOLDEN_FULFILLER), _feeFor(FEE, 500_000), "the prover is paid");
        assertEq(oracle.withdrawable(stranger), 0, "the copier is not");
    }

    function test_golden_verifierRejectsOtherFulfiller() public view {
        uint256[] memory other = goldenInstances;
        other[other.length - 1] = uint256(uint160(stranger));
        assertTrue(_verifierRejects(other), "another fulfiller rejected");
        other[other.length - 1] = uint256(uint160(GOLDEN_FULFILLER)) + 1;
        assertTrue(_verifierRejects(other), "fulfiller + 1 rejected");
        uint256[] memory truncated = new uint256[](goldenInstances.length - 1);
        for (uint256 i; i < truncated.length; ++i) {
            truncated[i] = goldenInstances[i];
        }
        assertTrue(_verifierRejects(truncated), "instances without the fulfiller rejected");
    }

    function test_golden_oracleRejectsTamperedOutput() public {
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        uint256 id = _request(consumer);
        int256[] memory tampered = goldenOutput;
        tampered[0] += 1;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(GOLDEN_FULFILLER);
        oracle.fulfill(id, tampered, goldenProof);
        assertEq(consumer.calls(), 0, "nothing delivered");
    }

    function test_golden_oracleRejectsTamperedProof() public {
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        uint256 id = _request(consumer);
        for (uint256 k; k < 3; ++k) {
            bytes memory tampered = bytes.concat(goldenProof);
            // a byte inside the first G1 point, one in the middle, one in the last scalar
            uint256 at = k == 0 ? 40 : (k == 1 ? tampered.length / 2 : tampered.length - 5);
            tampered[at] = tampered[at] ^ 0x01;
            uint256 before = gasleft();
            vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
            vm.prank(GOLDEN_FULFILLER);
            oracle.fulfill{gas: 20_000_000}(id, goldenOutput, tampered);
            assertLe(before - gasleft(), uint256(GOLDEN_VERIFIER_GAS) + 500_000, "gas capped");
        }
        assertEq(consumer.calls(), 0, "nothing delivered");
    }

    function test_golden_oracleRejectsProofForOtherInput() public {
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        int256[] memory other = goldenInput;
        other[0] = other[0] == 0 ? int256(1) : -other[0];
        uint256 id = consumer.request{value: _feeFor(FEE, 500_000)}(goldenModel, other, 500_000);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(GOLDEN_FULFILLER);
        oracle.fulfill(id, goldenOutput, goldenProof);
    }
}

/// @notice The AMM spread model (`spread_mlp`: 8 inputs, 1 output).
contract GoldenSpreadMlpTest is GoldenVerifierBase {
    function _model() internal pure override returns (string memory, uint32, uint32) {
        return ("spread_mlp", 8, 1);
    }
}

/// @notice The risk model (`risk_mlp`: 16 inputs, 4 outputs), also driven through the RiskParameterGate.
contract GoldenRiskMlpTest is GoldenVerifierBase {
    function _model() internal pure override returns (string memory, uint32, uint32) {
        return ("risk_mlp", 16, 4);
    }

    function test_golden_riskGateConsumesRealResult() public {
        IRiskParameterGate.RiskConfig memory c = IRiskParameterGate.RiskConfig({
            minLtvBps: 5000,
            maxLtvBps: 8000,
            minLiquidationThresholdBps: 6000,
            maxLiquidationThresholdBps: 9000,
            maxLtvChangeBps: 200,
            maxLiquidationThresholdChangeBps: 300,
            minUpdateDelay: 1 days,
            maxResultAge: 30 minutes,
            callbackGasLimit: 150_000
        });
        address keeper = address(0x3EE);
        RiskParameterGate gate = new RiskParameterGate(
            oracle,
            goldenModel,
            _pin(oracle.getModel(goldenModel).params),
            c,
            7000,
            7500,
            address(this),
            keeper
        );
        vm.deal(keeper, 1 ether);
        vm.prank(keeper);
        uint256 id = gate.requestUpdate{value: _feeFor(FEE, 150_000)}(goldenInput);
        (uint16 expLtv, uint16 expLt, IRiskParameterGate.RejectReason reason) = gate.preview(goldenOutput);

        vm.prank(GOLDEN_FULFILLER);
        oracle.fulfill(id, goldenOutput, goldenProof);
        assertTrue(oracle.getRequest(id).callbackSuccess, "gate callback ran");
        assertEq(gate.pendingRequestId(), 0, "result consumed");
        assertEq(uint256(gate.ltvBps()), uint256(expLtv), "ltv as previewed");
        assertEq(uint256(gate.liquidationThresholdBps()), uint256(expLt), "lt as previewed");
        if (reason == IRiskParameterGate.RejectReason.None) {
            assertEq(uint256(gate.lastUpdate()), block.timestamp, "applied");
        }
    }
}

/// @notice The AMM spread model with hashed weights (`spread_mlp_private`, compiled with `--params private` before
///         issue #17 made that mode `--params hashed`: 8 inputs, 1 output, the weights a private witness): the
///         instance before the fulfiller is the Poseidon commitment of the weights, which the oracle appends from
///         the registered one-word `weightsCommitment`. Runs the shared suite plus the commitment-binding checks
///         below.
contract GoldenSpreadMlpPrivateTest is GoldenVerifierBase {
    function _model() internal pure override returns (string memory, uint32, uint32) {
        return ("spread_mlp_private", 8, 1);
    }

    function _hasCommitment() internal pure override returns (bool) {
        return true;
    }

    /// @dev A second model on the same verifier and vk, registered with the one word `commitment` (or none).
    function _registerSibling(bool hasCommitment, uint256 commitment) internal returns (uint256) {
        (, uint32 inputLen, uint32 outputLen) = _model();
        IInferenceOracle.ModelParams memory p = _params(inputLen, outputLen);
        p.maxAbsInput = HALF_P;
        p.verifierGasLimit = GOLDEN_VERIFIER_GAS;
        p.weightsCommitment = hasCommitment ? _words1(commitment) : _noWords();
        return _register(p);
    }

    function test_golden_verifierRejectsTamperedCommitment() public view {
        uint256[] memory tampered = goldenInstances;
        tampered[tampered.length - 2] = addmod(goldenCommitment, 1, P);
        assertTrue(_verifierRejects(tampered), "commitment+1 rejected");
        tampered[tampered.length - 2] = 0;
        assertTrue(_verifierRejects(tampered), "zero commitment rejected");
    }

    function test_golden_verifierRejectsMissingCommitment() public view {
        // the fulfiller moves up into the commitment's place
        uint256[] memory truncated = new uint256[](goldenInstances.length - 1);
        for (uint256 i; i < truncated.length - 1; ++i) {
            truncated[i] = goldenInstances[i];
        }
        truncated[truncated.length - 1] = goldenInstances[goldenInstances.length - 1];
        assertTrue(_verifierRejects(truncated), "instances without the commitment rejected");
    }

    function test_golden_oracleRejectsProofForOtherCommitment() public {
        uint256 other = addmod(goldenCommitment, 1, P);
        uint256 sibling = _registerSibling(true, other);
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        uint256 id = consumer.request{value: _feeFor(FEE, 500_000)}(sibling, goldenInput, 500_000);
        uint256[] memory built = oracle.buildInstances(id, goldenOutput, GOLDEN_FULFILLER);
        assertEq(built.length, goldenInstances.length, "same instance count");
        assertEq(built[built.length - 2], other, "the sibling's commitment is appended");
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(GOLDEN_FULFILLER);
        oracle.fulfill(id, goldenOutput, goldenProof);
        assertEq(consumer.calls(), 0, "nothing delivered");
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Pending, "still pending");
    }

    function test_golden_oracleRejectsProofForModelWithoutCommitment() public {
        uint256 sibling = _registerSibling(false, 0);
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        uint256 id = consumer.request{value: _feeFor(FEE, 500_000)}(sibling, goldenInput, 500_000);
        assertEq(
            oracle.buildInstances(id, goldenOutput, GOLDEN_FULFILLER).length,
            goldenInstances.length - 1,
            "no commitment appended"
        );
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(GOLDEN_FULFILLER);
        oracle.fulfill(id, goldenOutput, goldenProof);
        assertEq(consumer.calls(), 0, "nothing delivered");
    }

    function test_golden_registryStoresGoldenCommitment() public view {
        IInferenceOracle.ModelParams memory p = oracle.getModel(goldenModel).params;
        assertEq(p.weightsCommitment, _words1(goldenCommitment), "one word, the golden commitment");
        assertTrue(goldenCommitment != 0 && goldenCommitment < P, "a non-zero field element");
    }
}
