// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {BasePaymaster} from "@account-abstraction/contracts/core/BasePaymaster.sol";
import {IEntryPoint} from "@account-abstraction/contracts/interfaces/IEntryPoint.sol";
import {PackedUserOperation} from "@account-abstraction/contracts/interfaces/PackedUserOperation.sol";

/// Sponsors the gas of user operations from senders the owner allows. Its deposit at the
/// EntryPoint is what the refill job keeps above its threshold.
contract CofferPaymaster is BasePaymaster {
    mapping(address => bool) public sponsored;

    event SponsorshipChanged(address indexed sender, bool sponsored);

    constructor(IEntryPoint entryPoint_) BasePaymaster(entryPoint_) {}

    function setSponsored(address sender, bool value) external onlyOwner {
        sponsored[sender] = value;
        emit SponsorshipChanged(sender, value);
    }

    function _validatePaymasterUserOp(PackedUserOperation calldata userOp, bytes32, uint256)
        internal
        view
        override
        returns (bytes memory context, uint256 validationData)
    {
        // 0 = valid; 1 = signature/authorisation failure, as ERC-4337 defines it.
        return ("", sponsored[userOp.sender] ? 0 : 1);
    }
}
