// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title HexText
/// @notice Normalises hex text read from a file or an environment variable (creation bytecode) into the
///         `0x`-prefixed form that forge's `vm.parseBytes` accepts. Used by tests and deployment scripts.
library HexText {
    /// @notice `raw` without spaces, tabs, CRs and LFs, with `0x` prepended unless it (after leading whitespace)
    ///         already starts with `0x` or `0X`. Does not check that the rest is hex: `vm.parseBytes` does.
    function clean(string memory raw) internal pure returns (string memory) {
        bytes memory b = bytes(raw);
        bytes memory out = new bytes(b.length + 2);
        uint256 n;
        uint256 start;
        while (start < b.length && isSpace(b[start])) ++start;
        if (start + 1 >= b.length || b[start] != "0" || (b[start + 1] != "x" && b[start + 1] != "X")) {
            out[n++] = "0";
            out[n++] = "x";
        }
        for (uint256 i = start; i < b.length; ++i) {
            if (!isSpace(b[i])) out[n++] = b[i];
        }
        assembly ("memory-safe") {
            mstore(out, n)
        }
        return string(out);
    }

    /// @notice Whether `c` is a space, tab, CR or LF.
    function isSpace(bytes1 c) internal pure returns (bool) {
        return c == " " || c == "\n" || c == "\r" || c == "\t";
    }
}
