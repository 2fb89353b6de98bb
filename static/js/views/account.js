// Account & privacy: change the password, see and end signed-in sessions, download
// everything we hold (the NDJSON export), delete the account.

import { api, del, get, post } from "../api.js";
import { add, busy, clear, clearProblem, confirmDialog, debounce, field, formAlert, formatDate, h, pageHeader, plainMessage, problemBox, showProblem, toast } from "../dom.js";
import { strengthMeter } from "./passwords.js";

/** "Chrome on Linux" from a user-agent string; the raw string stays in the title. */
export function deviceName(ua) {
  const s = String(ua || "");
  if (!s) return "Unknown device";
  const browser = /Edg\//.test(s) ? "Edge" : /Firefox\//.test(s) ? "Firefox" : /Chrom(e|ium)\//.test(s) ? "Chrome"
    : /Safari\//.test(s) ? "Safari" : /curl|python|aiohttp|httpx/i.test(s) ? "An integration" : "A browser";
  const os = /Android/.test(s) ? "Android" : /iPhone|iPad/.test(s) ? "iOS" : /Windows/.test(s) ? "Windows"
    : /Mac OS X/.test(s) ? "macOS" : /Linux/.test(s) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

function passwordForm(user) {
  const current = h("input", { type: "password", autocomplete: "current-password", required: true });
  const next = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: 15 });
  const meter = strengthMeter({ compact: true });
  const analyse = debounce(() => meter.analyse(next.value, { email: user.email, display_name: user.display_name }), 300);
  next.addEventListener("input", analyse);
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Change password");
  const form = h("form", { class: "stack", novalidate: true, "data-testid": "password-form" },
    formAlert(),
    field("Current password", current, { name: "current_password" }),
    field("New password", next, { name: "new_password", hint: "At least 15 characters. Your other devices will be signed out." }),
    meter.el,
    h("div", { class: "form-actions" }, save));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    const errors = {};
    if (!current.value) errors.current_password = ["Enter your current password."];
    if (!next.value) errors.new_password = ["Choose a new password."];
    if (Object.keys(errors).length) {
      showProblem(form, { status: 422, errors });
      return;
    }
    busy(save, true, "Changing…");
    try {
      await post("me/password", { current_password: current.value, new_password: next.value }, { quiet401: true });
      current.value = "";
      next.value = "";
      meter.analyse("");
      toast("Password changed. Your other devices have been signed out.", "success");
      form.dispatchEvent(new CustomEvent("password-changed", { bubbles: true }));
    } catch (err) {
      if (err.status === 401) showProblem(form, { status: 422, errors: { current_password: ["That is not your current password."] } });
      else showProblem(form, err.errors && err.errors.password ? { ...err, errors: { new_password: err.errors.password } } : err);
    } finally {
      busy(save, false);
    }
  });
  return { form, cleanup: () => { analyse.cancel(); meter.cancel(); } };
}

function sessionsCard() {
  const list = h("ul", { class: "session-list", "data-testid": "sessions", "aria-label": "Signed-in sessions" });
  const everywhere = h("button", { type: "button", class: "btn btn-danger btn-sm" }, "Sign out everywhere else");
  const status = h("p", { class: "muted small", role: "status" });

  async function load() {
    try {
      const page = await get("me/sessions");
      clear(list);
      const items = page.items || [];
      everywhere.hidden = !items.some((s) => !s.current);
      for (const s of items) {
        const row = h("li", { dataset: { sessionId: s.id, current: s.current ? "1" : "0" } },
          h("div", null,
            h("strong", { title: s.user_agent || "" }, deviceName(s.user_agent)),
            s.current ? h("span", { class: "badge badge-new" }, "This device") : null,
            h("div", { class: "muted small" }, `Signed in ${formatDate(s.created_at)} · last active ${formatDate(s.last_seen_at)}`)));
        if (!s.current) {
          const out = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-label": `Sign out ${deviceName(s.user_agent)}, signed in ${formatDate(s.created_at)}` }, "Sign out");
          out.addEventListener("click", async () => {
            busy(out, true, "Signing out…");
            try {
              await del(`me/sessions/${encodeURIComponent(s.id)}`);
              status.textContent = `${deviceName(s.user_agent)} is signed out.`;
              await load();
            } catch (err) {
              busy(out, false);
              status.textContent = plainMessage(err);
            }
          });
          add(row, out);
        }
        add(list, row);
      }
    } catch (err) {
      add(clear(list), h("li", null, problemBox(err)));
    }
  }

  everywhere.addEventListener("click", async () => {
    const yes = await confirmDialog({
      title: "Sign out everywhere else?",
      text: "Every other browser and integration using your account will need to sign in again. This device stays signed in.",
      confirmLabel: "Sign out other sessions",
      danger: true,
    });
    if (!yes) return;
    busy(everywhere, true, "Signing out…");
    try {
      await del("me/sessions");
      status.textContent = "All your other sessions are signed out.";
      await load();
    } catch (err) {
      status.textContent = plainMessage(err);
    } finally {
      busy(everywhere, false);
    }
  });

  const el = h("section", { class: "card", "aria-labelledby": "sessions-h" },
    h("div", { class: "card-title-row" }, h("h2", { id: "sessions-h" }, "Where you're signed in"), everywhere),
    list, status);
  return { el, load };
}

function deleteCard(ctx) {
  const remove = h("button", { type: "button", class: "btn btn-danger" }, "Delete my account…");
  remove.addEventListener("click", async () => {
    const pw = h("input", { type: "password", autocomplete: "current-password" });
    const wrap = field("Your password", pw, { name: "password" });
    const yes = await confirmDialog({
      title: "Delete your account?",
      text: "Your profile, learning paths, history and reports are erased for good and every device is signed out. Download your data first if you want a copy.",
      confirmLabel: "Delete my account",
      danger: true,
      extra: wrap,
      check: async () => {
        if (!pw.value) return "Enter your password to confirm.";
        try {
          await api("DELETE", "me", { password: pw.value }, { quiet401: true });
          return null;
        } catch (err) {
          return err.status === 401 ? "That is not your password." : plainMessage(err);
        }
      },
    });
    if (!yes) return;
    ctx.realtime.stop();
    ctx.session.set(null);
    toast("Your account and all its data have been deleted.", "success", 8000);
    ctx.navigate("#/register");
  });
  return h("section", { class: "card danger-zone", "aria-labelledby": "delete-h" },
    h("h2", { id: "delete-h" }, "Delete account"),
    h("p", null, "Erase your account and everything FluentPro holds about you. This cannot be undone."),
    remove);
}

export async function render(root, ctx) {
  const user = ctx.session.user;
  const pw = passwordForm(user);
  const sessions = sessionsCard();
  pw.form.addEventListener("password-changed", () => sessions.load());
  add(root,
    pageHeader("Account & privacy", `Signed in as ${user.email}.`),
    h("div", { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "pw-h" }, h("h2", { id: "pw-h" }, "Change password"), pw.form),
      sessions.el),
    h("div", { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "export-h" },
        h("h2", { id: "export-h" }, "Download my data"),
        h("p", null, "Everything we hold about you — profile, sessions, activity, recommendations, learning paths and reports — as one file with one JSON record per line (NDJSON)."),
        h("a", { class: "btn btn-secondary", href: "/api/v1/export", download: "", "data-testid": "export-link" }, "Download my data")),
      deleteCard(ctx)));
  await sessions.load();
  return { cleanup: pw.cleanup };
}
