// Removes the compiled TypeScript before a build, so that files whose source was moved or deleted
// are not left behind to be packed and imported.
import { rmSync } from 'node:fs';

for (const dir of ['build/src', 'build/bench']) rmSync(dir, { recursive: true, force: true });
