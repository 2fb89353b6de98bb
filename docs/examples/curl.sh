#!/usr/bin/env bash
# FluentPro from the shell: log in, a role recommendation, a task with live progress (SSE).
#   BASE=http://127.0.0.1:8080 EMAIL=ada@example.com PASSWORD='…15+ characters…' ./curl.sh
# Registers the account first if it does not exist yet. Needs curl and python3 (for JSON).
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8080}
EMAIL=${EMAIL:?set EMAIL}
PASSWORD=${PASSWORD:?set PASSWORD (at least 15 characters)}

json_get() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
credentials=$(python3 -c 'import json, sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$EMAIL" "$PASSWORD")

# 1. Log in (register on the first run). The answer's token authenticates every request.
status=$(curl -s -o /tmp/fluentpro-login.json -w '%{http_code}' -X POST "$BASE/api/v1/auth/login" \
  -H 'Content-Type: application/json' -d "$credentials")
if [ "$status" = 401 ]; then
  status=$(curl -s -o /tmp/fluentpro-login.json -w '%{http_code}' -X POST "$BASE/api/v1/auth/register" \
    -H 'Content-Type: application/json' -d "$credentials")
fi
[ "$status" = 200 ] || [ "$status" = 201 ] || { echo "login failed: $status" >&2; cat /tmp/fluentpro-login.json >&2; exit 1; }
TOKEN=$(json_get '["token"]' < /tmp/fluentpro-login.json)
AUTH="Authorization: Bearer $TOKEN"
echo "logged in as $(json_get '["user"]["email"]' < /tmp/fluentpro-login.json)"

# 2. Role recommendations for a job description ("source" says ai, cache or local).
curl -sf -X POST "$BASE/api/v1/recommendations/roles" -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"job_description": "Backend engineer: Python, PostgreSQL, Redis, REST APIs", "limit": 3}' \
  | python3 -c 'import json, sys
answer = json.load(sys.stdin)
for r in answer["recommendations"]:
    print("role: %s (%s)" % (r["title"], r["match_score"]))
print("source:", answer["source"])'

# 3. A long task, followed live over Server-Sent Events until its final event.
task=$(curl -sf -X POST "$BASE/api/v1/tasks" -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"kind": "batch_role_match", "params": {"job_descriptions": ["Data analyst: SQL, dashboards", "DevOps engineer: Terraform, AWS"]}}')
events_url=$(echo "$task" | json_get '["events_url"]')
echo "task $(echo "$task" | json_get '["task_id"]') queued"
# -N: print each event as it arrives. The server ends the stream after the final event.
curl -sfN -H "$AUTH" "$BASE$events_url" | while IFS= read -r line; do
  case "$line" in
    "event: "*) echo "${line#event: }" ;;
  esac
done
