// Key rotation's front door (issue #25): the audit log every rotation writes to, and the overlap
// an old key keeps beside its successor. Each key's own rotation lives with the key: API keys in
// access/, the keystore passphrase in signer/, the webhook root in wallets/, relayer
// keys and the treasury hot key in relayer/, the paymaster's signing key in sponsor/.
export { recordRotation, listRotations, rotationView, rotationKinds, rotationSteps, rotationPageMax, type RotationKind, type RotationStep, type RotationEvent, type RecordedRotation } from './audit.ts';
export { parseOverlapSeconds, defaultOverlapSeconds, RotationError } from './overlap.ts';
