// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title PackedInts
/// @notice Stores signed integers densely: each value takes `width` bytes (4, 8, 16 or 32) as two's complement,
///         `32 / width` values per storage word, value i in word i / (32 / width) at bit offset
///         (i % (32 / width)) * width * 8. Quantized model inputs and outputs are small, so 8 inputs usually take
///         one storage word instead of eight.
library PackedInts {
    /// @notice The smallest width in bytes (4, 8, 16 or 32) whose signed range holds every |value| <= maxAbs.
    function widthFor(uint256 maxAbs) internal pure returns (uint8) {
        if (maxAbs <= uint256(uint32(type(int32).max))) return 4;
        if (maxAbs <= uint256(uint64(type(int64).max))) return 8;
        if (maxAbs <= uint256(uint128(type(int128).max))) return 16;
        return 32;
    }

    /// @notice The smallest width that holds every value of `values` (each |value| must be below 2^255).
    function widthOf(int256[] calldata values) internal pure returns (uint8) {
        uint256 maxAbs;
        for (uint256 i; i < values.length; ++i) {
            int256 v = values[i];
            // casting to 'uint256' is safe because the value (or its negation) is non-negative; callers reject
            // type(int256).min beforehand
            // forge-lint: disable-next-line(unsafe-typecast)
            uint256 a = v >= 0 ? uint256(v) : uint256(-v);
            if (a > maxAbs) maxAbs = a;
        }
        return widthFor(maxAbs);
    }

    /// @notice Writes `values` into `words` at `width` bytes each. Every value must fit the width.
    function store(mapping(uint256 => uint256) storage words, int256[] calldata values, uint256 width)
        internal
    {
        uint256 perWord = 32 / width;
        uint256 bits = width * 8;
        uint256 mask = width == 32 ? type(uint256).max : (uint256(1) << bits) - 1;
        uint256 n = values.length;
        for (uint256 start; start < n; start += perWord) {
            uint256 word;
            uint256 end = start + perWord < n ? start + perWord : n;
            for (uint256 i = start; i < end; ++i) {
                // two's complement, truncated to the width (the value fits it)
                // forge-lint: disable-next-line(unsafe-typecast)
                word |= (uint256(values[i]) & mask) << ((i - start) * bits);
            }
            words[start / perWord] = word;
        }
    }

    /// @notice Reads `length` values of `width` bytes each from `words`.
    function load(mapping(uint256 => uint256) storage words, uint256 length, uint256 width)
        internal
        view
        returns (int256[] memory values)
    {
        values = new int256[](length);
        uint256 perWord = 32 / width;
        uint256 bits = width * 8;
        uint256 signByte = width - 1;
        uint256 word;
        for (uint256 i; i < length; ++i) {
            uint256 slot = i % perWord;
            if (slot == 0) word = words[i / perWord];
            uint256 raw = word >> (slot * bits);
            int256 v;
            assembly ("memory-safe") {
                v := signextend(signByte, raw)
            }
            values[i] = v;
        }
    }
}
