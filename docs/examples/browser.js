// FluentPro from a web page on the server's own origin (the session cookie authenticates
// everything, so no token is handled in JavaScript): log in, a role recommendation, a
// task with live progress over EventSource, and the WebSocket.
//
//   const lines = await fluentproExample({ email, password, log: console.log });
//
// A page on another origin must be listed in FLUENTPRO_ALLOWED_ORIGINS, and should use
// the token from the login answer: `Authorization: Bearer` for fetch, and a first
// {"type": "auth", "token"} message on the WebSocket (EventSource cannot send headers).

async function fluentproExample({ email, password, log = console.log }) {
  const lines = [];
  const say = (line) => { lines.push(line); log(line); };
  const json = { "Content-Type": "application/json" };

  // 1. Log in (register on the first run); the answer sets the fp_session cookie.
  const body = JSON.stringify({ email, password });
  let r = await fetch("/api/v1/auth/login", { method: "POST", headers: json, body });
  if (r.status === 401) r = await fetch("/api/v1/auth/register", { method: "POST", headers: json, body });
  if (!r.ok) throw new Error(`login failed: ${r.status} ${(await r.json()).detail}`);
  say(`logged in as ${(await r.json()).user.email}`);

  // 2. Role recommendations.
  r = await fetch("/api/v1/recommendations/roles", {
    method: "POST", headers: json,
    body: JSON.stringify({ job_description: "Backend engineer: Python, PostgreSQL, Redis", limit: 3 }),
  });
  const answer = await r.json();
  for (const role of answer.recommendations) say(`role: ${role.title} (${role.match_score})`);
  say(`source: ${answer.source}`);

  // 3. A task, followed with EventSource until its final event.
  r = await fetch("/api/v1/tasks", {
    method: "POST", headers: json,
    body: JSON.stringify({ kind: "batch_role_match", params: { job_descriptions: ["Data analyst: SQL"] } }),
  });
  const task = await r.json();
  await new Promise((resolve, reject) => {
    const source = new EventSource(task.events_url);
    source.addEventListener("progress", (e) => say(`progress ${JSON.parse(e.data).progress}%`));
    for (const final of ["complete", "failed", "cancelled"]) {
      source.addEventListener(final, () => { say(final); source.close(); resolve(); });
    }
    source.addEventListener("reset", () => say("reset: reload the task with GET " + task.status_url));
    setTimeout(() => { source.close(); reject(new Error("no final event in 60 s")); }, 60000);
  });

  // 4. The WebSocket: welcome, ping/pong, the task's events replayed, close.
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws`);
  await new Promise((resolve, reject) => {
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.type === "welcome") {
        say("ws: welcome");
        ws.send(JSON.stringify({ type: "ping", id: 1 }));
      } else if (msg.type === "pong") {
        say("ws: pong");
        ws.send(JSON.stringify({ type: "subscribe", channel: `tasks:${task.task_id}`, last_event_id: "0" }));
      } else if (msg.type === "event" && ["complete", "failed", "cancelled"].includes(msg.event)) {
        say(`ws: replayed ${msg.event}`);
        ws.close(1000);
        resolve();
      } else if (msg.type === "error") {
        reject(new Error(`${msg.code}: ${msg.message}`));
      }
    };
    ws.onclose = (e) => { if (e.code === 1012) say("ws: server restarting, reconnect and resume"); };
    ws.onerror = () => reject(new Error("WebSocket failed"));
  });
  return lines;
}
