// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title BoundedStep
/// @notice The rails the oracle's consumers apply to a verified result: clamp a value to [lo, hi], move a
///         parameter toward a target by at most a step, and tell whether a timestamp is past its maximum age.
library BoundedStep {
    /// @notice `x` clamped to [lo, hi] (lo <= hi).
    function clamp(uint256 x, uint16 lo, uint16 hi) internal pure returns (uint16) {
        if (x < lo) return lo;
        if (x > hi) return hi;
        // casting to 'uint16' is safe because x <= hi
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint16(x);
    }

    /// @notice `target` if it is within `step` of `current`, otherwise `current` moved toward it by `step`.
    function stepToward(uint16 current, uint16 target, uint16 step) internal pure returns (uint16) {
        if (target > current && target - current > step) return current + step;
        if (current > target && current - target > step) return current - step;
        return target;
    }

    /// @notice A model output `y` at output scale `outputScale` in basis points: max(y, 0) · bpsPerUnit /
    ///         2^outputScale, rounded down, with y capped at 2^128 - 1 (anything that large maps far above any fee
    ///         or ratio bound) so the product cannot overflow.
    /// @param y The quantized model output.
    /// @param bpsPerUnit Basis points per 1.0 of output (at most 2^32 - 1).
    /// @param outputScale The model's output scale.
    /// @return bps The unclamped value in basis points.
    function toBps(int256 y, uint256 bpsPerUnit, uint8 outputScale) internal pure returns (uint256 bps) {
        if (y <= 0) return 0;
        // casting to 'uint256' is safe because y > 0
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 u = uint256(y);
        if (u > type(uint128).max) u = type(uint128).max;
        bps = (u * bpsPerUnit) >> outputScale;
    }

    /// @notice Whether `timestamp` is more than `maxAge` seconds after `since` (exactly `maxAge` is not expired).
    function isExpired(uint256 since, uint256 maxAge, uint256 timestamp) internal pure returns (bool) {
        return timestamp > since + maxAge;
    }
}
