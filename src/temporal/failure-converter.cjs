// Loaded by path with require() by the worker and bundled into workflow code, so it is plain
// CommonJS: failure messages and stack traces are encoded (and so encrypted) like payloads.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
