// The access room's front door: API keys (`coffer_<id>_<secret>`, only a hash stored) and the
// roles they carry. api/ authenticates requests with it, web/ signs users in with it, the CLI
// issues and revokes keys.
export { createApiKey, authenticateApiKey, revokeApiKey, rotateApiKey, roles, ApiKeyError, type Role, type ApiKeyIdentity } from './keys.ts';
export { liveApiKey } from './identity.ts';
export { revokeWalletKeys } from './agent-keys.ts';
