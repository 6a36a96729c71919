#!/usr/bin/python3
"""Benchmark client: a partner's pull of every customer's hardware (or of several
operations) with `requests`.

What integrators write today: the pager of requests_pull.py (one page at a time, a
throttled answer waited out: Retry-After, else 1 s, up to 10 tries), either one customer
after the other, or with BENCH_WORKERS=N over customers in a
concurrent.futures.ThreadPoolExecutor(max_workers=N), one Session per thread and one
token for all. A customer's operations are pulled one after the other; the operations
without a customer (scope "global": customers, the bulletins) are one more such task.

Environment: CXCLOUD_CLIENT_ID, CXCLOUD_CLIENT_SECRET, CXCLOUD_BASE_URL,
CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE (as the sandbox's env() gives them), and
BENCH_CUSTOMERS (comma-separated), BENCH_OPERATIONS (comma-separated
name:path:scope:key+key, default the hardware), BENCH_PAGE_SIZE (default 100),
BENCH_WORKERS (default 0: sequential), BENCH_KEEP ("1", the default: every row kept until
the end; "0": dropped once listed), BENCH_IDS_FILE (one "operation<TAB>customerId<TAB>key"
line per row read, key the fields' values joined with "|", customerId "" for a global
operation).

Prints one line: RESULT rows=N dups=0 failed=F requests=R throttled=T
(duplicates are found by the check of the ids file)
"""
import concurrent.futures
import os
import sys
import threading
import time

import requests

BASE = os.environ["CXCLOUD_BASE_URL"].rstrip("/")
CA = os.environ["CXCLOUD_CA_FILE"]
CUSTOMERS = [c for c in os.environ["BENCH_CUSTOMERS"].split(",") if c]
OPERATIONS = [o.split(":") for o in
              (os.environ.get("BENCH_OPERATIONS")
               or "hardware:/inventory/hardware:customer:hwInstanceId").split(",") if o]
ROWS = int(os.environ.get("BENCH_PAGE_SIZE") or 100)
WORKERS = int(os.environ.get("BENCH_WORKERS") or 0)
KEEP = (os.environ.get("BENCH_KEEP") or "1") != "0"
IDS_FILE = os.environ.get("BENCH_IDS_FILE")

token = requests.post(os.environ["CXCLOUD_TOKEN_URL"], data={
    "grant_type": "client_credentials",
    "client_id": os.environ["CXCLOUD_CLIENT_ID"],
    "client_secret": os.environ["CXCLOUD_CLIENT_SECRET"],
}, timeout=60, verify=CA)
token.raise_for_status()
AUTH = "Bearer " + token.json()["access_token"]

local = threading.local()
lock = threading.Lock()
counts = {"requests": 0, "throttled": 0, "rows": 0}
out = open(IDS_FILE, "w") if IDS_FILE else None
kept = []


def session():
    s = getattr(local, "session", None)
    if s is None:
        s = requests.Session()
        s.verify = CA
        s.headers["Authorization"] = AUTH
        local.session = s
    return s


def get_page(path, params):
    for _ in range(10):
        r = session().get(BASE + path, params=params, timeout=60)
        throttled = r.status_code == 429 or (
            r.status_code == 403
            and r.headers.get("X-Mashery-Error-Code") == "ERR_403_DEVELOPER_OVER_QPS")
        with lock:
            counts["requests"] += 1
            if throttled:
                counts["throttled"] += 1
        if throttled:
            time.sleep(float(r.headers.get("Retry-After") or 1))
            continue
        r.raise_for_status()
        return r.json()
    raise RuntimeError("%s page %d: still throttled after 10 tries" % (path, params["page"]))


def pull_pair(name, path, keys, customer):
    items = []
    page = 1
    while True:
        params = {"page": page, "rows": ROWS}
        if customer:
            params["customerId"] = customer
        body = get_page(path, params)
        items.extend(body["data"])
        if page >= body["pagination"]["pages"]:
            break
        page += 1
    fields = keys.split("+")
    with lock:
        counts["rows"] += len(items)
        if out:
            for it in items:
                out.write("%s\t%s\t%s\n" % (name, customer, "|".join(
                    "" if it.get(f) is None else str(it.get(f)) for f in fields)))
        if KEEP:
            kept.append(items)


def pull(customer, scope):
    """Every operation of that scope, one after the other (customer "" for global)."""
    for name, path, op_scope, keys in OPERATIONS:
        if op_scope == scope:
            pull_pair(name, path, keys, customer)


tasks = [("", "global")] if any(o[2] == "global" for o in OPERATIONS) else []
tasks += [(c, "customer") for c in CUSTOMERS]
failed = 0
if WORKERS > 0:
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {pool.submit(pull, c, scope): c for c, scope in tasks}
        for f in concurrent.futures.as_completed(futures):
            try:
                f.result()
            except Exception as e:  # one failing customer does not stop the others
                failed += 1
                sys.stderr.write("customer %s failed: %s\n" % (futures[f], e))
else:
    for c, scope in tasks:
        try:
            pull(c, scope)
        except Exception as e:
            failed += 1
            sys.stderr.write("customer %s failed: %s\n" % (c, e))
if out:
    out.close()

print("RESULT rows=%d dups=0 failed=%d requests=%d throttled=%d"
      % (counts["rows"], failed, counts["requests"], counts["throttled"]))
sys.stdout.flush()
sys.exit(1 if failed else 0)
