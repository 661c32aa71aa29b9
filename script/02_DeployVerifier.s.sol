// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {HexText} from "../contracts/libraries/HexText.sol";
import {DeployBase} from "./DeployBase.sol";

/// @title DeployVerifier
/// @notice Deploys a generated halo2 verifier from its creation bytecode and records it as `$VERIFIER_NAME`
///         (default `Halo2Verifier`) in `deployments/<chainid>.json`.
/// @dev Env: PRIVATE_KEY (required); VERIFIER_BYTECODE, a path inside the repository to a file holding the
///      creation bytecode as hex (`0x` optional, surrounding whitespace allowed) — or VERIFIER_BYTECODE_HEX, the hex
///      itself; VERIFIER_NAME (default `Halo2Verifier`).
///      `VERIFIER_BYTECODE=tests/golden/spread_mlp/verifier.bytecode forge script script/02_DeployVerifier.s.sol
///       --rpc-url $RPC --broadcast`
contract DeployVerifier is DeployBase {
    /// @notice The creation code deployed nothing (it reverted or returned empty runtime code).
    error DeploymentFailed();

    function run() external returns (address verifier) {
        _loadBook();
        (uint256 key,) = _deployer();
        bytes memory code = _creationCode();
        string memory name = vm.envOr("VERIFIER_NAME", string("Halo2Verifier"));

        vm.startBroadcast(key);
        assembly ("memory-safe") {
            verifier := create(0, add(code, 0x20), mload(code))
        }
        vm.stopBroadcast();
        if (verifier == address(0) || verifier.code.length == 0) revert DeploymentFailed();

        _recordAddress(name, verifier);
        _recordUint(string.concat(name, "RuntimeSize"), verifier.code.length);
        _saveBook();
    }

    function _creationCode() internal view returns (bytes memory code) {
        string memory path = vm.envOr("VERIFIER_BYTECODE", string(""));
        string memory hexText =
            bytes(path).length != 0 ? vm.readFile(path) : vm.envOr("VERIFIER_BYTECODE_HEX", string(""));
        if (bytes(hexText).length == 0) revert MissingSetting("VERIFIER_BYTECODE");
        code = vm.parseBytes(HexText.clean(hexText));
        if (code.length == 0) revert MissingSetting("VERIFIER_BYTECODE");
    }
}
