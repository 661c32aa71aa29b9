// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

/// @title SpreadFeatures
/// @notice The spread model's eight market features, shared by every pool that asks the spread model for its
///         fee (SpreadGatedAMM, OracleDynamicFeeHook), so that one registered model serves them all. Each
///         feature is a real number in 1e18 fixed point, capped to ±1e6, sent to the oracle as
///         clamp(trunc(f · 2^s), ±maxAbsInput) with s the model's input scale:
///           0 price move over the window            4 flow imbalance (f2 - f3) / (f2 + f3), 0 without volume
///           1 realized volatility over the window   5 activity: min(swaps, 100) / 100
///           2 token0 volume / token0 reserve        6 window length: min(seconds, 1 day) / 1 day
///           3 token1 volume / token1 reserve        7 current fee / maximum fee
///         The pool computes 0..3 from its own state; `finish` computes 4..7 and quantizes.
library SpreadFeatures {
    /// @notice Number of model inputs.
    uint256 internal constant COUNT = 8;
    /// @notice Fixed-point one.
    int256 internal constant ONE = 1e18;
    /// @notice |feature| cap before quantization (1e6 in real units).
    int256 internal constant CAP = 1e24;
    /// @notice CAP as an unsigned number.
    uint256 internal constant CAP_UNSIGNED = 1e24;
    /// @notice Largest model input scale supported (keeps quantization overflow-free).
    uint8 internal constant MAX_INPUT_SCALE = 64;

    /// @notice `x` as a feature, capped to CAP.
    /// @param x A non-negative 1e18 fixed-point value.
    /// @return The capped feature.
    function cap(uint256 x) internal pure returns (int256) {
        // casting to 'int256' is safe because x <= CAP here
        // forge-lint: disable-next-line(unsafe-typecast)
        return x > CAP_UNSIGNED ? CAP : int256(x);
    }

    /// @notice numerator / denominator in 1e18 fixed point, capped to ±CAP.
    /// @param numerator |numerator| < 2^190.
    /// @param denominator Non-zero, below 2^255.
    /// @return r The capped ratio.
    function ratio(int256 numerator, uint256 denominator) internal pure returns (int256 r) {
        // casting to 'int256' is safe because the denominator is below 2^255
        // forge-lint: disable-next-line(unsafe-typecast)
        r = (numerator * ONE) / int256(denominator);
        if (r > CAP) return CAP;
        if (r < -CAP) return -CAP;
    }

    /// @notice `a + b`, saturating at 2^128 - 1 (window accumulators).
    /// @param a The accumulator.
    /// @param b The amount added.
    /// @return The saturated sum.
    function saturatingAdd128(uint128 a, uint256 b) internal pure returns (uint128) {
        uint256 s = uint256(a) + b;
        // casting to 'uint128' is safe because s is capped first
        // forge-lint: disable-next-line(unsafe-typecast)
        return s > type(uint128).max ? type(uint128).max : uint128(s);
    }

    /// @notice Fills features 4..7 from 2 and 3 and the window, and quantizes all eight for the model.
    /// @param f Features 0..3 as the pool computed them (capped); 4..7 are overwritten.
    /// @param swaps Swaps in the window.
    /// @param elapsed Seconds since the window started.
    /// @param feeBps The fee in force.
    /// @param maxFeeBps The highest fee a result can set (non-zero).
    /// @param inputScale The model's input scale (at most MAX_INPUT_SCALE).
    /// @param maxAbsInput The model's calibrated input range.
    /// @return features The model input: round toward zero of f · 2^inputScale, clamped to ±maxAbsInput.
    function finish(
        int256[8] memory f,
        uint256 swaps,
        uint256 elapsed,
        uint256 feeBps,
        uint256 maxFeeBps,
        uint8 inputScale,
        int256 maxAbsInput
    ) internal pure returns (int256[] memory features) {
        if (f[2] + f[3] != 0) f[4] = ((f[2] - f[3]) * ONE) / (f[2] + f[3]);
        // casting to 'int256' is safe because every value below is at most 1e18
        // forge-lint: disable-start(unsafe-typecast)
        f[5] = int256(((swaps > 100 ? 100 : swaps) * uint256(ONE)) / 100);
        f[6] = int256(((elapsed > 1 days ? 1 days : elapsed) * uint256(ONE)) / 1 days);
        f[7] = int256((feeBps * uint256(ONE)) / maxFeeBps);
        // forge-lint: disable-end(unsafe-typecast)
        features = new int256[](COUNT);
        int256 scale = int256(2) ** inputScale; // inputScale <= 64
        for (uint256 i; i < COUNT; ++i) {
            int256 q = (f[i] * scale) / ONE;
            features[i] = q > maxAbsInput ? maxAbsInput : (q < -maxAbsInput ? -maxAbsInput : q);
        }
    }
}
