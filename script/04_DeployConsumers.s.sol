// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.26;

import {SpreadGatedAMM} from "../contracts/SpreadGatedAMM.sol";
import {DemoToken} from "../contracts/demo/DemoToken.sol";
import {IInferenceOracle} from "../contracts/interfaces/IInferenceOracle.sol";
import {IRiskParameterGate} from "../contracts/interfaces/IRiskParameterGate.sol";
import {ISpreadGatedAMM} from "../contracts/interfaces/ISpreadGatedAMM.sol";
import {ModelPin} from "../contracts/libraries/ModelPin.sol";
import {DeployBase} from "./DeployBase.sol";

/// @title DeployConsumers
/// @notice Deploys the demo consumers: two DemoTokens and a SpreadGatedAMM seeded with liquidity, and a
///         RiskParameterGate. Records `Token0`, `Token1`, `SpreadGatedAMM`, `RiskParameterGate`.
/// @dev Env: PRIVATE_KEY (required; owner of everything, and the gate's keeper unless KEEPER is set); ORACLE
///      (default: `InferenceOracle` from the book); SPREAD_MODEL_ID (default: `spread_mlpModelId` from the
///      book); RISK_MODEL_ID (default: `risk_mlpModelId` from the book; the gate is skipped when there is none);
///      INITIAL_LIQUIDITY per token in wei (default 1,000,000e18); KEEPER (default: the deployer).
///      Model pins (ModelPin), per consumer with prefix SPREAD_ or RISK_: <P>VERIFIER, <P>VERIFIER_CODEHASH,
///      <P>VK_DIGEST, <P>WEIGHTS_COMMITMENT (the commitment's words, comma-separated as in 03_RegisterModel;
///      set but empty pins fixed weights; the pin holds their `ModelPin.commitmentHash`). Each defaults to what
///      the oracle reports for the model id, which only pins the registration as it is at deployment (later code
///      changes are still refused); pass the values you checked — the verifier you deployed, keccak256 of the
///      runtime code `zkoracle verifier` generates for your vk, the `vk_digest` of `zkoracle setup` — to make the
///      consumer refuse a model id that is not your model.
///      Spread rails: fee 5..100 bps, default 30, step 10, results valid 1 h, callback gas 200,000, 100 bps per
///      unit of output, 15 min between applied results, 10 min minimum feature window, results ignored 30 min
///      after their request. Risk rails: LTV 50..80%, LT 60..90%, steps 2% / 3%, 1 day between updates, results
///      expire 30 min after their request, start at 70% / 75%.
contract DeployConsumers is DeployBase {
    string internal constant TOKEN = "DemoToken.sol:DemoToken";
    string internal constant AMM = "SpreadGatedAMM.sol:SpreadGatedAMM";
    string internal constant GATE = "RiskParameterGate.sol:RiskParameterGate";

    function run() external {
        _loadBook();
        (uint256 key, address deployer) = _deployer();
        IInferenceOracle oracle = IInferenceOracle(_addressSetting("ORACLE", "InferenceOracle"));
        uint256 spreadModel = _uintSetting("SPREAD_MODEL_ID", "spread_mlpModelId");
        uint256 riskModel = _uintSettingOrZero("RISK_MODEL_ID", "risk_mlpModelId");

        vm.startBroadcast(key);
        (DemoToken token0, DemoToken token1, SpreadGatedAMM amm) = _deployPool(oracle, spreadModel, deployer);
        address gate;
        if (riskModel != 0) gate = _deployGate(oracle, riskModel, deployer);
        vm.stopBroadcast();

        _recordAddress("Token0", address(token0));
        _recordAddress("Token1", address(token1));
        _recordAddress("SpreadGatedAMM", address(amm));
        if (gate != address(0)) _recordAddress("RiskParameterGate", gate);
        _saveBook();
    }

    /// @dev Two demo tokens and the pool, seeded with INITIAL_LIQUIDITY of each token (broadcasting).
    function _deployPool(IInferenceOracle oracle, uint256 spreadModel, address deployer)
        internal
        returns (DemoToken token0, DemoToken token1, SpreadGatedAMM amm)
    {
        uint256 liquidity = vm.envOr("INITIAL_LIQUIDITY", uint256(1_000_000e18));
        token0 = DemoToken(_deployArtifact(TOKEN, abi.encode("zkoracle demo token A", "ZKA")));
        token1 = DemoToken(_deployArtifact(TOKEN, abi.encode("zkoracle demo token B", "ZKB")));
        ModelPin.Pin memory pin = _pin(oracle, spreadModel, "SPREAD_");
        amm = SpreadGatedAMM(
            _deployArtifact(
                AMM, abi.encode(oracle, spreadModel, pin, token0, token1, _spreadConfig(), deployer)
            )
        );
        token0.mint(deployer, liquidity);
        token1.mint(deployer, liquidity);
        token0.approve(address(amm), liquidity);
        token1.approve(address(amm), liquidity);
        amm.addLiquidity(liquidity, liquidity, 0);
    }

    /// @dev The risk gate, starting at 70% / 75% (broadcasting).
    function _deployGate(IInferenceOracle oracle, uint256 riskModel, address deployer)
        internal
        returns (address)
    {
        address keeper = vm.envOr("KEEPER", deployer);
        bytes memory args = abi.encode(
            oracle, riskModel, _pin(oracle, riskModel, "RISK_"), _riskConfig(), uint16(7000), uint16(7500)
        );
        return _deployArtifact(GATE, bytes.concat(args, abi.encode(deployer, keeper)));
    }

    function _spreadConfig() internal pure returns (ISpreadGatedAMM.SpreadConfig memory) {
        return ISpreadGatedAMM.SpreadConfig({
            minFeeBps: 5,
            maxFeeBps: 100,
            defaultFeeBps: 30,
            maxStepBps: 10,
            stalenessWindow: 1 hours,
            callbackGasLimit: 200_000,
            bpsPerUnit: 100,
            minUpdateInterval: 15 minutes,
            minFeatureWindow: 10 minutes,
            maxResultAge: 30 minutes
        });
    }

    function _riskConfig() internal pure returns (IRiskParameterGate.RiskConfig memory) {
        return IRiskParameterGate.RiskConfig({
            minLtvBps: 5000,
            maxLtvBps: 8000,
            minLiquidationThresholdBps: 6000,
            maxLiquidationThresholdBps: 9000,
            maxLtvChangeBps: 200,
            maxLiquidationThresholdChangeBps: 300,
            minUpdateDelay: 1 days,
            maxResultAge: 30 minutes,
            callbackGasLimit: 150_000
        });
    }
}
