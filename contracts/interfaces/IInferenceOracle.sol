// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title IInferenceOracle
/// @notice A verifiable-inference oracle: models are registered with their halo2 verifier; anyone requests an
///         inference on an input; anyone may fulfil it, but only with a proof that the registered model maps the
///         request's input to the posted output. Inputs and outputs are quantized integers at the model's scales.
/// @dev Public instances are `[input..., output..., weightsCommitment..., fulfiller]`, each input and output value
///      `x` encoded as the BN254 scalar `x` when `x >= 0` and `p - |x|` when `x < 0`. Every accepted value has
///      `|x| <= (p - 1) / 2`, so the encoding is injective. `weightsCommitment...` are the registered commitment's
///      words, in order (none for weights fixed in the verifying key). The last instance is the address that calls `fulfill`,
///      `uint256(uint160(fulfiller))`: the proof's transcript absorbs it, so a proof made for one fulfiller fails
///      for any other, and a `fulfill` copied from the mempool by another sender reverts `InvalidProof`. A model's parameters never change after registration (only its fee, pause
///      flag and owner do), so consumers may cache them. The verifier's code hash is recorded at registration and
///      every verification requires it unchanged (`VerifierCodeChanged`); a verifier whose unchanged code reads
///      mutable state can still change behaviour, which no on-chain check detects: see docs/THREAT_MODEL.md.
///      Fees: a request pays the model's fee plus the callback gas it reserves, priced at `callbackGasPrice`
///      (see `estimateFee`); the whole amount is credited to the fulfiller.
interface IInferenceOracle {
    /// @notice What a model owner registers.
    /// @dev `weightsCommitment`: the public instances the verifier takes between the outputs and the fulfiller,
    ///      each a BN254 scalar (`< FIELD_MODULUS`), at most `MAX_WEIGHTS_COMMITMENT_WORDS` of the implementation:
    ///      empty when the weights are fixed in the verifying key; one word, the Poseidon hash of the weights, for
    ///      `--params hashed`; four words per committed weight column for `--params private`, the KZG commitment
    ///      point's `(x_lo, x_hi, y_lo, y_hi)` as 128-bit limbs (`x = x_hi * 2^128 + x_lo`), columns in the
    ///      verifier's order.
    struct ModelParams {
        address verifier; // IHalo2Verifier for this model's verifying key
        bytes32 vkDigest; // digest of the verifying key (`vk_digest` printed by `zkoracle setup`)
        uint256[] weightsCommitment; // instances between outputs and fulfiller; empty for weights fixed in the vk
        uint32 inputLen; // number of quantized inputs
        uint32 outputLen; // number of quantized outputs
        uint8 inputScale; // inputs are round(x * 2^inputScale)
        uint8 outputScale; // outputs are y / 2^outputScale
        int256 maxAbsInput; // calibrated range: every |input| must be <= maxAbsInput
        uint256 fee; // paid by the requester to the fulfiller, in wei
        uint32 verifierGasLimit; // gas forwarded to the verifier (a bad curve point burns all of it)
    }

    /// @notice A registered model.
    struct Model {
        ModelParams params;
        address owner;
        bool paused;
        bytes32 verifierCodehash; // EXTCODEHASH of params.verifier at registration; required on every verification
    }

    /// @notice The lifecycle of a request.
    enum RequestStatus {
        None,
        Pending,
        Fulfilled,
        Cancelled
    }

    /// @notice A request's stored state. The input is kept on-chain so that `fulfill` rebuilds the public
    ///         instances from it; `commitment` binds the whole request and is deleted (set to zero) when the
    ///         request is fulfilled or cancelled, before any external call.
    struct Request {
        uint256 modelId;
        address requester;
        uint64 deadline; // last timestamp at which `fulfill` is accepted; `cancel` works after it
        uint32 callbackGasLimit;
        RequestStatus status;
        bool callbackSuccess; // true only if the requester's `onInferenceResult` was called and did not revert
        uint256 feePaid;
        bytes32 commitment; // keccak256(abi.encode(requestId, modelId, requester, input, callbackGasLimit, fee))
        int256[] input;
    }

    /// @notice Emitted when a model is registered.
    event ModelRegistered(
        uint256 indexed modelId, address indexed owner, address verifier, bytes32 vkDigest, uint256 fee
    );
    /// @notice Emitted when a model's fee changes.
    event ModelFeeUpdated(uint256 indexed modelId, uint256 fee);
    /// @notice Emitted when a model is paused or unpaused.
    event ModelPaused(uint256 indexed modelId, bool paused);
    /// @notice Emitted when a model's owner hands the model to a new owner.
    event ModelOwnershipTransferred(
        uint256 indexed modelId, address indexed previousOwner, address indexed newOwner
    );
    /// @notice Emitted for each request: everything a relayer needs to prove and fulfil it.
    event InferenceRequested(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed requester,
        int256[] input,
        uint32 callbackGasLimit,
        uint256 fee,
        uint64 deadline
    );
    /// @notice Emitted when a proof-checked output has been stored and the fee credited to the fulfiller. It is
    ///         emitted after the consumer callback so that `callbackSuccess` reports its outcome; every other
    ///         state change of the fulfilment happens before the callback.
    event InferenceFulfilled(
        uint256 indexed requestId,
        uint256 indexed modelId,
        address indexed fulfiller,
        int256[] output,
        bool callbackSuccess
    );
    /// @notice Emitted when a request that timed out is cancelled; `refund` is credited to the requester.
    event InferenceCancelled(uint256 indexed requestId, address indexed requester, uint256 refund);
    /// @notice Emitted when an account withdraws its credited fees or refunds.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice Emitted when the oracle owner starts an ownership transfer.
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when the oracle's ownership changes.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when the oracle owner changes the timeout given to new requests.
    event RequestTimeoutUpdated(uint64 requestTimeout);
    /// @notice Emitted when the oracle owner changes the largest callback gas limit a request may ask for.
    event MaxCallbackGasLimitUpdated(uint32 maxCallbackGasLimit);
    /// @notice Emitted when the oracle owner pauses or unpauses new requests for all models.
    event OraclePausedSet(bool paused);
    /// @notice Emitted when the oracle owner changes the price new requests pay per unit of callback gas.
    event CallbackGasPriceUpdated(uint64 callbackGasPrice);

    /// @notice The model id is not registered.
    /// @param modelId The unknown id.
    error UnknownModel(uint256 modelId);
    /// @notice The model is paused by its owner.
    /// @param modelId The paused model.
    error ModelIsPaused(uint256 modelId);
    /// @notice New requests are paused for all models by the oracle owner.
    error OracleIsPaused();
    /// @notice Only the model's owner may do this.
    /// @param modelId The model.
    /// @param caller The refused sender.
    error NotModelOwner(uint256 modelId, address caller);
    /// @notice Only the oracle owner (or, for `acceptOwnership`, the pending owner) may do this.
    /// @param caller The refused sender.
    error Unauthorized(address caller);
    /// @notice The oracle's initial owner is the zero address.
    error ZeroOwner();
    /// @notice A model's ownership cannot go to the zero address.
    /// @param modelId The model.
    error ZeroModelOwner(uint256 modelId);
    /// @notice The registered verifier has no code.
    /// @param verifier The refused address.
    error VerifierHasNoCode(address verifier);
    /// @notice The registration's verifying-key digest is zero.
    error ZeroVkDigest();
    /// @notice The registration's input length is 0 or above `MAX_IO_LEN`.
    /// @param inputLen The refused length.
    /// @param maximum `MAX_IO_LEN`.
    error InputLenOutOfRange(uint32 inputLen, uint32 maximum);
    /// @notice The registration's output length is 0 or above `MAX_IO_LEN`.
    /// @param outputLen The refused length.
    /// @param maximum `MAX_IO_LEN`.
    error OutputLenOutOfRange(uint32 outputLen, uint32 maximum);
    /// @notice The registration's input bound is not in `(0, MAX_ABS_FIELD_VALUE]`.
    /// @param maxAbsInput The refused bound.
    /// @param maximum `MAX_ABS_FIELD_VALUE`.
    error MaxAbsInputOutOfRange(int256 maxAbsInput, int256 maximum);
    /// @notice A word of the registration's weights commitment is not a BN254 scalar (`>= FIELD_MODULUS`).
    /// @param index The word's position in `weightsCommitment`.
    /// @param word The refused word.
    error WeightsCommitmentWordNotInField(uint256 index, uint256 word);
    /// @notice The registration's weights commitment has more than `MAX_WEIGHTS_COMMITMENT_WORDS` words.
    /// @param length The refused number of words.
    /// @param max `MAX_WEIGHTS_COMMITMENT_WORDS`.
    error WeightsCommitmentTooLong(uint256 length, uint256 max);
    /// @notice The registration's verifier gas limit is 0 or above `MAX_VERIFIER_GAS_LIMIT`.
    /// @param verifierGasLimit The refused limit.
    /// @param maximum `MAX_VERIFIER_GAS_LIMIT`.
    error VerifierGasLimitOutOfRange(uint32 verifierGasLimit, uint32 maximum);
    /// @notice A model fee does not fit the 128 bits a request stores.
    /// @param fee The refused fee, in wei.
    error ModelFeeTooHigh(uint256 fee);
    /// @notice The request timeout is outside `[MIN_REQUEST_TIMEOUT, MAX_REQUEST_TIMEOUT]`.
    /// @param requestTimeout The refused timeout, in seconds.
    /// @param minimum `MIN_REQUEST_TIMEOUT`.
    /// @param maximum `MAX_REQUEST_TIMEOUT`.
    error RequestTimeoutOutOfRange(uint64 requestTimeout, uint64 minimum, uint64 maximum);
    /// @notice The callback gas price is above `MAX_CALLBACK_GAS_PRICE`.
    /// @param callbackGasPrice The refused price, in wei per gas.
    /// @param maximum `MAX_CALLBACK_GAS_PRICE`.
    error CallbackGasPriceTooHigh(uint64 callbackGasPrice, uint64 maximum);
    /// @notice The maximum callback gas limit is above `MAX_CALLBACK_GAS_LIMIT_CAP`.
    /// @param maxCallbackGasLimit The refused limit.
    /// @param cap `MAX_CALLBACK_GAS_LIMIT_CAP`.
    error MaxCallbackGasLimitTooHigh(uint32 maxCallbackGasLimit, uint32 cap);
    /// @notice The input has the wrong number of values.
    /// @param expected The model's input length.
    /// @param actual The number of values sent.
    error InputLengthMismatch(uint256 expected, uint256 actual);
    /// @notice The output has the wrong number of values.
    /// @param expected The model's output length.
    /// @param actual The number of values posted.
    error OutputLengthMismatch(uint256 expected, uint256 actual);
    /// @notice An input value is outside the model's calibrated range or does not map to a field element.
    /// @param index The value's position in the input.
    /// @param value The refused value.
    error InputOutOfRange(uint256 index, int256 value);
    /// @notice An output value does not map to a field element (|value| > (p - 1) / 2).
    /// @param index The value's position in the output.
    /// @param value The refused value.
    error OutputOutOfRange(uint256 index, int256 value);
    /// @notice `msg.value` is not exactly the model's fee (the oracle takes exact payment, it never refunds).
    /// @param required The fee, in wei.
    /// @param sent `msg.value`.
    error IncorrectFee(uint256 required, uint256 sent);
    /// @notice The request does not exist or is no longer pending.
    /// @param requestId The request.
    error RequestNotPending(uint256 requestId);
    /// @notice The request's deadline has passed; it can only be cancelled.
    /// @param requestId The request.
    /// @param deadline Its deadline.
    error RequestExpired(uint256 requestId, uint64 deadline);
    /// @notice The request's deadline has not passed yet.
    /// @param requestId The request.
    /// @param deadline Its deadline.
    error RequestNotExpired(uint256 requestId, uint64 deadline);
    /// @notice The verifier rejected the proof for the instances built from the stored input, the posted
    ///         output and the caller as fulfiller, reverted, or ran out of the model's verifier gas.
    /// @param requestId The request.
    error InvalidProof(uint256 requestId);
    /// @notice The callback gas limit exceeds the oracle's maximum.
    /// @param requested The limit asked for.
    /// @param maximum `maxCallbackGasLimit`.
    error CallbackGasLimitTooHigh(uint32 requested, uint32 maximum);
    /// @notice `fulfill` was sent with too little gas to give the consumer callback its full gas limit.
    /// @param requestId The request.
    /// @param callbackGasLimit The callback's gas limit.
    error InsufficientGasForCallback(uint256 requestId, uint32 callbackGasLimit);
    /// @notice The caller has no credited balance to withdraw.
    /// @param account The caller.
    error NothingToWithdraw(address account);
    /// @notice An ether transfer failed.
    /// @param to The receiver.
    /// @param amount The wei sent.
    error TransferFailed(address to, uint256 amount);
    /// @notice The verifier's code is not the code it had when the model was registered.
    /// @param modelId The model whose verifier changed.
    /// @param expected The verifier's code hash at registration.
    /// @param actual The verifier's code hash now (0 if it has no code).
    error VerifierCodeChanged(uint256 modelId, bytes32 expected, bytes32 actual);
    /// @notice The verifier is an EIP-7702-delegated account (its code is a delegation designator), whose
    ///         behaviour its key holder can change at any time.
    /// @param verifier The refused address.
    error VerifierIsDelegated(address verifier);
    /// @notice The model fee plus the callback gas surcharge does not fit the 128 bits a request stores.
    /// @param fee The total fee.
    error FeeTooHigh(uint256 fee);

    /// @notice Registers a model (permissionless); the caller becomes its owner. Records the verifier's code
    ///         hash; refuses a verifier without code or with an EIP-7702 delegation designator as code.
    /// @param params The model's verifier, verifying-key digest, weights commitment, shapes, scales, input range,
    ///        fee and verifier gas limit; they never change after registration (the fee through `setModelFee`
    ///        only).
    /// @return modelId The new model's id.
    function registerModel(ModelParams calldata params) external returns (uint256 modelId);
    /// @notice Changes a model's fee (model owner only); pending requests keep the fee they paid.
    function setModelFee(uint256 modelId, uint256 fee) external;
    /// @notice Pauses or unpauses a model (model owner only); paused models accept no requests, pending
    ///         requests can still be fulfilled or cancelled.
    function setModelPaused(uint256 modelId, bool paused) external;
    /// @notice Hands a model to a new owner (model owner only).
    function transferModelOwnership(uint256 modelId, address newOwner) external;
    /// @notice Requests an inference of `modelId` on `input` (quantized at the model's input scale).
    ///         `msg.value` must equal `estimateFee(modelId, callbackGasLimit)` exactly (`IncorrectFee`).
    /// @param modelId The model.
    /// @param input The quantized input, `inputLen` values with |x| <= maxAbsInput.
    /// @param callbackGasLimit Gas for the requester's `onInferenceResult` (0: no callback); at most
    ///        `maxCallbackGasLimit`, and paid for at `callbackGasPrice`.
    /// @return requestId The new request's id.
    function requestInference(uint256 modelId, int256[] calldata input, uint32 callbackGasLimit)
        external
        payable
        returns (uint256 requestId);
    /// @notice Fulfils a pending request with its output and a proof of it; credits the fee to the caller.
    ///         The proof must be made for the caller: its last public instance is `uint256(uint160(msg.sender))`
    ///         (see `buildInstances`), so a proof copied by another sender is rejected (`InvalidProof`).
    /// @param requestId The pending request.
    /// @param output The quantized output, `outputLen` values with |y| <= (p - 1) / 2.
    /// @param proof The proof for `buildInstances(requestId, output, msg.sender)`.
    function fulfill(uint256 requestId, int256[] calldata output, bytes calldata proof) external;
    /// @notice After the deadline, anyone may cancel a pending request; the fee is credited back to the
    ///         requester.
    function cancel(uint256 requestId) external;
    /// @notice Sends the caller's credited fees and refunds to `to`.
    function withdraw(address payable to) external returns (uint256 amount);
    /// @notice The fee a request to `modelId` with `callbackGasLimit` costs now: the exact `msg.value`
    ///         `requestInference` takes, `model fee + callbackGas(callbackGasLimit) * callbackGasPrice`, where
    ///         `callbackGas(0) = 0` and `callbackGas(g) = g + CALLBACK_GAS_OVERHEAD` otherwise. Reverts for an
    ///         unknown model or a limit above `maxCallbackGasLimit`.
    /// @param modelId The model.
    /// @param callbackGasLimit The callback gas limit the request will ask for.
    /// @return The total fee in wei, all of it credited to the fulfiller.
    function estimateFee(uint256 modelId, uint32 callbackGasLimit) external view returns (uint256);
    /// @notice A registered model.
    function getModel(uint256 modelId) external view returns (Model memory);
    /// @notice A request's state.
    function getRequest(uint256 requestId) external view returns (Request memory);
    /// @notice A request's status and deadline, without its input (cheap for consumers).
    function getRequestStatus(uint256 requestId) external view returns (RequestStatus status, uint64 deadline);
    /// @notice The verified output of a fulfilled request (empty otherwise).
    function getResult(uint256 requestId) external view returns (int256[] memory);
    /// @notice The public instances `fulfill` would pass to the verifier for `output` on a pending or fulfilled
    ///         request when called by `fulfiller`: `[input..., output..., weightsCommitment..., fulfiller]`. Lets a
    ///         relayer check its encoding before sending a transaction; it proves for its own address.
    /// @param requestId The request (reverts `RequestNotPending` unless it is pending or fulfilled).
    /// @param output The output to encode (reverts `OutputLengthMismatch` / `OutputOutOfRange` as `fulfill` does).
    /// @param fulfiller The address that will call `fulfill` (the last instance, `uint256(uint160(fulfiller))`).
    /// @return The instances, in the order the verifier takes them.
    function buildInstances(uint256 requestId, int256[] calldata output, address fulfiller)
        external
        view
        returns (uint256[] memory);
    /// @notice Fees and refunds credited to `account` and not yet withdrawn.
    function withdrawable(address account) external view returns (uint256);
    /// @notice The BN254 scalar field modulus instances are reduced by.
    function FIELD_MODULUS() external view returns (uint256);
    /// @notice Number of registered models (model ids are 1..modelCount).
    function modelCount() external view returns (uint256);
    /// @notice Number of requests made (request ids are 1..requestCount).
    function requestCount() external view returns (uint256);
    /// @notice Seconds a new request stays fulfillable.
    function requestTimeout() external view returns (uint64);
    /// @notice The largest callback gas limit a request may ask for.
    function maxCallbackGasLimit() external view returns (uint32);
    /// @notice Wei per unit of callback gas a new request pays on top of the model fee (owner-set).
    function callbackGasPrice() external view returns (uint64);
    /// @notice Gas added to a non-zero callback gas limit when pricing it: the oracle's own cost of making the
    ///         callback (account access, call, ABI encoding of the output), paid by the fulfiller too.
    function CALLBACK_GAS_OVERHEAD() external view returns (uint32);
    /// @notice Whether new requests are paused for all models.
    function paused() external view returns (bool);
    /// @notice The oracle owner (configures timeout, callback gas cap and the global pause).
    function owner() external view returns (address);
    /// @notice The account that may accept ownership.
    function pendingOwner() external view returns (address);
    /// @notice Starts a two-step ownership transfer (owner only).
    function transferOwnership(address newOwner) external;
    /// @notice Completes an ownership transfer (pending owner only).
    function acceptOwnership() external;
    /// @notice Sets the timeout given to new requests (owner only).
    function setRequestTimeout(uint64 requestTimeout) external;
    /// @notice Sets the largest callback gas limit a request may ask for (owner only).
    function setMaxCallbackGasLimit(uint32 maxCallbackGasLimit) external;
    /// @notice Sets the wei per unit of callback gas new requests pay (owner only); pending requests keep the
    ///         fee they paid.
    /// @param callbackGasPrice Wei per gas, at most `MAX_CALLBACK_GAS_PRICE` of the implementation.
    function setCallbackGasPrice(uint64 callbackGasPrice) external;
    /// @notice Pauses or unpauses new requests for all models (owner only); fulfilment and cancellation of
    ///         pending requests keep working.
    function setPaused(bool paused) external;
}
