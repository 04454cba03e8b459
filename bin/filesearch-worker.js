#!/usr/bin/env node
// The installed command: runs the TypeScript CLI directly (Node 24 strips the types).
import '../src/cli.ts';
