'use strict';
// Windmill stand-in for the phx test bed.  NOT Windmill: a small Node 18
// server (built-in modules only) that answers the part of Windmill's API
// that phx-functest uses, with Windmill's paths, methods, auth, status codes
// and shapes (see shared api-notes, part B).  State lives in memory.
//
//   GET  /api/version                                    text "CE v1.458.3-standin"
//   GET  /api/health/status                              JSON, no auth
//   POST /api/w/{ws}/folders/create                      {"name": ...}
//   POST /api/w/{ws}/scripts/create                      201, text: the new hash
//   GET  /api/w/{ws}/scripts/get/p/{path}                Script JSON
//   POST /api/w/{ws}/jobs/run/p/{path}                   201, text: job UUID
//   POST /api/w/{ws}/jobs/run_wait_result/p/{path}       the result (422 on failure)
//   GET  /api/w/{ws}/jobs_u/get/{id}                     QueuedJob / CompletedJob (no auth)
//   GET  /api/w/{ws}/jobs/completed/get/{id}             CompletedJob (404 until done)
//   GET  /api/w/{ws}/jobs/completed/get_result/{id}      the result (404 until done)
//   GET  /api/w/{ws}/jobs/completed/get_result_maybe/{id}
//
// Auth: "Authorization: Bearer TOKEN", ?token=TOKEN or cookie token=TOKEN;
// anything else is 401 with a text/plain body.  Only bash scripts run: the
// content is written to a temporary main.sh and run with bash; the
// arguments are passed positionally, in the order of the script's
// schema.properties (else of its `name="$N"` lines); the result is the last
// non-empty stdout line, parsed as JSON when it is valid JSON, else that
// string.  Other languages can be created but their jobs fail.
//
// Environment: PORT (default 8000), WINDMILL_TOKEN (the one accepted token;
// none when unset), WINDMILL_WORKSPACE (the one workspace, default phoenix),
// TIMEOUT_WAIT_RESULT (seconds run_wait_result waits, default 600),
// WINDMILL_STANDIN_JOB_TIMEOUT (seconds before a job is killed, default 900).
// Seeded at start: folder "phoenix" and the bash script f/phoenix/gitops_check
// (argument msg) returning {"ok":true,"msg":<msg>}.
// One log line per request on stderr; tokens are never logged.

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const PORT = Number(process.env.PORT || 8000);
const TOKEN = process.env.WINDMILL_TOKEN || '';
const WORKSPACE = process.env.WINDMILL_WORKSPACE || 'phoenix';
const WAIT_RESULT_S = Number(process.env.TIMEOUT_WAIT_RESULT || 600);
const JOB_TIMEOUT_S = Number(process.env.WINDMILL_STANDIN_JOB_TIMEOUT || 900);
const VERSION = 'CE v1.458.3-standin';
const MAX_BODY = 1 << 20;
const USER = 'admin';
const LANGUAGES = ['python3', 'deno', 'go', 'bash', 'powershell', 'postgresql', 'mysql',
  'bigquery', 'snowflake', 'mssql', 'graphql', 'nativets', 'bun', 'php', 'rust', 'ansible',
  'csharp', 'oracledb', 'nu', 'java', 'duckdb'];

const folders = new Set();
const scripts = new Map(); // path -> latest Script
const jobs = new Map(); // id -> job (internal shape, see jobView)

// ---- helpers -------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function send(res, status, body) {
  const text = typeof body === 'string';
  const data = text ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': text ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(data),
  });
  res.end(data);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) reject(new HttpError(413, 'Payload Too Large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// axum's Json extractor: syntax errors are 400, wrong shapes 422.
function parseJson(text, fallback) {
  if (text.trim() === '') return fallback;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, `Failed to parse the request body as JSON: ${e.message}`);
  }
}

const sha = (s) => crypto.createHash('sha256').update(s).digest();
const tokenMatches = (t) => TOKEN !== '' && crypto.timingSafeEqual(sha(t), sha(TOKEN));

function requestToken(req, url) {
  const auth = req.headers.authorization || '';
  if (/^Bearer /i.test(auth)) return auth.slice(7).trim();
  if (url.searchParams.get('token')) return url.searchParams.get('token');
  const cookie = (req.headers.cookie || '').match(/(?:^|;\s*)token=([^;]+)/);
  return cookie ? decodeURIComponent(cookie[1]) : null;
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const now = () => new Date().toISOString();

// ---- scripts ---------------------------------------------------------------

function checkScriptPath(p) {
  const m = /^(u|f)\/([^/]+)\/(.+)$/.exec(p);
  if (!m) throw new HttpError(400, `Invalid path: ${p}. Paths must start with u/ or f/`);
  if (m[1] === 'f' && !folders.has(m[2])) throw new HttpError(404, `Not found: folder ${m[2]} not found`);
}

function createScript(body) {
  if (!isObject(body)) throw new HttpError(422, 'Failed to deserialize the JSON body into the target type: invalid type: expected struct NewScript');
  for (const f of ['path', 'summary', 'description', 'content', 'language']) {
    if (typeof body[f] !== 'string') {
      throw new HttpError(422, `Failed to deserialize the JSON body into the target type: missing field \`${f}\``);
    }
  }
  if (!LANGUAGES.includes(body.language)) {
    throw new HttpError(422, `Failed to deserialize the JSON body into the target type: language: unknown variant \`${body.language}\``);
  }
  checkScriptPath(body.path);
  const current = scripts.get(body.path);
  const hash = sha([body.path, body.summary, body.description, body.content, body.language,
    body.parent_hash || ''].join('\0')).toString('hex').slice(0, 16);
  if (current && current.hash === hash) {
    throw new HttpError(400, 'A script with same hash (hence same path, description, summary, content) already exists!');
  }
  if (current && !body.parent_hash) {
    throw new HttpError(400, `Path conflict for ${body.path} with non-archived hash ${current.hash}`);
  }
  if (body.parent_hash && (!current || current.hash !== body.parent_hash)) {
    throw new HttpError(400, 'The parent hash does not seem to exist');
  }
  scripts.set(body.path, {
    workspace_id: WORKSPACE, hash, path: body.path,
    parent_hashes: current ? [current.hash, ...current.parent_hashes] : [],
    summary: body.summary, description: body.description, content: body.content,
    created_by: USER, created_at: now(), archived: false, deleted: false,
    schema: body.schema || null, is_template: Boolean(body.is_template), extra_perms: {},
    lock: body.lock || null, language: body.language, kind: body.kind || 'script',
    tag: body.tag || null, draft_only: body.draft_only || null, envs: body.envs || null,
  });
  return hash;
}

function getScript(p) {
  const s = scripts.get(p);
  if (!s) throw new HttpError(404, `Not found: script not found at path ${p}`);
  return s;
}

// Positional argument names: schema.properties order, else `x="$1"` lines.
function argNames(script) {
  if (script.schema && isObject(script.schema.properties)) return Object.keys(script.schema.properties);
  const names = [];
  for (const m of script.content.matchAll(/^\s*(\w+)="\$\{?(\d+)/gm)) names[Number(m[2]) - 1] = m[1];
  return names.filter(Boolean);
}

// ---- jobs ------------------------------------------------------------------

function jobView(job) {
  const common = {
    id: job.id, workspace_id: WORKSPACE, parent_job: null, created_by: USER,
    created_at: job.created_at, started_at: job.started_at, script_path: job.script.path,
    script_hash: job.script.hash, args: job.args, job_kind: 'script',
    language: job.script.language, permissioned_as: `u/${USER}`, is_flow_step: false,
    email: `${USER}@windmill.dev`, visible_to_owner: true, tag: job.script.language,
    priority: null,
  };
  if (!job.done) {
    return { type: 'QueuedJob', ...common, running: job.running, scheduled_for: job.created_at,
      canceled: false, logs: null, flow_status: null, raw_code: null };
  }
  return { type: 'CompletedJob', ...common, duration_ms: job.duration_ms, success: job.success,
    result: job.result, logs: job.logs, canceled: false, canceled_by: null, deleted: false,
    raw_code: null, flow_status: null, is_skipped: false, mem_peak: null };
}

function startJob(script, args) {
  const job = {
    id: crypto.randomUUID(), script, args, created_at: now(), started_at: null,
    running: false, done: false, success: null, result: null, logs: '', duration_ms: null,
  };
  job.finished = new Promise((resolve) => { job.resolve = resolve; });
  jobs.set(job.id, job);
  setImmediate(() => runJob(job));
  return job;
}

function finishJob(job, success, result) {
  Object.assign(job, { done: true, running: false, success, result,
    duration_ms: Date.now() - Date.parse(job.started_at) });
  job.resolve(job);
}

function runJob(job) {
  job.started_at = now();
  job.running = true;
  const { script, args } = job;
  if (script.language !== 'bash') {
    return finishJob(job, false, { error: { name: 'ExecutionErr',
      message: `the Windmill stand-in only runs bash scripts, not ${script.language}` } });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wm-job-'));
  fs.writeFileSync(path.join(dir, 'main.sh'), script.content);
  const argv = argNames(script).map((name) => {
    const v = args[name];
    if (v === undefined || v === null) return '';
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8',
    WM_WORKSPACE: WORKSPACE, WM_JOB_ID: job.id, WM_JOB_PATH: script.path,
    WM_EMAIL: `${USER}@windmill.dev`, WM_USERNAME: USER };
  const child = spawn('bash', ['main.sh', ...argv], { cwd: dir, env, timeout: JOB_TIMEOUT_S * 1000 });
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; job.logs += d; });
  child.stderr.on('data', (d) => { job.logs += d; });
  child.on('error', (e) => { job.logs += `\n${e.message}\n`; });
  child.on('close', (code, signal) => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (code !== 0) {
      const tail = job.logs.trim().split('\n').slice(-5).join('\n');
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      return finishJob(job, false, { error: { name: 'ExecutionErr',
        message: `bash ${why}, last log lines:\n${tail}` } });
    }
    const last = stdout.trim().split('\n').pop() || '';
    let result = last;
    try { result = JSON.parse(last); } catch { /* not JSON: the string itself */ }
    finishJob(job, true, last === '' ? null : result);
  });
}

function getJob(id) {
  const job = jobs.get(id);
  if (!job) throw new HttpError(404, `Not found: Job ${id} not found`);
  return job;
}

function getCompleted(id) {
  const job = jobs.get(id);
  if (!job || !job.done) throw new HttpError(404, `Not found: Completed job ${id} not found`);
  return job;
}

// Windmill runs with a JSON object as the arguments; anything else is
// wrapped as {"body": payload}.
async function jobArgs(req) {
  const payload = parseJson(await readBody(req), {});
  return isObject(payload) ? payload : { body: payload };
}

// ---- routing ---------------------------------------------------------------

async function handleWorkspace(req, res, url, ws, rest) {
  const method = req.method;
  let m;
  // jobs_u: reachable without a token (the job id is the secret).
  if (method === 'GET' && (m = rest.match(/^jobs_u\/get\/([^/]+)$/))) {
    if (ws !== WORKSPACE) throw new HttpError(404, `Not found: workspace ${ws} not found`);
    return send(res, 200, jobView(getJob(m[1])));
  }
  const token = requestToken(req, url);
  if (token === null) return send(res, 401, 'Unauthorized: no token found in the request');
  if (!tokenMatches(token)) return send(res, 401, 'Unauthorized: invalid token');
  if (ws !== WORKSPACE) throw new HttpError(404, `Not found: workspace ${ws} not found`);

  if (method === 'POST' && rest === 'folders/create') {
    const body = parseJson(await readBody(req), null);
    if (!isObject(body) || typeof body.name !== 'string') {
      throw new HttpError(422, 'Failed to deserialize the JSON body into the target type: missing field `name`');
    }
    if (folders.has(body.name)) throw new HttpError(400, `Folder ${body.name} already exists`);
    folders.add(body.name);
    return send(res, 200, `Created folder ${body.name}`);
  }
  if (method === 'POST' && rest === 'scripts/create') {
    return send(res, 201, createScript(parseJson(await readBody(req), null)));
  }
  if (method === 'GET' && (m = rest.match(/^scripts\/get\/p\/(.+)$/))) {
    return send(res, 200, getScript(m[1]));
  }
  if (method === 'POST' && (m = rest.match(/^jobs\/run\/p\/(.+)$/))) {
    const script = getScript(m[1]);
    return send(res, 201, startJob(script, await jobArgs(req)).id);
  }
  if (method === 'POST' && (m = rest.match(/^jobs\/run_wait_result\/p\/(.+)$/))) {
    const script = getScript(m[1]);
    const job = startJob(script, await jobArgs(req));
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(resolve, WAIT_RESULT_S * 1000); });
    await Promise.race([job.finished, timeout]);
    clearTimeout(timer);
    if (!job.done) throw new HttpError(400, `timeout after ${WAIT_RESULT_S}s`);
    return send(res, job.success ? 200 : 422, job.result);
  }
  if (method === 'GET' && (m = rest.match(/^jobs\/completed\/get\/([^/]+)$/))) {
    return send(res, 200, jobView(getCompleted(m[1])));
  }
  if (method === 'GET' && (m = rest.match(/^jobs\/completed\/get_result\/([^/]+)$/))) {
    return send(res, 200, getCompleted(m[1]).result);
  }
  if (method === 'GET' && (m = rest.match(/^jobs\/completed\/get_result_maybe\/([^/]+)$/))) {
    const job = getJob(m[1]);
    return send(res, 200, { completed: job.done, result: job.done ? job.result : null,
      success: job.done ? job.success : null, started: job.started_at !== null });
  }
  throw new HttpError(404, 'Not Found');
}

async function route(req, res) {
  const url = new URL(req.url, 'http://stand-in');
  const p = url.pathname;
  if (req.method === 'GET' && p === '/api/version') return send(res, 200, VERSION);
  if (req.method === 'GET' && p === '/api/health/status') {
    return send(res, 200, { status: 'healthy', checked_at: now(), database_healthy: true, workers_alive: 1 });
  }
  const m = p.match(/^\/api\/w\/([^/]+)\/(.+)$/);
  if (m) return handleWorkspace(req, res, url, decodeURIComponent(m[1]), m[2]);
  throw new HttpError(404, 'Not Found');
}

const server = http.createServer((req, res) => {
  const started = Date.now();
  res.on('finish', () => {
    // Path only: the query may carry ?token=, and headers are never logged.
    const p = req.url.split('?')[0];
    process.stderr.write(`${now()} windmill-standin ${req.method} ${p} ${res.statusCode} ${Date.now() - started}ms\n`);
  });
  route(req, res).catch((e) => {
    if (res.headersSent) return res.destroy();
    if (e instanceof HttpError) return send(res, e.status, e.message);
    process.stderr.write(`${now()} windmill-standin error: ${e.stack}\n`);
    return send(res, 500, 'Internal: stand-in error');
  });
});

// ---- seed and start ----------------------------------------------------------

folders.add('phoenix');
createScript({
  path: 'f/phoenix/gitops_check',
  summary: 'GitOps check (stand-in seed)',
  description: 'Returns {"ok":true,"msg":<msg>}; the phx functional test runs it by path.',
  language: 'bash',
  content: [
    'msg="${1:-ok}"',
    'echo "gitops check in workspace $WM_WORKSPACE"',
    '# JSON-escape backslashes and double quotes',
    'msg=${msg//\\\\/\\\\\\\\}',
    'msg=${msg//\\"/\\\\\\"}',
    'printf \'{"ok":true,"msg":"%s"}\\n\' "$msg"',
    '',
  ].join('\n'),
  schema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties: { msg: { type: 'string', description: 'echoed back', default: 'ok' } },
    required: [],
  },
});

if (TOKEN === '') process.stderr.write(`${now()} windmill-standin: WINDMILL_TOKEN is unset, every authenticated request gets 401\n`);
server.listen(PORT, '0.0.0.0', () => {
  process.stderr.write(`${now()} windmill-standin listening on :${PORT}, workspace ${WORKSPACE}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)).closeAllConnections());
}
