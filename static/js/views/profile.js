// Profile editing: PATCH /me.

import { patch } from "../api.js";
import { add, busy, clearProblem, field, formAlert, h, pageHeader, showProblem, toast } from "../dom.js";

const LEVELS = [
  ["", "Not set"],
  ["entry", "Entry level"],
  ["mid", "Mid level"],
  ["senior", "Senior"],
  ["lead", "Lead"],
];

const splitList = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);

function timezones() {
  try {
    if (Intl.supportedValuesOf) return Intl.supportedValuesOf("timeZone");
  } catch {
    /* older browsers */
  }
  return ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];
}

export async function render(root, ctx) {
  const user = ctx.session.user;
  const p = user.profile || {};
  const welcome = ctx.query.get("welcome") === "1";

  const displayName = h("input", { type: "text", value: user.display_name || "", maxlength: 100, autocomplete: "name" });
  const currentRole = h("input", { type: "text", value: p.current_role || "", maxlength: 200, placeholder: "e.g. Backend developer" });
  const level = h("select", null, LEVELS.map(([v, t]) => h("option", { value: v, selected: (p.experience_level || "") === v }, t)));
  const skills = h("textarea", { rows: 3, placeholder: "Python, SQL, Docker" });
  skills.value = (p.skills || []).join(", ");
  const goals = h("textarea", { rows: 3, placeholder: "One goal per line, e.g. Machine learning" });
  goals.value = (p.goals || []).join("\n");
  const hours = h("input", { type: "number", min: 0, max: 168, step: 0.5, value: p.weekly_hours ?? "", inputmode: "decimal" });
  const tzList = h("datalist", { id: "tz-list" }, timezones().map((t) => h("option", { value: t })));
  const guessTz = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  const tz = h("input", { type: "text", list: "tz-list", value: p.timezone || "", placeholder: guessTz, autocomplete: "off" });
  const save = h("button", { type: "submit", class: "btn btn-primary" }, "Save profile");

  const form = h("form", { class: "card stack profile-form", novalidate: true },
    formAlert(),
    h("div", { class: "row" },
      field("Display name", displayName, { name: "display_name" }),
      field("Current role", currentRole, { name: "current_role" })),
    h("div", { class: "row" },
      field("Experience level", level, { name: "experience_level" }),
      field("Hours per week for learning", hours, { name: "weekly_hours", hint: "Used to size learning paths." }),
      field("Time zone", tz, { name: "timezone", hint: guessTz ? `Your browser says ${guessTz}.` : null })),
    tzList,
    field("Skills", skills, { name: "skills", hint: "Separate with commas or new lines." }),
    field("Learning goals", goals, { name: "goals", hint: "One per line. They drive course recommendations." }),
    h("div", { class: "form-actions" }, save));

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    const profile = {
      current_role: currentRole.value.trim() || null,
      experience_level: level.value || null,
      skills: splitList(skills.value),
      goals: goals.value.split("\n").map((s) => s.trim()).filter(Boolean),
      timezone: tz.value.trim() || null,
      weekly_hours: hours.value === "" ? null : Number(hours.value),
    };
    const body = { profile };
    if (displayName.value.trim()) body.display_name = displayName.value.trim();
    busy(save, true, "Saving…");
    try {
      const updated = await patch("me", body);
      ctx.session.set(updated);
      toast("Profile saved.", "success");
    } catch (err) {
      showProblem(form, err);
    } finally {
      busy(save, false);
    }
  });

  add(root, 
    pageHeader("Your profile", "Recommendations, learning paths and the coach use what you tell us here."),
    welcome ? h("div", { class: "alert alert-info", role: "status" },
      h("strong", null, "Welcome to FluentPro! "), "Tell us where you are and where you want to go, then try ",
      h("a", { href: "#/roles" }, "Role match"), ".") : null,
    form,
    h("p", { class: "muted small" }, `Signed in as ${user.email} · member since ${new Date(user.created_at).toLocaleDateString()}`));
}
