// Test support for the page tests, not used by product code: Debian's Chromium driven by
// playwright-core (no browser download), screenshots as artifacts, and QR codes read back from
// an element screenshot. A missing Chromium fails the tests with the command that installs it.
import { access, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jsQRModule from 'jsqr';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { PNG } from 'pngjs';

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const launchTimeoutMs = 60_000;
const docsScreenshots = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

export async function launchBrowser(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  try {
    await access(chromiumPath);
  } catch {
    throw new Error(`the page tests need Chromium at ${chromiumPath} (set CHROMIUM_PATH to use another): apt-get install -y --no-install-recommends chromium`);
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: launchTimeoutMs,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  // playwright gives each launch a fresh profile directory of its own and removes it on close.
  return { browser, close: () => browser.close() };
}

/**
 * Screenshots go to COFFER_ARTIFACTS_DIR (CI uploads it) or a temp directory; with
 * UPDATE_SCREENSHOTS=1 the ones named for the README are also written to docs/screenshots/.
 */
export async function screenshotDirectory(): Promise<string> {
  const root = process.env.COFFER_ARTIFACTS_DIR;
  if (!root) return mkdtemp(join(tmpdir(), 'coffer-screenshots-'));
  const directory = join(root, 'screenshots');
  await mkdir(directory, { recursive: true });
  return directory;
}

export async function saveScreenshot(page: Page, directory: string, name: string, options: { forDocs?: boolean } = {}): Promise<string> {
  const png = await page.screenshot({ fullPage: true });
  const path = join(directory, `${name}.png`);
  await writeFile(path, png);
  if (options.forDocs && process.env.UPDATE_SCREENSHOTS === '1') await writeFile(join(docsScreenshots, `${name}.png`), png);
  return path;
}

/** What the QR code in `element` says, read from a screenshot of it as a phone would. */
export async function readQrCode(element: Locator): Promise<string | null> {
  const image = PNG.sync.read(await element.screenshot());
  // jsqr is CommonJS: its function is the module's `default` property under ESM.
  return jsQRModule.default(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height)?.data ?? null;
}
