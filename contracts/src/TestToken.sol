// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// A 6-decimal, USDC-like token for deposits in tests and the demo. EIP-2612 permits let a
/// user with no ETH approve a payment that a relayer then submits.
contract TestToken is ERC20, ERC20Permit, Ownable {
    constructor() ERC20("Coffer Test USD", "tUSDC") ERC20Permit("Coffer Test USD") Ownable(msg.sender) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
