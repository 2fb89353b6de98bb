// The shell: session, hash router, navigation, connection indicator.

import { get, post, setUnauthorizedHandler } from "./api.js";
import { clear, h, toast } from "./dom.js";
import { onConnectionState, realtime } from "./realtime.js";
import * as auth from "./views/auth.js";
import * as coach from "./views/coach.js";
import * as courses from "./views/courses.js";
import * as home from "./views/home.js";
import * as passwords from "./views/passwords.js";
import * as paths from "./views/paths.js";
import * as profile from "./views/profile.js";
import * as roles from "./views/roles.js";
import * as system from "./views/system.js";
import * as tasks from "./views/tasks.js";

const ROUTES = {
  "": { view: home, title: "Overview", auth: true, nav: "home" },
  login: { view: auth, title: "Sign in", auth: false, mode: "login" },
  register: { view: auth, title: "Create account", auth: false, mode: "register" },
  roles: { view: roles, title: "Role match", auth: true, nav: "roles" },
  paths: { view: paths, title: "Learning paths", auth: true, nav: "paths" },
  courses: { view: courses, title: "Courses", auth: true, nav: "courses" },
  tasks: { view: tasks, title: "Reports & tasks", auth: true, nav: "tasks" },
  coach: { view: coach, title: "Career coach", auth: true, nav: "coach" },
  profile: { view: profile, title: "Profile", auth: true, nav: "profile" },
  passwords: { view: passwords, title: "Password tools", auth: null, nav: "passwords" },
  system: { view: system, title: "System", auth: true, admin: true, nav: "system" },
};

export const session = {
  user: null,
  listeners: new Set(),
  set(user) {
    this.user = user;
    for (const fn of this.listeners) fn(user);
  },
  onChange(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  },
};

let current = null; // {cleanup}
let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [pathPart, query = ""] = raw.split("?");
  const parts = pathPart.split("/").filter(Boolean);
  return { name: parts[0] || "", params: parts.slice(1), query: new URLSearchParams(query) };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const seq = ++renderSeq;
  const { name, params, query } = parseHash();
  const def = ROUTES[name];
  const main = document.getElementById("main");
  if (current && current.cleanup) {
    try {
      current.cleanup();
    } catch (err) {
      console.error(err);
    }
  }
  current = null;
  if (!def) {
    clear(main).append(h("section", { class: "page" },
      h("h1", { id: "page-title", tabindex: "-1" }, "Page not found"),
      h("p", null, "There is nothing at this address. ", h("a", { href: "#/" }, "Go to the overview."))));
    return;
  }
  if (def.auth === true && !session.user) {
    navigate(`#/login?next=${encodeURIComponent(location.hash || "#/")}`);
    return;
  }
  if (def.auth === false && session.user) {
    navigate("#/");
    return;
  }
  if (def.admin && session.user?.role !== "admin") {
    clear(main).append(h("section", { class: "page" },
      h("h1", { id: "page-title", tabindex: "-1" }, "Administrators only"),
      h("p", null, "This screen is available to administrators.")));
    return;
  }
  document.title = `${def.title} · FluentPro`;
  for (const a of document.querySelectorAll("#sidenav a")) {
    if (a.dataset.route === def.nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.body.dataset.route = name || "home";
  const container = h("section", { class: "page", "aria-labelledby": "page-title" });
  clear(main).append(container);
  const ctx = { session, navigate, signedIn, params, query, mode: def.mode, realtime, isCurrent: () => seq === renderSeq };
  try {
    const result = await def.view.render(container, ctx);
    if (seq !== renderSeq) {
      if (result && result.cleanup) result.cleanup();
      return;
    }
    current = result || null;
  } catch (err) {
    console.error(err);
    container.append(h("div", { class: "alert alert-error", role: "alert" }, `This screen failed to load: ${err.message || err}`));
  }
  const heading = document.getElementById("page-title");
  if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
  else if (heading && main.dataset.navigated === "1") heading.focus({ preventScroll: true });
  main.dataset.navigated = "1";
}

function renderChrome(user) {
  const nav = document.getElementById("sidenav");
  const menu = document.getElementById("user-menu");
  nav.hidden = !user;
  menu.hidden = !user;
  document.body.classList.toggle("signed-in", Boolean(user));
  document.getElementById("user-name").textContent = user ? user.display_name || user.email : "";
  for (const el of document.querySelectorAll(".admin-only")) el.hidden = !(user && user.role === "admin");
}

const CONN_LABELS = {
  connected: "Live",
  connecting: "Connecting…",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

function setupConnectionPill() {
  const pill = document.getElementById("conn");
  const label = document.getElementById("conn-label");
  onConnectionState((state) => {
    const shown = session.user ? state : "offline";
    pill.dataset.state = shown;
    label.textContent = session.user ? CONN_LABELS[shown] || shown : "Not signed in";
    pill.title = shown === "connected" ? "Live updates are on" : "Live updates will resume automatically";
  });
  pill.addEventListener("click", () => realtime.reconnectNow());
}

export async function signedIn(user, { next } = {}) {
  session.set(user);
  realtime.start();
  if (next) navigate(next);
}

async function logout() {
  try {
    await post("auth/logout");
  } catch (err) {
    if (err.status !== 401) toast(`Sign-out problem: ${err.detail || err.message}`, "error");
  }
  realtime.stop();
  session.set(null);
  toast("You are signed out.");
  navigate("#/login");
}

async function boot() {
  session.onChange(renderChrome);
  setupConnectionPill();
  session.onChange(() => {
    const pill = document.getElementById("conn");
    const label = document.getElementById("conn-label");
    if (!session.user) {
      pill.dataset.state = "offline";
      label.textContent = "Not signed in";
    }
  });
  setUnauthorizedHandler(() => {
    if (!session.user) return;
    realtime.stop();
    session.set(null);
    toast("Your session has ended. Please sign in again.", "error");
    navigate(`#/login?next=${encodeURIComponent(location.hash || "#/")}`);
  });
  realtime.onMessage((msg) => {
    if (msg.type === "__auth_lost" && session.user) {
      get("me", { quiet401: false }).catch(() => {});
    }
  });
  document.getElementById("logout-btn").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  try {
    const me = await get("me", { quiet401: true });
    await signedIn(me);
  } catch (err) {
    if (err.status !== 401) toast(`Could not load your session: ${err.detail || err.message}`, "error");
    session.set(null);
  }
  renderChrome(session.user);
  await route();
  document.documentElement.dataset.ready = "1";
}

boot();
