#!/usr/bin/env node
'use strict';
// revenue-tracking: the revenue database's totals, overall and by month,
// as JSON on stdout.  Exits non-zero when the database cannot be queried.
//
// Connection: PGHOST, PGPORT, PGDATABASE, PGUSER (libpq's variables) and
// the password from REVENUE_DB_PASSWORD (or PGPASSWORD).  Node has no
// PostgreSQL driver on these machines, so the query goes through psql
// (postgresql-client), exec'd without a shell; the password travels in
// psql's environment, never on a command line.

const { execFileSync } = require('child_process');

const SQL = `
SELECT json_build_object(
  'rows', count(*),
  'total_usd', coalesce(sum(amount_usd), 0),
  'by_month', coalesce((
    SELECT json_agg(m ORDER BY m.month)
    FROM (SELECT to_char(recorded_on, 'YYYY-MM') AS month,
                 count(*) AS entries, sum(amount_usd) AS total_usd
          FROM revenue GROUP BY 1) m), '[]'::json))
FROM revenue`;

function query() {
  const env = { ...process.env, PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT || '10' };
  if (process.env.REVENUE_DB_PASSWORD) env.PGPASSWORD = process.env.REVENUE_DB_PASSWORD;
  const out = execFileSync('psql', ['--no-psqlrc', '--quiet', '--tuples-only', '--no-align',
    '--set=ON_ERROR_STOP=1', '--command', SQL], { env, encoding: 'utf8', timeout: 30000,
    stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

try {
  const summary = query();
  const target = `${process.env.PGHOST || 'localhost'}:${process.env.PGPORT || 5432}/${process.env.PGDATABASE || ''}`;
  console.log(JSON.stringify({ source: 'revenue-db', target, ...summary }));
} catch (e) {
  const why = (e.stderr && String(e.stderr).trim()) || e.message;
  console.error(`revenue-tracking: cannot query the revenue database: ${why}`);
  process.exit(1);
}
