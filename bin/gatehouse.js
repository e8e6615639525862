#!/usr/bin/env node
// The operator CLI; built to dist/ by `npm run build` (run on install by the "prepare" script).
require("../dist/cli/main.js");
