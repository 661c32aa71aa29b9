// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IPoolManager} from "@uniswap/v4-core/src/interfaces/IPoolManager.sol";

import {OracleDynamicFeeHook} from "../../hooks/OracleDynamicFeeHook.sol";
import {IInferenceOracle} from "../../interfaces/IInferenceOracle.sol";
import {ModelPin} from "../../libraries/ModelPin.sol";

/// @notice The fee hook with one change: it sends a fixed model input (the golden proof's) instead of its pool's
///         features, so that a real proof made offline can answer its request. Everything a result goes through
///         (oracle, verifier, the guard, the rails, the pool) is the hook's own.
contract GoldenInputHook is OracleDynamicFeeHook {
    int256[] internal _fixedInput;

    constructor(
        IPoolManager manager,
        IInferenceOracle oracle_,
        uint256 modelId_,
        ModelPin.Pin memory pin,
        FeeConfig memory config,
        address owner_,
        int256[] memory fixedInput
    ) OracleDynamicFeeHook(manager, oracle_, modelId_, pin, config, owner_) {
        _fixedInput = fixedInput;
    }

    /// @notice The golden input.
    function currentFeatures() public view override returns (int256[] memory) {
        return _fixedInput;
    }
}
