// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {InferenceOracle} from "../../InferenceOracle.sol";
import {IHalo2Verifier} from "../../interfaces/IHalo2Verifier.sol";
import {IInferenceConsumerBase} from "../../interfaces/IInferenceConsumerBase.sol";
import {IInferenceOracle} from "../../interfaces/IInferenceOracle.sol";
import {ModelPin} from "../../libraries/ModelPin.sol";
import {TestBase} from "../Vm.sol";
import {HashCheckVerifier} from "./HashCheckVerifier.sol";

/// @notice Shared fixture for oracle and consumer tests. The verifier comes from `_deployVerifier()` and proofs
///         from `_proof(instances)`: the default pair is the HashCheckVerifier; a suite bound to a real generated
///         verifier overrides both (see GoldenVerifier.t.sol).
abstract contract OracleTestBase is TestBase {
    /// @dev The BN254 scalar field modulus, written out independently of the oracle's constant.
    uint256 internal constant P =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    int256 internal constant HALF_P =
        10944121435919637611123202872628637544274182200208017171849102093287904247808; // (P - 1) / 2

    uint64 internal constant TIMEOUT = 1 hours;
    uint32 internal constant MAX_CALLBACK_GAS = 2_000_000;
    uint32 internal constant VERIFIER_GAS = 1_000_000;
    uint256 internal constant FEE = 0.01 ether;
    bytes32 internal constant VK_DIGEST = keccak256("vk");
    /// @dev The oracle's default callback gas price and per-callback overhead (the spec, not the oracle's code).
    uint256 internal constant CALLBACK_GAS_PRICE = 1 gwei;
    uint256 internal constant CALLBACK_OVERHEAD = 10_000;

    address internal oracleOwner = address(0xA11CE);
    address internal modelOwner = address(0xB0B);
    address internal fulfiller = address(0xF00D);
    address internal requester = address(0xCAFE);
    address internal stranger = address(0xBAD);

    InferenceOracle internal oracle;
    IHalo2Verifier internal verifier;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        oracle = new InferenceOracle(oracleOwner, TIMEOUT, MAX_CALLBACK_GAS);
        verifier = _deployVerifier();
        vm.deal(requester, 100 ether);
        vm.deal(stranger, 100 ether);
    }

    /// @dev The verifier every model in the suite uses.
    function _deployVerifier() internal virtual returns (IHalo2Verifier) {
        return new HashCheckVerifier();
    }

    /// @dev A proof the suite's verifier accepts for `instances`.
    function _proof(uint256[] memory instances) internal view virtual returns (bytes memory) {
        return abi.encode(instances);
    }

    // --------------------------------------------------------------------------------------------------------
    // Fixtures
    // --------------------------------------------------------------------------------------------------------

    function _params(uint32 inputLen, uint32 outputLen)
        internal
        view
        returns (IInferenceOracle.ModelParams memory)
    {
        return IInferenceOracle.ModelParams({
            verifier: address(verifier),
            vkDigest: VK_DIGEST,
            weightsCommitment: new uint256[](0),
            inputLen: inputLen,
            outputLen: outputLen,
            inputScale: 7,
            outputScale: 7,
            maxAbsInput: 1000,
            fee: FEE,
            verifierGasLimit: VERIFIER_GAS
        });
    }

    /// @dev What a request with `callbackGas` pays at the default callback gas price: the model fee plus the
    ///      reserved gas (limit + overhead) when a callback is asked for.
    function _feeFor(uint256 modelFee, uint32 callbackGas) internal pure returns (uint256) {
        if (callbackGas == 0) return modelFee;
        return modelFee + (uint256(callbackGas) + CALLBACK_OVERHEAD) * CALLBACK_GAS_PRICE;
    }

    /// @dev The pin a deployer who checked `params` and the verifier's deployed code would pass a consumer.
    function _pin(IInferenceOracle.ModelParams memory params) internal view returns (ModelPin.Pin memory) {
        return ModelPin.Pin({
            verifier: params.verifier,
            verifierCodehash: params.verifier.codehash,
            vkDigest: params.vkDigest,
            weightsCommitmentHash: ModelPin.commitmentHash(params.weightsCommitment)
        });
    }

    function _register(IInferenceOracle.ModelParams memory params) internal returns (uint256 modelId) {
        vm.prank(modelOwner);
        modelId = oracle.registerModel(params);
    }

    function _input(uint256 len, int256 seed) internal pure returns (int256[] memory input) {
        input = new int256[](len);
        for (uint256 i; i < len; ++i) {
            // alternating signs, within ±1000
            // forge-lint: disable-next-line(unsafe-typecast)
            int256 v = (seed + int256(i) * 37) % 1000;
            input[i] = i % 2 == 0 ? v : -v;
        }
    }

    function _values1(int256 a) internal pure returns (int256[] memory v) {
        v = new int256[](1);
        v[0] = a;
    }

    function _values2(int256 a, int256 b) internal pure returns (int256[] memory v) {
        v = new int256[](2);
        v[0] = a;
        v[1] = b;
    }

    function _values4(int256 a, int256 b, int256 c, int256 d) internal pure returns (int256[] memory v) {
        v = new int256[](4);
        v[0] = a;
        v[1] = b;
        v[2] = c;
        v[3] = d;
    }

    /// @dev No weights commitment: the weights are fixed in the verifying key.
    function _noWords() internal pure returns (uint256[] memory) {
        return new uint256[](0);
    }

    /// @dev A one-word weights commitment (`--params hashed`: the Poseidon hash of the weights).
    function _words1(uint256 a) internal pure returns (uint256[] memory w) {
        w = new uint256[](1);
        w[0] = a;
    }

    /// @dev A four-word weights commitment (`--params private`, one column: the KZG commitment point's limbs
    ///      `x_lo, x_hi, y_lo, y_hi`).
    function _words4(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (uint256[] memory w) {
        w = new uint256[](4);
        w[0] = a;
        w[1] = b;
        w[2] = c;
        w[3] = d;
    }

    // --------------------------------------------------------------------------------------------------------
    // Independent instance encoding (the spec, not the oracle's code)
    // --------------------------------------------------------------------------------------------------------

    // forge-lint: disable-start(unsafe-typecast)
    function _field(int256 x) internal pure returns (uint256) {
        if (x >= 0) return uint256(x);
        return P - uint256(-x);
    }

    function _signed(uint256 f) internal pure returns (int256) {
        if (f <= uint256(HALF_P)) return int256(f);
        return -int256(P - f);
    }
    // forge-lint: disable-end(unsafe-typecast)

    /// @dev `[input..., output..., commitment..., uint256(uint160(who))]`: the instances a proof for a fulfilment
    ///      sent by `who` is made for.
    function _instances(
        int256[] memory input,
        int256[] memory output,
        uint256[] memory commitment,
        address who
    ) internal pure returns (uint256[] memory inst) {
        uint256 at = input.length + output.length;
        inst = new uint256[](at + commitment.length + 1);
        for (uint256 i; i < input.length; ++i) {
            inst[i] = _field(input[i]);
        }
        for (uint256 j; j < output.length; ++j) {
            inst[input.length + j] = _field(output[j]);
        }
        for (uint256 k; k < commitment.length; ++k) {
            inst[at + k] = commitment[k];
        }
        inst[inst.length - 1] = uint256(uint160(who));
    }

    /// @dev A proof for `output` on a request of a model without weights commitment, made for the fulfiller
    ///      `who` (the address that calls `fulfill` with it).
    function _proofFor(int256[] memory input, int256[] memory output, address who)
        internal
        view
        returns (bytes memory)
    {
        return _proof(_instances(input, output, _noWords(), who));
    }

    // --------------------------------------------------------------------------------------------------------
    // Asserts
    // --------------------------------------------------------------------------------------------------------

    function assertEq(bool a, bool b, string memory message) internal pure {
        if (a != b) revert AssertionFailed(message);
    }

    function assertEq(int256[] memory a, int256[] memory b, string memory message) internal pure {
        if (a.length != b.length) revert AssertionFailed(message);
        for (uint256 i; i < a.length; ++i) {
            if (a[i] != b[i]) revert AssertionFailed(message);
        }
    }

    function assertEq(uint256[] memory a, uint256[] memory b, string memory message) internal pure {
        if (a.length != b.length) revert AssertionFailed(message);
        for (uint256 i; i < a.length; ++i) {
            if (a[i] != b[i]) revert AssertionFailed(message);
        }
    }

    function assertLe(uint256 a, uint256 b, string memory message) internal pure {
        if (a > b) revert AssertionFailed(message);
    }

    function assertGe(uint256 a, uint256 b, string memory message) internal pure {
        if (a < b) revert AssertionFailed(message);
    }

    /// @dev A consumer's two-step ownership, like the oracle's: only the owner starts a transfer, only the
    ///      pending owner completes it.
    function _checkTwoStepOwnership(IInferenceConsumerBase consumer, address currentOwner) internal {
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, stranger));
        vm.prank(stranger);
        consumer.transferOwnership(stranger);
        vm.expectEmit(true, true, true, true);
        emit IInferenceConsumerBase.OwnershipTransferStarted(currentOwner, stranger);
        vm.prank(currentOwner);
        consumer.transferOwnership(stranger);
        assertEq(consumer.owner(), currentOwner, "owner until accepted");
        assertEq(consumer.pendingOwner(), stranger, "pending owner");
        vm.expectRevert(abi.encodeWithSelector(IInferenceConsumerBase.Unauthorized.selector, currentOwner));
        vm.prank(currentOwner);
        consumer.acceptOwnership();
        vm.expectEmit(true, true, true, true);
        emit IInferenceConsumerBase.OwnershipTransferred(currentOwner, stranger);
        vm.prank(stranger);
        consumer.acceptOwnership();
        assertEq(consumer.owner(), stranger, "owner");
        assertEq(consumer.pendingOwner(), address(0), "pending owner cleared");
    }

    function _status(uint256 requestId) internal view returns (IInferenceOracle.RequestStatus status) {
        (status,) = oracle.getRequestStatus(requestId);
    }
}
