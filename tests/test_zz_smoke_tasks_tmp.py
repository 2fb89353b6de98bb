from tests.helpers import register_user
from tests.task_helpers import DESCRIPTIONS, assert_well_formed, create_task, watch

async def test_smoke(make_client):
    client = await make_client()
    u = await register_user(client)
    t = await create_task(client, u.headers, "batch_role_match", {"job_descriptions": DESCRIPTIONS})
    events = await watch(client, t["task_id"], u.headers, timeout=30)
    final = assert_well_formed(events, t["task_id"])
    print([ (e.event, e.data.get("progress"), e.data.get("status")) for e in events])
    assert final.event == "complete", final
    t2 = await create_task(client, u.headers, "career_report", {})
    events = await watch(client, t2["task_id"], u.headers, timeout=30)
    print([ (e.event, e.data.get("progress"), e.data.get("step")) for e in events])
    print(events[-1].data)
