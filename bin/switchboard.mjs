#!/usr/bin/env node
// Launcher for `npx switchboard <role|command>`. A checkout runs the TypeScript sources through
// Node's type stripping (Node >= 22.18); an installed package, which ships no src/, runs the
// JavaScript that `prepack` compiled into dist/ (Node strips types only outside node_modules).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/src/cli.js', import.meta.url).href);
