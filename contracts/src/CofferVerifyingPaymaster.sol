// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BasePaymaster} from "@account-abstraction/contracts/core/BasePaymaster.sol";
import {IEntryPoint} from "@account-abstraction/contracts/interfaces/IEntryPoint.sol";
import {PackedUserOperation} from "@account-abstraction/contracts/interfaces/PackedUserOperation.sol";
import {_packValidationData} from "@account-abstraction/contracts/core/Helpers.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";

/// Pays for a user operation when one of its accepted signers (coffer's sponsor service) signed
/// it. paymasterData = abi.encode(uint48 validUntil, uint48 validAfter) ‖ 65-byte signature
/// over getHash(), EIP-191 framed. The nonce is in the hash, so a signature is good for one
/// operation; the EntryPoint enforces the time range. Signers are a set kept by the owner, so
/// the signing key rotates without a redeploy. Reading that set is storage access during
/// validation, which ERC-7562 allows a staked paymaster: stake it (deploy does, on devnets).
contract CofferVerifyingPaymaster is BasePaymaster {
    uint256 private constant VALID_TIMESTAMP_OFFSET = PAYMASTER_DATA_OFFSET;
    uint256 private constant SIGNATURE_OFFSET = VALID_TIMESTAMP_OFFSET + 64;

    mapping(address => bool) public isSigner;

    event SignerChanged(address indexed signer, bool accepted);

    constructor(IEntryPoint entryPoint_, address[] memory signers) BasePaymaster(entryPoint_) {
        for (uint256 i = 0; i < signers.length; i++) _setSigner(signers[i], true);
    }

    function setSigner(address signer, bool accepted) external onlyOwner {
        _setSigner(signer, accepted);
    }

    function _setSigner(address signer, bool accepted) private {
        require(signer != address(0), "signer is the zero address");
        isSigner[signer] = accepted;
        emit SignerChanged(signer, accepted);
    }

    /// What the sponsor signs: every field of the operation but its signature and paymasterData
    /// (the paymaster's own gas limits included), the chain, this paymaster and the time range.
    function getHash(PackedUserOperation calldata userOp, uint48 validUntil, uint48 validAfter) public view returns (bytes32) {
        return keccak256(
            abi.encode(
                userOp.sender,
                userOp.nonce,
                keccak256(userOp.initCode),
                keccak256(userOp.callData),
                userOp.accountGasLimits,
                uint256(bytes32(userOp.paymasterAndData[PAYMASTER_VALIDATION_GAS_OFFSET:PAYMASTER_DATA_OFFSET])),
                userOp.preVerificationGas,
                userOp.gasFees,
                block.chainid,
                address(this),
                validUntil,
                validAfter
            )
        );
    }

    function parsePaymasterData(bytes calldata paymasterAndData) public pure returns (uint48 validUntil, uint48 validAfter, bytes calldata signature) {
        (validUntil, validAfter) = abi.decode(paymasterAndData[VALID_TIMESTAMP_OFFSET:SIGNATURE_OFFSET], (uint48, uint48));
        signature = paymasterAndData[SIGNATURE_OFFSET:];
    }

    /// Never reverts on a bad signature (tryRecover): the sponsor's stub data must take the same
    /// path as the real data during gas estimation (ERC-7677), and a failure is reported to the
    /// EntryPoint as SIG_VALIDATION_FAILED (AA34), not as a revert.
    function _validatePaymasterUserOp(PackedUserOperation calldata userOp, bytes32, uint256)
        internal
        view
        override
        returns (bytes memory context, uint256 validationData)
    {
        (uint48 validUntil, uint48 validAfter, bytes calldata signature) = parsePaymasterData(userOp.paymasterAndData);
        bytes32 digest = MessageHashUtils.toEthSignedMessageHash(getHash(userOp, validUntil, validAfter));
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(digest, signature);
        bool failed = error != ECDSA.RecoverError.NoError || !isSigner[recovered];
        return ("", _packValidationData(failed, validUntil, validAfter));
    }
}
