// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {InferenceOracle} from "../InferenceOracle.sol";
import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";
import {
    GasBurnerVerifier,
    MalformedReturnVerifier,
    ReturnBombVerifier,
    RevertingVerifier
} from "./helpers/HostileVerifiers.sol";
import {EtherRejecter, TestConsumer} from "./helpers/TestConsumer.sol";

contract InferenceOracleTest is OracleTestBase {
    uint256 internal modelId;
    TestConsumer internal consumer;

    function setUp() public override {
        super.setUp();
        modelId = _register(_params(4, 2));
        consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 10 ether);
    }

    function _requestAs(address who, int256[] memory input, uint32 callbackGas) internal returns (uint256) {
        vm.prank(who);
        return oracle.requestInference{value: _feeFor(FEE, callbackGas)}(modelId, input, callbackGas);
    }

    function _consumerRequest(int256[] memory input, uint32 callbackGas) internal returns (uint256) {
        return consumer.request{value: _feeFor(FEE, callbackGas)}(modelId, input, callbackGas);
    }

    function _fulfill(uint256 requestId, int256[] memory input, int256[] memory output) internal {
        bytes memory proof = _proofFor(input, output, fulfiller);
        vm.prank(fulfiller);
        oracle.fulfill(requestId, output, proof);
    }

    // ==========================================================================================================
    // constructor / administration
    // ==========================================================================================================

    function test_constructor_setsConfig() public view {
        assertEq(oracle.owner(), oracleOwner, "owner");
        assertEq(uint256(oracle.requestTimeout()), TIMEOUT, "timeout");
        assertEq(uint256(oracle.maxCallbackGasLimit()), MAX_CALLBACK_GAS, "max callback gas");
        assertEq(oracle.FIELD_MODULUS(), P, "modulus");
        assertEq(uint256(oracle.MAX_ABS_FIELD_VALUE()), (P - 1) / 2, "half modulus");
        assertTrue(!oracle.paused(), "not paused");
    }

    function test_constructor_revertsOnZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.ZeroOwner.selector));
        new InferenceOracle(address(0), TIMEOUT, MAX_CALLBACK_GAS);
    }

    function test_constructor_revertsOnBadTimeout() public {
        vm.expectRevert(_timeoutOutOfRange(59));
        new InferenceOracle(oracleOwner, 59, MAX_CALLBACK_GAS);
    }

    function _timeoutOutOfRange(uint64 timeout) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IInferenceOracle.RequestTimeoutOutOfRange.selector, timeout, 1 minutes, 30 days
        );
    }

    function test_setRequestTimeout_updatesAndEmits() public {
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.RequestTimeoutUpdated(2 days);
        vm.prank(oracleOwner);
        oracle.setRequestTimeout(2 days);
        assertEq(uint256(oracle.requestTimeout()), 2 days, "timeout");
    }

    function test_setRequestTimeout_revertsOutOfBounds() public {
        vm.startPrank(oracleOwner);
        vm.expectRevert(_timeoutOutOfRange(30 days + 1));
        oracle.setRequestTimeout(30 days + 1);
        vm.expectRevert(_timeoutOutOfRange(0));
        oracle.setRequestTimeout(0);
        vm.stopPrank();
    }

    function test_setRequestTimeout_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.Unauthorized.selector, stranger));
        vm.prank(stranger);
        oracle.setRequestTimeout(2 hours);
    }

    function test_setMaxCallbackGasLimit_updatesAndBounds() public {
        vm.startPrank(oracleOwner);
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.MaxCallbackGasLimitUpdated(300_000);
        oracle.setMaxCallbackGasLimit(300_000);
        assertEq(uint256(oracle.maxCallbackGasLimit()), 300_000, "max");
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceOracle.MaxCallbackGasLimitTooHigh.selector, 5_000_001, 5_000_000)
        );
        oracle.setMaxCallbackGasLimit(5_000_001);
        vm.stopPrank();
    }

    function test_setMaxCallbackGasLimit_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.Unauthorized.selector, stranger));
        vm.prank(stranger);
        oracle.setMaxCallbackGasLimit(1);
    }

    function test_setPaused_blocksRequestsOnly() public {
        uint256 id = _requestAs(requester, _input(4, 3), 0);
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.OraclePausedSet(true);
        vm.prank(oracleOwner);
        oracle.setPaused(true);

        vm.expectRevert(IInferenceOracle.OracleIsPaused.selector);
        vm.prank(requester);
        oracle.requestInference{value: FEE}(modelId, _input(4, 3), 0);

        // pending requests are still honoured
        _fulfill(id, _input(4, 3), _values2(1, 2));
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Fulfilled, "fulfilled while paused");

        vm.prank(oracleOwner);
        oracle.setPaused(false);
        _requestAs(requester, _input(4, 3), 0);
    }

    function test_setPaused_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.Unauthorized.selector, stranger));
        vm.prank(stranger);
        oracle.setPaused(true);
    }

    function test_transferOwnership_twoStep() public {
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.OwnershipTransferStarted(oracleOwner, stranger);
        vm.prank(oracleOwner);
        oracle.transferOwnership(stranger);
        assertEq(oracle.owner(), oracleOwner, "unchanged until accepted");
        assertEq(oracle.pendingOwner(), stranger, "pending");

        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.OwnershipTransferred(oracleOwner, stranger);
        vm.prank(stranger);
        oracle.acceptOwnership();
        assertEq(oracle.owner(), stranger, "owner");
        assertEq(oracle.pendingOwner(), address(0), "pending cleared");
    }

    function test_transferOwnership_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.Unauthorized.selector, stranger));
        vm.prank(stranger);
        oracle.transferOwnership(stranger);
    }

    function test_acceptOwnership_revertsForNonPending() public {
        vm.prank(oracleOwner);
        oracle.transferOwnership(fulfiller);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.Unauthorized.selector, stranger));
        vm.prank(stranger);
        oracle.acceptOwnership();
    }

    // ==========================================================================================================
    // registerModel
    // ==========================================================================================================

    function test_registerModel_storesAndEmits() public {
        IInferenceOracle.ModelParams memory p = _params(8, 1);
        p.weightsCommitment = _words1(P - 1);
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.ModelRegistered(2, stranger, address(verifier), VK_DIGEST, FEE);
        vm.prank(stranger);
        uint256 id = oracle.registerModel(p);
        assertEq(id, 2, "second model");
        assertEq(oracle.modelCount(), 2, "count");
        IInferenceOracle.Model memory m = oracle.getModel(id);
        assertEq(m.owner, stranger, "owner");
        assertTrue(!m.paused, "not paused");
        assertEq(m.params.verifier, address(verifier), "verifier");
        assertEq(uint256(m.params.inputLen), 8, "inputLen");
        assertEq(uint256(m.params.outputLen), 1, "outputLen");
        assertEq(m.params.weightsCommitment, _words1(P - 1), "commitment");
        assertEq(m.params.maxAbsInput, 1000, "maxAbs");
        assertEq(uint256(m.params.verifierGasLimit), VERIFIER_GAS, "verifier gas");
    }

    function _expectInvalid(IInferenceOracle.ModelParams memory p, bytes memory expected) internal {
        vm.expectRevert(expected);
        oracle.registerModel(p);
    }

    function test_registerModel_revertsOnInvalidParams() public {
        IInferenceOracle.ModelParams memory p = _params(4, 1);
        p.verifier = address(0x1234);
        _expectInvalid(
            p, abi.encodeWithSelector(IInferenceOracle.VerifierHasNoCode.selector, address(0x1234))
        );

        p = _params(4, 1);
        p.vkDigest = bytes32(0);
        _expectInvalid(p, abi.encodeWithSelector(IInferenceOracle.ZeroVkDigest.selector));

        _expectInvalid(
            _params(0, 1), abi.encodeWithSelector(IInferenceOracle.InputLenOutOfRange.selector, 0, 1024)
        );
        _expectInvalid(
            _params(1025, 1), abi.encodeWithSelector(IInferenceOracle.InputLenOutOfRange.selector, 1025, 1024)
        );
        _expectInvalid(
            _params(4, 0), abi.encodeWithSelector(IInferenceOracle.OutputLenOutOfRange.selector, 0, 1024)
        );
        _expectInvalid(
            _params(4, 1025),
            abi.encodeWithSelector(IInferenceOracle.OutputLenOutOfRange.selector, 1025, 1024)
        );

        p = _params(4, 1);
        p.maxAbsInput = 0;
        _expectInvalid(p, abi.encodeWithSelector(IInferenceOracle.MaxAbsInputOutOfRange.selector, 0, HALF_P));
        p.maxAbsInput = -1;
        _expectInvalid(p, abi.encodeWithSelector(IInferenceOracle.MaxAbsInputOutOfRange.selector, -1, HALF_P));
        p.maxAbsInput = HALF_P + 1;
        _expectInvalid(
            p, abi.encodeWithSelector(IInferenceOracle.MaxAbsInputOutOfRange.selector, HALF_P + 1, HALF_P)
        );

        p = _params(4, 1);
        p.weightsCommitment = _words1(P);
        _expectInvalid(
            p, abi.encodeWithSelector(IInferenceOracle.WeightsCommitmentWordNotInField.selector, 0, P)
        );
        p.weightsCommitment = new uint256[](65);
        _expectInvalid(p, abi.encodeWithSelector(IInferenceOracle.WeightsCommitmentTooLong.selector, 65, 64));

        p = _params(4, 1);
        p.verifierGasLimit = 0;
        _expectInvalid(
            p, abi.encodeWithSelector(IInferenceOracle.VerifierGasLimitOutOfRange.selector, 0, 15_000_000)
        );
        p.verifierGasLimit = 15_000_001;
        _expectInvalid(
            p,
            abi.encodeWithSelector(
                IInferenceOracle.VerifierGasLimitOutOfRange.selector, 15_000_001, 15_000_000
            )
        );
    }

    function test_registerModel_acceptsBoundaryParams() public {
        IInferenceOracle.ModelParams memory p = _params(1024, 1024);
        p.maxAbsInput = HALF_P;
        p.verifierGasLimit = 15_000_000;
        uint256 id = oracle.registerModel(p);
        assertEq(oracle.getModel(id).params.maxAbsInput, HALF_P, "max range accepted");
    }

    /// @dev 2·G on BN254 as a `--params private` commitment of one weight column: `(x_lo, x_hi, y_lo, y_hi)`,
    ///      128-bit limbs (`x = x_hi * 2^128 + x_lo`).
    function _pointWords() internal pure returns (uint256[] memory) {
        return _words4(
            0xd97816a916871ca8d3c208c16d87cfd3,
            0x030644e72e131a029b85045b68181585,
            0x68a6a449e3538fc7ff3ebf7a5a18a2c4,
            0x15ed738c0e0a7c92e7845f96b2ae9c0a
        );
    }

    function test_registerModel_storesCommitmentWordsInOrder() public {
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.weightsCommitment = _pointWords();
        uint256 id = _register(p);
        assertEq(oracle.getModel(id).params.weightsCommitment, _pointWords(), "the four limbs, in order");
    }

    /// @dev Weights fixed in the verifying key: no words, and the instances go straight from the outputs to the
    ///      fulfiller.
    function test_registerModel_acceptsEmptyCommitment() public {
        uint256 id = _register(_params(2, 1));
        assertEq(oracle.getModel(id).params.weightsCommitment.length, 0, "no words");
        int256[] memory input = _values2(3, -4);
        vm.prank(requester);
        uint256 requestId = oracle.requestInference{value: FEE}(id, input, 0);
        uint256[] memory inst = oracle.buildInstances(requestId, _values1(9), fulfiller);
        assertEq(inst, _instances(input, _values1(9), _noWords(), fulfiller), "[input, output, fulfiller]");
        assertEq(inst.length, 2 + 1 + 1, "nothing between the output and the fulfiller");
        vm.prank(fulfiller);
        oracle.fulfill(requestId, _values1(9), _proof(inst));
        assertEq(oracle.getResult(requestId), _values1(9), "fulfilled");
    }

    function test_registerModel_revertsOnCommitmentWordNotInField() public {
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.weightsCommitment = _pointWords();
        p.weightsCommitment[2] = P;
        _expectInvalid(
            p, abi.encodeWithSelector(IInferenceOracle.WeightsCommitmentWordNotInField.selector, 2, P)
        );
        p.weightsCommitment[2] = type(uint256).max;
        _expectInvalid(
            p,
            abi.encodeWithSelector(
                IInferenceOracle.WeightsCommitmentWordNotInField.selector, 2, type(uint256).max
            )
        );
        p.weightsCommitment[2] = P - 1; // the largest scalar
        uint256 id = oracle.registerModel(p);
        assertEq(oracle.getModel(id).params.weightsCommitment[2], P - 1, "P - 1 accepted");
    }

    function test_registerModel_revertsOnTooLongCommitment() public {
        assertEq(oracle.MAX_WEIGHTS_COMMITMENT_WORDS(), 64, "16 points of 4 limbs");
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.weightsCommitment = new uint256[](65);
        _expectInvalid(p, abi.encodeWithSelector(IInferenceOracle.WeightsCommitmentTooLong.selector, 65, 64));
        p.weightsCommitment = new uint256[](64);
        uint256 id = oracle.registerModel(p);
        assertEq(oracle.getModel(id).params.weightsCommitment.length, 64, "64 words accepted");
    }

    function test_setModelFee_updatesAndEmits() public {
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.ModelFeeUpdated(modelId, 5);
        vm.prank(modelOwner);
        oracle.setModelFee(modelId, 5);
        assertEq(oracle.estimateFee(modelId, 0), 5, "fee");
    }

    function test_setModelFee_revertsForNonOwnerOrUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.NotModelOwner.selector, modelId, stranger));
        vm.prank(stranger);
        oracle.setModelFee(modelId, 5);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.UnknownModel.selector, 99));
        vm.prank(modelOwner);
        oracle.setModelFee(99, 5);
    }

    function test_setModelPaused_blocksNewRequests() public {
        uint256 id = _requestAs(requester, _input(4, 1), 0);
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.ModelPaused(modelId, true);
        vm.prank(modelOwner);
        oracle.setModelPaused(modelId, true);
        assertTrue(oracle.getModel(modelId).paused, "paused");

        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.ModelIsPaused.selector, modelId));
        vm.prank(requester);
        oracle.requestInference{value: FEE}(modelId, _input(4, 1), 0);

        _fulfill(id, _input(4, 1), _values2(3, -3)); // pending request still fulfillable
        vm.prank(modelOwner);
        oracle.setModelPaused(modelId, false);
        _requestAs(requester, _input(4, 1), 0);
    }

    function test_setModelPaused_revertsForNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.NotModelOwner.selector, modelId, stranger));
        vm.prank(stranger);
        oracle.setModelPaused(modelId, true);
    }

    function test_transferModelOwnership_movesControl() public {
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.ModelOwnershipTransferred(modelId, modelOwner, stranger);
        vm.prank(modelOwner);
        oracle.transferModelOwnership(modelId, stranger);
        assertEq(oracle.getModel(modelId).owner, stranger, "new owner");
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.NotModelOwner.selector, modelId, modelOwner));
        vm.prank(modelOwner);
        oracle.setModelFee(modelId, 1);
        vm.prank(stranger);
        oracle.setModelFee(modelId, 1);
    }

    function test_transferModelOwnership_revertsOnZero() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.ZeroModelOwner.selector, modelId));
        vm.prank(modelOwner);
        oracle.transferModelOwnership(modelId, address(0));
    }

    function test_getModel_revertsForUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.UnknownModel.selector, 0));
        oracle.getModel(0);
    }

    function test_estimateFee_pricesReservedCallbackGas() public {
        assertEq(oracle.estimateFee(modelId, 0), FEE, "no callback: the model fee");
        uint256 price = oracle.callbackGasPrice();
        assertEq(price, 1 gwei, "default price");
        uint256 overhead = oracle.CALLBACK_GAS_OVERHEAD();
        assertEq(oracle.estimateFee(modelId, 1), FEE + (1 + overhead) * price, "smallest callback");
        assertEq(
            oracle.estimateFee(modelId, MAX_CALLBACK_GAS),
            FEE + (MAX_CALLBACK_GAS + overhead) * price,
            "largest callback"
        );
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.UnknownModel.selector, 7));
        oracle.estimateFee(7, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceOracle.CallbackGasLimitTooHigh.selector, MAX_CALLBACK_GAS + 1, MAX_CALLBACK_GAS
            )
        );
        oracle.estimateFee(modelId, MAX_CALLBACK_GAS + 1);
    }

    function test_setCallbackGasPrice_updatesBoundsAndKeepsPendingFees() public {
        uint256 id = _requestAs(requester, _input(4, 1), 100_000);
        uint256 paid = oracle.getRequest(id).feePaid;

        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.CallbackGasPriceUpdated(30 gwei);
        vm.prank(oracleOwner);
        oracle.setCallbackGasPrice(30 gwei);
        assertEq(oracle.estimateFee(modelId, 100_000), FEE + (100_000 + 10_000) * 30 gwei, "new price");
        assertEq(oracle.getRequest(id).feePaid, paid, "a pending request keeps its fee");

        vm.prank(oracleOwner);
        oracle.setCallbackGasPrice(0);
        assertEq(oracle.estimateFee(modelId, 100_000), FEE, "free callback gas when the owner says so");

        vm.prank(oracleOwner);
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceOracle.CallbackGasPriceTooHigh.selector, 10_000 gwei + 1, 10_000 gwei
            )
        );
        oracle.setCallbackGasPrice(10_000 gwei + 1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.Unauthorized.selector, stranger));
        oracle.setCallbackGasPrice(1);
    }

    function test_requestInference_revertsWhenCallbackGasUnpaid() public {
        // The pre-#22 price of a request with a 2M-gas callback: the flat model fee.
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceOracle.IncorrectFee.selector, oracle.estimateFee(modelId, MAX_CALLBACK_GAS), FEE
            )
        );
        consumer.request{value: FEE}(modelId, _input(4, 1), MAX_CALLBACK_GAS);
    }

    function test_requestInference_revertsWhenFeeOverflows128Bits() public {
        vm.prank(modelOwner);
        oracle.setModelFee(modelId, type(uint128).max);
        assertEq(oracle.estimateFee(modelId, 0), type(uint128).max, "the largest fee alone fits");
        uint256 total = uint256(type(uint128).max) + (1 + 10_000) * 1 gwei;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.FeeTooHigh.selector, total));
        oracle.estimateFee(modelId, 1);
        vm.deal(requester, total);
        vm.prank(requester);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.FeeTooHigh.selector, total));
        oracle.requestInference{value: total}(modelId, _input(4, 1), 1);
    }

    // ==========================================================================================================
    // requestInference
    // ==========================================================================================================

    function test_requestInference_storesRequestAndEmits() public {
        int256[] memory input = _input(4, 11);
        uint64 deadline = uint64(block.timestamp) + TIMEOUT;
        uint256 fee = FEE + (50_000 + 10_000) * 1 gwei; // model fee + reserved callback gas at 1 gwei
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.InferenceRequested(1, modelId, requester, input, 50_000, fee, deadline);
        uint256 id = _requestAs(requester, input, 50_000);
        assertEq(id, 1, "first id");
        assertEq(oracle.requestCount(), 1, "count");
        assertEq(address(oracle).balance, fee, "fee held");

        IInferenceOracle.Request memory r = oracle.getRequest(id);
        assertEq(r.modelId, modelId, "model");
        assertEq(r.requester, requester, "requester");
        assertEq(uint256(r.deadline), deadline, "deadline");
        assertEq(uint256(r.callbackGasLimit), 50_000, "callback gas");
        assertTrue(r.status == IInferenceOracle.RequestStatus.Pending, "pending");
        assertEq(r.feePaid, fee, "fee");
        assertEq(r.input, input, "input");
        bytes32 expected = keccak256(abi.encode(id, modelId, requester, input, uint32(50_000), fee));
        assertEq(r.commitment, expected, "commitment");

        (IInferenceOracle.RequestStatus s, uint64 d) = oracle.getRequestStatus(id);
        assertTrue(s == IInferenceOracle.RequestStatus.Pending, "status view");
        assertEq(uint256(d), deadline, "deadline view");
        assertEq(_requestAs(requester, input, 0), 2, "ids increase");
    }

    function test_requestInference_revertsOnUnknownModel() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.UnknownModel.selector, 9));
        vm.prank(requester);
        oracle.requestInference{value: FEE}(9, _input(4, 1), 0);
    }

    function test_requestInference_revertsOnIncorrectFee() public {
        vm.startPrank(requester);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.IncorrectFee.selector, FEE, FEE - 1));
        oracle.requestInference{value: FEE - 1}(modelId, _input(4, 1), 0);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.IncorrectFee.selector, FEE, FEE + 1));
        oracle.requestInference{value: FEE + 1}(modelId, _input(4, 1), 0);
        vm.stopPrank();
    }

    function test_requestInference_acceptsZeroFeeModel() public {
        IInferenceOracle.ModelParams memory p = _params(1, 1);
        p.fee = 0;
        uint256 free = _register(p);
        vm.prank(requester);
        uint256 id = oracle.requestInference(free, _values1(5), 0);
        assertEq(oracle.getRequest(id).feePaid, 0, "free");
    }

    function test_requestInference_revertsOnCallbackGasTooHigh() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceOracle.CallbackGasLimitTooHigh.selector, MAX_CALLBACK_GAS + 1, MAX_CALLBACK_GAS
            )
        );
        _requestAs(requester, _input(4, 1), MAX_CALLBACK_GAS + 1);
    }

    function test_requestInference_revertsOnInputLength() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InputLengthMismatch.selector, 4, 3));
        _requestAs(requester, _input(3, 1), 0);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InputLengthMismatch.selector, 4, 5));
        _requestAs(requester, _input(5, 1), 0);
    }

    function test_requestInference_revertsOnInputOutOfRange() public {
        int256[] memory input = _input(4, 1);
        input[2] = 1001;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InputOutOfRange.selector, 2, int256(1001)));
        _requestAs(requester, input, 0);
        input[2] = -1001;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InputOutOfRange.selector, 2, int256(-1001)));
        _requestAs(requester, input, 0);
        input[2] = type(int256).min;
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceOracle.InputOutOfRange.selector, 2, type(int256).min)
        );
        _requestAs(requester, input, 0);
        input[2] = -1000; // boundary accepted
        input[3] = 1000;
        _requestAs(requester, input, 0);
    }

    function testFuzz_requestInference_acceptsExactlyTheRange(int256 x, uint8 index) public {
        int256[] memory input = _input(4, 5);
        uint256 i = uint256(index) % 4;
        input[i] = x;
        if (x > 1000 || x < -1000) {
            vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InputOutOfRange.selector, i, x));
            _requestAs(requester, input, 0);
        } else {
            uint256 id = _requestAs(requester, input, 0);
            assertEq(oracle.getRequest(id).input[i], x, "stored");
        }
    }

    function testFuzz_requestInference_wideRangeModelMapsBelowModulus(int256 x) public {
        IInferenceOracle.ModelParams memory p = _params(1, 1);
        p.maxAbsInput = HALF_P;
        uint256 wide = _register(p);
        vm.prank(requester);
        if (x > HALF_P || x < -HALF_P) {
            vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InputOutOfRange.selector, 0, x));
            oracle.requestInference{value: FEE}(wide, _values1(x), 0);
            return;
        }
        uint256 id = oracle.requestInference{value: FEE}(wide, _values1(x), 0);
        uint256[] memory inst = oracle.buildInstances(id, _values1(0), fulfiller);
        assertTrue(inst[0] < P, "below modulus");
        assertEq(inst[0], _field(x), "encoding");
        assertEq(_signed(inst[0]), x, "injective");
    }

    // ==========================================================================================================
    // fulfill
    // ==========================================================================================================

    function test_fulfill_storesResultCreditsFeeAndEmits() public {
        int256[] memory input = _input(4, 21);
        int256[] memory output = _values2(-77, 12_345);
        uint256 id = _requestAs(requester, input, 0);
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.InferenceFulfilled(id, modelId, fulfiller, output, false);
        _fulfill(id, input, output);

        IInferenceOracle.Request memory r = oracle.getRequest(id);
        assertTrue(r.status == IInferenceOracle.RequestStatus.Fulfilled, "fulfilled");
        assertEq(r.commitment, bytes32(0), "commitment deleted");
        assertTrue(!r.callbackSuccess, "EOA: no callback");
        assertEq(r.input, input, "input kept");
        assertEq(oracle.getResult(id), output, "result");
        assertEq(oracle.withdrawable(fulfiller), FEE, "fee credited");
    }

    function test_fulfill_encodesNegativesAsModulusMinusAbs() public {
        int256[] memory input = _values4(-1, 0, 1, -1000);
        int256[] memory output = _values2(-5, 5);
        uint256 id = _requestAs(requester, input, 0);
        uint256[] memory inst = oracle.buildInstances(id, output, fulfiller);
        assertEq(inst[0], P - 1, "-1");
        assertEq(inst[1], 0, "0");
        assertEq(inst[2], 1, "1");
        assertEq(inst[3], P - 1000, "-1000");
        assertEq(inst[4], P - 5, "-5");
        assertEq(inst[5], 5, "5");
        assertEq(inst[6], uint256(uint160(fulfiller)), "the fulfiller, last");
        assertEq(inst.length, 7, "no commitment");
        _fulfill(id, input, output);
    }

    function test_fulfill_appendsWeightsCommitment() public {
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.weightsCommitment = _words1(0x1234);
        uint256 committed = _register(p);
        int256[] memory input = _values2(3, -4);
        vm.prank(requester);
        uint256 id = oracle.requestInference{value: FEE}(committed, input, 0);

        uint256[] memory expected = _instances(input, _values1(9), _words1(0x1234), address(this));
        assertEq(oracle.buildInstances(id, _values1(9), address(this)), expected, "instances");
        assertEq(expected[expected.length - 2], 0x1234, "the commitment precedes the fulfiller");

        // a proof without the commitment does not verify
        bytes memory withoutCommitment = _proof(_instances(input, _values1(9), _noWords(), address(this)));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values1(9), withoutCommitment);

        oracle.fulfill(id, _values1(9), _proof(expected));
        assertEq(oracle.getResult(id), _values1(9), "result");
    }

    function test_buildInstances_appendsCommitmentWordsInOrder() public {
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.weightsCommitment = _pointWords();
        uint256 committed = _register(p);
        int256[] memory input = _values2(3, -4);
        vm.prank(requester);
        uint256 id = oracle.requestInference{value: FEE}(committed, input, 0);

        uint256[] memory words = _pointWords();
        uint256[] memory inst = oracle.buildInstances(id, _values1(9), fulfiller);
        assertEq(inst.length, 2 + 1 + 4 + 1, "inputs, output, four limbs, fulfiller");
        for (uint256 k; k < 4; ++k) {
            assertEq(inst[3 + k], words[k], "the limbs follow the output, in registered order");
        }
        assertEq(inst[7], uint256(uint160(fulfiller)), "the fulfiller, last");
        assertEq(inst, _instances(input, _values1(9), words, fulfiller), "the spec's layout");

        // a proof for the limbs in another order (x_lo and x_hi swapped) is a proof of other instances
        uint256[] memory swapped = _words4(words[1], words[0], words[2], words[3]);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(9), _proof(_instances(input, _values1(9), swapped, fulfiller)));

        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(9), _proof(inst));
        assertEq(oracle.getResult(id), _values1(9), "result");
    }

    function test_fulfill_revertsOnWrongOutput() public {
        int256[] memory input = _input(4, 2);
        uint256 id = _requestAs(requester, input, 0);
        bytes memory proof = _proofFor(input, _values2(1, 2), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values2(1, 3), proof);
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Pending, "still pending");
    }

    function test_fulfill_revertsOnProofForOtherInput() public {
        int256[] memory input = _input(4, 2);
        uint256 id = _requestAs(requester, input, 0);
        int256[] memory other = _input(4, 3);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values2(1, 2), _proofFor(other, _values2(1, 2), address(this)));
    }

    function test_fulfill_revertsOnGarbageProof() public {
        uint256 id = _requestAs(requester, _input(4, 2), 0);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values2(1, 2), hex"deadbeef");
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values2(1, 2), "");
    }

    function test_fulfill_revertsOnOutputLength() public {
        uint256 id = _requestAs(requester, _input(4, 2), 0);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.OutputLengthMismatch.selector, 2, 1));
        oracle.fulfill(id, _values1(1), "");
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.OutputLengthMismatch.selector, 2, 4));
        oracle.fulfill(id, _values4(1, 2, 3, 4), "");
    }

    function test_fulfill_revertsOnOutputOutOfField() public {
        int256[] memory input = _input(4, 2);
        uint256 id = _requestAs(requester, input, 0);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.OutputOutOfRange.selector, 1, HALF_P + 1));
        oracle.fulfill(id, _values2(0, HALF_P + 1), "");
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceOracle.OutputOutOfRange.selector, 0, type(int256).min)
        );
        oracle.fulfill(id, _values2(type(int256).min, 0), "");
        // the extremes of the field range verify
        _fulfill(id, input, _values2(HALF_P, -HALF_P));
    }

    function testFuzz_fulfill_outputRangeAndEncoding(int256 y) public {
        int256[] memory input = _input(4, 8);
        uint256 id = _requestAs(requester, input, 0);
        int256[] memory output = _values2(y, -3);
        if (y > HALF_P || y < -HALF_P) {
            vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.OutputOutOfRange.selector, 0, y));
            oracle.fulfill(id, output, "");
            return;
        }
        assertEq(
            oracle.buildInstances(id, output, fulfiller),
            _instances(input, output, _noWords(), fulfiller),
            "encoding"
        );
        _fulfill(id, input, output);
        assertEq(oracle.getResult(id), output, "result");
    }

    function testFuzz_fulfill_rejectsAnyOtherOutput(int256 proven, int256 posted) public {
        proven = proven % HALF_P;
        posted = posted % HALF_P;
        vm.assume(proven != posted);
        int256[] memory input = _input(4, 8);
        uint256 id = _requestAs(requester, input, 0);
        bytes memory proof = _proofFor(input, _values2(proven, 0), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values2(posted, 0), proof);
    }

    function test_fulfill_revertsWhenNotPending() public {
        int256[] memory input = _input(4, 2);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, 42));
        oracle.fulfill(42, _values2(1, 2), "");

        uint256 id = _requestAs(requester, input, 0);
        _fulfill(id, input, _values2(1, 2));
        bytes memory proof = _proofFor(input, _values2(1, 2), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, id));
        oracle.fulfill(id, _values2(1, 2), proof);
    }

    function test_fulfill_acceptsAtDeadlineRevertsAfter() public {
        int256[] memory input = _input(4, 2);
        uint256 id = _requestAs(requester, input, 0);
        uint256 id2 = _requestAs(requester, input, 0);
        uint64 deadline = oracle.getRequest(id).deadline;
        vm.warp(deadline);
        _fulfill(id, input, _values2(1, 2));
        vm.warp(uint256(deadline) + 1);
        bytes memory proof = _proofFor(input, _values2(1, 2), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestExpired.selector, id2, deadline));
        oracle.fulfill(id2, _values2(1, 2), proof);
    }

    function test_fulfill_revertsWhenVerifierReverts() public {
        _assertVerifierRejects(address(new RevertingVerifier()));
    }

    function test_fulfill_revertsOnMalformedVerifierReturn() public {
        _assertVerifierRejects(address(new MalformedReturnVerifier(false)));
        _assertVerifierRejects(address(new MalformedReturnVerifier(true)));
        _assertVerifierRejects(address(new ReturnBombVerifier()));
    }

    function _assertVerifierRejects(address bad) internal {
        IInferenceOracle.ModelParams memory p = _params(1, 1);
        p.verifier = bad;
        uint256 m = _register(p);
        vm.prank(requester);
        uint256 id = oracle.requestInference{value: FEE}(m, _values1(1), 0);
        bytes memory proof = _proofFor(_values1(1), _values1(1), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values1(1), proof);
    }

    function test_fulfill_capsGasForwardedToVerifier() public {
        IInferenceOracle.ModelParams memory p = _params(1, 1);
        p.verifier = address(new GasBurnerVerifier());
        p.verifierGasLimit = 100_000;
        uint256 m = _register(p);
        vm.prank(requester);
        uint256 id = oracle.requestInference{value: FEE}(m, _values1(1), 0);

        uint256 before = gasleft();
        try oracle.fulfill{gas: 5_000_000}(id, _values1(1), hex"00") {
            revert AssertionFailed("burner accepted");
        } catch (bytes memory err) {
            assertEq(
                keccak256(err),
                keccak256(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id)),
                "err"
            );
        }
        uint256 used = before - gasleft();
        assertLe(used, 200_000, "at most the verifier cap plus overhead is burned");
        assertGe(used, 100_000, "the verifier got its cap");
    }

    // ==========================================================================================================
    // fulfill: consumer callback
    // ==========================================================================================================

    function test_fulfill_callsConsumerWithExactGas() public {
        int256[] memory input = _input(4, 5);
        int256[] memory output = _values2(7, -7);
        uint32 gasLimit = 323_456;
        uint256 id = _consumerRequest(input, gasLimit);
        bytes memory proof = _proofFor(input, output, fulfiller);
        vm.expectCall(
            address(consumer), 0, gasLimit, abi.encodeCall(IInferenceConsumer.onInferenceResult, (id, output))
        );
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.InferenceFulfilled(id, modelId, fulfiller, output, true);
        vm.prank(fulfiller);
        oracle.fulfill{gas: 1_000_000}(id, output, proof);

        assertEq(consumer.calls(), 1, "called once");
        assertEq(consumer.lastRequestId(), id, "request id");
        assertEq(consumer.lastOutput(), output, "output delivered");
        assertLe(consumer.gasAtEntry(), gasLimit, "no more than the limit");
        assertGe(consumer.gasAtEntry(), gasLimit - 2_000, "the limit minus dispatch");
        assertTrue(oracle.getRequest(id).callbackSuccess, "success recorded");
    }

    function test_fulfill_revertsWhenGasCannotCoverCallback() public {
        int256[] memory input = _input(4, 5);
        int256[] memory output = _values2(7, -7);
        uint256 id = _consumerRequest(input, 1_000_000);
        bytes memory proof = _proofFor(input, output, fulfiller);
        vm.expectRevert(
            abi.encodeWithSelector(IInferenceOracle.InsufficientGasForCallback.selector, id, 1_000_000)
        );
        vm.prank(fulfiller);
        oracle.fulfill{gas: 600_000}(id, output, proof);
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Pending, "nothing changed");
        assertEq(oracle.withdrawable(fulfiller), 0, "no credit");
    }

    function test_fulfill_recordsRevertingCallbackWithoutUndoing() public {
        consumer.setMode(TestConsumer.Mode.Revert);
        int256[] memory input = _input(4, 5);
        int256[] memory output = _values2(1, 1);
        uint256 id = _consumerRequest(input, 100_000);
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.InferenceFulfilled(id, modelId, fulfiller, output, false);
        _fulfill(id, input, output);
        IInferenceOracle.Request memory r = oracle.getRequest(id);
        assertTrue(r.status == IInferenceOracle.RequestStatus.Fulfilled, "fulfilled");
        assertTrue(!r.callbackSuccess, "failure recorded");
        assertEq(oracle.getResult(id), output, "result kept");
        assertEq(oracle.withdrawable(fulfiller), _feeFor(FEE, 100_000), "fee kept");
        assertEq(consumer.calls(), 0, "callback state rolled back");
    }

    function test_fulfill_recordsOutOfGasCallback() public {
        consumer.setMode(TestConsumer.Mode.BurnGas);
        int256[] memory input = _input(4, 5);
        uint256 id = _consumerRequest(input, 200_000);
        uint256 before = gasleft();
        _fulfill(id, input, _values2(1, 1));
        assertLe(before - gasleft(), 600_000, "a burning callback costs its limit, not the transaction");
        assertTrue(!oracle.getRequest(id).callbackSuccess, "failure recorded");
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Fulfilled, "fulfilled");
    }

    /// @dev Issue #22 item 1: a requester whose callback burns its whole gas limit, requesting at the flat
    ///      model fee, made the fulfiller pay up to 2M gas per request. The fulfiller's extra gas for the
    ///      callback (measured against the same fulfilment without a callback) must now be covered by what the
    ///      requester paid beyond the model fee, at the oracle's callback gas price.
    function test_fulfill_gasBurningCallbackIsPaidByRequester() public {
        vm.prank(oracleOwner);
        oracle.setCallbackGasPrice(20 gwei);
        consumer.setMode(TestConsumer.Mode.BurnGas);
        int256[] memory input = _input(4, 5);
        int256[] memory output = _values2(1, 1);

        // Baseline: the same request without a callback (an EOA), same storage shape, cold state.
        uint256 plain = _requestAs(requester, input, 0);
        uint256 burning = consumer.request{value: oracle.estimateFee(modelId, MAX_CALLBACK_GAS)}(
            modelId, input, MAX_CALLBACK_GAS
        );
        uint256 paid = oracle.getRequest(burning).feePaid;
        assertEq(paid, oracle.estimateFee(modelId, MAX_CALLBACK_GAS), "paid the estimate");

        // Two fulfillers with no credit yet, so both fulfilments pay the same storage writes; each sends the
        // proof made for its own address (the same length and number of non-zero bytes).
        address other = address(0xF00E);
        bytes memory otherProof = _proofFor(input, output, other);
        bytes memory fulfillerProof = _proofFor(input, output, fulfiller);
        vm.cool(address(oracle));
        vm.cool(address(verifier));
        vm.prank(other);
        uint256 g0 = gasleft();
        oracle.fulfill{gas: 3_000_000}(plain, output, otherProof);
        uint256 plainGas = g0 - gasleft();

        vm.cool(address(oracle));
        vm.cool(address(verifier));
        vm.cool(address(consumer));
        vm.prank(fulfiller);
        g0 = gasleft();
        oracle.fulfill{gas: 3_000_000}(burning, output, fulfillerProof);
        uint256 burningGas = g0 - gasleft();
        assertTrue(!oracle.getRequest(burning).callbackSuccess, "the callback ran out of gas");

        uint256 callbackCost = (burningGas - plainGas) * oracle.callbackGasPrice();
        assertGe(burningGas - plainGas, MAX_CALLBACK_GAS - 5_000, "the callback burned its whole limit");
        assertGe(paid - FEE, callbackCost, "the requester paid for every unit of callback gas");
        assertEq(oracle.withdrawable(fulfiller), paid, "the fulfiller is credited the whole fee");
        assertEq(oracle.withdrawable(other), FEE, "no callback: the model fee");
    }

    function test_fulfill_skipsCallbackWithZeroGasLimit() public {
        int256[] memory input = _input(4, 5);
        uint256 id = _consumerRequest(input, 0);
        _fulfill(id, input, _values2(1, 1));
        assertEq(consumer.calls(), 0, "not called");
        assertTrue(!oracle.getRequest(id).callbackSuccess, "no callback");
    }

    function test_fulfill_reentrantFulfillFails() public {
        consumer.setMode(TestConsumer.Mode.ReenterFulfill);
        int256[] memory input = _input(4, 5);
        int256[] memory output = _values2(4, 4);
        uint256 id = _consumerRequest(input, 300_000);
        // a proof made for the consumer, the re-entrant caller: only the status check can stop it
        consumer.setReentryProof(_proofFor(input, output, address(consumer)));
        _fulfill(id, input, output);
        assertEq(
            keccak256(consumer.reentryError()),
            keccak256(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, id)),
            "second fulfilment refused inside the callback"
        );
        assertEq(consumer.calls(), 1, "callback ran once");
        assertEq(oracle.withdrawable(fulfiller), _feeFor(FEE, 300_000), "paid once");
        assertEq(oracle.withdrawable(address(consumer)), 0, "re-entrant caller unpaid");
    }

    function test_fulfill_reentrantCancelFails() public {
        consumer.setMode(TestConsumer.Mode.ReenterCancel);
        int256[] memory input = _input(4, 5);
        uint256 id = _consumerRequest(input, 300_000);
        _fulfill(id, input, _values2(4, 4));
        assertEq(
            keccak256(consumer.reentryError()),
            keccak256(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, id)),
            "cancel refused inside the callback"
        );
        assertEq(oracle.withdrawable(address(consumer)), 0, "no refund");
    }

    // ==========================================================================================================
    // cancel / withdraw
    // ==========================================================================================================

    function test_cancel_refundsAfterDeadline() public {
        uint256 id = _requestAs(requester, _input(4, 1), 0);
        uint64 deadline = oracle.getRequest(id).deadline;
        vm.warp(uint256(deadline) + 1);
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.InferenceCancelled(id, requester, FEE);
        vm.prank(stranger); // permissionless: the refund still goes to the requester
        oracle.cancel(id);
        IInferenceOracle.Request memory r = oracle.getRequest(id);
        assertTrue(r.status == IInferenceOracle.RequestStatus.Cancelled, "cancelled");
        assertEq(r.commitment, bytes32(0), "commitment deleted");
        assertEq(oracle.withdrawable(requester), FEE, "refund credited");
        assertEq(oracle.withdrawable(stranger), 0, "caller gets nothing");
    }

    function test_cancel_revertsBeforeOrAtDeadline() public {
        uint256 id = _requestAs(requester, _input(4, 1), 0);
        uint64 deadline = oracle.getRequest(id).deadline;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotExpired.selector, id, deadline));
        oracle.cancel(id);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotExpired.selector, id, deadline));
        oracle.cancel(id);
    }

    function test_cancel_revertsWhenNotPending() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, 5));
        oracle.cancel(5);
        int256[] memory input = _input(4, 1);
        uint256 id = _requestAs(requester, input, 0);
        _fulfill(id, input, _values2(0, 0));
        vm.warp(block.timestamp + TIMEOUT + 1);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, id));
        oracle.cancel(id);

        uint256 id2 = _requestAs(requester, input, 0);
        vm.warp(block.timestamp + TIMEOUT + 1);
        oracle.cancel(id2);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, id2));
        oracle.cancel(id2);
        bytes memory proof = _proofFor(input, _values2(0, 0), address(this));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, id2));
        oracle.fulfill(id2, _values2(0, 0), proof);
    }

    function test_cancel_keepsRequestTimeoutOfItsTime() public {
        uint256 id = _requestAs(requester, _input(4, 1), 0);
        vm.prank(oracleOwner);
        oracle.setRequestTimeout(30 days);
        vm.warp(block.timestamp + TIMEOUT + 1);
        oracle.cancel(id); // the old deadline applies
    }

    function test_withdraw_sendsCreditAndEmits() public {
        int256[] memory input = _input(4, 1);
        uint256 id = _requestAs(requester, input, 0);
        _fulfill(id, input, _values2(0, 0));
        address payable to = payable(address(0xD00D));
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.Withdrawn(fulfiller, to, FEE);
        vm.prank(fulfiller);
        assertEq(oracle.withdraw(to), FEE, "amount");
        assertEq(to.balance, FEE, "paid");
        assertEq(oracle.withdrawable(fulfiller), 0, "cleared");
        assertEq(address(oracle).balance, 0, "oracle empty");
    }

    function test_withdraw_revertsWithNothing() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        oracle.withdraw(payable(stranger));
    }

    function test_withdraw_revertsToZeroAddress() public {
        int256[] memory input = _input(4, 1);
        uint256 id = _requestAs(requester, input, 0);
        _fulfill(id, input, _values2(0, 0));
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.TransferFailed.selector, address(0), FEE));
        vm.prank(fulfiller);
        oracle.withdraw(payable(address(0)));
    }

    function test_withdraw_failedPushDoesNotLockFunds() public {
        EtherRejecter rejecter = new EtherRejecter(oracle);
        uint256 id = rejecter.request{value: FEE}(modelId, _input(4, 1));
        vm.warp(block.timestamp + TIMEOUT + 1);
        oracle.cancel(id); // the refund is credited, so a requester that rejects ether cannot block cancel
        assertEq(oracle.withdrawable(address(rejecter)), FEE, "credited");

        vm.expectRevert(
            abi.encodeWithSelector(IInferenceOracle.TransferFailed.selector, address(rejecter), FEE)
        );
        rejecter.withdrawTo(payable(address(rejecter)));
        assertEq(oracle.withdrawable(address(rejecter)), FEE, "still credited after a failed push");

        rejecter.withdrawTo(payable(address(0xD00D)));
        assertEq(address(0xD00D).balance, FEE, "withdrawn elsewhere");
    }

    // ==========================================================================================================
    // views
    // ==========================================================================================================

    function test_buildInstances_revertsForUnknownOrCancelled() public {
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, 3));
        oracle.buildInstances(3, _values2(0, 0), fulfiller);
        uint256 id = _requestAs(requester, _input(4, 1), 0);
        vm.warp(block.timestamp + TIMEOUT + 1);
        oracle.cancel(id);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.RequestNotPending.selector, id));
        oracle.buildInstances(id, _values2(0, 0), fulfiller);
    }

    function test_getResult_emptyUntilFulfilled() public {
        int256[] memory input = _input(4, 1);
        uint256 id = _requestAs(requester, input, 0);
        assertEq(oracle.getResult(id).length, 0, "empty");
        _fulfill(id, input, _values2(9, 8));
        assertEq(oracle.getResult(id), _values2(9, 8), "stored");
    }
}
