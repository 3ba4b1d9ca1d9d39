// The web room's front door: server-rendered pages for people. `/app` is the deposit page for
// users, `/console` the operator console (operators act, auditors read). api/app.ts mounts the
// sub-app this returns at the root. Every page reads through the rooms' doors, as the JSON API
// does; the only table of this room is web_sessions.
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie } from 'hono/cookie';
import { authenticateApiKey } from '../access/index.ts';
import { type ApiDependencies } from '../api/index.ts';
import { WalletError } from '../wallets/index.ts';
import { assetPaths, css, js } from './assets.ts';
import { consolePages } from './console.ts';
import { depositPages } from './deposit-page.ts';
import { areaRoles, crossSite, PageError, renderPageError, type Area, type WebEnv } from './guard.ts';
import { html, messagePage, page } from './layout.ts';
import {
  clearSessionCookie,
  createSession,
  csrfToken,
  deleteSession,
  findSession,
  issueSignInToken,
  sessionIdOf,
  setSessionCookie,
  signInCookie,
  signInTokenOf,
  tokensEqual,
} from './sessions.ts';

export { sessionCookie, sessionLifetimeSeconds } from './sessions.ts';
export type { WebEnv } from './guard.ts';

const formBytesMax = 16 * 1024;

/** No inline script or style, no framing, forms only to ourselves; the QR code is inline SVG. */
const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const pageHeaders: MiddlewareHandler<WebEnv> = async (c, next) => {
  await next();
  c.header('Content-Security-Policy', contentSecurityPolicy);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Frame-Options', 'DENY');
  // Pages hold personal data: never from a shared cache, and not from the back button after sign-out.
  if (!c.req.path.startsWith('/assets/')) c.header('Cache-Control', 'no-store');
};

function signInPage(area: Area, token: string, problem?: string) {
  const who = area === 'app' ? 'your user API key' : 'your operator or auditor API key';
  return page({
    title: 'Sign in',
    area,
    body: html`<h1>Sign in to ${area === 'app' ? 'your deposits' : 'the console'}</h1>
<section class="card" aria-labelledby="sign-in-heading">
  <h2 id="sign-in-heading">API key</h2>
  ${problem ? html`<p class="notice error" role="alert">${problem}</p>` : ''}
  <form method="post" action="/${area}/sign-in">
    <input type="hidden" name="_signin" value="${token}">
    <label for="key">Paste ${who}</label>
    <input id="key" name="key" type="password" autocomplete="off" required spellcheck="false">
    <p class="muted">The key is exchanged for a session that lasts eight hours; it is not kept in the browser.</p>
    <button type="submit">Sign in</button>
  </form>
</section>`,
  });
}

function signInRoutes(web: Hono<WebEnv>, deps: ApiDependencies, area: Area): void {
  web.get(`/${area}/sign-in`, (c) => c.html(signInPage(area, issueSignInToken(c))));
  web.post(`/${area}/sign-in`, async (c) => {
    const form = await c.req.parseBody();
    const token = typeof form._signin === 'string' ? form._signin : undefined;
    const expected = signInTokenOf(c);
    if (crossSite(c) || expected === undefined || !tokensEqual(token, expected)) {
      return c.html(signInPage(area, issueSignInToken(c), 'This sign-in form was not the one this page gave you (or it is more than an hour old). Try again.'), 403);
    }
    const identity = typeof form.key === 'string' ? await authenticateApiKey(deps.pool, form.key.trim()) : null;
    // Never echo the key back: the form comes back empty.
    if (!identity) return c.html(signInPage(area, issueSignInToken(c), 'That API key is unknown or revoked.'), 401);
    if (!areaRoles[area].includes(identity.role)) {
      const elsewhere = areaRoles.app.includes(identity.role) ? ' Deposit users sign in at /app.' : areaRoles.console.includes(identity.role) ? ' Operators and auditors sign in at /console.' : '';
      return c.html(signInPage(area, issueSignInToken(c), `A ${identity.role} key cannot sign in here.${elsewhere}`), 403);
    }
    setSessionCookie(c, await createSession(deps.pool, identity.id));
    deleteCookie(c, signInCookie, { path: '/' });
    return c.redirect(`/${area}`, 303);
  });
}

export function webPages(deps: ApiDependencies): Hono<WebEnv> {
  const web = new Hono<WebEnv>();
  const limitForms = bodyLimit({
    maxSize: formBytesMax,
    onError: (c) => c.html(messagePage('app', 'Form too large', `A form here is at most ${formBytesMax} bytes.`), 413),
  });
  for (const path of ['/app', '/app/*', '/console', '/console/*', '/sign-out', '/assets/*']) web.use(path, pageHeaders);
  for (const path of ['/app/*', '/console/*', '/sign-out']) web.on('POST', path, limitForms);

  web.get(assetPaths.css, (c) => c.body(css, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'public, max-age=300' }));
  web.get(assetPaths.js, (c) => c.body(js, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'public, max-age=300' }));

  signInRoutes(web, deps, 'app');
  signInRoutes(web, deps, 'console');
  web.post('/sign-out', async (c) => {
    const sessionId = sessionIdOf(c);
    const identity = sessionId ? await findSession(deps.pool, sessionId) : null;
    const area: Area = identity && areaRoles.console.includes(identity.role) ? 'console' : 'app';
    if (sessionId && identity) {
      const form = await c.req.parseBody();
      if (crossSite(c) || !tokensEqual(typeof form._csrf === 'string' ? form._csrf : undefined, csrfToken(sessionId))) {
        throw new PageError(403, area, 'This sign-out form did not come from your signed-in page, so it was refused.');
      }
      await deleteSession(deps.pool, sessionId);
    }
    clearSessionCookie(c);
    return c.redirect(`/${area}/sign-in`, 303);
  });

  web.route('/app', depositPages(deps));
  web.route('/console', consolePages(deps));

  web.onError((error, c) => {
    if (error instanceof PageError) return renderPageError(c, error);
    const area: Area = c.req.path.startsWith('/console') ? 'console' : 'app';
    if (error instanceof WalletError) return c.html(messagePage(area, 'Cannot do that', error.message, { href: `/${area}`, label: 'Back' }), error.status as 404 | 409 | 422);
    deps.logger.error('page failed', { path: c.req.path, error });
    // Never the underlying message: it may name tables, values or connection details.
    return c.html(messagePage(area, 'Something went wrong', 'Something went wrong on our side. Try again; if it persists, tell an operator the time it happened.'), 500);
  });
  return web;
}
