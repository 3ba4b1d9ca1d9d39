// The pages' only CSS and JavaScript, served as files from /assets so the Content-Security-Policy
// can forbid inline script and style. The JavaScript adds what plain HTML cannot: copy buttons
// and live updates by polling. Every page reads correctly without it.

export const assetPaths = { css: '/assets/coffer.css', js: '/assets/coffer.js' } as const;

export const css = `
:root { color-scheme: light; --ink: #1d1b19; --muted: #5f5a54; --line: #ddd6cc; --paper: #fbf8f3; --card: #fff; --accent: #6b3e1f; --ok: #1f6b3a; --warn: #8a5a00; --bad: #9b1c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--paper); }
a { color: var(--accent); }
header.site { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; background: var(--accent); color: #fff; }
header.site a { color: #fff; }
header.site .brand { font-weight: 700; font-size: 1.15rem; text-decoration: none; }
header.site form { margin: 0; display: flex; gap: .75rem; align-items: center; }
header.site button { background: transparent; color: #fff; border: 1px solid #fff8; }
nav.sections ul { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: 0; padding: .5rem 1.5rem; background: #f1ebe2; border-bottom: 1px solid var(--line); }
main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 0 0 1.25rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 .75rem; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; overflow-wrap: anywhere; }
pre { background: #f4f0ea; padding: .75rem; border-radius: 6px; overflow-x: auto; }
button, .button { font: inherit; padding: .35rem .8rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary { background: #fff; color: var(--accent); }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #e0a060; outline-offset: 2px; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input[type=text], input[type=password], input[type=search] { font: inherit; padding: .4rem .6rem; border: 1px solid var(--line); border-radius: 6px; width: 100%; max-width: 36rem; }
form.inline { display: inline; }
.row { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.qr svg { width: 14rem; height: 14rem; display: block; background: #fff; }
.big { font-size: 2rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.status { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .85rem; font-weight: 600; border: 1px solid currentColor; }
.status-ok { color: var(--ok); } .status-warn { color: var(--warn); } .status-bad { color: var(--bad); }
.chains { list-style: none; display: flex; gap: .5rem; padding: 0; margin: 0 0 1rem; flex-wrap: wrap; }
.chains a { display: inline-block; padding: .3rem .8rem; border: 1px solid var(--line); border-radius: 999px; text-decoration: none; }
.chains a[aria-current=page] { background: var(--accent); color: #fff; border-color: var(--accent); }
.notice { padding: .75rem 1rem; border-radius: 6px; border: 1px solid var(--line); background: #fff8e6; margin-bottom: 1rem; }
.error { border-color: var(--bad); background: #fdecec; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

export const js = `
'use strict';
(() => {
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.hidden = false;
    button.addEventListener('click', async () => {
      const status = document.getElementById(button.getAttribute('aria-describedby') || '');
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        if (status) status.textContent = 'Copied.';
      } catch {
        if (status) status.textContent = 'Copy failed: select the text and copy it.';
      }
    });
  }
  const live = document.querySelector('[data-live-url]');
  if (!live) return;
  const url = live.getAttribute('data-live-url');
  const everyMs = Number(live.getAttribute('data-live-every-ms')) || 2000;
  let timer;
  const poll = async () => {
    try {
      const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
      if (response.status === 401) {
        const note = document.getElementById('live-status');
        if (note) note.textContent = 'Your session ended. Reload the page to sign in again.';
        return;
      }
      if (response.ok) {
        const body = await response.json();
        for (const [id, markup] of Object.entries(body.regions || {})) {
          const region = document.getElementById(id);
          if (region && region.innerHTML !== markup) region.innerHTML = markup;
        }
      }
    } catch {
      // A dropped poll is retried on the next tick.
    }
    timer = setTimeout(poll, everyMs);
  };
  timer = setTimeout(poll, everyMs);
  window.addEventListener('pagehide', () => clearTimeout(timer));
})();
`;
