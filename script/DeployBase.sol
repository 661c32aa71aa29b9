// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceOracle} from "../contracts/interfaces/IInferenceOracle.sol";
import {ModelPin} from "../contracts/libraries/ModelPin.sol";
import {ForgeContext, Vm} from "../contracts/test/Vm.sol";

/// @title DeployBase
/// @notice Shared plumbing for zkoracle's deployment scripts: the deployer key from `PRIVATE_KEY`, and the
///         address book `deployments/<chainid>.json`, whose existing keys are kept and updated. The book is
///         written only when the script broadcasts (`--broadcast`), never on a dry run.
abstract contract DeployBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    string internal constant BOOK = "deployments";

    /// @notice Printed by forge under "Logs".
    event log_named_address(string key, address val);
    /// @notice Printed by forge under "Logs".
    event log_named_uint(string key, uint256 val);
    /// @notice Printed by forge under "Logs".
    event log(string message);

    /// @notice A required setting is missing or invalid.
    error MissingSetting(string name);

    string internal _book;

    /// @dev The broadcasting key and its address. Never hard-code a key: pass `PRIVATE_KEY` in the environment.
    function _deployer() internal view returns (uint256 key, address account) {
        key = vm.envUint("PRIVATE_KEY");
        account = vm.addr(key);
    }

    function _bookPath() internal view returns (string memory) {
        return string.concat("deployments/", vm.toString(block.chainid), ".json");
    }

    /// @dev Loads the existing address book (if any) so that new keys are merged into it.
    function _loadBook() internal {
        string memory path = _bookPath();
        _book = vm.exists(path) ? vm.readFile(path) : "{}";
        vm.serializeJson(BOOK, _book);
    }

    function _bookHas(string memory key) internal view returns (bool) {
        return vm.keyExistsJson(_book, string.concat(".", key));
    }

    /// @dev The address in env var `envName`, else the one recorded under `key`, else revert.
    function _addressSetting(string memory envName, string memory key) internal view returns (address value) {
        value = vm.envOr(envName, address(0));
        if (value == address(0) && _bookHas(key)) {
            value = vm.parseJsonAddress(_book, string.concat(".", key));
        }
        if (value == address(0)) revert MissingSetting(envName);
    }

    function _recordAddress(string memory key, address value) internal {
        vm.serializeAddress(BOOK, key, value);
        emit log_named_address(key, value);
    }

    function _recordUint(string memory key, uint256 value) internal {
        vm.serializeUint(BOOK, key, value);
        emit log_named_uint(key, value);
    }

    /// @dev Deploys the compiled artifact `artifact` (e.g. `SpreadGatedAMM.sol:SpreadGatedAMM`) with ABI-encoded
    ///      constructor arguments. Deploying from `out/` instead of with `new` keeps the script's own bytecode
    ///      under the EIP-170 size limit.
    function _deployArtifact(string memory artifact, bytes memory args) internal returns (address deployed) {
        bytes memory code = bytes.concat(vm.getCode(artifact), args);
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        if (deployed == address(0) || deployed.code.length == 0) revert MissingSetting(artifact);
    }

    /// @dev Writes the merged book, on broadcast only.
    function _saveBook() internal {
        string memory json = vm.serializeUint(BOOK, "chainId", block.chainid);
        if (vm.isContext(ForgeContext.ScriptBroadcast) || vm.isContext(ForgeContext.ScriptResume)) {
            vm.writeJson(json, _bookPath());
            emit log(string.concat("wrote ", _bookPath()));
        } else {
            emit log("dry run: deployments file not written (pass --broadcast)");
        }
    }

    /// @dev The pin for `modelId`: each field from `<prefix><FIELD>` in the environment, else the oracle's value.
    function _pin(IInferenceOracle oracle, uint256 modelId, string memory prefix)
        internal
        view
        returns (ModelPin.Pin memory pin)
    {
        IInferenceOracle.Model memory m = oracle.getModel(modelId);
        pin.verifier = vm.envOr(string.concat(prefix, "VERIFIER"), m.params.verifier);
        pin.verifierCodehash = vm.envOr(string.concat(prefix, "VERIFIER_CODEHASH"), m.verifierCodehash);
        pin.vkDigest = vm.envOr(string.concat(prefix, "VK_DIGEST"), m.params.vkDigest);
        // <prefix>WEIGHTS_COMMITMENT: the words, comma-separated (empty: none); the pin holds their hash
        pin.weightsCommitmentHash = ModelPin.commitmentHash(
            vm.envOr(string.concat(prefix, "WEIGHTS_COMMITMENT"), ",", m.params.weightsCommitment)
        );
    }

    function _uintSetting(string memory envName, string memory bookKey) internal view returns (uint256 v) {
        v = _uintSettingOrZero(envName, bookKey);
        if (v == 0) revert MissingSetting(envName);
    }

    function _uintSettingOrZero(string memory envName, string memory bookKey)
        internal
        view
        returns (uint256 v)
    {
        v = vm.envOr(envName, uint256(0));
        if (v == 0 && _bookHas(bookKey)) v = vm.parseJsonUint(_book, string.concat(".", bookKey));
    }
}
