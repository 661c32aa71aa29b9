// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";
import {TestConsumer} from "./helpers/TestConsumer.sol";

/// @notice Issue #22, item 2: a proof names its fulfiller. The last public instance is
///         `uint256(uint160(msg.sender))` of `fulfill`, so the calldata of a pending fulfilment, copied from the
///         mempool and resent by another address with a higher tip, no longer verifies. The HashCheckVerifier
///         accepts a proof only for its exact instance vector, which stands in for the halo2 transcript absorbing
///         every instance; GoldenVerifier.t.sol runs the same attack against a real proof.
contract FulfillerBindingTest is OracleTestBase {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        modelId = _register(_params(4, 2));
    }

    function _request(int256[] memory input) internal returns (uint256) {
        vm.prank(requester);
        return oracle.requestInference{value: FEE}(modelId, input, 0);
    }

    /// @dev The attack: the relayer proves the instances `buildInstances` gives for its own address (what it
    ///      `eth_call`s before proving) and sends `fulfill`; a bot resends the same calldata first. Before the
    ///      fix the instances did not depend on the sender and the bot was paid.
    function test_fulfill_revertsWhenProofCopiedByAnotherSender() public {
        int256[] memory input = _input(4, 21);
        int256[] memory output = _values2(-77, 12_345);
        uint256 id = _request(input);
        bytes memory proof = _proof(oracle.buildInstances(id, output, fulfiller));

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, output, proof);
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Pending, "still pending");
        assertEq(oracle.withdrawable(stranger), 0, "the copier is not paid");

        // the relayer's own transaction, mined after the copy, still succeeds
        vm.expectEmit(true, true, true, true);
        emit IInferenceOracle.InferenceFulfilled(id, modelId, fulfiller, output, false);
        vm.prank(fulfiller);
        oracle.fulfill(id, output, proof);
        assertEq(oracle.getResult(id), output, "result");
        assertEq(oracle.withdrawable(fulfiller), FEE, "the prover is paid");
        assertEq(oracle.withdrawable(stranger), 0, "the copier still is not");
    }

    /// @dev The copied proof also fails through a consumer request: nothing is delivered to the consumer.
    function test_fulfill_copiedProofDeliversNothingToConsumer() public {
        TestConsumer consumer = new TestConsumer(oracle);
        vm.deal(address(consumer), 1 ether);
        int256[] memory input = _input(4, 5);
        int256[] memory output = _values2(7, -7);
        uint256 id = consumer.request{value: _feeFor(FEE, 200_000)}(modelId, input, 200_000);
        bytes memory proof = _proofFor(input, output, fulfiller);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, output, proof);
        assertEq(consumer.calls(), 0, "no callback");

        vm.prank(fulfiller);
        oracle.fulfill(id, output, proof);
        assertEq(consumer.calls(), 1, "delivered once, to the prover's fulfilment");
        assertEq(oracle.withdrawable(fulfiller), _feeFor(FEE, 200_000), "the prover is paid");
    }

    /// @dev A fleet: each relayer proves for its own address; each proof is good only for its sender.
    function test_fulfill_acceptsEachFleetInstanceOwnProofOnly() public {
        address relayerA = address(0xA1);
        address relayerB = address(0xB2);
        int256[] memory input = _input(4, 9);
        int256[] memory output = _values2(1, 2);
        uint256 idA = _request(input);
        uint256 idB = _request(input);
        bytes memory proofA = _proofFor(input, output, relayerA);
        bytes memory proofB = _proofFor(input, output, relayerB);

        vm.prank(relayerB);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, idA));
        oracle.fulfill(idA, output, proofA);
        vm.prank(relayerA);
        oracle.fulfill(idA, output, proofA);
        vm.prank(relayerB);
        oracle.fulfill(idB, output, proofB);
        assertEq(oracle.withdrawable(relayerA), FEE, "A paid for its request");
        assertEq(oracle.withdrawable(relayerB), FEE, "B paid for its request");
    }

    function test_buildInstances_differOnlyInFulfillerInstance() public {
        int256[] memory input = _values4(-1, 0, 1, -1000);
        int256[] memory output = _values2(-5, 5);
        uint256 id = _request(input);
        uint256[] memory a = oracle.buildInstances(id, output, fulfiller);
        uint256[] memory b = oracle.buildInstances(id, output, stranger);
        assertEq(a, _instances(input, output, _noWords(), fulfiller), "the spec's layout");
        assertEq(a.length, 4 + 2 + 1, "inputs, outputs, fulfiller");
        assertEq(b.length, a.length, "same length");
        for (uint256 i; i < a.length - 1; ++i) {
            assertEq(a[i], b[i], "same inputs and outputs");
        }
        assertEq(a[a.length - 1], uint256(uint160(fulfiller)), "fulfiller a");
        assertEq(b[b.length - 1], uint256(uint160(stranger)), "fulfiller b");
    }

    function testFuzz_buildInstances_fulfillerIsLastInstance(address a, address b) public {
        vm.assume(a != b);
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.weightsCommitment = _words1(P - 1);
        uint256 committed = _register(p);
        int256[] memory input = _values2(3, -4);
        vm.prank(requester);
        uint256 id = oracle.requestInference{value: FEE}(committed, input, 0);

        uint256[] memory ia = oracle.buildInstances(id, _values1(9), a);
        uint256[] memory ib = oracle.buildInstances(id, _values1(9), b);
        assertEq(
            ia, _instances(input, _values1(9), _words1(P - 1), a), "[input, output, commitment, fulfiller]"
        );
        assertEq(ia[ia.length - 2], P - 1, "the commitment precedes the fulfiller");
        assertEq(ia[ia.length - 1], uint256(uint160(a)), "the fulfiller is last");
        assertTrue(ia[ia.length - 1] < P, "an address is a canonical field element");
        assertTrue(ia[ia.length - 1] != ib[ib.length - 1], "distinct fulfillers, distinct instances");
        for (uint256 i; i < ia.length - 1; ++i) {
            assertEq(ia[i], ib[i], "nothing else depends on the fulfiller");
        }
    }

    /// @dev A proof in the layout before the fix (no fulfiller instance) verifies for no sender.
    function test_fulfill_revertsOnProofWithoutFulfillerInstance() public {
        int256[] memory input = _input(4, 3);
        int256[] memory output = _values2(4, 4);
        uint256 id = _request(input);
        uint256[] memory full = _instances(input, output, _noWords(), fulfiller);
        uint256[] memory old = new uint256[](full.length - 1);
        for (uint256 i; i < old.length; ++i) {
            old[i] = full[i];
        }
        bytes memory oldProof = _proof(old);
        vm.prank(fulfiller);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, output, oldProof);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, output, oldProof);
    }
}
