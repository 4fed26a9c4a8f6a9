#!/usr/bin/env node
// Runs the soak (test/soak/soak.ts) with TypeScript loaded by tsx. Not part of `npm test`.
// Usage: npm run soak [-- --minutes N --rate PER_SECOND --subscribers N]   (default 3 minutes)
import { spawnSync } from 'node:child_process';

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', 'test/soak/soak.ts', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
