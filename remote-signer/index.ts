// The remote signer's front door (issue #25): coffer as the signing service of automated signers
// (an OP Stack batcher's --signer.endpoint, Web3Signer eth1 clients). Keys, the clients that may
// use them, a policy per key and an audit event per signature. api/ speaks the protocols (JSON-RPC
// at POST /signer, Web3Signer's REST) and calls in here; the CLI manages keys, clients and policies.
export { RemoteSignerError, remoteSignerErrorCodes, type RemoteSignerErrorCode } from './errors.ts';
export { createKeystoreSignerKey, createMpcSignerKey, getSignerKey, listSignerKeys, KeyMaterial, signerKeyNamePattern, web3signerPublicKey, type SignerKey } from './keys.ts';
export { createSigningClient, authenticateSigningClient, listSigningClients, revokeSigningClient, clientKeysMax, type SigningClient } from './clients.ts';
export { signerPolicySchema, parseSignerPolicy, judgeSigning, messageKinds, nativeValueAsset, type SignerPolicy, type SignerPolicyInput, type SignerRule, type SignerViolation, type SigningFacts } from './policy.ts';
export { clientKeys, signTransaction, signPersonalMessage, signTypedData, signRaw, type RemoteSignerContext, type SigningMethod } from './sign.ts';
export { setSignerPolicy, listSignerEvents, eventsPageMax, type SignerEvent, type SignerEventKind } from './audit.ts';
export { parseTransactionArgs, auditInputBytesMax } from './transaction.ts';
