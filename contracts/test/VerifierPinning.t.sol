// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {RiskParameterGate} from "../RiskParameterGate.sol";
import {SpreadGatedAMM} from "../SpreadGatedAMM.sol";
import {IInferenceOracle} from "../interfaces/IInferenceOracle.sol";
import {ModelPin} from "../libraries/ModelPin.sol";
import {RiskFixture} from "./RiskParameterGate.t.sol";
import {AMMFixture} from "./SpreadGatedAMM.t.sol";
import {OracleTestBase} from "./helpers/OracleTestBase.sol";
import {
    AcceptAllVerifier,
    StateWritingVerifier,
    SwitchableVerifier,
    VerifierProxy
} from "./helpers/MutableVerifiers.sol";

/// @notice Issue #22, item 3: a model's verifier cannot change behaviour after registration by changing its code,
///         and consumers refuse a model that is not the one they pinned. Also what code hash pinning does not
///         stop (a verifier whose unchanged code reads mutable state), so the limit stays documented by a test.
contract VerifierCodeTest is OracleTestBase {
    uint256 internal modelId;

    function setUp() public override {
        super.setUp();
        modelId = _register(_params(2, 1));
    }

    function _request(uint256 model) internal returns (uint256) {
        vm.prank(requester);
        return oracle.requestInference{value: FEE}(model, _values2(3, -4), 0);
    }

    function test_registerModel_recordsVerifierCodehash() public view {
        bytes32 recorded = oracle.getModel(modelId).verifierCodehash;
        assertEq(recorded, address(verifier).codehash, "the verifier's code hash");
        assertEq(recorded, keccak256(address(verifier).code), "keccak256 of its runtime code");
    }

    function test_registerModel_revertsOnDelegationDesignator() public {
        // An EIP-7702 delegated EOA: its code is 0xef0100 ++ the delegate's address (23 bytes); the delegate (and
        // so the "verifier") is whatever its key holder signs next.
        address delegated = address(0x7702);
        vm.etch(delegated, abi.encodePacked(hex"ef0100", address(verifier)));
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.verifier = delegated;
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.VerifierIsDelegated.selector, delegated));
        oracle.registerModel(p);
    }

    /// @dev The attack: the verifier's code is replaced (re-delegation, a metamorphic redeploy, a state
    ///      override) with code that accepts anything; a garbage proof then fulfilled the request.
    function test_fulfill_revertsWhenVerifierCodeChanged() public {
        uint256 id = _request(modelId);
        bytes32 registered = address(verifier).codehash;
        vm.etch(address(verifier), type(AcceptAllVerifier).runtimeCode);
        bytes32 swapped = address(verifier).codehash;
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceOracle.VerifierCodeChanged.selector, modelId, registered, swapped
            )
        );
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(77), hex"00");
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Pending, "nothing fulfilled");
    }

    function test_fulfill_revertsWhenVerifierCodeRemoved() public {
        uint256 id = _request(modelId);
        bytes32 registered = address(verifier).codehash;
        vm.etch(address(verifier), "");
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceOracle.VerifierCodeChanged.selector, modelId, registered, address(verifier).codehash
            )
        );
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(77), hex"00");
    }

    /// @dev STATICCALL: a verifier cannot write state while verifying (so it cannot, e.g., switch itself or a
    ///      consumer mid-fulfilment); the write reverts and the proof counts as rejected.
    function test_fulfill_revertsWhenVerifierWritesState() public {
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        StateWritingVerifier writer = new StateWritingVerifier();
        p.verifier = address(writer);
        uint256 m = _register(p);
        uint256 id = _request(m);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(77), hex"00");
        assertEq(writer.calls(), 0, "no state written");
    }

    /// @dev The limit of code hash pinning, kept visible: a verifier whose code reads state its deployer controls
    ///      keeps its code hash when it changes behaviour, and the oracle accepts what it accepts. Consumers are
    ///      protected by pinning a code hash they checked is a generated verifier (VerifierPinning's consumer
    ///      tests), not by the oracle.
    function test_fulfill_stateReadingVerifierKeepsItsCodehash() public {
        SwitchableVerifier switchable = new SwitchableVerifier();
        IInferenceOracle.ModelParams memory p = _params(2, 1);
        p.verifier = address(switchable);
        uint256 m = _register(p);
        uint256 id = _request(m);
        bytes32 registered = address(switchable).codehash;

        vm.prank(fulfiller);
        vm.expectRevert(abi.encodeWithSelector(IInferenceOracle.InvalidProof.selector, id));
        oracle.fulfill(id, _values1(77), hex"00");

        switchable.setAcceptAll(true);
        assertEq(address(switchable).codehash, registered, "same code hash");
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(77), hex"00");
        assertEq(oracle.getResult(id), _values1(77), "the oracle cannot tell");
    }
}

/// @notice The pool pins its model; mismatches are refused at construction and on every result.
contract AMMPinTest is AMMFixture {
    function _deploy(ModelPin.Pin memory pin) internal returns (SpreadGatedAMM) {
        return new SpreadGatedAMM(oracle, spreadModel, pin, token0, token1, _spreadConfig(), ammOwner);
    }

    function test_constructor_pinsModel() public view {
        assertEq(amm.pinnedVerifier(), address(verifier), "verifier");
        assertEq(amm.pinnedVerifierCodehash(), address(verifier).codehash, "code hash");
    }

    function test_constructor_revertsOnPinMismatch() public {
        ModelPin.Pin memory pin = _ammPin();
        pin.verifier = address(0xBEEF);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedVerifierMismatch.selector, spreadModel, address(0xBEEF), address(verifier)
            )
        );
        _deploy(pin);

        pin = _ammPin();
        pin.verifierCodehash = keccak256("other code");
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedCodehashMismatch.selector,
                spreadModel,
                keccak256("other code"),
                address(verifier).codehash
            )
        );
        _deploy(pin);

        pin = _ammPin();
        pin.vkDigest = keccak256("other vk");
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedVkDigestMismatch.selector, spreadModel, keccak256("other vk"), VK_DIGEST
            )
        );
        _deploy(pin);

        // a commitment pinned for a model registered without one
        pin = _ammPin();
        pin.weightsCommitmentHash = ModelPin.commitmentHash(_words1(5));
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedWeightsCommitmentMismatch.selector,
                spreadModel,
                keccak256(abi.encode(uint256(5))),
                keccak256("")
            )
        );
        _deploy(pin);
    }

    /// @dev A model with a four-limb (KZG point) commitment: the pin holds the hash of the words, so a changed
    ///      limb, the limbs in another order, a missing limb or no commitment at all is refused.
    function test_constructor_revertsOnChangedCommitment() public {
        uint256[] memory words = _words4(11, 22, 33, 44);
        IInferenceOracle.ModelParams memory p = _params(8, 1);
        p.weightsCommitment = words;
        uint256 committed = _register(p);
        ModelPin.Pin memory pin = _pin(p);
        assertEq(
            pin.weightsCommitmentHash, keccak256(abi.encodePacked(words)), "keccak256 of the packed words"
        );
        SpreadGatedAMM pinned =
            new SpreadGatedAMM(oracle, committed, pin, token0, token1, _spreadConfig(), ammOwner);
        assertEq(pinned.pinnedVerifier(), address(verifier), "the pinned registration deploys");

        uint256[][] memory others = new uint256[][](5);
        others[0] = _words4(11, 22, 33, 45); // a changed limb
        others[1] = _words4(22, 11, 33, 44); // swapped limbs
        others[2] = _words4(11, 22, 33, 0); // a zeroed limb
        others[3] = new uint256[](3); // a missing limb
        (others[3][0], others[3][1], others[3][2]) = (11, 22, 33);
        others[4] = _noWords(); // fixed weights
        bytes32 registered = ModelPin.commitmentHash(words);
        for (uint256 i; i < others.length; ++i) {
            pin.weightsCommitmentHash = ModelPin.commitmentHash(others[i]);
            vm.expectRevert(
                abi.encodeWithSelector(
                    ModelPin.PinnedWeightsCommitmentMismatch.selector,
                    committed,
                    pin.weightsCommitmentHash,
                    registered
                )
            );
            new SpreadGatedAMM(oracle, committed, pin, token0, token1, _spreadConfig(), ammOwner);
        }
    }

    /// @dev A proxy verifier: the deployer pinned the code hash of the verifier it audited (the implementation);
    ///      the registered proxy has another code hash, so the pool refuses the model — and with it whatever the
    ///      proxy's admin upgrades to later.
    function test_constructor_revertsForProxyVerifier() public {
        VerifierProxy proxy = new VerifierProxy(address(verifier));
        IInferenceOracle.ModelParams memory p = _params(8, 1);
        p.verifier = address(proxy);
        uint256 proxied = _register(p);
        ModelPin.Pin memory pin = _pin(p);
        pin.verifierCodehash = address(verifier).codehash; // the audited verifier code
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedCodehashMismatch.selector,
                proxied,
                address(verifier).codehash,
                address(proxy).codehash
            )
        );
        new SpreadGatedAMM(oracle, proxied, pin, token0, token1, _spreadConfig(), ammOwner);

        // What the pin prevents: after an upgrade the proxy accepts anything, and the oracle (which pinned the
        // proxy's unchanged code) cannot tell.
        vm.prank(requester);
        uint256 id = oracle.requestInference{value: FEE}(proxied, _input(8, 1), 0);
        proxy.upgradeTo(address(new AcceptAllVerifier()));
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(1), hex"00");
        assertTrue(_status(id) == IInferenceOracle.RequestStatus.Fulfilled, "accepted by the oracle");
    }

    function test_onInferenceResult_revertsWhenVerifierCodeChanged() public {
        uint256 id = _requestSpread();
        bytes32 pinned = address(verifier).codehash;
        vm.etch(address(verifier), type(AcceptAllVerifier).runtimeCode);
        // The oracle refuses the fulfilment itself ...
        vm.expectRevert(
            abi.encodeWithSelector(
                IInferenceOracle.VerifierCodeChanged.selector, spreadModel, pinned, address(verifier).codehash
            )
        );
        vm.prank(fulfiller);
        oracle.fulfill(id, _values1(_outputFor(5)), hex"00");
        // ... and the pool refuses a delivery even from an oracle that did not check.
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedCodehashMismatch.selector, spreadModel, pinned, address(verifier).codehash
            )
        );
        vm.prank(address(oracle));
        amm.onInferenceResult(id, _values1(_outputFor(5)));
        assertEq(uint256(amm.currentFeeBps()), DEFAULT_FEE, "unchanged");
        assertEq(amm.pendingRequestId(), id, "still waiting");
    }
}

/// @notice The risk gate pins its model the same way.
contract GatePinTest is RiskFixture {
    function test_constructor_revertsOnPinMismatch() public {
        ModelPin.Pin memory pin = _riskPin();
        pin.vkDigest = bytes32(uint256(1));
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedVkDigestMismatch.selector, riskModel, bytes32(uint256(1)), VK_DIGEST
            )
        );
        new RiskParameterGate(
            oracle, riskModel, pin, _riskConfig(), INITIAL_LTV, INITIAL_LT, riskOwner, keeper
        );
    }

    function test_onInferenceResult_revertsWhenVerifierCodeChanged() public {
        uint256 id = _requestRisk(1);
        bytes32 pinned = address(verifier).codehash;
        vm.etch(address(verifier), type(AcceptAllVerifier).runtimeCode);
        vm.expectRevert(
            abi.encodeWithSelector(
                ModelPin.PinnedCodehashMismatch.selector, riskModel, pinned, address(verifier).codehash
            )
        );
        vm.prank(address(oracle));
        gate.onInferenceResult(id, _values4(50, 60, 0, 0));
        assertEq(uint256(gate.ltvBps()), INITIAL_LTV, "unchanged");
        assertEq(gate.pendingRequestId(), id, "still waiting");
    }
}
