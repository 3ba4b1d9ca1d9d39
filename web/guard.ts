// Who may see a page and who may send a form: the session behind the cookie, its role, and the
// form's CSRF token. Pages read through the same doors as the JSON API; this file only decides.
import type { Context, MiddlewareHandler } from 'hono';
import type { ApiKeyIdentity, Role } from '../access/index.ts';
import type { Pool } from '../infra/index.ts';
import { messagePage } from './layout.ts';
import { clearSessionCookie, csrfToken, findSession, sessionIdOf, tokensEqual } from './sessions.ts';

export type Area = 'app' | 'console';
export type WebEnv = { Variables: { identity: ApiKeyIdentity; sessionId: string; csrf: string } };

/** Which roles sign in where: deposit users to /app, operators and auditors to /console. */
export const areaRoles: Record<Area, readonly Role[]> = { app: ['user'], console: ['operator', 'auditor'] };

export class PageError extends Error {
  override name = 'PageError';
  readonly status: 400 | 401 | 403 | 404 | 409 | 503;
  readonly area: Area;
  constructor(status: PageError['status'], area: Area, message: string) {
    super(message);
    this.status = status;
    this.area = area;
  }
}

/**
 * Pages of an area need a live session with a role of that area. A reader without one is sent
 * to sign in; a form sent without one is refused (a redirect would drop what it asked for).
 */
export function requireSession(pool: Pool, area: Area): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const sessionId = sessionIdOf(c);
    const identity = sessionId ? await findSession(pool, sessionId) : null;
    if (!sessionId || !identity) {
      if (sessionId) clearSessionCookie(c);
      if (c.req.method === 'GET' || c.req.method === 'HEAD') {
        if (c.req.header('accept')?.includes('application/json')) return c.json({ error: 'session_ended' }, 401);
        return c.redirect(`/${area}/sign-in`, 303);
      }
      throw new PageError(401, area, 'Your session has ended or was never started. Sign in again; nothing was changed.');
    }
    if (!areaRoles[area].includes(identity.role)) {
      throw new PageError(403, area, `This page is for ${areaRoles[area].join(' and ')} keys; you signed in with a ${identity.role} key.`);
    }
    c.set('identity', identity);
    c.set('sessionId', sessionId);
    c.set('csrf', csrfToken(sessionId));
    await next();
  };
}

/** A browser tells us a request came from another site; such a form is refused whatever it carries. */
export function crossSite(c: Context): boolean {
  return c.req.header('sec-fetch-site') === 'cross-site';
}

/** Forms that change something carry the session's token; anything else is a forgery. */
export function requireCsrf(area: Area): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    if (c.req.method !== 'POST') return next();
    const form = await c.req.parseBody();
    const token = typeof form._csrf === 'string' ? form._csrf : undefined;
    if (crossSite(c) || !tokensEqual(token, c.get('csrf'))) {
      throw new PageError(403, area, 'This form did not come from your signed-in page (its security token is missing or wrong), so it was refused. Nothing was changed.');
    }
    await next();
  };
}

/** Operators act; auditors only read. */
export function requireOperator(area: Area): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    if (c.get('identity').role !== 'operator') throw new PageError(403, area, 'Only operators may do this; auditor keys are read-only. Nothing was changed.');
    await next();
  };
}

export function renderPageError(c: Context, error: PageError) {
  return c.html(messagePage(error.area, error.status === 403 ? 'Not allowed' : error.status === 401 ? 'Signed out' : 'Cannot do that', error.message, { href: `/${error.area}`, label: 'Back' }), error.status);
}
