#!/usr/bin/python3
"""Partner-scale benchmark client: what integrators write today with `requests`.

Pulls the hardware of every customer in BENCH_CUSTOMERS (comma-separated), page by page
(rows=BENCH_PAGE_SIZE, default 100), either one customer after the other
(BENCH_MODE=seq) or with concurrent.futures.ThreadPoolExecutor(max_workers=6) over
customers (BENCH_MODE=pool; one Session per thread). A throttled answer (429, or the
gateway's 403 ERR_403_DEVELOPER_OVER_QPS) is waited out (Retry-After, else 1 s) and the
page asked again, up to 10 times.

Environment: CXCLOUD_CLIENT_ID, CXCLOUD_CLIENT_SECRET, CXCLOUD_BASE_URL,
CXCLOUD_TOKEN_URL, CXCLOUD_CA_FILE (as the sandbox's env() gives them).

Prints one line: RESULT rows=N requests=R throttled=T cpu=S rss_mib=M
"""
import concurrent.futures
import os
import resource
import threading
import time

import requests

BASE = os.environ["CXCLOUD_BASE_URL"].rstrip("/")
CA = os.environ["CXCLOUD_CA_FILE"]
CUSTOMERS = os.environ["BENCH_CUSTOMERS"].split(",")
ROWS = int(os.environ.get("BENCH_PAGE_SIZE") or 100)
MODE = os.environ.get("BENCH_MODE") or "seq"

lock = threading.Lock()
counts = {"requests": 0, "throttled": 0}
local = threading.local()


def token():
    r = requests.post(os.environ["CXCLOUD_TOKEN_URL"], data={
        "grant_type": "client_credentials",
        "client_id": os.environ["CXCLOUD_CLIENT_ID"],
        "client_secret": os.environ["CXCLOUD_CLIENT_SECRET"],
    }, timeout=60, verify=CA)
    r.raise_for_status()
    return r.json()["access_token"]


TOKEN = token()


def session():
    s = getattr(local, "session", None)
    if s is None:
        s = requests.Session()
        s.verify = CA
        s.headers["Authorization"] = "Bearer " + TOKEN
        local.session = s
    return s


def get_page(customer, page):
    for _ in range(10):
        r = session().get(BASE + "/inventory/hardware",
                          params={"customerId": customer, "page": page, "rows": ROWS},
                          timeout=60, verify=CA)
        with lock:
            counts["requests"] += 1
        if r.status_code == 429 or (
                r.status_code == 403
                and r.headers.get("X-Mashery-Error-Code") == "ERR_403_DEVELOPER_OVER_QPS"):
            with lock:
                counts["throttled"] += 1
            time.sleep(float(r.headers.get("Retry-After") or 1))
            continue
        r.raise_for_status()
        return r.json()
    raise RuntimeError("page %d: still throttled after 10 tries" % page)


def pull(customer):
    rows, page, pages = 0, 1, 1
    while page <= pages:
        body = get_page(customer, page)
        rows += len(body["data"])
        pages = body["pagination"]["pages"]
        page += 1
    return rows


if MODE == "pool":
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        total = sum(pool.map(pull, CUSTOMERS))
else:
    total = sum(pull(c) for c in CUSTOMERS)

usage = resource.getrusage(resource.RUSAGE_SELF)
print("RESULT rows=%d requests=%d throttled=%d cpu=%.2f rss_mib=%.1f" % (
    total, counts["requests"], counts["throttled"], usage.ru_utime + usage.ru_stime,
    usage.ru_maxrss / 1024))
