// Career-coach chat over the WebSocket: tokens appear as they arrive.

import { add, h, pageHeader, sourceBadge } from "../dom.js";

const SUGGESTIONS = [
  "What role should I aim for next?",
  "Which skills would help me most this quarter?",
  "How do I prepare for a senior backend interview?",
];

let transcript = []; // survives navigation within the session: [{who, text, source}]

export async function render(root, ctx) {
  // A div, not a list: role=log is not allowed on <ol>, and the empty state is no list item.
  const log = h("div", { class: "chat-log", role: "log", "aria-live": "polite", "aria-label": "Conversation", "data-testid": "chat-log" });
  const input = h("textarea", { rows: 2, id: "chat-input", placeholder: "Ask about roles, skills, or your learning plan…", maxlength: 4000 });
  const send = h("button", { type: "submit", class: "btn btn-primary" }, "Send");
  const note = h("p", { class: "chat-note muted small", role: "status" });
  const form = h("form", { class: "chat-form", novalidate: true },
    h("label", { for: "chat-input", class: "sr-only" }, "Message to the coach"), input, send);
  let inFlight = null;

  const scroll = () => { log.scrollTop = log.scrollHeight; };

  function bubble(who, text, source) {
    const body = h("div", { class: "bubble-text" }, text || "");
    const meta = h("div", { class: "bubble-meta" }, who === "coach" ? "Coach" : "You", source ? sourceBadge(source) : null);
    const li = h("div", { class: `bubble bubble-${who}` }, meta, body);
    add(log, li);
    scroll();
    return { li, body, meta };
  }

  for (const m of transcript) bubble(m.who, m.text, m.source);
  if (!transcript.length) {
    add(log, h("div", { class: "chat-empty" },
      h("p", null, "Hi! I'm your career coach. I know your profile and can help you plan your next step."),
      h("div", { class: "btn-row" }, SUGGESTIONS.map((s) => {
        const b = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, s);
        b.addEventListener("click", () => { input.value = s; form.requestSubmit(); });
        return b;
      }))));
  }

  const syncState = () => {
    const ok = ctx.realtime.state === "connected";
    send.disabled = !ok || Boolean(inFlight);
    note.textContent = ok ? "" : "Waiting for the live connection… the coach will be available as soon as it is back.";
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text || inFlight) return;
    log.querySelector(".chat-empty")?.remove();
    bubble("me", text);
    transcript.push({ who: "me", text });
    input.value = "";
    const reply = bubble("coach", "");
    reply.li.classList.add("is-streaming");
    reply.li.setAttribute("aria-busy", "true");
    const entry = { who: "coach", text: "" };
    transcript.push(entry);
    const end = () => {
      reply.li.classList.remove("is-streaming");
      reply.li.setAttribute("aria-busy", "false");
      inFlight = null;
      syncState();
      input.focus();
    };
    inFlight = ctx.realtime.chat(text, {
      onDelta(delta) {
        entry.text += delta;
        reply.body.textContent = entry.text;
        scroll();
      },
      onReset() {
        entry.text = "";
        reply.body.textContent = "";
        reply.li.dataset.reset = "1";
      },
      onDone(msg) {
        entry.source = msg.source;
        reply.li.dataset.done = "1";
        add(reply.meta, sourceBadge(msg.source));
        if (!entry.text) reply.body.textContent = "(no answer)";
        end();
      },
      onError(msg) {
        reply.li.classList.add("bubble-error");
        reply.body.textContent = entry.text ? `${entry.text}\n\n— ${msg.message}` : msg.message || "The coach could not answer.";
        entry.text = reply.body.textContent;
        end();
      },
    }) || null;
    syncState();
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  const off = ctx.realtime.onMessage((msg) => { if (msg.type === "__state" || msg.type === "welcome") syncState(); });
  syncState();
  const clearBtn = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "New conversation");
  clearBtn.addEventListener("click", () => {
    transcript = [];
    ctx.navigate("#/coach");
  });

  root.classList.add("page-chat");
  add(root, 
    pageHeader("Career coach", "Grounded in your profile. Answers stream in as they are written.", clearBtn),
    h("div", { class: "card chat-card" }, log, note, form));
  input.focus();
  return { cleanup: () => { off(); root.classList.remove("page-chat"); } };
}
