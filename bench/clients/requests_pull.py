#!/usr/bin/python3
"""Benchmark client: the kind of script people write today with `requests`.

One Session, a token by POST form, then GET page=1..pages with rows=N, one page at a
time, verifying the sandbox's CA file. No sleeps between pages; a throttled answer
(429, or the gateway's 403 with X-Mashery-Error-Code ERR_403_DEVELOPER_OVER_QPS) is
waited out (Retry-After, else 1 s) and the page asked again, up to 10 times.

Environment: CXCLOUD_CLIENT_ID, CXCLOUD_CLIENT_SECRET, CXCLOUD_BASE_URL,
CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE (as the sandbox's env() gives them), and
BENCH_CUSTOMER, BENCH_PAGE_SIZE (default 100), BENCH_CHECK ("set" or "order").

Prints one line: RESULT rows=N dups=D requests=R throttled=T
"""
import os
import sys
import time

import requests

BASE = os.environ["CXCLOUD_BASE_URL"].rstrip("/")
CA = os.environ["CXCLOUD_CA_FILE"]
CUSTOMER = os.environ["BENCH_CUSTOMER"]
ROWS = int(os.environ.get("BENCH_PAGE_SIZE") or 100)
CHECK = os.environ.get("BENCH_CHECK") or "set"

session = requests.Session()
session.verify = CA

token = session.post(os.environ["CXCLOUD_TOKEN_URL"], data={
    "grant_type": "client_credentials",
    "client_id": os.environ["CXCLOUD_CLIENT_ID"],
    "client_secret": os.environ["CXCLOUD_CLIENT_SECRET"],
}, timeout=60)
token.raise_for_status()
session.headers["Authorization"] = "Bearer " + token.json()["access_token"]

requests_sent = 0
throttled = 0


def get_page(page):
    global requests_sent, throttled
    for _ in range(10):
        r = session.get(BASE + "/inventory/hardware",
                        params={"customerId": CUSTOMER, "page": page, "rows": ROWS},
                        timeout=60)
        requests_sent += 1
        if r.status_code == 429 or (
                r.status_code == 403
                and r.headers.get("X-Mashery-Error-Code") == "ERR_403_DEVELOPER_OVER_QPS"):
            throttled += 1
            time.sleep(float(r.headers.get("Retry-After") or 1))
            continue
        r.raise_for_status()
        return r.json()
    raise RuntimeError("page %d: still throttled after 10 tries" % page)


rows = 0
dups = 0
seen = set()
last = None
page = 1
while True:
    body = get_page(page)
    for item in body["data"]:
        rows += 1
        hw_id = item.get("hwInstanceId")
        if CHECK == "order":
            if last is not None and not hw_id > last:
                dups += 1
            last = hw_id
        elif hw_id in seen:
            dups += 1
        else:
            seen.add(hw_id)
    if page >= body["pagination"]["pages"]:
        break
    page += 1

print("RESULT rows=%d dups=%d requests=%d throttled=%d" % (rows, dups, requests_sent, throttled))
sys.stdout.flush()
