/** Finding a Chromium for the browser tests: $CHROME, or the first of the usual names on the PATH. */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The Chromium to run: $CHROME (which must exist), else chromium, chromium-browser, google-chrome(-stable) on the PATH; undefined if none. */
export function findChrome() {
  if (process.env.CHROME) {
    if (!existsSync(process.env.CHROME)) throw new Error(`CHROME=${process.env.CHROME} does not exist`);
    return process.env.CHROME;
  }
  for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const candidate = join(dir, name);
      if (dir !== '' && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

/** What to say when no Chromium is found. */
export const NO_CHROME = 'no Chromium found: install one (Debian: apt-get install chromium) or set CHROME=/path/to/chrome';
