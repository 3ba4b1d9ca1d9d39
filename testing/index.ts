export { createTestDatabase, serverUrl, adminUrl, type TestDatabase } from './database.ts';
