// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @notice Burns every unit of gas it gets, like a halo2 verifier fed a bad curve point (the EC precompile
///         consumes all gas forwarded to it).
contract GasBurnerVerifier {
    /// @notice Never returns.
    function verifyProof(bytes calldata, uint256[] calldata) external view returns (bool) {
        assembly ("memory-safe") {
            for {} 1 {} { pop(gas()) }
        }
        return true;
    }
}

/// @notice Always reverts.
contract RevertingVerifier {
    /// @notice Reverts.
    function verifyProof(bytes calldata, uint256[] calldata) external pure returns (bool) {
        revert("invalid");
    }
}

/// @notice Returns a word that is not the ABI encoding of `true` (2), or nothing at all: neither is acceptance.
contract MalformedReturnVerifier {
    /// @notice When set, return nothing (a snark-verifier-style fallback verifier answers with empty data).
    bool public immutable returnNothing;

    constructor(bool returnNothing_) {
        returnNothing = returnNothing_;
    }

    fallback() external {
        bool empty = returnNothing;
        assembly ("memory-safe") {
            if empty { return(0, 0) }
            mstore(0, 2)
            return(0, 0x20)
        }
    }
}

/// @notice Answers `false` padded with 64 KiB of return data: the oracle must copy only the first word.
contract ReturnBombVerifier {
    fallback() external {
        assembly ("memory-safe") {
            return(0, 0x10000)
        }
    }
}
