// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {InferenceOracle} from "../contracts/InferenceOracle.sol";
import {DeployBase} from "./DeployBase.sol";

/// @title DeployOracle
/// @notice Deploys the InferenceOracle and records it as `InferenceOracle` in `deployments/<chainid>.json`.
/// @dev Env: PRIVATE_KEY (required); ORACLE_OWNER (default: the deployer); REQUEST_TIMEOUT seconds (default
///      3600); MAX_CALLBACK_GAS_LIMIT (default 2,000,000).
///      `forge script script/01_DeployOracle.s.sol --rpc-url $RPC --broadcast`
contract DeployOracle is DeployBase {
    function run() external returns (InferenceOracle oracle) {
        _loadBook();
        (uint256 key, address deployer) = _deployer();
        address owner = vm.envOr("ORACLE_OWNER", deployer);
        uint256 timeout = vm.envOr("REQUEST_TIMEOUT", uint256(1 hours));
        uint256 maxCallbackGas = vm.envOr("MAX_CALLBACK_GAS_LIMIT", uint256(2_000_000));
        if (timeout > type(uint64).max) revert MissingSetting("REQUEST_TIMEOUT");
        if (maxCallbackGas > type(uint32).max) revert MissingSetting("MAX_CALLBACK_GAS_LIMIT");

        vm.startBroadcast(key);
        // forge-lint: disable-next-line(unsafe-typecast)
        oracle = new InferenceOracle(owner, uint64(timeout), uint32(maxCallbackGas));
        vm.stopBroadcast();

        _recordAddress("InferenceOracle", address(oracle));
        _saveBook();
    }
}
