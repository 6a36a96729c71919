#!/usr/bin/python3
"""Benchmark client: the sync script partners write today, `requests` plus `sqlite3`.

Every customer's every operation pulled with the pager of requests_partner.py (pages of
rows=100, one after the other, a throttled answer waited out: Retry-After, else 1 s, up to
10 tries), then written whole into SQLite: per customer and operation, DELETE its rows
and `executemany` an INSERT of each item as JSON text, one commit per pair. Full replace,
no diff, no history.

Environment: CXCLOUD_CLIENT_ID, CXCLOUD_CLIENT_SECRET, CXCLOUD_BASE_URL,
CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE (as the sandbox's env() gives them), and
BENCH_DB (the SQLite file), BENCH_CUSTOMERS (comma-separated), BENCH_OPERATIONS
(comma-separated name:path:scope, scope "customer" or "global"), BENCH_PAGE_SIZE
(default 100).

Prints one line: RESULT rows=N dups=0 failed=F requests=R throttled=T
"""
import json
import os
import sqlite3
import sys
import time

import requests

BASE = os.environ["CXCLOUD_BASE_URL"].rstrip("/")
CA = os.environ["CXCLOUD_CA_FILE"]
CUSTOMERS = [c for c in os.environ["BENCH_CUSTOMERS"].split(",") if c]
OPERATIONS = [o.split(":") for o in os.environ["BENCH_OPERATIONS"].split(",") if o]
ROWS = int(os.environ.get("BENCH_PAGE_SIZE") or 100)

token = requests.post(os.environ["CXCLOUD_TOKEN_URL"], data={
    "grant_type": "client_credentials",
    "client_id": os.environ["CXCLOUD_CLIENT_ID"],
    "client_secret": os.environ["CXCLOUD_CLIENT_SECRET"],
}, timeout=60, verify=CA)
token.raise_for_status()

session = requests.Session()
session.verify = CA
session.headers["Authorization"] = "Bearer " + token.json()["access_token"]
counts = {"requests": 0, "throttled": 0}


def get_page(path, params):
    for _ in range(10):
        r = session.get(BASE + path, params=params, timeout=60)
        counts["requests"] += 1
        throttled = r.status_code == 429 or (
            r.status_code == 403
            and r.headers.get("X-Mashery-Error-Code") == "ERR_403_DEVELOPER_OVER_QPS")
        if throttled:
            counts["throttled"] += 1
            time.sleep(float(r.headers.get("Retry-After") or 1))
            continue
        r.raise_for_status()
        return r.json()
    raise RuntimeError("%s: still throttled after 10 tries" % path)


def pull(path, customer):
    items = []
    page = 1
    while True:
        params = {"page": page, "rows": ROWS}
        if customer:
            params["customerId"] = customer
        body = get_page(path, params)
        items.extend(body["data"])
        if page >= body["pagination"]["pages"]:
            return items
        page += 1


db = sqlite3.connect(os.environ["BENCH_DB"])
for name, _, _ in OPERATIONS:
    db.execute('CREATE TABLE IF NOT EXISTS "%s" (customerId TEXT, data TEXT)' % name)
db.commit()

rows = 0
failed = 0
for name, path, scope in OPERATIONS:
    for customer in (CUSTOMERS if scope == "customer" else [""]):
        try:
            items = pull(path, customer)
        except Exception as e:  # one failing pair does not stop the others
            failed += 1
            sys.stderr.write("%s of %s failed: %s\n" % (name, customer, e))
            continue
        db.execute('DELETE FROM "%s" WHERE customerId = ?' % name, (customer,))
        db.executemany('INSERT INTO "%s" (customerId, data) VALUES (?, ?)' % name,
                       ((customer, json.dumps(it)) for it in items))
        db.commit()
        rows += len(items)
db.close()

print("RESULT rows=%d dups=0 failed=%d requests=%d throttled=%d"
      % (rows, failed, counts["requests"], counts["throttled"]))
sys.stdout.flush()
sys.exit(1 if failed else 0)
