'use strict';
// n8n stand-in for the phx test bed.  NOT n8n: a small Node 18 server
// (built-in modules only) that answers the part of n8n 1.x that
// phx-functest uses, with n8n's paths, methods, auth header, status codes
// and JSON shapes (see shared api-notes, part A).  Everything lives in
// memory and is lost on restart.
//
//   GET  /healthz, /healthz/readiness              no auth
//   POST /api/v1/workflows                         X-N8N-API-KEY
//   GET|DELETE /api/v1/workflows/{id}
//   POST /api/v1/workflows/{id}/activate|deactivate
//   GET  /api/v1/executions[?workflowId&status&limit&cursor&includeData]
//   GET  /api/v1/executions/{id}[?includeData]
//   ANY  /webhook/{path}                           production webhooks
//   ANY  /webhook-test/{path}                      always "not registered"
//
// Workflows run for real only as far as this stand-in understands them:
// a Webhook trigger, then Respond to Webhook and No Operation nodes along
// `connections`.  Any other node type makes the execution fail (status
// "error"), so a test never passes by accident.  Expressions: a parameter
// string starting with "=" has each {{ ... }} evaluated as a JavaScript
// expression (node:vm, 100 ms limit) with $json (the incoming item's json,
// i.e. {headers, params, query, body} after a Webhook node) and $input
// ({item, all(), first()}) in scope, e.g. ={{ { "echo": $json.body } }}.
// The vm module is not a security boundary: this is a local test server.
//
// Environment: PORT (default 5678), N8N_API_KEY (the one accepted key; no
// key is accepted when it is unset), N8N_STANDIN_STARTUP_DELAY_MS (answer
// like an n8n that is still starting for that long; default 0).
// One log line per request on stderr; the API key is never logged.

const http = require('http');
const crypto = require('crypto');
const vm = require('vm');

const PORT = Number(process.env.PORT || 5678);
const API_KEY = process.env.N8N_API_KEY || '';
const READY_AT = Date.now() + Number(process.env.N8N_STANDIN_STARTUP_DELAY_MS || 0);
const MAX_BODY = 1 << 20;

const workflows = new Map(); // id -> workflow object (as returned by the API)
const webhooks = new Map(); // "METHOD path" -> { workflowId, nodeName }
const executions = []; // oldest first
let lastExecutionId = 0;

// ---- helpers -------------------------------------------------------------

class HttpError extends Error {
  constructor(status, body) {
    super(typeof body === 'string' ? body : body.message);
    this.status = status;
    this.body = body;
  }
}
const notFound = () => new HttpError(404, { message: 'Not Found' });
const badRequest = (message) => new HttpError(400, { message });

function send(res, status, body, type = 'application/json; charset=utf-8') {
  if (status === 204) return res.writeHead(204).end();
  const data = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) reject(new HttpError(413, { message: 'request entity too large' }));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text) {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('Invalid JSON in request body');
  }
}

const sha = (s) => crypto.createHash('sha256').update(s).digest();
const keyMatches = (k) => API_KEY !== '' && crypto.timingSafeEqual(sha(k), sha(API_KEY));

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function nanoid16() {
  return Array.from(crypto.randomBytes(16), (b) => ALNUM[b % ALNUM.length]).join('');
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const now = () => new Date().toISOString();

// ---- workflow validation (the public API's OpenAPI schema) ---------------

const WORKFLOW_KEYS = ['name', 'nodes', 'connections', 'settings', 'staticData'];
const WORKFLOW_READ_ONLY = ['id', 'active', 'createdAt', 'updatedAt', 'tags',
  'isArchived', 'versionId', 'triggerCount', 'meta'];
const NODE_KEYS = ['id', 'name', 'webhookId', 'disabled', 'notesInFlow', 'notes', 'type',
  'typeVersion', 'executeOnce', 'alwaysOutputData', 'retryOnFail', 'maxTries',
  'waitBetweenTries', 'continueOnFail', 'onError', 'position', 'parameters', 'credentials'];
const SETTINGS_KEYS = ['saveExecutionProgress', 'saveManualExecutions', 'saveDataErrorExecution',
  'saveDataSuccessExecution', 'executionTimeout', 'errorWorkflow', 'timezone',
  'executionOrder', 'callerPolicy', 'callerIds', 'timeSavedPerExecution'];

function validateWorkflow(body) {
  const fail = (where, what) => { throw badRequest(`request/body${where} ${what}`); };
  if (!isObject(body)) fail('', 'must be object');
  for (const k of WORKFLOW_READ_ONLY) if (k in body) fail(`/${k}`, 'is read-only');
  for (const k of ['name', 'nodes', 'connections', 'settings']) {
    if (!(k in body)) fail('', `must have required property '${k}'`);
  }
  for (const k of Object.keys(body)) {
    if (!WORKFLOW_KEYS.includes(k)) fail('', 'must NOT have additional properties');
  }
  if (typeof body.name !== 'string') fail('/name', 'must be string');
  if (!Array.isArray(body.nodes)) fail('/nodes', 'must be array');
  if (!isObject(body.connections)) fail('/connections', 'must be object');
  if (!isObject(body.settings)) fail('/settings', 'must be object');
  for (const k of Object.keys(body.settings)) {
    if (!SETTINGS_KEYS.includes(k)) fail('/settings', 'must NOT have additional properties');
  }
  body.nodes.forEach((node, i) => {
    if (!isObject(node)) fail(`/nodes/${i}`, 'must be object');
    for (const k of Object.keys(node)) {
      if (!NODE_KEYS.includes(k)) fail(`/nodes/${i}`, 'must NOT have additional properties');
    }
    for (const k of ['id', 'name', 'webhookId', 'type']) {
      if (k in node && typeof node[k] !== 'string') fail(`/nodes/${i}/${k}`, 'must be string');
    }
    if ('parameters' in node && !isObject(node.parameters)) fail(`/nodes/${i}/parameters`, 'must be object');
  });
}

// ---- webhooks ------------------------------------------------------------

const WEBHOOK = 'n8n-nodes-base.webhook';
const RESPOND = 'n8n-nodes-base.respondToWebhook';
const NOOP = 'n8n-nodes-base.noOp';
const trimSlashes = (p) => String(p || '').replace(/^\/+|\/+$/g, '');

// n8n-workflow's getNodeWebhookPath() for a Webhook node (isFullPath):
// without a webhookId the registered path is {workflowId}/{node name}/{path},
// which is the trap that makes API-created workflows answer 404 on /webhook/{path}.
function webhookPath(wf, node) {
  const path = trimSlashes(node.parameters && node.parameters.path);
  if (node.webhookId === undefined) {
    return `${wf.id}/${encodeURIComponent(node.name.toLowerCase())}/${path}`;
  }
  return path || node.webhookId;
}

function webhookNodes(wf) {
  return wf.nodes.filter((n) => n.type === WEBHOOK && !n.disabled);
}

function isTrigger(node) {
  return !node.disabled && node.type !== 'n8n-nodes-base.manualTrigger' &&
    (node.type === WEBHOOK || /Trigger$/.test(node.type || ''));
}

function activate(wf) {
  if (wf.active) return;
  const triggers = wf.nodes.filter(isTrigger);
  if (triggers.length === 0) {
    throw badRequest(`Workflow "${wf.name}" (ID: ${wf.id}) has no node to start the workflow - ` +
      'at least one trigger, poller or webhook node is required');
  }
  const keys = [];
  for (const node of webhookNodes(wf)) {
    const method = String((node.parameters && node.parameters.httpMethod) || 'GET').toUpperCase();
    const key = `${method} ${webhookPath(wf, node)}`;
    const taken = webhooks.get(key);
    if ((taken && taken.workflowId !== wf.id) || keys.some((k) => k.key === key)) {
      throw badRequest(`The URL path that the "${node.name}" node uses is already taken. ` +
        'Please change it to something else.');
    }
    keys.push({ key, nodeName: node.name });
  }
  for (const { key, nodeName } of keys) webhooks.set(key, { workflowId: wf.id, nodeName });
  wf.active = true;
  wf.triggerCount = triggers.length;
  wf.updatedAt = now();
}

function deactivate(wf) {
  for (const [key, hook] of webhooks) if (hook.workflowId === wf.id) webhooks.delete(key);
  wf.active = false;
  wf.triggerCount = 0;
  wf.updatedAt = now();
}

// Evaluate an n8n parameter value: "=..." strings are expressions.
function evaluate(value, item, items) {
  if (typeof value !== 'string' || !value.startsWith('=')) return value;
  const text = value.slice(1);
  const scope = { $json: item.json, $input: { item, all: () => items, first: () => items[0] } };
  const run = (code) => vm.runInNewContext(`(${code})`, scope, { timeout: 100 });
  const whole = text.match(/^\s*\{\{([\s\S]*)\}\}\s*$/);
  if (whole && !whole[1].includes('}}')) return run(whole[1]);
  return text.replace(/\{\{([\s\S]*?)\}\}/g, (_, code) => {
    const v = run(code);
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

// What a Respond to Webhook node sends: { status, headers, body }.
function respondToWebhook(node, items) {
  const p = node.parameters || {};
  const options = p.options || {};
  const first = items[0] || { json: {} };
  const headers = {};
  for (const h of (options.responseHeaders && options.responseHeaders.entries) || []) {
    headers[h.name] = String(evaluate(h.value, first, items));
  }
  let body;
  switch (p.respondWith || 'firstIncomingItem') {
    case 'firstIncomingItem': body = first.json; break;
    case 'allIncomingItems': body = items.map((i) => i.json); break;
    case 'json': {
      const v = evaluate(p.responseBody === undefined ? '{}' : p.responseBody, first, items);
      body = typeof v === 'string' ? JSON.parse(v) : v;
      break;
    }
    case 'text':
      body = String(evaluate(p.responseBody || '', first, items));
      headers['Content-Type'] = headers['Content-Type'] || 'text/plain; charset=utf-8';
      break;
    case 'noData': body = undefined; break;
    default: throw new Error(`respondWith "${p.respondWith}" is not supported by the stand-in`);
  }
  return { status: Number(options.responseCode || 200), headers, body };
}

// Run the workflow from its webhook node.  Returns the execution's run data,
// the last node's items and the Respond to Webhook node's response, if any.
function runWorkflow(wf, startNode, firstItem) {
  const runData = {};
  const byName = new Map(wf.nodes.map((n) => [n.name, n]));
  const queue = [{ node: startNode, items: [firstItem] }];
  let last = { name: startNode.name, items: [firstItem] };
  let response = null;
  while (queue.length) {
    const { node, items } = queue.shift();
    const startTime = Date.now();
    let out = items;
    if (!node.disabled) {
      if (node.type === RESPOND) {
        if (response) throw new Error('Respond to Webhook node ran more than once');
        response = respondToWebhook(node, items);
      } else if (node.type !== WEBHOOK && node.type !== NOOP) {
        throw new Error(`node type "${node.type}" is not supported by the n8n stand-in`);
      }
    }
    runData[node.name] = [{ startTime, executionTime: Date.now() - startTime,
      executionStatus: 'success', source: [], data: { main: [out] } }];
    last = { name: node.name, items: out };
    const outputs = (wf.connections[node.name] && wf.connections[node.name].main) || [];
    for (const output of outputs) {
      for (const conn of output || []) {
        const next = byName.get(conn.node);
        if (next) queue.push({ node: next, items: out });
      }
    }
  }
  return { runData, last, response };
}

function recordExecution(wf) {
  const exec = { id: String(++lastExecutionId), finished: false, mode: 'webhook', retryOf: null,
    retrySuccessId: null, startedAt: now(), stoppedAt: null, workflowId: wf.id, waitTill: null,
    customData: {}, status: 'running', data: null };
  executions.push(exec);
  return exec;
}

function finishExecution(wf, exec, status, runData, lastNodeExecuted, error) {
  Object.assign(exec, { finished: status === 'success', status, stoppedAt: now(),
    data: { resultData: { runData, lastNodeExecuted, ...(error ? { error: { message: error } } : {}) } } });
  const save = status === 'success' ? wf.settings.saveDataSuccessExecution : wf.settings.saveDataErrorExecution;
  if (save === 'none') executions.splice(executions.indexOf(exec), 1);
}

async function handleWebhook(req, res, url, prefix) {
  const path = trimSlashes(url.pathname.slice(prefix.length + 2));
  const method = req.method.toUpperCase();
  const hook = prefix === 'webhook' ? webhooks.get(`${method} ${path}`) : undefined;
  if (!hook) {
    const other = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']
      .find((m) => m !== method && webhooks.has(`${m} ${path}`));
    const hint = prefix !== 'webhook'
      ? "Click the 'Execute workflow' button on the canvas, then try again. (In test mode, the webhook only works for one call after you click this button)"
      : other
        ? `This webhook is not registered for ${method} requests. Did you mean to make a ${other} request?`
        : 'The workflow must be active for a production URL to run successfully. You can activate the workflow using the toggle in the top-right of the editor. Note that unlike test URL calls, production URL calls aren\'t shown on the canvas (only in the executions list)';
    return send(res, 404, { code: 404, message: `The requested webhook "${method} ${path}" is not registered.`, hint });
  }
  const wf = workflows.get(hook.workflowId);
  const node = wf.nodes.find((n) => n.name === hook.nodeName);
  const p = node.parameters || {};
  const raw = await readBody(req);
  const type = String(req.headers['content-type'] || '');
  let body = {};
  if (raw !== '') {
    if (type.includes('json')) {
      try { body = JSON.parse(raw); } catch { return send(res, 400, { message: 'Failed to parse request body' }); }
    } else if (type.includes('application/x-www-form-urlencoded')) {
      body = Object.fromEntries(new URLSearchParams(raw));
    } else {
      body = raw;
    }
  }
  const item = { json: { headers: req.headers, params: {}, query: Object.fromEntries(url.searchParams), body } };
  const mode = p.responseMode || 'onReceived';
  const exec = recordExecution(wf);
  let result;
  try {
    result = runWorkflow(wf, node, item);
  } catch (e) {
    finishExecution(wf, exec, 'error', {}, node.name, e.message);
    if (mode === 'onReceived') return send(res, 200, { message: 'Workflow was started' });
    return send(res, 500, { code: 0, message: 'Error in workflow' });
  }
  const responseCode = Number((p.options && p.options.responseCode) || p.responseCode || 200);
  const done = () => finishExecution(wf, exec, 'success', result.runData, result.last.name);
  if (mode === 'onReceived') {
    // n8n answers before the run ends; the execution finishes just after.
    setImmediate(done);
    const data = p.options && p.options.responseData;
    return data ? send(res, responseCode, String(data), 'text/plain; charset=utf-8')
      : send(res, responseCode, { message: 'Workflow was started' });
  }
  done();
  if (mode === 'lastNode') {
    const items = result.last.items;
    switch (p.responseData || 'firstEntryJson') {
      case 'allEntries': return send(res, responseCode, items.map((i) => i.json));
      case 'noData': return send(res, responseCode, '', 'text/plain');
      default: return send(res, responseCode, items[0] ? items[0].json : {});
    }
  }
  if (mode === 'responseNode') {
    if (!result.response) return send(res, 500, { code: 0, message: 'No Respond to Webhook node found in the workflow' });
    const r = result.response;
    const isText = typeof r.body === 'string';
    res.writeHead(r.status, { 'Content-Type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', ...r.headers });
    return res.end(r.body === undefined ? '' : isText ? r.body : JSON.stringify(r.body));
  }
  return send(res, 500, { code: 0, message: `responseMode "${mode}" is not supported by the stand-in` });
}

// ---- public API v1 ---------------------------------------------------------

function getWorkflow(id) {
  const wf = workflows.get(id);
  if (!wf) throw notFound();
  return wf;
}

function executionView(exec, includeData) {
  const { data, ...rest } = exec;
  return includeData ? { ...rest, data } : rest;
}

function listExecutions(q) {
  const STATUSES = ['canceled', 'crashed', 'error', 'new', 'running', 'success', 'unknown', 'waiting'];
  const status = q.get('status');
  if (status !== null && !STATUSES.includes(status)) {
    throw badRequest(`request/query/status must be equal to one of the allowed values: ${STATUSES.join(', ')}`);
  }
  let limit = 100;
  if (q.get('limit') !== null) {
    limit = Number(q.get('limit'));
    if (!Number.isInteger(limit)) throw badRequest('request/query/limit must be number');
    if (limit > 250) throw badRequest('request/query/limit must be <= 250');
    if (limit < 1) throw badRequest('request/query/limit must be >= 1');
  }
  let lastId = Infinity;
  if (q.get('cursor')) {
    try {
      const c = JSON.parse(Buffer.from(q.get('cursor'), 'base64').toString('utf8'));
      lastId = Number(c.lastId);
      limit = Number(c.limit) || limit;
    } catch {
      throw badRequest('An invalid cursor was provided');
    }
  }
  const workflowId = q.get('workflowId');
  const includeData = q.get('includeData') === 'true';
  // Running executions are never listed (n8n excludes the active ones).
  const matching = executions
    .filter((e) => e.status !== 'running' && e.status !== 'new')
    .filter((e) => Number(e.id) < lastId)
    .filter((e) => workflowId === null || e.workflowId === workflowId)
    .filter((e) => status === null || e.status === status)
    .reverse();
  const page = matching.slice(0, limit);
  const nextCursor = matching.length > limit
    ? Buffer.from(JSON.stringify({ lastId: page[page.length - 1].id, limit })).toString('base64')
    : null;
  return { data: page.map((e) => executionView(e, includeData)), nextCursor };
}

async function handleApi(req, res, url) {
  const m = url.pathname.match(/^\/api\/v1\/(workflows|executions)(?:\/([^/]+))?(?:\/(activate|deactivate))?\/?$/);
  if (!m) return send(res, 404, { message: 'not found' });
  const [, collection, id, action] = m;
  const key = req.headers['x-n8n-api-key'];
  if (key === undefined) return send(res, 401, { message: "'X-N8N-API-KEY' header required" });
  if (!keyMatches(String(key))) return send(res, 401, { message: 'unauthorized' });
  const route = `${req.method} ${collection}${id ? '/:id' : ''}${action ? '/' + action : ''}`;

  switch (route) {
    case 'POST workflows': {
      const body = parseJson(await readBody(req));
      validateWorkflow(body);
      const t = now();
      const wf = { id: nanoid16(), name: body.name, active: false, isArchived: false, createdAt: t,
        updatedAt: t, versionId: crypto.randomUUID(), triggerCount: 0, nodes: body.nodes,
        connections: body.connections, settings: body.settings, staticData: body.staticData ?? null,
        meta: null, pinData: null, tags: [] };
      workflows.set(wf.id, wf);
      return send(res, 200, wf);
    }
    case 'GET workflows/:id': return send(res, 200, getWorkflow(id));
    case 'DELETE workflows/:id': {
      const wf = getWorkflow(id);
      deactivate(wf);
      workflows.delete(id);
      return send(res, 200, wf);
    }
    case 'POST workflows/:id/activate': {
      const wf = getWorkflow(id);
      activate(wf);
      return send(res, 200, wf);
    }
    case 'POST workflows/:id/deactivate': {
      const wf = getWorkflow(id);
      deactivate(wf);
      return send(res, 200, wf);
    }
    case 'GET executions': return send(res, 200, listExecutions(url.searchParams));
    case 'GET executions/:id': {
      const exec = executions.find((e) => e.id === id);
      if (!exec) throw notFound();
      return send(res, 200, executionView(exec, url.searchParams.get('includeData') === 'true'));
    }
    default:
      return send(res, 405, { message: `${req.method} method not allowed` });
  }
}

// ---- server ----------------------------------------------------------------

async function route(req, res) {
  const url = new URL(req.url, 'http://stand-in');
  const path = url.pathname;
  if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
  const ready = Date.now() >= READY_AT;
  if (req.method === 'GET' && path === '/healthz/readiness') {
    return ready ? send(res, 200, { status: 'ok' }) : send(res, 503, { status: 'error' });
  }
  if (!ready) return send(res, 503, { code: 503, message: 'Database is not ready!' });
  const hook = path.match(/^\/(webhook|webhook-test)\//);
  if (hook) return handleWebhook(req, res, url, hook[1]);
  // n8n blocks bots (isbot.spawn(['bot'])) on everything but health and webhooks.
  if (/bot/i.test(req.headers['user-agent'] || '')) return send(res, 204);
  if (path.startsWith('/api/v1/')) return handleApi(req, res, url);
  return send(res, 404, { message: 'not found' });
}

const server = http.createServer((req, res) => {
  const started = Date.now();
  res.on('finish', () => {
    // Path only: query strings and headers (the API key) are never logged.
    const path = req.url.split('?')[0];
    process.stderr.write(`${now()} n8n-standin ${req.method} ${path} ${res.statusCode} ${Date.now() - started}ms\n`);
  });
  route(req, res).catch((e) => {
    if (res.headersSent) return res.destroy();
    if (e instanceof HttpError) return send(res, e.status, e.body);
    process.stderr.write(`${now()} n8n-standin error: ${e.stack}\n`);
    return send(res, 500, { message: 'Internal server error' });
  });
});

if (API_KEY === '') process.stderr.write(`${now()} n8n-standin: N8N_API_KEY is unset, every API request gets 401\n`);
server.listen(PORT, '0.0.0.0', () => process.stderr.write(`${now()} n8n-standin listening on :${PORT}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
}
