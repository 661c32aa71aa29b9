// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceOracle} from "../contracts/interfaces/IInferenceOracle.sol";
import {DeployBase} from "./DeployBase.sol";

/// @title RegisterModel
/// @notice Registers a model in the oracle and records its id as `<MODEL_NAME>ModelId` in
///         `deployments/<chainid>.json`.
/// @dev Env: PRIVATE_KEY (required; becomes the model owner); ORACLE (default: `InferenceOracle` from the book);
///      VERIFIER (default: `Halo2Verifier` from the book); INPUT_LEN, OUTPUT_LEN (required); INPUT_SCALE,
///      OUTPUT_SCALE (default 7); MAX_ABS_INPUT (required, the calibrated |input| bound, quantized); FEE in wei
///      (default 0); VERIFIER_GAS_LIMIT (default 2,000,000); VK_DIGEST (bytes32, required: printed by
///      `zkoracle setup`); WEIGHTS_COMMITMENT (the weights commitment's words as a comma-separated list of
///      uint256, decimal or 0x hex, in the order the verifier takes them: one for `--params hashed`, four per
///      weight column for `--params private`; default, or empty: none, for weights fixed in the verifying key);
///      MODEL_NAME (default `model`).
contract RegisterModel is DeployBase {
    function run() external returns (uint256 modelId) {
        _loadBook();
        (uint256 key,) = _deployer();
        IInferenceOracle oracle = IInferenceOracle(_addressSetting("ORACLE", "InferenceOracle"));
        IInferenceOracle.ModelParams memory params = _params();
        string memory name = vm.envOr("MODEL_NAME", string("model"));

        vm.startBroadcast(key);
        modelId = oracle.registerModel(params);
        vm.stopBroadcast();

        _recordUint(string.concat(name, "ModelId"), modelId);
        _saveBook();
    }

    function _params() internal view returns (IInferenceOracle.ModelParams memory p) {
        p.verifier = _addressSetting("VERIFIER", "Halo2Verifier");
        p.vkDigest = vm.envOr("VK_DIGEST", bytes32(0));
        if (p.vkDigest == bytes32(0)) revert MissingSetting("VK_DIGEST");
        p.inputLen = _u32("INPUT_LEN", 0);
        p.outputLen = _u32("OUTPUT_LEN", 0);
        if (p.inputLen == 0) revert MissingSetting("INPUT_LEN");
        if (p.outputLen == 0) revert MissingSetting("OUTPUT_LEN");
        p.inputScale = uint8(_bounded("INPUT_SCALE", 7, type(uint8).max));
        p.outputScale = uint8(_bounded("OUTPUT_SCALE", 7, type(uint8).max));
        p.maxAbsInput = vm.envOr("MAX_ABS_INPUT", int256(0));
        if (p.maxAbsInput <= 0) revert MissingSetting("MAX_ABS_INPUT");
        p.fee = vm.envOr("FEE", uint256(0));
        p.verifierGasLimit = _u32("VERIFIER_GAS_LIMIT", 2_000_000);
        p.weightsCommitment = vm.envOr("WEIGHTS_COMMITMENT", ",", new uint256[](0));
    }

    function _u32(string memory name, uint256 fallbackValue) internal view returns (uint32) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint32(_bounded(name, fallbackValue, type(uint32).max));
    }

    function _bounded(string memory name, uint256 fallbackValue, uint256 max)
        internal
        view
        returns (uint256 v)
    {
        v = vm.envOr(name, fallbackValue);
        if (v > max) revert MissingSetting(name);
    }
}
