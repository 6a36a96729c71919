#!/bin/bash
# Benchmark client: a shell loop with one curl process per page, as people write it.
#
# Token by POST form (--data-urlencode), then page 1 tells how many pages there are,
# then one `curl` per page, each saved to OUTDIR/page-N.json, with --cacert for the
# sandbox's CA. A throttled answer (429, or 403 with X-Mashery-Error-Code
# ERR_403_DEVELOPER_OVER_QPS) is waited out (sleep 1) and the page asked again, up to
# 10 times. At the end one jq counts the rows and the distinct hwInstanceId values.
#
# Environment: CXCLOUD_* (as the sandbox's env() gives them), BENCH_CUSTOMER,
# BENCH_PAGE_SIZE (default 100), BENCH_OUTDIR (required: where the pages go).
# Prints one line: RESULT rows=N dups=D requests=R throttled=T
set -u -o pipefail

rows_per_page=${BENCH_PAGE_SIZE:-100}
out=${BENCH_OUTDIR:?BENCH_OUTDIR is not set}
mkdir -p "$out"

token=$(curl -sS --fail --cacert "$CXCLOUD_CA_FILE" \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "client_id=$CXCLOUD_CLIENT_ID" \
  --data-urlencode "client_secret=$CXCLOUD_CLIENT_SECRET" \
  "$CXCLOUD_TOKEN_URL" | jq -r .access_token) || { echo "token request failed" >&2; exit 1; }

requests=0
throttled=0

get_page() {
  local page=$1 file="$out/page-$1.json" code try
  for try in 1 2 3 4 5 6 7 8 9 10; do
    code=$(curl -sS --cacert "$CXCLOUD_CA_FILE" -H "Authorization: Bearer $token" \
      -D "$out/headers" -o "$file" -w '%{http_code}' \
      "$CXCLOUD_BASE_URL/inventory/hardware?customerId=$BENCH_CUSTOMER&page=$page&rows=$rows_per_page")
    requests=$((requests + 1))
    if [ "$code" = 429 ] || { [ "$code" = 403 ] &&
        grep -qi '^x-mashery-error-code: *ERR_403_DEVELOPER_OVER_QPS' "$out/headers"; }; then
      throttled=$((throttled + 1))
      sleep 1
      continue
    fi
    if [ "$code" != 200 ]; then
      echo "page $page: HTTP $code" >&2
      return 1
    fi
    return 0
  done
  echo "page $page: still throttled after 10 tries" >&2
  return 1
}

get_page 1 || exit 1
pages=$(jq .pagination.pages "$out/page-1.json")
for ((p = 2; p <= pages; p++)); do
  get_page "$p" || exit 1
done

counts=$(jq -s -r '[.[].data[].hwInstanceId] | "\(length) \(unique | length)"' "$out"/page-*.json)
read -r rows distinct <<<"$counts"
echo "RESULT rows=$rows dups=$((rows - distinct)) requests=$requests throttled=$throttled"
