// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @notice Accepts every proof: what a verifier swapped under the oracle would do.
contract AcceptAllVerifier {
    /// @notice Always true.
    function verifyProof(bytes calldata, uint256[] calldata) external pure returns (bool) {
        return true;
    }
}

/// @notice A verifier whose code never changes but whose answer does: it checks `proof == abi.encode(instances)`
///         until its deployer flips a storage flag, then accepts everything. Its code hash stays the same.
contract SwitchableVerifier {
    address public immutable admin;
    bool public acceptAll;

    error NotAdmin(address caller);

    constructor() {
        admin = msg.sender;
    }

    function setAcceptAll(bool value) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        acceptAll = value;
    }

    /// @notice The HashCheck rule, or true once switched.
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external view returns (bool) {
        return acceptAll || keccak256(proof) == keccak256(abi.encode(instances));
    }
}

/// @notice An upgradeable proxy in front of a verifier: it delegates to an implementation its admin can replace.
///         Upgrading changes what it accepts while its own code (and code hash) stays the same.
contract VerifierProxy {
    address public immutable admin;
    address public implementation;

    error NotAdmin(address caller);

    constructor(address implementation_) {
        admin = msg.sender;
        implementation = implementation_;
    }

    function upgradeTo(address newImplementation) external {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        implementation = newImplementation;
    }

    fallback() external {
        address impl = implementation;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// @notice Writes storage while verifying (counts its calls): impossible under STATICCALL, so a verifier cannot
///         change its own state, or anyone's, during a fulfilment.
contract StateWritingVerifier {
    uint256 public calls;

    /// @notice Counts, then accepts.
    function verifyProof(bytes calldata, uint256[] calldata) external returns (bool) {
        ++calls;
        return true;
    }
}
