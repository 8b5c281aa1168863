#!/usr/bin/env node
// Launcher for `npx switchboard <role>` inside a checkout: the CLI is TypeScript run by Node's
// type stripping (Node >= 22.18), so this only forwards to it.
await import('../src/cli.ts');
