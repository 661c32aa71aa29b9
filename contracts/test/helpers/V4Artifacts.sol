// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

// Builds Uniswap v4-core's PoolManager (via-IR, its own compiler profile in foundry.toml) so that tests and
// scripts can deploy it from its artifact with `vm.getCode("PoolManager.sol:PoolManager")` without compiling
// themselves via-IR.
import {PoolManager} from "@uniswap/v4-core/src/PoolManager.sol";
