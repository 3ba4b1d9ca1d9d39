// The deposit views' front door: what a user (and an auditor) sees of their deposits — the list
// with confirmations, each deposit's history from seen to swept, and the balances pending, in
// custody and in CHOCO. They compose several rooms' tables, so they live above those rooms and
// read through their doors: ledger/ (entries, the deposit view, balances), sweeps/ (credit
// decision and sweep of each deposit), indexers/ (chain heads) and users/ (addresses). Inside
// users/ they would make users/ import rooms that import users/.
export { getDepositHistory, type DepositHistory, type DepositStep, type DepositStepKind } from './history.ts';
export { listUserDeposits, getUserBalances, getUserChoco, userDepositsLimitMax, type UserDeposit, type UserBalance, type DepositStatus } from './deposits.ts';
