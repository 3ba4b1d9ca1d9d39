// Sessions for the pages. An API key is exchanged once for a random session id carried in a
// cookie (HttpOnly, SameSite=Strict, Secure behind TLS) that lives a fixed time; the database
// keeps only SHA-256 of the id. A session is as good as its key: revoking the key ends it.
//
// CSRF: every state-changing form carries a synchronizer token derived from the session id
// (an HMAC keyed by it), so the server needs no second secret and a token from another
// session never fits. The sign-in form, which has no session yet, uses a double-submit cookie.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { run, runFirst, sql, sqlBuilder, type Queryable } from '../infra/index.ts';
import { liveApiKey, type ApiKeyIdentity } from '../access/index.ts';

export const sessionCookie = 'coffer_session';
export const signInCookie = 'coffer_sign_in';
export const sessionLifetimeSeconds = 8 * 3600;
const signInTokenLifetimeSeconds = 3600;
const sessionIdPattern = /^[A-Za-z0-9_-]{43}$/;

const hashId = (id: string) => createHash('sha256').update(id).digest();

/** Starts a session for a key that authenticated; the returned id goes into the cookie only. */
export async function createSession(db: Queryable, apiKeyId: string, lifetimeSeconds = sessionLifetimeSeconds): Promise<string> {
  const id = randomBytes(32).toString('base64url');
  // Expired rows are cleared here, where sessions are made, so the table never grows unbounded.
  await run(db, sqlBuilder.deleteFrom('web_sessions').where('expires_at', '<', sql<Date>`now()`));
  await run(db, sqlBuilder.insertInto('web_sessions').values({ id_hash: hashId(id), api_key_id: apiKeyId, expires_at: sql<Date>`now() + ${lifetimeSeconds} * interval '1 second'` }));
  return id;
}

/** The key behind a live session, or null (unknown, expired, or its key revoked or past its rotation overlap). */
export async function findSession(db: Queryable, id: string): Promise<ApiKeyIdentity | null> {
  if (!sessionIdPattern.test(id)) return null;
  const session = await runFirst(db, sqlBuilder.selectFrom('web_sessions').select('api_key_id').where('id_hash', '=', hashId(id)).where('expires_at', '>', sql<Date>`now()`));
  // The key is read at every request (through access/) so that a revoked key ends its sessions at once.
  return session ? liveApiKey(db, session.api_key_id) : null;
}

export async function deleteSession(db: Queryable, id: string): Promise<void> {
  if (sessionIdPattern.test(id)) await run(db, sqlBuilder.deleteFrom('web_sessions').where('id_hash', '=', hashId(id)));
}

/** The form token of a session: an HMAC keyed by the session id, which never leaves the cookie. */
export function csrfToken(sessionId: string): string {
  return createHmac('sha256', sessionId).update('coffer web csrf v1').digest('base64url');
}

export function tokensEqual(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Behind a TLS-terminating proxy the request arrives as http with X-Forwarded-Proto: https. */
export function overTls(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}

export function setSessionCookie(c: Context, id: string): void {
  setCookie(c, sessionCookie, id, { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c), maxAge: sessionLifetimeSeconds });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, sessionCookie, { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c) });
}

export const sessionIdOf = (c: Context): string | undefined => getCookie(c, sessionCookie);

/** A fresh double-submit token for the sign-in form, set as a cookie and returned for the field. */
export function issueSignInToken(c: Context): string {
  const token = randomBytes(24).toString('base64url');
  setCookie(c, signInCookie, token, { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c), maxAge: signInTokenLifetimeSeconds });
  return token;
}

export const signInTokenOf = (c: Context): string | undefined => getCookie(c, signInCookie);
