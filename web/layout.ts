// The page shell and small pieces every page uses. Markup is built with hono/html's `html`
// template, which escapes every interpolated value; only trusted markup (our own templates and
// the QR code's SVG from qrcode) is passed through `raw`.
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { assetPaths } from './assets.ts';

export type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;
export { html, raw };

export interface Shell {
  title: string;
  /** Which area's header and sign-out form to show; none on the sign-in pages. */
  area: 'app' | 'console';
  signedIn?: { label: string; csrf: string };
  nav?: readonly { href: string; label: string }[];
  body: Markup;
}

export function page(shell: Shell): Markup {
  const home = shell.area === 'app' ? '/app' : '/console';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} · coffer</title>
<link rel="stylesheet" href="${assetPaths.css}">
<script src="${assetPaths.js}" defer></script>
</head>
<body>
<header class="site">
  <a class="brand" href="${home}">coffer ${shell.area === 'app' ? 'deposits' : 'console'}</a>
  ${shell.signedIn
    ? html`<form method="post" action="/sign-out">
        <span>${shell.signedIn.label}</span>
        <input type="hidden" name="_csrf" value="${shell.signedIn.csrf}">
        <button type="submit">Sign out</button>
      </form>`
    : ''}
</header>
${shell.nav
    ? html`<nav class="sections" aria-label="Sections"><ul>${shell.nav.map((item) => html`<li><a href="${item.href}">${item.label}</a></li>`)}</ul></nav>`
    : ''}
<main id="main">
${shell.body}
</main>
</body>
</html>`;
}

/** A page that only says what went wrong, with the HTTP status the caller sends it with. */
export function messagePage(area: Shell['area'], title: string, message: string, link?: { href: string; label: string }): Markup {
  return page({
    title,
    area,
    body: html`<h1>${title}</h1><p class="notice error" role="alert">${message}</p>${link ? html`<p><a href="${link.href}">${link.label}</a></p>` : ''}`,
  });
}

export function statusBadge(text: string, tone: 'ok' | 'warn' | 'bad'): Markup {
  return html`<span class="status status-${tone}">${text}</span>`;
}

/** A UTC time an operator and a support ticket can quote alike. */
export function when(date: Date | null): string {
  return date ? date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—';
}

export function shortHash(value: string | null): string {
  if (!value) return '—';
  return value.length > 20 ? `${value.slice(0, 10)}…${value.slice(-6)}` : value;
}
