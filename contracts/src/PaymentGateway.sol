// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// Receives token payments into the treasury. The payer is `_msgSender()`: the user who signed
/// an ERC-2771 forward request, not the relayer that paid for the gas.
contract PaymentGateway is ERC2771Context {
    using SafeERC20 for IERC20;

    address public immutable treasury;

    event Paid(address indexed payer, address indexed token, uint256 amount, bytes32 indexed paymentRef);

    constructor(address trustedForwarder_, address treasury_) ERC2771Context(trustedForwarder_) {
        require(treasury_ != address(0), "treasury is zero");
        treasury = treasury_;
    }

    function pay(IERC20 token, uint256 amount, bytes32 paymentRef) public {
        require(amount > 0, "amount is zero");
        address payer = _msgSender();
        token.safeTransferFrom(payer, treasury, amount);
        emit Paid(payer, address(token), amount, paymentRef);
    }

    /// Approve by EIP-2612 signature and pay in one call, so a payer never needs ETH.
    function payWithPermit(IERC20 token, uint256 amount, bytes32 paymentRef, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        // A permit front-run by someone else still leaves the allowance in place; pay() decides.
        try IERC20Permit(address(token)).permit(_msgSender(), address(this), amount, deadline, v, r, s) {} catch {}
        pay(token, amount, paymentRef);
    }
}
