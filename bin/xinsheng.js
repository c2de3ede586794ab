#!/usr/bin/env node
// The package's CLI entry: runs the compiled program (`npm run build` makes dist/).
require('../dist/src/main.js').runFromCommandLine();
