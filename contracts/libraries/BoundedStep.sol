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

    /// @notice Whether `timestamp` is more than `maxAge` seconds after `since` (exactly `maxAge` is not expired).
    function isExpired(uint256 since, uint256 maxAge, uint256 timestamp) internal pure returns (bool) {
        return timestamp > since + maxAge;
    }
}
