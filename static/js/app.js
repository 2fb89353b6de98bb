// The shell: session, hash router, navigation, connection indicator.

import { get, post, setUnauthorizedHandler } from "./api.js";
import { clear, h, plainMessage, toast } from "./dom.js";
import { onConnectionState, realtime } from "./realtime.js";
import * as account from "./views/account.js";
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
  account: { view: account, title: "Account & privacy", auth: true, nav: "account" },
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
  setMenuOpen(false);
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
  document.getElementById("menu-btn").hidden = !user;
  setMenuOpen(false);
  document.body.classList.toggle("signed-in", Boolean(user));
  document.getElementById("user-name").textContent = user ? user.display_name || user.email : "";
  for (const el of document.querySelectorAll(".admin-only")) el.hidden = !(user && user.role === "admin");
}

// What the pill says is what is true: "offline" only when the browser has no network;
// a server that does not answer is "unreachable", and we keep retrying either way.
// Phone layout: the navigation is a panel opened by the "Menu" button (CSS shows the
// button and hides the panel below 760 px; wider screens keep the sidebar).
function setMenuOpen(open) {
  if (open) {
    const bar = document.querySelector(".topbar");
    document.documentElement.style.setProperty("--topbar-h", `${bar.getBoundingClientRect().bottom}px`);
  }
  document.body.classList.toggle("nav-open", open);
  document.getElementById("menu-btn").setAttribute("aria-expanded", String(open));
}

function setupMenu() {
  const btn = document.getElementById("menu-btn");
  btn.addEventListener("click", () => {
    const open = !document.body.classList.contains("nav-open");
    setMenuOpen(open);
    if (open) document.querySelector("#sidenav a[aria-current=page], #sidenav a")?.focus();
  });
  document.getElementById("sidenav").addEventListener("click", (ev) => {
    if (ev.target.closest("a")) setMenuOpen(false);
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && document.body.classList.contains("nav-open")) {
      setMenuOpen(false);
      btn.focus();
    }
  });
}

const CONN_LABELS = {
  connected: ["Live", "Live updates are on."],
  connecting: ["Connecting…", "Opening the live connection."],
  reconnecting: ["Reconnecting…", "The live connection dropped; retrying now."],
  unreachable: ["Server unreachable", "FluentPro is not answering. Retrying every second; what you see may be out of date."],
  offline: ["You're offline", "Your device has no network. Live updates resume when it is back."],
};

function showConnection(state) {
  const pill = document.getElementById("conn");
  const label = document.getElementById("conn-label");
  pill.hidden = !session.user;
  document.body.dataset.conn = session.user ? state : "";
  if (!session.user) return;
  const [text, title] = CONN_LABELS[state] || [state, ""];
  pill.dataset.state = state;
  label.textContent = text;
  pill.title = title;
}

let connState = "connecting";
function setupConnectionPill() {
  onConnectionState((state) => {
    connState = state;
    showConnection(state);
  });
  document.getElementById("conn").addEventListener("click", () => realtime.reconnectNow());
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
    if (err.status !== 401) toast(`Sign-out problem: ${plainMessage(err)}`, "error");
  }
  realtime.stop();
  session.set(null);
  toast("You are signed out.");
  navigate("#/login");
}

async function boot() {
  session.onChange(renderChrome);
  setupMenu();
  setupConnectionPill();
  session.onChange(() => showConnection(connState));
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
    if (err.status !== 401) toast(`Could not load your session: ${plainMessage(err)}`, "error");
    session.set(null);
  }
  renderChrome(session.user);
  await route();
  document.documentElement.dataset.ready = "1";
}

boot();
