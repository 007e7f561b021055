/**
 * `npm run bundle -- [path]`: writes the workflow bundle (default `dist/workflow-bundle.js`), for
 * workers started with DSRFLOW_WORKFLOW_BUNDLE=<path>, which then skip bundling at start.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { writeWorkflowBundle } from '../worker/index.js';

const path = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
await mkdir(dirname(path), { recursive: true });
await writeWorkflowBundle(path);
console.log(`Workflow bundle written to ${path}; start workers with DSRFLOW_WORKFLOW_BUNDLE=${path}`);
