// Sign in / create account.

import { post } from "../api.js";
import { add, busy, clearProblem, debounce, field, formAlert, h, showProblem, toast } from "../dom.js";
import { strengthMeter } from "./passwords.js";

export async function render(root, ctx) {
  const isLogin = ctx.mode === "login";
  const next = ctx.query.get("next") || "#/";
  const email = h("input", { type: "email", autocomplete: "email", required: true, inputmode: "email" });
  const password = h("input", {
    type: "password",
    autocomplete: isLogin ? "current-password" : "new-password",
    required: true,
    minlength: isLogin ? null : 15,
  });
  const displayName = h("input", { type: "text", autocomplete: "name", maxlength: 100 });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, isLogin ? "Sign in" : "Create account");
  const show = h("button", { type: "button", class: "btn btn-ghost btn-sm", "aria-pressed": "false" }, "Show");
  show.addEventListener("click", () => {
    const visible = password.type === "text";
    password.type = visible ? "password" : "text";
    show.textContent = visible ? "Show" : "Hide";
    show.setAttribute("aria-pressed", String(!visible));
  });

  const meter = isLogin ? null : strengthMeter({ compact: true });
  if (meter) {
    const analyse = debounce(() => meter.analyse(password.value, { email: email.value, display_name: displayName.value }), 300);
    password.addEventListener("input", analyse);
  }

  const pwField = field("Password", password, {
    name: "password",
    hint: isLogin ? null : "At least 15 characters. A few random words make a strong, memorable password.",
  });
  pwField.querySelector("label").after(show);
  pwField.classList.add("field-password");

  const form = h("form", { class: "auth-form", novalidate: true },
    formAlert(),
    isLogin ? null : field("Your name", displayName, { name: "display_name", hint: "Shown in the app; optional." }),
    field("E-mail", email, { name: "email" }),
    pwField,
    meter ? meter.el : null,
    submit);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearProblem(form);
    const body = { email: email.value.trim(), password: password.value };
    if (!isLogin && displayName.value.trim()) body.display_name = displayName.value.trim();
    if (!body.email || !body.password) {
      showProblem(form, {
        status: 422,
        errors: {
          ...(body.email ? {} : { email: ["Enter your e-mail address."] }),
          ...(body.password ? {} : { password: ["Enter your password."] }),
        },
      });
      return;
    }
    busy(submit, true, isLogin ? "Signing in…" : "Creating account…");
    try {
      const answer = await post(isLogin ? "auth/login" : "auth/register", body);
      toast(isLogin ? `Welcome back, ${answer.user.display_name || answer.user.email}.` : "Your account is ready.", "success");
      await ctx.signedIn(answer.user, { next: isLogin ? next : "#/profile?welcome=1" });
    } catch (err) {
      showProblem(form, err);
    } finally {
      busy(submit, false);
    }
  });

  root.classList.add("page-auth");
  add(root, 
    h("div", { class: "auth-wrap" },
      h("div", { class: "auth-intro" },
        h("p", { class: "eyebrow" }, "FluentPro"),
        h("h1", { id: "page-title", tabindex: "-1" }, isLogin ? "Welcome back" : "Start growing into your next role"),
        h("p", { class: "lead" }, "Paste a job description to see the roles that fit you, get a week-by-week learning path, "
          + "and let the coach adapt to how you actually learn."),
        h("ul", { class: "feature-list" },
          h("li", null, "Role matches with scores, reasoning and skill gaps"),
          h("li", null, "Learning paths with courses and milestones"),
          h("li", null, "Live recommendations that adapt as you learn"))),
      h("div", { class: "card auth-card" },
        h("h2", null, isLogin ? "Sign in" : "Create your account"),
        form,
        h("p", { class: "auth-switch" },
          isLogin ? "New to FluentPro? " : "Already have an account? ",
          h("a", { href: isLogin ? "#/register" : "#/login" }, isLogin ? "Create an account" : "Sign in")),
        h("p", { class: "auth-switch muted" }, h("a", { href: "#/passwords" }, "Check or generate a password")))),
  );
  return {
    cleanup() {
      root.classList.remove("page-auth");
      if (meter) meter.cancel();
    },
  };
}
