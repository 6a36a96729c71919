#!/usr/bin/python3
"""Benchmark client: a partner's pull of every customer's hardware with `requests`.

What integrators write today: the pager of requests_pull.py (one page at a time, a
throttled answer waited out: Retry-After, else 1 s, up to 10 tries), either one customer
after the other, or with BENCH_WORKERS=N over customers in a
concurrent.futures.ThreadPoolExecutor(max_workers=N), one Session per thread and one
token for all.

Environment: CXCLOUD_CLIENT_ID, CXCLOUD_CLIENT_SECRET, CXCLOUD_BASE_URL,
CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE (as the sandbox's env() gives them), and
BENCH_CUSTOMERS (comma-separated), BENCH_PAGE_SIZE (default 100), BENCH_WORKERS (default
0: sequential), BENCH_IDS_FILE (one "customerId<TAB>hwInstanceId" line per row read).

Prints one line: RESULT rows=N dups=D failed=F requests=R throttled=T
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
ROWS = int(os.environ.get("BENCH_PAGE_SIZE") or 100)
WORKERS = int(os.environ.get("BENCH_WORKERS") or 0)
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
counts = {"requests": 0, "throttled": 0}


def session():
    s = getattr(local, "session", None)
    if s is None:
        s = requests.Session()
        s.verify = CA
        s.headers["Authorization"] = AUTH
        local.session = s
    return s


def get_page(customer, page):
    for _ in range(10):
        r = session().get(BASE + "/inventory/hardware",
                          params={"customerId": customer, "page": page, "rows": ROWS},
                          timeout=60)
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
    raise RuntimeError("customer %s page %d: still throttled after 10 tries" % (customer, page))


def pull(customer):
    items = []
    page = 1
    while True:
        body = get_page(customer, page)
        items.extend(body["data"])
        if page >= body["pagination"]["pages"]:
            return items
        page += 1


results = {}
failed = 0
if WORKERS > 0:
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {pool.submit(pull, c): c for c in CUSTOMERS}
        for f in concurrent.futures.as_completed(futures):
            try:
                results[futures[f]] = f.result()
            except Exception as e:  # one failing customer does not stop the others
                failed += 1
                sys.stderr.write("customer %s failed: %s\n" % (futures[f], e))
else:
    for c in CUSTOMERS:
        try:
            results[c] = pull(c)
        except Exception as e:
            failed += 1
            sys.stderr.write("customer %s failed: %s\n" % (c, e))

rows = 0
dups = 0
seen = set()
out = open(IDS_FILE, "w") if IDS_FILE else None
for c in CUSTOMERS:
    for item in results.get(c, []):
        rows += 1
        key = "%s\t%s" % (c, item.get("hwInstanceId"))
        if key in seen:
            dups += 1
        else:
            seen.add(key)
        if out:
            out.write(key + "\n")
if out:
    out.close()

print("RESULT rows=%d dups=%d failed=%d requests=%d throttled=%d"
      % (rows, dups, failed, counts["requests"], counts["throttled"]))
sys.stdout.flush()
sys.exit(1 if failed else 0)
