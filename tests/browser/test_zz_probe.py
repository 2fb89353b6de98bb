import json, asyncio
async def test_probe(client):
    client.session.headers["Sec-Fetch-Site"] = "same-origin"
    r = await client.post("/api/v1/auth/register", json={"email":"p@example.com","password":"Correct-Horse-Battery-9!x","display_name":"P"})
    r = await client.post("/api/v1/recommendations/roles", json={"job_description":"We need a senior Python engineer with Kubernetes","limit":3})
    t = await r.json(); print("ROLESKEYS", {k: (v if k!="recommendations" else "...") for k,v in t.items()})
    rid = t["recommendations"][0]["role_id"]
    r = await client.post("/api/v1/learning-paths", json={"target_role": rid})
    print("LP", r.status, (await r.text())[:1500])
    r = await client.get("/api/v1/learning-paths")
    print("LPL", r.status, (await r.text())[:400])
    r = await client.post("/api/v1/tasks", json={"kind":"batch_role_match","params":{"job_descriptions":["python dev","nurse"]}})
    tid = (await r.json())["task_id"]
    async with client.get(f"/api/v1/tasks/{tid}/events") as r:
        async for line in r.content:
            print("EV", line.decode().rstrip()[:300])
            if line.startswith(b"event: complete") or line.startswith(b"event: failed"):
                break
    r = await client.get(f"/api/v1/tasks/{tid}")
    print("T", (await r.text())[:800])
