// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {IInferenceConsumer} from "../../interfaces/IInferenceConsumer.sol";
import {IInferenceOracle} from "../../interfaces/IInferenceOracle.sol";

/// @title TestConsumer
/// @notice A requester contract whose callback records what it gets, or misbehaves in one chosen way.
contract TestConsumer is IInferenceConsumer {
    /// @notice How the callback behaves.
    enum Mode {
        Record,
        Revert,
        BurnGas,
        ReenterFulfill,
        ReenterCancel
    }

    IInferenceOracle public immutable oracle;
    Mode public mode;
    uint256 public calls;
    uint256 public lastRequestId;
    int256[] internal _lastOutput;
    uint256 public gasAtEntry;
    bytes public reentryError;
    bytes internal _reentryProof;

    constructor(IInferenceOracle oracle_) {
        oracle = oracle_;
    }

    function setMode(Mode newMode) external {
        mode = newMode;
    }

    function setReentryProof(bytes calldata proof) external {
        _reentryProof = proof;
    }

    function request(uint256 modelId, int256[] calldata input, uint32 callbackGasLimit)
        external
        payable
        returns (uint256)
    {
        return oracle.requestInference{value: msg.value}(modelId, input, callbackGasLimit);
    }

    function withdrawTo(address payable to) external returns (uint256) {
        return oracle.withdraw(to);
    }

    function lastOutput() external view returns (int256[] memory) {
        return _lastOutput;
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 requestId, int256[] calldata output) external {
        uint256 g = gasleft();
        Mode m = mode;
        if (m == Mode.Revert) revert("consumer reverted");
        if (m == Mode.BurnGas) {
            assembly ("memory-safe") {
                for {} 1 {} { pop(gas()) }
            }
        }
        if (m == Mode.ReenterFulfill) {
            try oracle.fulfill(requestId, output, _reentryProof) {}
            catch (bytes memory err) {
                reentryError = err;
            }
        }
        if (m == Mode.ReenterCancel) {
            try oracle.cancel(requestId) {}
            catch (bytes memory err) {
                reentryError = err;
            }
        }
        gasAtEntry = g;
        ++calls;
        lastRequestId = requestId;
        _lastOutput = output;
    }
}

/// @notice A contract that cannot receive ether but can hold oracle credit.
contract EtherRejecter {
    IInferenceOracle public immutable oracle;

    constructor(IInferenceOracle oracle_) {
        oracle = oracle_;
    }

    function request(uint256 modelId, int256[] calldata input) external payable returns (uint256) {
        return oracle.requestInference{value: msg.value}(modelId, input, 0);
    }

    function withdrawTo(address payable to) external returns (uint256) {
        return oracle.withdraw(to);
    }
}
