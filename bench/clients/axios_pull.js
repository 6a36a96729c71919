// Benchmark client: a sequential Node.js script with axios, as people write it.
//
// One axios instance over a keep-alive https.Agent that trusts the sandbox's CA; a token
// by POST form, then GET page=1..pages with rows=N one at a time. A throttled answer
// (429, or 403 with X-Mashery-Error-Code ERR_403_DEVELOPER_OVER_QPS) is waited out
// (Retry-After, else 1 s) and the page asked again, up to 10 times.
//
// Environment: CXCLOUD_* (as the sandbox's env() gives them), BENCH_CUSTOMER,
// BENCH_PAGE_SIZE (default 100), BENCH_CHECK ("set" or "order"); NODE_PATH must reach
// the axios package (bench/node_modules).
// Prints one line: RESULT rows=N dups=D requests=R throttled=T
'use strict';
const fs = require('fs');
const https = require('https');
const axios = require('axios');

const env = process.env;
const base = env.CXCLOUD_BASE_URL.replace(/\/+$/, '');
const rowsPerPage = Number(env.BENCH_PAGE_SIZE || 100);
const check = env.BENCH_CHECK || 'set';

const http = axios.create({
  httpsAgent: new https.Agent({ ca: fs.readFileSync(env.CXCLOUD_CA_FILE), keepAlive: true }),
  timeout: 60000,
  validateStatus: () => true,
});

let requests = 0;
let throttled = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function getPage(page) {
  for (let i = 0; i < 10; i++) {
    const r = await http.get(base + '/inventory/hardware', {
      params: { customerId: env.BENCH_CUSTOMER, page, rows: rowsPerPage },
    });
    requests++;
    if (r.status === 429 || (r.status === 403 &&
        r.headers['x-mashery-error-code'] === 'ERR_403_DEVELOPER_OVER_QPS')) {
      throttled++;
      await sleep(1000 * Number(r.headers['retry-after'] || 1));
      continue;
    }
    if (r.status !== 200) throw new Error(`page ${page}: HTTP ${r.status}`);
    return r.data;
  }
  throw new Error(`page ${page}: still throttled after 10 tries`);
}

async function main() {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: env.CXCLOUD_CLIENT_ID,
    client_secret: env.CXCLOUD_CLIENT_SECRET,
  });
  const tok = await http.post(env.CXCLOUD_TOKEN_URL, form);
  if (tok.status !== 200) throw new Error(`token request: HTTP ${tok.status}`);
  http.defaults.headers.common.Authorization = 'Bearer ' + tok.data.access_token;

  let rows = 0;
  let dups = 0;
  let last = null;
  const seen = new Set();
  for (let page = 1; ; page++) {
    const body = await getPage(page);
    for (const item of body.data) {
      rows++;
      const id = item.hwInstanceId;
      if (check === 'order') {
        if (last !== null && !(id > last)) dups++;
        last = id;
      } else if (seen.has(id)) {
        dups++;
      } else {
        seen.add(id);
      }
    }
    if (page >= body.pagination.pages) break;
  }
  console.log(`RESULT rows=${rows} dups=${dups} requests=${requests} throttled=${throttled}`);
}

main().catch((e) => {
  console.error(String(e && e.message ? e.message : e));
  process.exit(1);
});
