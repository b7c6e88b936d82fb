#!/usr/bin/env node
'use strict';
// deploy-badges: asks phoenix-core, n8n and Windmill how they are and
// writes one shields.io endpoint badge (JSON) per service into
// PHX_BADGE_DIR (default ./badges), plus a summary line on stdout.
// Exits 1 when a service is down (its badge still says so), 2 when the
// badges cannot be written.
//
// Endpoints: PHX_URL_CORE (/health), PHX_URL_N8N (/healthz) and
// PHX_URL_WINDMILL (/api/version), defaulting to the bundled stack's ports.

const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

const SERVICES = [
  { name: 'phoenix-core', base: process.env.PHX_URL_CORE || 'http://localhost:8080', path: '/health' },
  { name: 'n8n', base: process.env.PHX_URL_N8N || 'http://localhost:5678', path: '/healthz' },
  { name: 'windmill', base: process.env.PHX_URL_WINDMILL || 'http://localhost:8000', path: '/api/version' },
];

function get(url) {
  return new Promise((resolve) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.get(url, { timeout: 10000, headers: { 'User-Agent': 'deploy-badges/1' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, error: e.code || e.message }));
  });
}

// What the badge says: Windmill's version, else up/down.
function badge(svc, res) {
  const up = res.status === 200;
  let message = up ? 'up' : `down (${res.error || `HTTP ${res.status}`})`;
  if (up && svc.name === 'windmill') {
    const v = /v\d[\w.-]*/.exec(res.body || '');
    if (v) message = v[0];
  }
  return { schemaVersion: 1, label: svc.name, message, color: up ? 'brightgreen' : 'red' };
}

async function main() {
  const dir = process.env.PHX_BADGE_DIR || 'badges';
  const results = await Promise.all(SERVICES.map(async (svc) => badge(svc, await get(svc.base + svc.path))));
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const b of results) {
      const file = path.join(dir, `${b.label}.json`);
      fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(b)}\n`);
      fs.renameSync(`${file}.tmp`, file);
    }
  } catch (e) {
    console.error(`deploy-badges: ${e.message}`);
    process.exit(2);
  }
  console.log(`badges written to ${dir}: ${results.map((b) => `${b.label} ${b.message}`).join(', ')}`);
  const down = results.filter((b) => b.color === 'red');
  if (down.length) {
    console.error(`deploy-badges: down: ${down.map((b) => b.label).join(', ')}`);
    process.exit(1);
  }
}

main();
