// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IHalo2Verifier} from "./interfaces/IHalo2Verifier.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IInferenceOracle} from "./interfaces/IInferenceOracle.sol";
import {PackedInts} from "./libraries/PackedInts.sol";

/// @title InferenceOracle
/// @notice Verifiable-inference oracle. Anyone registers a model (its halo2 verifier and quantization), anyone
///         requests an inference by paying the model's fee, and anyone fulfils a request — but an output only
///         reaches storage, the fulfiller's fee and the requester's callback after the model's verifier accepted
///         a proof for exactly `[stored input..., posted output..., weightsCommitment..., fulfiller]` on-chain,
///         where `fulfiller` is `msg.sender`: a proof names the address it pays.
/// @dev Design, in the order `fulfill` runs:
///      1. checks: the request is pending and not past its deadline; output length and range; the instances
///         end with `uint256(uint160(msg.sender))`, so a proof copied from a pending transaction by another sender
///         fails (the fulfiller instance is absorbed by the proof's Fiat-Shamir transcript; issue #22, item 2);
///      2. the verifier is `staticcall`ed with at most `verifierGasLimit` gas and only its first 32 bytes of return
///         data are copied (a bad curve point burns all forwarded gas; a hostile verifier cannot return-bomb);
///      3. effects: status becomes Fulfilled and the commitment is deleted (once-only), the output is stored and
///         the fee is credited to the fulfiller (pull payment: a receiver that rejects ether cannot block a
///         fulfilment or lock funds — it withdraws to another address);
///      4. interaction: the requester's `onInferenceResult` (only when it is a contract and asked for callback
///         gas) gets exactly `callbackGasLimit` gas, Chainlink-style: the transaction reverts when less than that
///         would reach the callee, so a fulfiller cannot starve a callback into failing. A reverting callback is
///         recorded as `callbackSuccess = false` and does not undo the fulfilment.
///      Fees are exact (`msg.value == estimateFee(modelId, callbackGasLimit)`): nothing is refunded, so a
///      requester can never be charged more than it sent and a fee raised in the same block makes the request
///      revert instead of overcharging it. The fee is the model's fee plus the callback gas the request reserves
///      (`callbackGasLimit + CALLBACK_GAS_OVERHEAD` when a callback is asked for) priced at the owner-set
///      `callbackGasPrice`; all of it is credited to the fulfiller, who pays that gas. Without the surcharge a
///      requester whose callback burns its whole limit made the fulfiller pay up to `maxCallbackGasLimit` gas
///      for the flat model fee (issue #22, item 1).
///      Why an owner-set price and not `block.basefee` or `tx.gasprice`: (1) the fee stays exact and
///      predictable — `estimateFee` read in one block is still the price when the request lands blocks later,
///      whereas a basefee-derived fee changes every block, so an exact `msg.value` would revert and a `>=` rule
///      would need refunds or overcharge; (2) the basefee at request time says nothing about the gas price when
///      the request is fulfilled, up to `requestTimeout` later; (3) `tx.gasprice` is the requester's own choice
///      (zero in an `eth_call`). The price is what relayers are paid per callback gas: a relayer compares it
///      with the gas price it pays and skips requests that do not cover their cost (they time out and are
///      refunded). The owner can only change the price of new requests, within [0, MAX_CALLBACK_GAS_PRICE].
///      The verifier's code hash is recorded at registration and required unchanged on every verification, and
///      EIP-7702 delegation designators are refused as verifiers (issue #22, item 3). This stops a verifier
///      whose code is replaced (re-delegation, a state override); it does not stop a verifier whose unchanged
///      code reads mutable state (an upgradeable proxy, an owner-set flag): such a verifier keeps its code hash.
///      Consumers pin the code hash they have checked is a generated verifier of the model's verifying key
///      (`zkoracle verifier` is deterministic) — see docs/THREAT_MODEL.md.
///      Requests that time out are cancelled by anyone; the fee is credited back to the requester.
///      Storage: a request takes three words plus its input packed at the narrowest width (4, 8, 16 or 32 bytes)
///      that holds the model's `maxAbsInput` (8 inputs of a model with |x| < 2^31 take one word); a result is
///      packed at the narrowest width that holds its values.
contract InferenceOracle is IInferenceOracle {
    /// @inheritdoc IInferenceOracle
    uint256 public constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice The largest |value| accepted as an input or output: (p - 1) / 2, so `x` and `p - |x|` never collide.
    int256 public constant MAX_ABS_FIELD_VALUE =
        10944121435919637611123202872628637544274182200208017171849102093287904247808;
    /// @notice The most inputs, and separately the most outputs, a model may have.
    uint32 public constant MAX_IO_LEN = 1024;
    /// @notice The most gas a model may forward to its verifier.
    uint32 public constant MAX_VERIFIER_GAS_LIMIT = 15_000_000;
    /// @notice The most words a model's weights commitment may have: 16 KZG commitment points of 4 limbs each
    ///         (`--params private` commits one point per weight column).
    uint256 public constant MAX_WEIGHTS_COMMITMENT_WORDS = 64;
    /// @notice The bounds of the owner-configurable request timeout.
    uint64 public constant MIN_REQUEST_TIMEOUT = 1 minutes;
    /// @notice See MIN_REQUEST_TIMEOUT.
    uint64 public constant MAX_REQUEST_TIMEOUT = 30 days;
    /// @notice The largest value the owner may give `maxCallbackGasLimit`.
    uint32 public constant MAX_CALLBACK_GAS_LIMIT_CAP = 5_000_000;
    /// @notice Gas kept back for the CALL itself when checking that the callee receives its exact gas limit.
    uint256 internal constant GAS_FOR_CALL_EXACT_CHECK = 5_000;
    /// @inheritdoc IInferenceOracle
    uint32 public constant CALLBACK_GAS_OVERHEAD = 10_000;
    /// @notice The callback gas price a new oracle starts with (the owner changes it with `setCallbackGasPrice`).
    uint64 public constant DEFAULT_CALLBACK_GAS_PRICE = 1 gwei;
    /// @notice The largest callback gas price the owner may set: 5,000,000 gas at this price is 50 ether.
    uint64 public constant MAX_CALLBACK_GAS_PRICE = 10_000 gwei;
    /// @dev The first two bytes of an EIP-7702 delegation designator (0xef0100 ++ address); EIP-3541 keeps any
    ///      deployed contract from starting with 0xef.
    bytes2 internal constant DELEGATION_PREFIX = 0xef01;

    /// @inheritdoc IInferenceOracle
    address public owner;
    /// @inheritdoc IInferenceOracle
    uint64 public requestTimeout;
    /// @inheritdoc IInferenceOracle
    uint32 public maxCallbackGasLimit;
    /// @inheritdoc IInferenceOracle
    address public pendingOwner;
    /// @inheritdoc IInferenceOracle
    bool public paused;
    /// @inheritdoc IInferenceOracle
    uint64 public callbackGasPrice; // shares a slot with `paused`: the fee check reads both with one SLOAD
    /// @inheritdoc IInferenceOracle
    uint256 public modelCount;
    /// @inheritdoc IInferenceOracle
    uint256 public requestCount;
    /// @inheritdoc IInferenceOracle
    mapping(address account => uint256 amount) public withdrawable;

    /// @dev A request as stored: three words, its input and result packed separately.
    struct StoredRequest {
        // word 0
        address requester;
        uint40 deadline;
        uint32 callbackGasLimit;
        RequestStatus status;
        bool callbackSuccess;
        // word 1
        uint64 modelId;
        uint128 feePaid;
        uint8 inputWidth; // bytes per packed input value
        uint8 outputWidth; // bytes per packed output value (set on fulfilment)
        // word 2
        bytes32 commitment;
    }

    mapping(uint256 modelId => Model) internal _models;
    mapping(uint256 requestId => StoredRequest) internal _requests;
    mapping(uint256 requestId => mapping(uint256 word => uint256)) internal _inputWords;
    mapping(uint256 requestId => mapping(uint256 word => uint256)) internal _outputWords;

    modifier onlyOwner() {
        if (msg.sender != owner) revert Unauthorized(msg.sender);
        _;
    }

    modifier onlyModelOwner(uint256 modelId) {
        address modelOwner = _models[modelId].owner;
        if (modelOwner == address(0)) revert UnknownModel(modelId);
        if (msg.sender != modelOwner) revert NotModelOwner(modelId, msg.sender);
        _;
    }

    /// @param initialOwner The oracle owner (timeout, callback gas cap, global pause); it has no power over
    ///        models, requests or funds.
    /// @param initialRequestTimeout Seconds a new request stays fulfillable.
    /// @param initialMaxCallbackGasLimit The largest callback gas limit a request may ask for.
    constructor(address initialOwner, uint64 initialRequestTimeout, uint32 initialMaxCallbackGasLimit) {
        if (initialOwner == address(0)) revert ZeroOwner();
        _setRequestTimeout(initialRequestTimeout);
        _setMaxCallbackGasLimit(initialMaxCallbackGasLimit);
        _setCallbackGasPrice(DEFAULT_CALLBACK_GAS_PRICE);
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Model registry
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IInferenceOracle
    function registerModel(ModelParams calldata params) external returns (uint256 modelId) {
        _validateModelParams(params);
        modelId = ++modelCount;
        Model storage model = _models[modelId];
        model.params = params;
        model.owner = msg.sender;
        model.verifierCodehash = params.verifier.codehash;
        emit ModelRegistered(modelId, msg.sender, params.verifier, params.vkDigest, params.fee);
    }

    /// @inheritdoc IInferenceOracle
    function setModelFee(uint256 modelId, uint256 fee) external onlyModelOwner(modelId) {
        if (fee > type(uint128).max) revert ModelFeeTooHigh(fee);
        _models[modelId].params.fee = fee;
        emit ModelFeeUpdated(modelId, fee);
    }

    /// @inheritdoc IInferenceOracle
    function setModelPaused(uint256 modelId, bool isPaused) external onlyModelOwner(modelId) {
        _models[modelId].paused = isPaused;
        emit ModelPaused(modelId, isPaused);
    }

    /// @inheritdoc IInferenceOracle
    function transferModelOwnership(uint256 modelId, address newOwner) external onlyModelOwner(modelId) {
        if (newOwner == address(0)) revert ZeroModelOwner(modelId);
        _models[modelId].owner = newOwner;
        emit ModelOwnershipTransferred(modelId, msg.sender, newOwner);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Requests
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IInferenceOracle
    function requestInference(uint256 modelId, int256[] calldata input, uint32 callbackGasLimit)
        external
        payable
        returns (uint256 requestId)
    {
        (uint256 fee, uint8 width) = _checkRequest(modelId, input, callbackGasLimit);
        requestId = ++requestCount;
        uint64 deadline = uint64(block.timestamp) + requestTimeout;
        // forge-lint: disable-start(unsafe-typecast)
        // casting is safe: timestamps stay below 2^40 until the year 36812; model ids are at most modelCount;
        // fees are at most 2^128 - 1 (checked when set)
        _requests[requestId] = StoredRequest({
            requester: msg.sender,
            deadline: uint40(deadline),
            callbackGasLimit: callbackGasLimit,
            status: RequestStatus.Pending,
            callbackSuccess: false,
            modelId: uint64(modelId),
            feePaid: uint128(fee),
            inputWidth: width,
            outputWidth: 0,
            commitment: keccak256(abi.encode(requestId, modelId, msg.sender, input, callbackGasLimit, fee))
        });
        // forge-lint: disable-end(unsafe-typecast)
        PackedInts.store(_inputWords[requestId], input, width);

        emit InferenceRequested(requestId, modelId, msg.sender, input, callbackGasLimit, fee, deadline);
    }

    /// @inheritdoc IInferenceOracle
    function fulfill(uint256 requestId, int256[] calldata output, bytes calldata proof) external {
        StoredRequest storage request = _requests[requestId];
        // Checks: pending, in time, and a proof that verifies for the stored input and this output.
        uint256 modelId = _checkFulfilment(requestId, request, output, proof);

        // Effects, all before the callback: once-only, result, payment.
        request.status = RequestStatus.Fulfilled;
        delete request.commitment;
        uint8 width = PackedInts.widthOf(output); // outputs are range-checked: no type(int256).min
        request.outputWidth = width;
        PackedInts.store(_outputWords[requestId], output, width);
        withdrawable[msg.sender] += request.feePaid;

        // Interaction: the requester's callback with exactly its gas limit.
        bool callbackSuccess = _deliver(requestId, request, output);
        emit InferenceFulfilled(requestId, modelId, msg.sender, output, callbackSuccess);
    }

    /// @inheritdoc IInferenceOracle
    function cancel(uint256 requestId) external {
        StoredRequest storage request = _requests[requestId];
        if (request.status != RequestStatus.Pending) revert RequestNotPending(requestId);
        uint64 deadline = uint64(request.deadline);
        // Deadlines are minutes to days long: a validator's few seconds of timestamp drift do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= deadline) revert RequestNotExpired(requestId, deadline);

        request.status = RequestStatus.Cancelled;
        delete request.commitment;
        address requester = request.requester;
        uint256 refund = request.feePaid;
        withdrawable[requester] += refund;
        emit InferenceCancelled(requestId, requester, refund);
    }

    /// @inheritdoc IInferenceOracle
    function withdraw(address payable to) external returns (uint256 amount) {
        amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        if (to == address(0)) revert TransferFailed(to, amount);
        withdrawable[msg.sender] = 0;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
        emit Withdrawn(msg.sender, to, amount);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Oracle administration (no power over models, requests or funds)
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IInferenceOracle
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(msg.sender, newOwner);
    }

    /// @inheritdoc IInferenceOracle
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert Unauthorized(msg.sender);
        address previous = owner;
        owner = msg.sender;
        delete pendingOwner;
        emit OwnershipTransferred(previous, msg.sender);
    }

    /// @inheritdoc IInferenceOracle
    function setRequestTimeout(uint64 newRequestTimeout) external onlyOwner {
        _setRequestTimeout(newRequestTimeout);
    }

    /// @inheritdoc IInferenceOracle
    function setMaxCallbackGasLimit(uint32 newMaxCallbackGasLimit) external onlyOwner {
        _setMaxCallbackGasLimit(newMaxCallbackGasLimit);
    }

    /// @inheritdoc IInferenceOracle
    function setCallbackGasPrice(uint64 newCallbackGasPrice) external onlyOwner {
        _setCallbackGasPrice(newCallbackGasPrice);
    }

    /// @inheritdoc IInferenceOracle
    function setPaused(bool isPaused) external onlyOwner {
        paused = isPaused;
        emit OraclePausedSet(isPaused);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IInferenceOracle
    function estimateFee(uint256 modelId, uint32 callbackGasLimit) external view returns (uint256) {
        Model storage model = _models[modelId];
        if (model.owner == address(0)) revert UnknownModel(modelId);
        return _fee(model.params.fee, callbackGasLimit);
    }

    /// @inheritdoc IInferenceOracle
    function getModel(uint256 modelId) external view returns (Model memory) {
        Model storage model = _models[modelId];
        if (model.owner == address(0)) revert UnknownModel(modelId);
        return model;
    }

    /// @inheritdoc IInferenceOracle
    function getRequest(uint256 requestId) external view returns (Request memory request) {
        StoredRequest storage stored = _requests[requestId];
        request.modelId = stored.modelId;
        request.requester = stored.requester;
        request.deadline = uint64(stored.deadline);
        request.callbackGasLimit = stored.callbackGasLimit;
        request.status = stored.status;
        request.callbackSuccess = stored.callbackSuccess;
        request.feePaid = stored.feePaid;
        request.commitment = stored.commitment;
        if (stored.status != RequestStatus.None) {
            request.input = PackedInts.load(
                _inputWords[requestId], _models[stored.modelId].params.inputLen, stored.inputWidth
            );
        }
    }

    /// @inheritdoc IInferenceOracle
    function getRequestStatus(uint256 requestId)
        external
        view
        returns (RequestStatus status, uint64 deadline)
    {
        StoredRequest storage request = _requests[requestId];
        return (request.status, uint64(request.deadline));
    }

    /// @inheritdoc IInferenceOracle
    function getResult(uint256 requestId) external view returns (int256[] memory output) {
        StoredRequest storage request = _requests[requestId];
        if (request.status != RequestStatus.Fulfilled) return output;
        return PackedInts.load(
            _outputWords[requestId], _models[request.modelId].params.outputLen, request.outputWidth
        );
    }

    /// @inheritdoc IInferenceOracle
    function buildInstances(uint256 requestId, int256[] calldata output, address fulfiller)
        external
        view
        returns (uint256[] memory)
    {
        StoredRequest storage request = _requests[requestId];
        if (request.status != RequestStatus.Pending && request.status != RequestStatus.Fulfilled) {
            revert RequestNotPending(requestId);
        }
        return _buildInstances(requestId, request, _models[request.modelId].params, output, fulfiller);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    function _validateModelParams(ModelParams calldata params) internal view {
        address verifier = params.verifier;
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        bytes2 prefix;
        assembly ("memory-safe") {
            extcodecopy(verifier, 0x00, 0x00, 0x02)
            prefix := and(mload(0x00), shl(240, 0xffff))
        }
        if (prefix == DELEGATION_PREFIX) revert VerifierIsDelegated(verifier);
        if (params.vkDigest == bytes32(0)) revert ZeroVkDigest();
        uint32 inputLen = params.inputLen;
        if (inputLen == 0 || inputLen > MAX_IO_LEN) revert InputLenOutOfRange(inputLen, MAX_IO_LEN);
        uint32 outputLen = params.outputLen;
        if (outputLen == 0 || outputLen > MAX_IO_LEN) revert OutputLenOutOfRange(outputLen, MAX_IO_LEN);
        int256 maxAbsInput = params.maxAbsInput;
        if (maxAbsInput <= 0 || maxAbsInput > MAX_ABS_FIELD_VALUE) {
            revert MaxAbsInputOutOfRange(maxAbsInput, MAX_ABS_FIELD_VALUE);
        }
        uint256[] calldata words = params.weightsCommitment;
        uint256 wordCount = words.length;
        if (wordCount > MAX_WEIGHTS_COMMITMENT_WORDS) {
            revert WeightsCommitmentTooLong(wordCount, MAX_WEIGHTS_COMMITMENT_WORDS);
        }
        for (uint256 i; i < wordCount; ++i) {
            uint256 word = words[i];
            if (word >= FIELD_MODULUS) revert WeightsCommitmentWordNotInField(i, word);
        }
        uint32 verifierGasLimit = params.verifierGasLimit;
        if (verifierGasLimit == 0 || verifierGasLimit > MAX_VERIFIER_GAS_LIMIT) {
            revert VerifierGasLimitOutOfRange(verifierGasLimit, MAX_VERIFIER_GAS_LIMIT);
        }
        if (params.fee > type(uint128).max) revert ModelFeeTooHigh(params.fee);
    }

    function _setRequestTimeout(uint64 newRequestTimeout) internal {
        if (newRequestTimeout < MIN_REQUEST_TIMEOUT || newRequestTimeout > MAX_REQUEST_TIMEOUT) {
            revert RequestTimeoutOutOfRange(newRequestTimeout, MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT);
        }
        requestTimeout = newRequestTimeout;
        emit RequestTimeoutUpdated(newRequestTimeout);
    }

    function _setCallbackGasPrice(uint64 newCallbackGasPrice) internal {
        if (newCallbackGasPrice > MAX_CALLBACK_GAS_PRICE) {
            revert CallbackGasPriceTooHigh(newCallbackGasPrice, MAX_CALLBACK_GAS_PRICE);
        }
        callbackGasPrice = newCallbackGasPrice;
        emit CallbackGasPriceUpdated(newCallbackGasPrice);
    }

    /// @dev The model fee plus the callback gas a request reserves, at `callbackGasPrice`; reverts for a limit
    ///      above `maxCallbackGasLimit` or a total that does not fit the 128 bits a request stores.
    function _fee(uint256 modelFee, uint32 callbackGasLimit) internal view returns (uint256 fee) {
        uint32 maxGas = maxCallbackGasLimit;
        if (callbackGasLimit > maxGas) revert CallbackGasLimitTooHigh(callbackGasLimit, maxGas);
        fee = modelFee;
        if (callbackGasLimit != 0) {
            // <= (5,000,000 + 10,000) * 10^13 < 2^66: no overflow; modelFee < 2^128 (checked when set)
            fee += (uint256(callbackGasLimit) + CALLBACK_GAS_OVERHEAD) * callbackGasPrice;
        }
        if (fee > type(uint128).max) revert FeeTooHigh(fee);
    }

    function _setMaxCallbackGasLimit(uint32 newMaxCallbackGasLimit) internal {
        if (newMaxCallbackGasLimit > MAX_CALLBACK_GAS_LIMIT_CAP) {
            revert MaxCallbackGasLimitTooHigh(newMaxCallbackGasLimit, MAX_CALLBACK_GAS_LIMIT_CAP);
        }
        maxCallbackGasLimit = newMaxCallbackGasLimit;
        emit MaxCallbackGasLimitUpdated(newMaxCallbackGasLimit);
    }

    /// @dev Reverts unless a request of `input` to `modelId` may be made now with `msg.value`; returns the fee
    ///      and the width the input is packed at.
    function _checkRequest(uint256 modelId, int256[] calldata input, uint32 callbackGasLimit)
        internal
        view
        returns (uint256 fee, uint8 width)
    {
        if (paused) revert OracleIsPaused();
        Model storage model = _models[modelId];
        if (model.owner == address(0)) revert UnknownModel(modelId);
        if (model.paused) revert ModelIsPaused(modelId);
        ModelParams storage params = model.params;

        fee = _fee(params.fee, callbackGasLimit);
        if (msg.value != fee) revert IncorrectFee(fee, msg.value);
        uint256 inputLen = params.inputLen;
        if (input.length != inputLen) revert InputLengthMismatch(inputLen, input.length);
        // maxAbsInput <= MAX_ABS_FIELD_VALUE (checked at registration), so every accepted value maps to a field
        // element below the modulus, and -maxAbs cannot overflow.
        int256 maxAbs = params.maxAbsInput;
        for (uint256 i; i < inputLen; ++i) {
            int256 x = input[i];
            if (x > maxAbs || x < -maxAbs) revert InputOutOfRange(i, x);
        }
        // casting to 'uint256' is safe because maxAbsInput > 0 (checked at registration)
        // forge-lint: disable-next-line(unsafe-typecast)
        width = PackedInts.widthFor(uint256(maxAbs));
    }

    /// @dev Reverts unless the request is pending, not past its deadline, and the model's verifier accepts
    ///      `proof` for the request's instances with `output` and `msg.sender` as the fulfiller. Returns the
    ///      request's model id.
    function _checkFulfilment(
        uint256 requestId,
        StoredRequest storage request,
        int256[] calldata output,
        bytes calldata proof
    ) internal view returns (uint256 modelId) {
        if (request.status != RequestStatus.Pending) {
            revert RequestNotPending(requestId);
        }
        uint64 deadline = uint64(request.deadline);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > deadline) revert RequestExpired(requestId, deadline);
        modelId = request.modelId;
        Model storage model = _models[modelId];
        ModelParams storage params = model.params;
        // The code that verifies must be the code registered. (EXTCODEHASH warms the verifier's account, so the
        // STATICCALL below pays the warm price: this check costs about one SLOAD.)
        address verifier = params.verifier;
        bytes32 expected = model.verifierCodehash;
        bytes32 actual = verifier.codehash;
        if (actual != expected) revert VerifierCodeChanged(modelId, expected, actual);
        uint256[] memory instances = _buildInstances(requestId, request, params, output, msg.sender);
        if (!_verify(verifier, params.verifierGasLimit, proof, instances)) {
            revert InvalidProof(requestId);
        }
    }

    /// @dev Calls the requester's `onInferenceResult` when it is a contract that asked for callback gas, and
    ///      records the outcome.
    function _deliver(uint256 requestId, StoredRequest storage request, int256[] calldata output)
        internal
        returns (bool callbackSuccess)
    {
        address requester = request.requester;
        uint32 callbackGasLimit = request.callbackGasLimit;
        if (callbackGasLimit == 0 || requester.code.length == 0) return false;
        callbackSuccess = _callWithExactGas(
            requestId,
            requester,
            callbackGasLimit,
            abi.encodeCall(IInferenceConsumer.onInferenceResult, (requestId, output))
        );
        if (callbackSuccess) request.callbackSuccess = true;
    }

    /// @dev `[input..., output..., weightsCommitment..., fulfiller]` as field elements (the commitment's words in
    ///      registered order, each checked below the modulus at registration); checks the output's length and
    ///      range. The fulfiller is `uint256(uint160(fulfiller))`, below 2^160 and so below the modulus.
    function _buildInstances(
        uint256 requestId,
        StoredRequest storage request,
        ModelParams storage params,
        int256[] calldata output,
        address fulfiller
    ) internal view returns (uint256[] memory instances) {
        uint256 outputLen = params.outputLen;
        if (output.length != outputLen) revert OutputLengthMismatch(outputLen, output.length);
        uint256 inputLen = params.inputLen;
        int256[] memory input = PackedInts.load(_inputWords[requestId], inputLen, request.inputWidth);
        uint256[] storage commitment = params.weightsCommitment;
        uint256 commitmentAt = inputLen + outputLen;
        uint256 commitmentLen = commitment.length;
        uint256 fulfillerAt = commitmentAt + commitmentLen;
        instances = new uint256[](fulfillerAt + 1);
        for (uint256 i; i < inputLen; ++i) {
            instances[i] = _toField(input[i]);
        }
        for (uint256 j; j < outputLen; ++j) {
            int256 y = output[j];
            if (y > MAX_ABS_FIELD_VALUE || y < -MAX_ABS_FIELD_VALUE) revert OutputOutOfRange(j, y);
            instances[inputLen + j] = _toField(y);
        }
        for (uint256 k; k < commitmentLen; ++k) {
            instances[commitmentAt + k] = commitment[k];
        }
        instances[fulfillerAt] = uint256(uint160(fulfiller));
    }

    /// @dev A value with |x| <= (p - 1) / 2 as a BN254 scalar: x, or p - |x| for negative x.
    function _toField(int256 x) internal pure returns (uint256) {
        // casting to 'uint256' is safe because x (or -x) is non-negative and -x cannot overflow for |x| < 2^254
        // forge-lint: disable-next-line(unsafe-typecast)
        return x >= 0 ? uint256(x) : FIELD_MODULUS - uint256(-x);
    }

    /// @dev True only when the verifier returned at least 32 bytes and the first word is exactly 1 (`true`).
    ///      At most `gasLimit` gas is forwarded; only the first word of return data is copied.
    function _verify(address verifier, uint256 gasLimit, bytes calldata proof, uint256[] memory instances)
        internal
        view
        returns (bool valid)
    {
        bytes memory data = abi.encodeCall(IHalo2Verifier.verifyProof, (proof, instances));
        assembly ("memory-safe") {
            let ok := staticcall(gasLimit, verifier, add(data, 0x20), mload(data), 0x00, 0x20)
            valid := and(ok, and(gt(returndatasize(), 0x1f), eq(mload(0x00), 1)))
        }
    }

    /// @dev Calls `target` with exactly `gasAmount` gas (reverts when the 63/64 rule would hand it less) and
    ///      copies no return data. Returns whether the call succeeded.
    function _callWithExactGas(uint256 requestId, address target, uint32 gasAmount, bytes memory payload)
        internal
        returns (bool success)
    {
        uint256 g = gasleft();
        if (g < GAS_FOR_CALL_EXACT_CHECK) revert InsufficientGasForCallback(requestId, gasAmount);
        g -= GAS_FOR_CALL_EXACT_CHECK;
        if (g - g / 64 <= gasAmount) revert InsufficientGasForCallback(requestId, gasAmount);
        assembly ("memory-safe") {
            success := call(gasAmount, target, 0, add(payload, 0x20), mload(payload), 0x00, 0x00)
        }
    }
}
