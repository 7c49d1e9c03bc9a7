// Services en ligne — the thin portal (an ES2020 module: no framework, no build step).
//
// Everything on screen comes from the JSON API, called with fetch(…, {credentials: "same-origin"}).
// State-changing calls carry the X-CSRF-Token that GET /api/session hands out; the session
// itself is the HttpOnly cookie (nothing is kept in the browser's storage). The DOM is built with
// createElement and text nodes only: names, comments and reasons are user input and are never
// parsed as markup.
// Screens are chosen by the URL's hash (#/connexion, #/profil/1/catalogue…).

// ------------------------------------------------------------------------------------- DOM

const PROPERTIES = new Set(["value", "checked", "selected", "indeterminate"]);

/** An element with attributes (on* are listeners) and children (strings become text nodes). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const value = attrs[key];
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2), value);
      } else if (PROPERTIES.has(key)) el[key] = value;
      else if (value === true) el.setAttribute(key, "");
      else el.setAttribute(key, String(value));
    }
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let idCounter = 0;
function uid(prefix) {
  idCounter += 1;
  return `${String(prefix || "id").replace(/[^A-Za-z0-9_-]/g, "-")}-${idCounter}`;
}

function announce(text) {
  const live = document.getElementById("announcer");
  if (!live) return;
  live.textContent = "";
  window.setTimeout(() => {
    live.textContent = text;
  }, 50);
}

function focusEl(el) {
  if (!el) return;
  if (!el.hasAttribute("tabindex") && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) {
    el.setAttribute("tabindex", "-1");
  }
  el.focus();
}

// ------------------------------------------------------------------------------------- words

const KINDS = {
  employer: "Employeur",
  accounting_firm: "Firme comptable",
  payroll_service: "Service de paie",
};
const LEVELS = { probable: "Probable", possible: "Possible" };
const PROPAGATION =
  "La mise à jour des informations affichées dans cette section peut prendre jusqu'à 24 heures.";

const pad = (n) => String(n).padStart(2, "0");

// Times read on the service's clock, America/Montreal, whatever the zone of the person's machine:
// the same time as in the emails (notifications/templates.py).
const MONTREAL_CLOCK = new Intl.DateTimeFormat("fr-CA", {
  timeZone: "America/Montreal",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

function fmtDateTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = {};
  for (const part of MONTREAL_CLOCK.formatToParts(d)) p[part.type] = part.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour} h ${p.minute}`;
}

function fmtDate(iso) {
  return iso ? String(iso).slice(0, 10) : "—";
}

function fmtAge(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 24) return `${hours} h ${pad(m % 60)} min`;
  return `${Math.floor(hours / 24)} j ${hours % 24} h`;
}

const yesNo = (v) => (v ? "Oui" : "Non");
const trueFalse = (v) => (v ? "Vrai" : "Faux");

function stateBadge(state, label) {
  return h("span", { class: `badge badge--${state}` }, label || state);
}

function newUuid() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  // Outside a secure context randomUUID is missing; getRandomValues is always there.
  const b = window.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ------------------------------------------------------------------------------------- API

const state = {
  session: null, // GET /api/session: {authenticated, account, linked_profiles, csrf_token}
  csrf: null,
  profiles: null, // GET /api/profiles items, cached until login, logout, link or unlink
  currentPid: null,
  flash: null, // {kind, text}: shown once by the next screen
  pendingEmail: "", // carried from Créer un compte to Valider le code and Se connecter
  ending: false,
};

const NETWORK_PROBLEM = {
  title: "Service injoignable",
  detail: "Le service ne répond pas. Vérifiez votre connexion, puis réessayez.",
  errors: {},
};

async function refreshSession() {
  try {
    const response = await fetch("/api/session", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const data = await response.json();
    state.session = data;
    state.csrf = data.csrf_token || null;
  } catch (err) {
    state.session = { authenticated: false, account: null, linked_profiles: 0 };
    state.csrf = null;
  }
  return state.session;
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const key of Object.keys(query)) {
    const value = query[key];
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** One API call: {ok, status, data} or {ok: false, status, problem: {title, detail, errors}}. */
async function api(method, path, options) {
  const opts = options || {};
  const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
  const init = { method, credentials: "same-origin", headers };
  if (method !== "GET") {
    if (!state.csrf) await refreshSession();
    headers["X-CSRF-Token"] = state.csrf || "";
  }
  if (opts.form !== undefined) {
    init.body = opts.form; // multipart (a FormData): the browser writes its Content-Type
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  let response;
  try {
    response = await fetch(withQuery(path, opts.query), init);
  } catch (err) {
    return { ok: false, status: 0, problem: NETWORK_PROBLEM };
  }
  let data = null;
  if (response.status !== 204) {
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (err) {
        data = null;
      }
    }
  }
  if (response.ok) return { ok: true, status: response.status, data };
  const problem = {
    title: (data && data.title) || "Erreur",
    detail: (data && data.detail) || "Une erreur est survenue. Réessayez plus tard.",
    errors: (data && data.errors) || {},
  };
  if (response.status === 403 && method !== "GET" && !opts.retried && /CSRF/.test(problem.detail)) {
    // The session was rotated elsewhere (another tab logged in or out): new token, once.
    await refreshSession();
    return api(method, path, Object.assign({}, opts, { retried: true }));
  }
  if (response.status === 401 && !opts.allow401 && state.session && state.session.authenticated) {
    sessionEnded();
  }
  return { ok: false, status: response.status, problem };
}

function sessionEnded() {
  if (state.ending) return;
  state.ending = true;
  state.session = null;
  state.csrf = null;
  state.profiles = null;
  setFlash("warning", "Votre session a pris fin. Connectez-vous de nouveau.");
  go("/connexion");
  window.setTimeout(() => {
    state.ending = false;
  }, 0);
}

async function loadProfiles(force) {
  if (state.profiles && !force) return state.profiles;
  const res = await api("GET", "/api/profiles", { query: { per_page: 100 } });
  state.profiles = res.ok ? res.data.items : [];
  return state.profiles;
}

/** French order of names, whatever their case and accents (« BÉRARD » beside « Bérard »). */
const frenchOrder = new Intl.Collator("fr-CA", { sensitivity: "base", numeric: true });
const byName = (a, b) =>
  frenchOrder.compare(a.last_name || a.name, b.last_name || b.name) ||
  frenchOrder.compare(a.first_name || "", b.first_name || "");

/** Every row of a paginated list (the contacts of a profile, for filters and current values). */
async function loadContacts(pid) {
  const res = await api("GET", `/api/profiles/${pid}/contacts`, { query: { per_page: 200 } });
  if (!res.ok) return { ok: false, problem: res.problem, byId: new Map(), list: [] };
  const byId = new Map();
  for (const row of res.data.items) {
    const known = byId.get(row.contact_id);
    if (known) known.relations.push(row.relation_label);
    else byId.set(row.contact_id, Object.assign({}, row, { relations: [row.relation_label] }));
  }
  const list = Array.from(byId.values()).sort(byName);
  return { ok: true, byId, list };
}

// ------------------------------------------------------------------------------------- flash

function setFlash(kind, text) {
  state.flash = { kind, text };
}

function takeFlash() {
  const flash = state.flash;
  state.flash = null;
  if (!flash) return null;
  return alertBox(flash.kind, flash.text);
}

function alertBox(kind, text, title) {
  const role = kind === "error" ? "alert" : "status";
  return h(
    "div",
    { class: `alert alert--${kind}`, role },
    title ? h("p", { class: "alert__title" }, title) : null,
    h("p", null, text),
  );
}

function problemBox(problem) {
  const box = h("div", { class: "alert alert--error", role: "alert", tabindex: "-1" });
  add(box, [
    h("p", { class: "alert__title" }, problem.title || "Erreur"),
    h("p", null, problem.detail),
  ]);
  return box;
}

// ------------------------------------------------------------------------------------- forms

/**
 * Error and success messages of one form: the problem's `detail` at the top, each
 * `errors[field]` beside its field (aria-invalid, aria-describedby), the rest in the summary.
 */
class Feedback {
  constructor() {
    this.top = h("div", { class: "feedback", tabindex: "-1" });
    this.targets = new Map();
    this.marked = [];
  }

  /** `target`: {wrapper, controls: [elements], slot: element for the message, label}. */
  register(path, target) {
    this.targets.set(path, target);
  }

  clear() {
    this.top.replaceChildren();
    for (const mark of this.marked) {
      mark.error.remove();
      mark.target.wrapper.classList.remove("field--invalid");
      for (const control of mark.target.controls) {
        control.removeAttribute("aria-invalid");
        const ids = (control.getAttribute("aria-describedby") || "")
          .split(" ")
          .filter((id) => id && id !== mark.error.id);
        if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
        else control.removeAttribute("aria-describedby");
      }
    }
    this.marked = [];
  }

  success(text) {
    this.clear();
    const box = alertBox("success", text);
    this.top.append(box);
    focusEl(box);
  }

  info(text) {
    this.clear();
    this.top.append(alertBox("info", text));
    announce(text);
  }

  /** Show a problem; `paths` (a Map path → target) overrides the registered fields. */
  show(problem, paths, onTarget) {
    this.clear();
    const targets = paths || this.targets;
    const byTarget = new Map();
    const unplaced = [];
    for (const key of Object.keys(problem.errors || {})) {
      const messages = [].concat(problem.errors[key]);
      const target = findTarget(targets, key);
      if (!target) {
        for (const m of messages) unplaced.push(m);
        continue;
      }
      const known = byTarget.get(target) || [];
      byTarget.set(target, known.concat(messages));
    }
    const box = h("div", { class: "alert alert--error", role: "alert", tabindex: "-1" });
    add(box, [h("p", { class: "alert__title" }, problem.detail || problem.title)]);
    const list = h("ul");
    // In the order of the form, as the eye reads it.
    const ordered = Array.from(byTarget).sort(([a], [b]) =>
      a.wrapper.compareDocumentPosition(b.wrapper) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1,
    );
    for (const [target, messages] of ordered) {
      if (onTarget) onTarget(target);
      const error = h("p", { class: "field__error", id: uid("erreur") }, messages.join(" "));
      target.slot.append(error);
      target.wrapper.classList.add("field--invalid");
      for (const control of target.controls) {
        control.setAttribute("aria-invalid", "true");
        const ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        ids.push(error.id);
        control.setAttribute("aria-describedby", ids.join(" "));
      }
      this.marked.push({ target, error });
      const first = target.controls[0];
      list.append(
        h(
          "li",
          null,
          h(
            "button",
            {
              type: "button",
              class: "link-button",
              onclick: () => focusEl(first || target.wrapper),
            },
            `${shorten(target.label)} : ${messages.join(" ")}`,
          ),
        ),
      );
    }
    for (const message of unplaced) list.append(h("li", null, message));
    if (list.childElementCount) box.append(list);
    this.top.append(box);
    focusEl(box);
  }
}

/** A long label (an attestation's sentence) cut for the error summary. */
function shorten(label) {
  const text = String(label || "");
  return text.length > 90 ? `${text.slice(0, 87).replace(/\s+\S*$/, "")}…` : text;
}

/** The field an error key names: `variables.` dropped, then the longest known prefix. */
function findTarget(targets, key) {
  const parts = String(key)
    .replace(/^variables\./, "")
    .split(".");
  while (parts.length) {
    const target = targets.get(parts.join("."));
    if (target) return target;
    parts.pop();
  }
  return null;
}

function labelContent(label, required) {
  if (!required) return [label];
  return [
    label,
    " ",
    h("span", { class: "required", "aria-hidden": "true" }, "*"),
    h("span", { class: "visually-hidden" }, " (obligatoire)"),
  ];
}

function describe(control, ...ids) {
  const all = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  for (const id of ids) if (id && !all.includes(id)) all.push(id);
  if (all.length) control.setAttribute("aria-describedby", all.join(" "));
}

/** A labelled input for the account screens; registered in `fb` under `name`. */
function inputField(fb, spec) {
  const id = uid(spec.name);
  const input = h("input", {
    id,
    name: spec.name,
    type: spec.type || "text",
    class: spec.cls,
    autocomplete: spec.autocomplete || "off",
    inputmode: spec.inputmode,
    required: Boolean(spec.required),
    value: spec.value || "",
    spellcheck: spec.type === "password" || spec.code ? "false" : null,
  });
  const help = spec.help ? h("span", { class: "field__help", id: `${id}-aide` }, spec.help) : null;
  if (help) describe(input, help.id);
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, labelContent(spec.label, spec.required)),
    help,
    slot,
    input,
  );
  fb.register(spec.name, { wrapper, controls: [input], slot, label: spec.label });
  return { wrapper, input };
}

function checkboxField(fb, spec) {
  const id = uid(spec.name);
  const input = h("input", {
    id,
    name: spec.name,
    type: "checkbox",
    checked: Boolean(spec.checked),
  });
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    slot,
    h(
      "div",
      { class: "check" },
      input,
      h("label", { for: id }, labelContent(spec.label, spec.required)),
    ),
  );
  fb.register(spec.name, { wrapper, controls: [input], slot, label: spec.label });
  return { wrapper, input };
}

function selectField(fb, spec) {
  const id = uid(spec.name);
  const select = h(
    "select",
    { id, name: spec.name },
    spec.options.map(([value, label]) => h("option", { value }, label)),
  );
  select.value = spec.value || "";
  const help = spec.help ? h("span", { class: "field__help", id: `${id}-aide` }, spec.help) : null;
  if (help) describe(select, help.id);
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, labelContent(spec.label, spec.required)),
    help,
    slot,
    select,
  );
  if (fb) fb.register(spec.name, { wrapper, controls: [select], slot, label: spec.label });
  return { wrapper, select };
}

function textareaField(fb, spec) {
  const id = uid(spec.name);
  const area = h("textarea", {
    id,
    name: spec.name,
    rows: spec.rows || 4,
    required: Boolean(spec.required),
  });
  const help = spec.help ? h("span", { class: "field__help", id: `${id}-aide` }, spec.help) : null;
  if (help) describe(area, help.id);
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, labelContent(spec.label, spec.required)),
    help,
    slot,
    area,
  );
  fb.register(spec.name, { wrapper, controls: [area], slot, label: spec.label });
  return { wrapper, area };
}

/** A form whose submit handler runs once at a time (a double click sends one call). */
function formEl(onSubmit, attrs) {
  const form = h("form", Object.assign({ novalidate: true, class: "form" }, attrs || {}));
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const buttons = Array.from(form.querySelectorAll("button[type=submit]"));
    for (const b of buttons) {
      b.disabled = true;
      b.setAttribute("aria-busy", "true");
    }
    try {
      await onSubmit(event);
    } finally {
      busy = false;
      for (const b of buttons) {
        b.disabled = false;
        b.removeAttribute("aria-busy");
      }
    }
  });
  return form;
}

function submitButton(label, cls) {
  return h("button", { type: "submit", class: `button ${cls || ""}`.trim() }, label);
}

function localProblem(errors) {
  return {
    title: "Données invalides",
    detail: "Certaines données sont invalides. Corrigez les champs indiqués.",
    errors,
  };
}

const REQUIRED = "Ce champ est obligatoire.";

function requireFilled(values) {
  const errors = {};
  for (const key of Object.keys(values)) {
    if (values[key] === "" || values[key] === false) errors[key] = [REQUIRED];
  }
  return errors;
}

// ------------------------------------------------------------------------------------- page bits

function pageHeading(root, ctx, title, crumbs) {
  document.title = `${title} — Services en ligne`;
  if (crumbs && crumbs.length) {
    const list = h("ol", { class: "breadcrumb" });
    for (const [label, href] of crumbs) {
      list.append(h("li", null, href ? h("a", { href }, label) : label));
    }
    root.append(h("nav", { "aria-label": "Fil d'Ariane" }, list));
  }
  const h1 = h("h1", { tabindex: "-1" }, title);
  root.append(h1);
  const flash = takeFlash();
  if (flash) root.append(flash);
  if (ctx.focus) h1.focus();
  return h1;
}

function linkButton(href, label, cls) {
  return h("a", { href, class: `button ${cls || ""}`.trim() }, label);
}

/** « Rangées 1 - 2 de 2 » and the previous/next buttons. */
function pager(data, onPage) {
  const total = data.total || 0;
  const start = total ? (data.page - 1) * data.per_page + 1 : 0;
  const end = Math.min(total, data.page * data.per_page);
  const pages = Math.max(1, Math.ceil(total / data.per_page));
  return h(
    "nav",
    { class: "pager", "aria-label": "Pagination" },
    h(
      "p",
      { class: "pager__status", "aria-live": "polite" },
      data.total_exact === false
        ? `Rangées ${start} - ${end} de plus de ${total.toLocaleString("fr-CA")}`
        : `Rangées ${start} - ${end} de ${total}`,
    ),
    h(
      "button",
      {
        type: "button",
        class: "button button--secondary button--small",
        disabled: data.page <= 1,
        onclick: () => onPage(data.page - 1),
      },
      "‹ Précédent",
      h("span", { class: "visually-hidden" }, " (page précédente)"),
    ),
    h(
      "button",
      {
        type: "button",
        class: "button button--secondary button--small",
        disabled: data.page >= pages && data.total_exact !== false,
        onclick: () => onPage(data.page + 1),
      },
      "Suivant ›",
      h("span", { class: "visually-hidden" }, " (page suivante)"),
    ),
  );
}

/** A table: `columns` are [header, cell(row) → node/string] (header may be a node list). */
function table(caption, columns, rows, empty) {
  const head = h(
    "tr",
    null,
    columns.map(([header]) => h("th", { scope: "col" }, header)),
  );
  const body = h("tbody");
  for (const row of rows) {
    body.append(
      h(
        "tr",
        null,
        columns.map(([, cell]) => h("td", null, cell(row))),
      ),
    );
  }
  if (!rows.length) {
    body.append(
      h(
        "tr",
        null,
        h("td", { colspan: columns.length, class: "empty" }, empty || "Aucune rangée."),
      ),
    );
  }
  // Its own scroll container on a narrow screen, reachable with the keyboard (tabindex).
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || "Tableau" },
    h("table", null, caption ? h("caption", null, caption) : null, h("thead", null, head), body),
  );
}

function summaryList(pairs) {
  const dl = h("dl", { class: "summary-list" });
  for (const [term, value] of pairs) {
    if (value === null || value === undefined) continue;
    dl.append(h("dt", null, term), h("dd", null, value));
  }
  return dl;
}

// ------------------------------------------------------------------------------------- router

const ROUTES = [
  { pattern: "/connexion", view: viewLogin, access: "anonymous" },
  { pattern: "/creer-un-compte", view: viewSignUp, access: "anonymous" },
  { pattern: "/valider-le-code", view: viewVerify, access: "anonymous" },
  { pattern: "/mot-de-passe-oublie", view: viewPasswordReset, access: "anonymous" },
  { pattern: "/conditions-d-utilisation", view: viewTerms, access: "public" },
  { pattern: "/liaison", view: viewLinking, access: "user" },
  { pattern: "/profils", view: viewProfiles, access: "user" },
  { pattern: "/compte", view: viewAccount, access: "account" },
  { pattern: "/profil/:pid", view: viewHome, access: "profile" },
  { pattern: "/profil/:pid/relations", view: viewRelations, access: "profile" },
  { pattern: "/profil/:pid/relations/:list", view: viewRelations, access: "profile" },
  { pattern: "/profil/:pid/catalogue", view: viewCatalogue, access: "profile" },
  { pattern: "/profil/:pid/catalogue/:slug", view: viewForm, access: "profile" },
  { pattern: "/profil/:pid/demandes", view: viewRequests, access: "profile" },
  { pattern: "/profil/:pid/demandes/:number", view: viewRequest, access: "profile" },
  { pattern: "/profil/:pid/dossiers", view: viewDossiers, access: "profile" },
  { pattern: "/profil/:pid/sujets", view: viewSubjects, access: "profile" },
  { pattern: "/agent", view: viewQueue, access: "agent" },
  { pattern: "/agent/demandes/:number", view: viewAgentRequest, access: "agent" },
  { pattern: "/agent/indicateurs", view: viewQueueStats, access: "agent" },
];

function parseHash(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/";
  const at = raw.indexOf("?");
  const path = at >= 0 ? raw.slice(0, at) : raw;
  const query = {};
  if (at >= 0) {
    for (const [key, value] of new URLSearchParams(raw.slice(at + 1))) query[key] = value;
  }
  return { path: path.replace(/\/+$/, "") || "/", query };
}

function matchRoute(path) {
  const parts = path.split("/").filter(Boolean);
  for (const route of ROUTES) {
    const pattern = route.pattern.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params = {};
    let ok = true;
    pattern.forEach((seg, i) => {
      if (seg.startsWith(":")) params[seg.slice(1)] = decodeURIComponent(parts[i]);
      else if (seg !== parts[i]) ok = false;
    });
    if (ok) return { route, params };
  }
  return null;
}

function go(path, query) {
  const hash = `#${withQuery(path, query)}`;
  if (location.hash === hash) route();
  else location.hash = hash;
}

function homePath() {
  const session = state.session;
  if (!session || !session.authenticated) return "/connexion";
  if (session.account && session.account.role === "agent") return "/agent";
  if (!session.linked_profiles) return "/liaison";
  if (state.currentPid) return `/profil/${state.currentPid}`;
  return "/profils";
}

let firstRender = true;

async function route() {
  const hash = location.hash;
  if (hash && !hash.startsWith("#/")) return; // an in-page anchor, not a screen
  const { path, query } = parseHash(hash);
  if (!state.session) await refreshSession();
  const session = state.session;
  const loggedIn = Boolean(session && session.authenticated);
  const role = loggedIn && session.account ? session.account.role : null;

  if (path === "/") return go(homePath());
  const found = matchRoute(path);
  if (!found) {
    return render(
      (root, ctx) => {
        pageHeading(root, ctx, "Page introuvable");
        root.append(
          h("p", null, "Cette page n'existe pas. "),
          h("p", null, h("a", { href: `#${homePath()}` }, "Retour à l'accueil")),
        );
      },
      {},
      query,
    );
  }
  const access = found.route.access;
  if (access === "anonymous" && loggedIn) return go(homePath());
  if (access !== "anonymous" && access !== "public" && !loggedIn) {
    if (!state.flash) setFlash("info", "Connectez-vous pour continuer.");
    return go("/connexion");
  }
  if ((access === "user" || access === "profile") && role === "agent") return go("/agent");
  if (access === "agent" && role !== "agent") return go(homePath());
  if (access === "profile") {
    const pid = Number(found.params.pid);
    const profiles = await loadProfiles(false);
    const profile = profiles.find((p) => p.profile_id === pid);
    if (!profile) {
      return render(
        (root, ctx) => {
          pageHeading(root, ctx, "Profil introuvable");
          root.append(
            h("p", null, "Votre compte n'est pas lié à ce profil, ou il ne l'est plus."),
            h("p", null, h("a", { href: "#/profils" }, "Sélectionnez un profil")),
          );
        },
        found.params,
        query,
      );
    }
    state.currentPid = pid;
    return render(found.route.view, Object.assign({}, found.params, { pid, profile }), query);
  }
  return render(found.route.view, found.params, query);
}

async function render(view, params, query) {
  // A new screen: the status region no longer speaks of the last one (a logout must not keep
  // « Demande … soumise. » for the next person at this computer).
  const live = document.getElementById("announcer");
  if (live) live.textContent = "";
  const main = document.getElementById("contenu");
  const root = h("div", { class: "view" });
  main.replaceChildren(root);
  const ctx = Object.assign({}, params, { query: query || {}, focus: !firstRender, root });
  firstRender = false;
  const account = state.session && state.session.authenticated && state.session.account;
  if (account && account.role === "agent") await agentSelf(); // the menu says if they supervise
  renderChrome(ctx);
  try {
    await view(root, ctx);
  } catch (err) {
    root.append(
      problemBox({
        title: "Erreur",
        detail: "L'affichage de cette page a échoué. Rechargez la page.",
      }),
    );
    throw err;
  }
}

// ------------------------------------------------------------------------------------- chrome

let closeMenu = null; // closes « Mon organisation » when a click lands elsewhere

function renderChrome(ctx) {
  closeMenu = null;
  const zone = document.getElementById("account-zone");
  const nav = document.getElementById("main-nav");
  const session = state.session;
  zone.replaceChildren();
  nav.replaceChildren();
  nav.classList.remove("main-nav--open");
  nav.hidden = true;
  if (!session || !session.authenticated || !session.account) return;
  const account = session.account;
  const isAgent = account.role === "agent";
  add(zone, [
    h(
      "span",
      { class: "account-zone__who" },
      `${account.first_name} ${account.last_name}`,
      isAgent ? " (agent)" : "",
    ),
    !isAgent && session.linked_profiles ? h("a", { href: "#/profils" }, "Changer de profil") : null,
    h("a", { href: "#/compte" }, "Paramètres du compte"),
    h("button", { type: "button", class: "link-button", onclick: logOut }, "Se déconnecter"),
  ]);

  const here = `#${parseHash(location.hash).path}`;
  const item = (href, label) =>
    h(
      "li",
      { class: "main-nav__item" },
      h(
        "a",
        { class: "main-nav__link", href, "aria-current": here === href ? "page" : null },
        label,
      ),
    );
  const list = h("ul", { class: "main-nav__list" });
  if (isAgent) {
    list.append(item("#/agent", "File de validation"));
    if (state.agentSelf && state.agentSelf.supervisor) {
      list.append(item("#/agent/indicateurs", "Indicateurs de la file"));
    }
  } else {
    const pid = ctx.pid || state.currentPid;
    if (!pid) return;
    const base = `#/profil/${pid}`;
    const subId = uid("sous-menu");
    const toggle = h(
      "button",
      {
        type: "button",
        class: "main-nav__link",
        "aria-expanded": "false",
        "aria-controls": subId,
        "aria-current": here.startsWith(`${base}/relations`) ? "true" : null,
      },
      "Mon organisation",
    );
    const sub = h(
      "ul",
      { class: "main-nav__sub", id: subId, hidden: true },
      h("li", null, h("a", { href: `${base}/relations/contacts` }, "Relations et autorisations")),
    );
    const close = () => {
      sub.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
    };
    toggle.addEventListener("click", () => {
      const open = sub.hidden;
      sub.hidden = !open;
      toggle.setAttribute("aria-expanded", String(open));
      if (open) sub.querySelector("a").focus();
    });
    sub.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        close();
        toggle.focus();
      }
    });
    closeMenu = (target) => {
      if (!toggle.contains(target) && !sub.contains(target)) close();
    };
    list.append(
      item(base, "Accueil"),
      h("li", { class: "main-nav__item" }, toggle, sub),
      item(`${base}/catalogue`, "Catalogue de services"),
      item(`${base}/demandes`, "Mes demandes"),
      item(`${base}/dossiers`, "Mes dossiers autorisés"),
    );
  }
  // A phone shows one « Menu » button instead of the links (app.css), closed on each screen.
  list.id = uid("menu");
  const menuToggle = h(
    "button",
    { type: "button", class: "main-nav__toggle", "aria-expanded": "false", "aria-controls": list.id },
    "Menu",
  );
  menuToggle.addEventListener("click", () => {
    const open = !nav.classList.contains("main-nav--open");
    nav.classList.toggle("main-nav--open", open);
    menuToggle.setAttribute("aria-expanded", String(open));
  });
  nav.append(menuToggle, list);
  nav.hidden = false;
}

async function logOut() {
  const live = document.getElementById("announcer");
  if (live) live.textContent = "";
  await api("DELETE", "/api/session", { allow401: true });
  state.profiles = null;
  state.currentPid = null;
  await refreshSession();
  setFlash("success", "Vous êtes déconnecté.");
  go("/connexion");
}

// ------------------------------------------------------------------------------------- Se connecter

async function viewLogin(root, ctx) {
  pageHeading(root, ctx, "Se connecter");
  const fb = new Feedback();
  const email = inputField(fb, {
    name: "email",
    label: "Adresse courriel",
    type: "email",
    autocomplete: "username",
    required: true,
    value: state.pendingEmail,
  });
  const password = inputField(fb, {
    name: "password",
    label: "Mot de passe",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const form = formEl(async () => {
    const body = { email: email.input.value.trim(), password: password.input.value };
    const missing = requireFilled(body);
    if (Object.keys(missing).length) return fb.show(localProblem(missing));
    const res = await api("POST", "/api/session", { body, allow401: true });
    if (!res.ok) {
      fb.show(res.problem);
      if (res.status === 401) {
        fb.top.append(
          h(
            "p",
            null,
            "Vous venez de créer votre compte? ",
            h("a", { href: "#/valider-le-code" }, "Validez le code reçu par courriel"),
            ".",
          ),
        );
      }
      return;
    }
    state.pendingEmail = "";
    state.profiles = null;
    state.currentPid = null;
    await refreshSession(); // the session was rotated: a new CSRF token
    go(homePath());
  });
  add(form, [
    fb.top,
    email.wrapper,
    password.wrapper,
    h("p", null, h("a", { href: "#/mot-de-passe-oublie" }, "Mot de passe oublié?")),
    h("div", { class: "form-actions" }, submitButton("Connexion")),
  ]);
  root.append(
    h(
      "div",
      { class: "two-columns" },
      h(
        "section",
        { class: "panel", "aria-labelledby": "titre-connexion" },
        h("h2", { id: "titre-connexion" }, "Services en ligne"),
        form,
      ),
      h(
        "section",
        { class: "panel panel--muted", "aria-labelledby": "titre-creer" },
        h("h2", { id: "titre-creer" }, "Créer un compte"),
        h("p", { class: "alert__title" }, "Nouveau système, nouveau compte requis."),
        h(
          "p",
          null,
          "Les services en ligne ont été améliorés : tout le monde doit se créer un nouveau compte, puis le lier à son dossier avec les coordonnées de liaison reçues par courriel.",
        ),
        h("p", null, linkButton("#/creer-un-compte", "Créer un compte")),
        h(
          "div",
          { class: "alert alert--warning" },
          h(
            "p",
            null,
            "Accès réservé : la création d'un compte est réservée aux clients de l'organisme et à leurs contacts autorisés.",
          ),
        ),
        h("p", null, h("a", { href: "#/valider-le-code" }, "J'ai reçu un code à usage unique")),
      ),
    ),
  );
  // On opening the portal, straight into the address; after an action (Se déconnecter), the
  // title, as on every screen, so that « Vous êtes déconnecté. » below it is read.
  if (!ctx.focus && !email.input.value) email.input.focus();
}

// ------------------------------------------------------------------------------------- Créer un compte

async function viewSignUp(root, ctx) {
  const h1 = pageHeading(root, ctx, "Création du compte");
  const fb = new Feedback();
  const stepLabel = h("p", { class: "required-note" });
  const email = inputField(fb, {
    name: "email",
    label: "Adresse courriel",
    type: "email",
    autocomplete: "email",
    required: true,
  });
  const password = inputField(fb, {
    name: "password",
    label: "Mot de passe",
    type: "password",
    autocomplete: "new-password",
    required: true,
    help: "Au moins 8 caractères; évitez les mots de passe courants et votre adresse courriel.",
  });
  const confirmation = inputField(fb, {
    name: "password_confirmation",
    label: "Confirmez le mot de passe",
    type: "password",
    autocomplete: "new-password",
    required: true,
  });
  const first = inputField(fb, {
    name: "first_name",
    label: "Prénom",
    autocomplete: "given-name",
    required: true,
  });
  const last = inputField(fb, {
    name: "last_name",
    label: "Nom",
    autocomplete: "family-name",
    required: true,
  });
  const terms = checkboxField(fb, {
    name: "terms_accepted",
    label: "J'ai lu et j'accepte les conditions d'utilisation.",
    required: true,
  });
  const STEP1 = new Set(["email", "password", "password_confirmation"]);
  const step1 = h("div", null, email.wrapper, password.wrapper, confirmation.wrapper);
  const termsLink = h(
    "p",
    null,
    h(
      "a",
      { href: "#/conditions-d-utilisation", target: "_blank", rel: "noopener" },
      "Lire les conditions d'utilisation",
      h("span", { class: "visually-hidden" }, " (s'ouvre dans un nouvel onglet)"),
    ),
  );
  const step2 = h(
    "div",
    { hidden: true },
    first.wrapper,
    last.wrapper,
    termsLink,
    terms.wrapper,
  );
  const next = h("button", { type: "submit", class: "button" }, "Suivant");
  const back = h(
    "button",
    { type: "button", class: "button button--secondary", hidden: true },
    "Précédent",
  );
  const create = h("button", { type: "submit", class: "button", hidden: true }, "Créer mon compte");
  let step = 1;
  const show = (n) => {
    step = n;
    step1.hidden = n !== 1;
    step2.hidden = n !== 2;
    next.hidden = n !== 1;
    back.hidden = n !== 2;
    create.hidden = n !== 2;
    stepLabel.textContent = `Étape ${n} de 2 — Les champs marqués d'un astérisque (*) sont obligatoires.`;
    h1.focus();
  };
  back.addEventListener("click", () => {
    fb.clear();
    show(1);
  });
  const form = formEl(async () => {
    if (step === 1) {
      const values = {
        email: email.input.value.trim(),
        password: password.input.value,
        password_confirmation: confirmation.input.value,
      };
      const errors = requireFilled(values);
      if (!errors.password_confirmation && values.password !== values.password_confirmation) {
        errors.password_confirmation = ["La confirmation ne correspond pas au mot de passe."];
      }
      if (Object.keys(errors).length) return fb.show(localProblem(errors));
      fb.clear();
      show(2);
      first.input.focus();
      return;
    }
    const body = {
      email: email.input.value.trim(),
      password: password.input.value,
      password_confirmation: confirmation.input.value,
      first_name: first.input.value.trim(),
      last_name: last.input.value.trim(),
      terms_accepted: terms.input.checked,
      language: "fr",
    };
    const res = await api("POST", "/api/accounts", { body });
    if (!res.ok) {
      const keys = Object.keys(res.problem.errors || {});
      if (keys.some((k) => STEP1.has(k))) show(1);
      return fb.show(res.problem);
    }
    state.pendingEmail = body.email;
    setFlash("success", res.data.detail);
    go("/valider-le-code");
  });
  add(form, [
    fb.top,
    h(
      "p",
      null,
      "La création d'un compte est réservée aux clients de l'organisme et à leurs contacts autorisés.",
    ),
    stepLabel,
    step1,
    step2,
    h("div", { class: "form-actions" }, back, next, create),
    h("p", null, h("a", { href: "#/connexion" }, "Retour à l'authentification")),
  ]);
  root.append(h("section", { class: "panel narrow" }, form));
  show(1);
  if (!ctx.focus) email.input.focus();
}

// ------------------------------------------------------------------------------------- Conditions d'utilisation

const TERMS = [
  [
    "Objet",
    "Les services en ligne permettent aux clients de l'organisme et à leurs contacts autorisés de consulter leur dossier et de soumettre des demandes. En créant un compte, vous acceptez les présentes conditions.",
  ],
  [
    "Votre compte",
    "Votre compte est personnel : ne partagez ni votre mot de passe ni les codes reçus par courriel. Vous êtes responsable des demandes soumises avec votre compte. Avisez votre personne responsable si vous croyez qu'une autre personne l'utilise.",
  ],
  [
    "Exactitude des informations",
    "Les informations que vous transmettez doivent être exactes et à jour. Une demande peut être validée par un agent de l'organisme avant d'être appliquée au dossier.",
  ],
  [
    "Protection des renseignements personnels",
    "Les renseignements personnels recueillis servent uniquement à la gestion de votre dossier et des autorisations de votre organisation. Ils sont protégés conformément aux lois applicables et ne sont communiqués qu'aux personnes autorisées.",
  ],
  [
    "Disponibilité",
    "L'organisme peut interrompre les services en ligne pour leur entretien. La mise à jour des informations affichées peut prendre jusqu'à 24 heures.",
  ],
];

async function viewTerms(root, ctx) {
  pageHeading(root, ctx, "Conditions d'utilisation");
  const section = h("section", { class: "panel narrow" });
  for (const [title, text] of TERMS) section.append(h("h2", null, title), h("p", null, text));
  root.append(section);
}

// ------------------------------------------------------------------------------------- Valider le code

async function viewVerify(root, ctx) {
  pageHeading(root, ctx, "Valider le code");
  const fb = new Feedback();
  root.append(
    h(
      "p",
      { class: "lead" },
      "Un code à usage unique a été envoyé à votre adresse courriel. Inscrivez-le ci-dessous pour valider la création de votre compte (il est valide 10 minutes).",
    ),
  );
  const email = inputField(fb, {
    name: "email",
    label: "Adresse courriel",
    type: "email",
    autocomplete: "email",
    required: true,
    value: state.pendingEmail,
  });
  const code = inputField(fb, {
    name: "code",
    label: "Code à usage unique",
    autocomplete: "one-time-code",
    inputmode: "numeric",
    cls: "input--code",
    code: true,
    required: true,
  });
  const resend = h("button", { type: "button", class: "link-button" }, "Renvoyer le code");
  resend.addEventListener("click", async () => {
    const value = email.input.value.trim();
    if (!value)
      return fb.show(
        localProblem({
          email: ["Inscrivez votre adresse courriel pour recevoir un nouveau code."],
        }),
      );
    resend.disabled = true;
    const res = await api("POST", "/api/accounts/verify/resend", { body: { email: value } });
    resend.disabled = false;
    if (res.ok) fb.success(res.data.detail);
    else fb.show(res.problem);
  });
  const form = formEl(async () => {
    const body = { email: email.input.value.trim(), code: code.input.value.trim() };
    const missing = requireFilled(body);
    if (Object.keys(missing).length) return fb.show(localProblem(missing));
    const res = await api("POST", "/api/accounts/verify", { body });
    if (!res.ok) return fb.show(res.problem);
    state.pendingEmail = body.email;
    setFlash("success", res.data.detail);
    go("/connexion");
  });
  add(form, [
    fb.top,
    email.wrapper,
    code.wrapper,
    h("div", { class: "form-actions" }, submitButton("Valider le code"), resend),
    h("p", null, h("a", { href: "#/connexion" }, "Retour à l'authentification")),
  ]);
  root.append(h("section", { class: "panel narrow" }, form));
  if (!ctx.focus) (email.input.value ? code.input : email.input).focus();
}

// ------------------------------------------------------------------------------------- Mot de passe oublié?

async function viewPasswordReset(root, ctx) {
  pageHeading(root, ctx, "Mot de passe oublié?");
  const fbA = new Feedback();
  const fbB = new Feedback();
  const emailA = inputField(fbA, {
    name: "email",
    label: "Adresse courriel",
    type: "email",
    autocomplete: "email",
    required: true,
    value: state.pendingEmail,
  });
  const emailB = inputField(fbB, {
    name: "email",
    label: "Adresse courriel",
    type: "email",
    autocomplete: "email",
    required: true,
  });
  const code = inputField(fbB, {
    name: "code",
    label: "Code reçu par courriel",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    cls: "input--code",
    code: true,
    required: true,
  });
  const password = inputField(fbB, {
    name: "password",
    label: "Nouveau mot de passe",
    type: "password",
    autocomplete: "new-password",
    required: true,
    help: "Au moins 8 caractères; évitez les mots de passe courants et votre adresse courriel.",
  });
  const confirmation = inputField(fbB, {
    name: "password_confirmation",
    label: "Confirmez le nouveau mot de passe",
    type: "password",
    autocomplete: "new-password",
    required: true,
  });
  const partB = h("section", {
    class: "panel narrow",
    hidden: true,
    "aria-labelledby": "titre-nouveau",
  });
  const showB = () => {
    partB.hidden = false;
    if (!emailB.input.value) emailB.input.value = emailA.input.value.trim();
  };
  const formA = formEl(async () => {
    const body = { email: emailA.input.value.trim() };
    const missing = requireFilled(body);
    if (Object.keys(missing).length) return fbA.show(localProblem(missing));
    // The API answers every address alike (« Si un compte confirmé existe… »): one the browser
    // knows is malformed (no « @ »…) is said so beside the field instead, and nothing is sent.
    if (emailA.input.validity.typeMismatch)
      return fbA.show(localProblem({ email: ["Adresse courriel invalide."] }));
    const res = await api("POST", "/api/password-reset", { body });
    if (!res.ok) return fbA.show(res.problem);
    fbA.success(res.data.detail);
    showB();
  });
  add(formA, [
    fbA.top,
    h(
      "p",
      null,
      "Inscrivez l'adresse courriel de votre compte : un code à usage unique vous sera envoyé pour choisir un nouveau mot de passe.",
    ),
    emailA.wrapper,
    h(
      "div",
      { class: "form-actions" },
      submitButton("Recevoir un code"),
      h(
        "button",
        {
          type: "button",
          class: "link-button",
          onclick: () => {
            showB();
            emailB.input.focus();
          },
        },
        "J'ai déjà un code",
      ),
    ),
  ]);
  const formB = formEl(async () => {
    const body = {
      email: emailB.input.value.trim(),
      code: code.input.value.trim(),
      password: password.input.value,
      password_confirmation: confirmation.input.value,
    };
    const missing = requireFilled(body);
    if (Object.keys(missing).length) return fbB.show(localProblem(missing));
    const res = await api("POST", "/api/password-reset/confirm", { body });
    if (!res.ok) return fbB.show(res.problem);
    state.pendingEmail = body.email;
    setFlash("success", res.data.detail);
    go("/connexion");
  });
  add(formB, [
    fbB.top,
    emailB.wrapper,
    code.wrapper,
    password.wrapper,
    confirmation.wrapper,
    h("div", { class: "form-actions" }, submitButton("Changer le mot de passe")),
  ]);
  partB.append(h("h2", { id: "titre-nouveau" }, "Choisir un nouveau mot de passe"), formB);
  root.append(
    h("section", { class: "panel narrow" }, formA),
    partB,
    h("p", null, h("a", { href: "#/connexion" }, "Retour à l'authentification")),
  );
  if (!ctx.focus) emailA.input.focus();
}

// ------------------------------------------------------------------------------------- Liaison d'un profil

async function viewLinking(root, ctx) {
  const method = ctx.query.methode;
  const step = ctx.query.etape;
  if (method === "coordonnees" && step !== "formulaire") {
    pageHeading(root, ctx, "Liaison d'un profil", [
      ["Liaison d'un profil", "#/liaison"],
      ["Coordonnées de liaison"],
    ]);
    root.append(
      h(
        "section",
        { class: "panel narrow" },
        h(
          "p",
          null,
          "Utilisez les coordonnées de liaison personnalisées que vous avez reçues par courriel (un identifiant de liaison et un code de liaison). Elles permettent au système de vous relier au dossier de votre organisation et aux relations qui y ont été migrées.",
        ),
        h("p", null, "Conservez le courriel explicatif jusqu'à ce que la liaison soit terminée."),
        h(
          "div",
          { class: "form-actions" },
          linkButton("#/liaison?methode=coordonnees&etape=formulaire", "Commencer"),
          h("a", { href: "#/liaison" }, "Choisir une autre méthode"),
        ),
      ),
    );
    return;
  }
  if (method === "coordonnees" || method === "anciens") {
    const legacy = method === "anciens";
    pageHeading(root, ctx, "Liaison d'un profil", [
      ["Liaison d'un profil", "#/liaison"],
      [legacy ? "Anciens identifiants" : "Coordonnées de liaison"],
    ]);
    const fb = new Feedback();
    const first = legacy
      ? inputField(fb, {
          name: "username",
          label: "Nom d'utilisateur des anciens services en ligne",
          autocomplete: "off",
          required: true,
        })
      : inputField(fb, {
          name: "identifier",
          label: "Identifiant de liaison",
          required: true,
          cls: "input--code",
          code: true,
          help: "Par exemple L-7KQ2-MX9T, tel qu'il apparaît dans le courriel.",
        });
    const second = legacy
      ? inputField(fb, {
          name: "password",
          label: "Mot de passe des anciens services en ligne",
          type: "password",
          autocomplete: "off",
          required: true,
        })
      : inputField(fb, {
          name: "code",
          label: "Code de liaison",
          required: true,
          cls: "input--code",
          code: true,
        });
    const panel = h("section", { class: "panel narrow" });
    const form = formEl(async () => {
      const body = legacy
        ? { username: first.input.value.trim(), password: second.input.value }
        : { identifier: first.input.value.trim(), code: second.input.value.trim() };
      const missing = requireFilled(body);
      if (Object.keys(missing).length) return fb.show(localProblem(missing));
      const res = legacy
        ? await api("POST", "/api/links/legacy", { body })
        : await api("POST", "/api/links", { body });
      if (res.status === 400 && !Object.keys(res.problem.errors).length) {
        // Refused credentials (the API does not say which of the two is wrong): the message
        // beside both fields, each marked invalid.
        const both = legacy ? ["username", "password"] : ["identifier", "code"];
        const errors = Object.fromEntries(both.map((name) => [name, [res.problem.detail]]));
        return fb.show(Object.assign({}, res.problem, { errors }));
      }
      if (!res.ok) return fb.show(res.problem);
      await refreshSession(); // linking rotates the session
      state.profiles = null;
      const profile = res.data;
      const done = h(
        "div",
        { class: "alert alert--success", role: "status", tabindex: "-1" },
        h("p", { class: "alert__title" }, "La liaison est réussie."),
        h(
          "p",
          null,
          `Votre compte est maintenant lié au profil ${profile.name} (numéro de client ${profile.client_number}).`,
        ),
      );
      panel.replaceChildren(
        done,
        h("div", { class: "form-actions" }, linkButton("#/profils", "Sélectionnez un profil")),
      );
      renderChrome(ctx);
      focusEl(done);
    });
    add(form, [
      fb.top,
      h(
        "p",
        null,
        legacy
          ? "Utilisez le nom d'utilisateur et le mot de passe de l'ancien site des services en ligne. Cette méthode lie votre compte à votre dossier de contact chez un employeur (lettre d'état de situation, identification de chantier, gestion de main-d'œuvre)."
          : "Inscrivez l'identifiant et le code de liaison reçus par courriel, puis cliquez sur « Lier ».",
      ),
      first.wrapper,
      second.wrapper,
      h(
        "div",
        { class: "form-actions" },
        submitButton("Lier"),
        h("a", { href: "#/liaison" }, "Choisir une autre méthode"),
      ),
    ]);
    panel.append(form);
    root.append(panel);
    return;
  }
  pageHeading(root, ctx, "Liaison d'un profil");
  const linked = state.session && state.session.linked_profiles;
  root.append(
    h(
      "p",
      { class: "lead" },
      linked
        ? "Liez votre compte à un autre dossier. Plusieurs méthodes de liaison sont offertes."
        : "Votre compte n'est lié à aucun profil pour le moment. Pour accéder au dossier de votre organisation, liez votre compte. Plusieurs méthodes de liaison sont offertes.",
    ),
    h(
      "ul",
      { class: "cards" },
      h(
        "li",
        null,
        h(
          "div",
          { class: "card" },
          h("h2", null, "Utiliser des coordonnées de liaison"),
          h(
            "p",
            null,
            "L'identifiant et le code de liaison personnalisés reçus par courriel. C'est la méthode à utiliser lors de votre première connexion.",
          ),
          h(
            "div",
            { class: "card__footer" },
            linkButton("#/liaison?methode=coordonnees", "Utiliser des coordonnées de liaison"),
          ),
        ),
      ),
      h(
        "li",
        null,
        h(
          "div",
          { class: "card" },
          h("h2", null, "Utiliser mes anciens identifiants"),
          h(
            "p",
            null,
            "Le nom d'utilisateur et le mot de passe de l'ancien site des services en ligne, pour lier votre dossier de contact chez un employeur.",
          ),
          h(
            "div",
            { class: "card__footer" },
            linkButton(
              "#/liaison?methode=anciens",
              "Utiliser mes anciens identifiants",
              "button--secondary",
            ),
          ),
        ),
      ),
    ),
    linked ? h("p", null, h("a", { href: "#/profils" }, "Retour à la sélection du profil")) : "",
  );
}

// ------------------------------------------------------------------------------------- Sélectionnez un profil

async function viewProfiles(root, ctx) {
  pageHeading(root, ctx, "Sélectionnez un profil");
  const profiles = await loadProfiles(true);
  if (!profiles.length) {
    root.append(
      h("p", null, "Votre compte n'est lié à aucun profil."),
      h("p", null, linkButton("#/liaison", "Lier un profil")),
    );
    return;
  }
  root.append(
    h("p", { class: "lead" }, "Choisissez le profil dans lequel vous voulez travailler."),
  );
  const list = h("ul", { class: "cards" });
  for (const p of profiles) {
    list.append(
      h(
        "li",
        null,
        h(
          "div",
          { class: "card" },
          h("h2", null, h("a", { href: `#/profil/${p.profile_id}` }, p.name)),
          h("p", { class: "card__meta" }, `Numéro de client : ${p.client_number}`),
          h("p", null, KINDS[p.kind] || p.kind),
          h("p", null, `Relation : ${(p.relation_labels || []).join(", ") || "—"}`),
        ),
      ),
    );
  }
  root.append(list, h("p", null, h("a", { href: "#/liaison" }, "Lier un autre profil")));
}

// ------------------------------------------------------------------------------------- Accueil

async function viewHome(root, ctx) {
  const p = ctx.profile;
  pageHeading(root, ctx, "Accueil");
  const who = state.session.account;
  root.append(
    h(
      "p",
      { class: "lead" },
      `Bonjour ${who.first_name}, vous êtes dans le profil de ${p.name} (numéro de client ${p.client_number}).`,
    ),
    summaryList([
      ["Organisation", p.name],
      ["Type", KINDS[p.kind] || p.kind],
      ["Votre relation", (p.relation_labels || []).join(", ") || "—"],
    ]),
  );
  const base = `#/profil/${p.profile_id}`;
  const card = (title, text, href, label) =>
    h(
      "li",
      null,
      h(
        "div",
        { class: "card" },
        h("h2", null, title),
        h("p", null, text),
        h("div", { class: "card__footer" }, h("a", { href }, label)),
      ),
    );
  root.append(
    h(
      "ul",
      { class: "cards" },
      card(
        "Mon organisation",
        "Validez les contacts, les relations et les autorisations de votre organisation.",
        `${base}/relations/contacts`,
        "Relations et autorisations",
      ),
      card(
        "Catalogue de services",
        "Les formulaires : ajouter un membre, modifier ses informations, retirer une relation ou des sujets autorisés.",
        `${base}/catalogue`,
        "Ouvrir le catalogue",
      ),
      card(
        "Mes demandes",
        "Suivez l'état des demandes soumises pour ce profil.",
        `${base}/demandes`,
        "Voir mes demandes",
      ),
      card(
        "Mes dossiers autorisés",
        "Les dossiers d'autres organisations sur lesquels vous détenez des sujets autorisés.",
        `${base}/dossiers`,
        "Voir mes dossiers autorisés",
      ),
    ),
  );
  const res = await api("GET", `/api/profiles/${p.profile_id}/requests`, {
    query: { per_page: 5 },
  });
  if (res.ok && res.data.items.length) {
    root.append(
      h("h2", null, "Demandes récentes"),
      table(null, requestColumns(p.profile_id), res.data.items),
      h("p", null, h("a", { href: `${base}/demandes` }, "Toutes mes demandes")),
    );
  }
}

// ------------------------------------------------------------------------------------- Relations et autorisations

const LISTS = [
  ["autorisations", "Autorisations"],
  ["contacts", "Contacts de l'organisation"],
  ["relations", "Relations de l'organisation"],
];

function orgHeader(which) {
  return ["Organisation", h("span", { class: "visually-hidden" }, which)];
}

async function viewRelations(root, ctx) {
  const pid = ctx.pid;
  const list = LISTS.some(([code]) => code === ctx.list) ? ctx.list : "contacts";
  const base = `#/profil/${pid}`;
  pageHeading(root, ctx, "Relations et autorisations", [
    ["Accueil", base],
    ["Relations et autorisations"],
  ]);
  root.append(
    h(
      "p",
      { class: "lead" },
      "Accédez aux relations et aux autorisations octroyées aux personnes qui peuvent consulter ou modifier des renseignements au dossier. ",
      h("strong", null, PROPAGATION),
    ),
  );
  const side = h(
    "nav",
    { class: "sidebar", "aria-labelledby": "titre-ra" },
    h("h2", { id: "titre-ra" }, "Relations et autorisations"),
    h(
      "ul",
      null,
      LISTS.map(([code, label]) =>
        h(
          "li",
          null,
          h(
            "a",
            { href: `${base}/relations/${code}`, "aria-current": code === list ? "page" : null },
            label,
          ),
        ),
      ),
    ),
  );
  const content = h("section", { "aria-labelledby": "titre-liste" });
  root.append(h("div", { class: "with-sidebar" }, side, content));
  const title = LISTS.find(([code]) => code === list)[1];
  content.append(h("h2", { id: "titre-liste" }, title));
  if (list === "autorisations")
    content.append(
      h(
        "p",
        null,
        "Pour connaître les autorisations de chaque sujet autorisé, consultez l'article : ",
        h("a", { href: `${base}/sujets` }, "Quelles sont les autorisations de chaque sujet autorisé?"),
      ),
    );
  const page = Number(ctx.query.page) || 1;
  const perPage = 20;
  const toPage = (n) =>
    go(`/profil/${pid}/relations/${list}`, Object.assign({}, ctx.query, { page: n }));

  if (list === "contacts" && ctx.profile.can_manage_authorizations) {
    const forms = `${base}/catalogue`;
    content.append(
      h(
        "div",
        { class: "panel panel--muted" },
        h("h3", null, "Liens rapides"),
        h(
          "ul",
          null,
          h(
            "li",
            null,
            h(
              "a",
              { href: `${forms}/add-relation?contact_does_not_exist=true` },
              "Ajouter un membre (le contact n'existe pas)",
            ),
          ),
          h(
            "li",
            null,
            h(
              "a",
              { href: `${forms}/add-relation` },
              "Ajouter une relation ou des sujets autorisés à un contact",
            ),
          ),
          h(
            "li",
            null,
            h(
              "a",
              { href: `${forms}/update-contact` },
              "Modifier les informations personnelles et les coordonnées d'un individu autorisé ou d'un contact",
            ),
          ),
          h(
            "li",
            null,
            h(
              "a",
              { href: `${forms}/remove-relation` },
              "Retirer une relation ou des sujets autorisés à un contact",
            ),
          ),
        ),
      ),
    );
  }
  if (list === "contacts") {
    const res = await api("GET", `/api/profiles/${pid}/contacts`, {
      query: { page, per_page: perPage },
    });
    if (!res.ok) return content.append(problemBox(res.problem));
    const chosen = ctx.query.contact ? Number(ctx.query.contact) : null;
    if (chosen) {
      // Step 3.6: « Cliquez sur chaque profil et validez l'exactitude des informations affichées. »
      const one = await api("GET", `/api/profiles/${pid}/contacts/${chosen}`);
      content.append(one.ok ? contactDetails(pid, one.data) : problemBox(one.problem));
    }
    content.append(
      table(
        null,
        [
          [
            "Nom",
            (r) =>
              h(
                "a",
                { href: withQuery(`${base}/relations/contacts`, { page, contact: r.contact_id }) },
                r.name,
              ),
          ],
          ["Relation", (r) => r.relation_label],
          ["Date de début", (r) => fmtDate(r.start_date)],
          ["Date de fin", (r) => fmtDate(r.end_date)],
          ["Actif", (r) => trueFalse(r.actif)],
        ],
        res.data.items,
        "Aucun contact.",
      ),
      pager(res.data, toPage),
      exportLinks(ctx, "contacts"),
    );
    return;
  }

  if (list === "relations") {
    const res = await api("GET", `/api/profiles/${pid}/relations`, {
      query: { page, per_page: perPage },
    });
    if (!res.ok) return content.append(problemBox(res.problem));
    content.append(
      table(
        null,
        [
          [orgHeader(" (cliente)"), (r) => r.organisation.name],
          ["Type de relation", (r) => r.type_label],
          [orgHeader(" (en relation)"), (r) => r.related_organisation.name],
          ["Actif", (r) => trueFalse(r.actif)],
        ],
        res.data.items,
        "Aucune relation.",
      ),
      pager(res.data, toPage),
      exportLinks(ctx, "relations"),
      h(
        "p",
        null,
        "Si vous constatez que vous avez des relations actives avec des employeurs qui ne sont plus vos clients, communiquez avec l'employeur ou l'organisme.",
      ),
    );
    return;
  }

  // Autorisations, with the filter « Contacts de l'organisation ».
  const contacts = await loadContacts(pid);
  const contactId = ctx.query.contact_id ? Number(ctx.query.contact_id) : null;
  const filter = selectField(null, {
    name: "contact_id",
    label: "Contacts de l'organisation",
    options: [["", "Tous les contacts"]].concat(
      contacts.list.map((c) => [String(c.contact_id), c.name]),
    ),
    value: contactId ? String(contactId) : "",
  });
  // Chosen with the button: arrowing through the list changes nothing until « Filtrer » (WCAG
  // 3.2.2), and the focus comes back to the list of contacts, not to the page's title.
  const filterForm = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Filtrer les autorisations",
      onsubmit: (event) => {
        event.preventDefault();
        state.focusFilter = true;
        go(`/profil/${pid}/relations/autorisations`, { contact_id: filter.select.value, page: 1 });
      },
    },
    filter.wrapper,
    h("button", { type: "submit", class: "button button--secondary" }, "Filtrer"),
  );
  content.append(
    filterForm,
    h("p", null, "Les sujets autorisés pour votre organisation s'affichent d'abord."),
  );
  if (state.focusFilter) {
    state.focusFilter = false;
    filter.select.focus();
  }
  const res = await api("GET", `/api/profiles/${pid}/authorizations`, {
    query: { page, per_page: perPage, contact_id: contactId },
  });
  if (!res.ok) return content.append(problemBox(res.problem));
  content.append(
    table(
      null,
      [
        ["Sujet autorisé", (r) => r.subject],
        ["Droit", (r) => r.right_label],
        [orgHeader(" (titulaire du dossier)"), (r) => (r.organisation ? r.organisation.name : "")],
        [
          orgHeader(" (en relation)"),
          (r) => (r.related_organisation ? r.related_organisation.name : ""),
        ],
        ["Contact de l'organisation", (r) => (r.contact ? r.contact.name : "")],
        ["Fonction", (r) => r.function || ""],
        ["Actif", (r) => trueFalse(r.actif)],
      ],
      res.data.items,
      "Aucune autorisation.",
    ),
    pager(res.data, toPage),
    exportLinks(ctx, "authorizations"),
  );
}

/** The list as it is propagated, for a spreadsheet (CSV: « ; », UTF-8) or as the API's JSON;
 * for those who may manage the organisation. */
function exportLinks(ctx, kind) {
  if (!ctx.profile || !ctx.profile.can_manage_authorizations) return null;
  const pid = ctx.pid;
  const path = {
    contacts: `/api/profiles/${pid}/exports/contacts`,
    relations: `/api/profiles/${pid}/exports/relations`,
    authorizations: `/api/profiles/${pid}/exports/authorizations`,
  }[kind];
  return h(
    "p",
    { class: "export-links" },
    "Exporter la liste complète : ",
    h("a", { href: withQuery(path, { format: "csv" }), download: "" }, "CSV (tableur)"),
    " ou ",
    h("a", { href: withQuery(path, { format: "json" }), download: "" }, "JSON"),
    ".",
  );
}

function contactDetails(pid, c) {
  // c: GET /api/profiles/{profile_id}/contacts/{contact_id}
  const forms = `#/profil/${pid}/catalogue`;
  const q = `?contact_id=${c.id}`;
  const items = (list, text) =>
    list.length ? h("ul", null, list.map((x) => h("li", null, text(x)))) : "—";
  const box = h(
    "section",
    { class: "panel", "aria-labelledby": "titre-contact", tabindex: "-1" },
    h("h3", { id: "titre-contact" }, c.name),
    summaryList([
      ["Prénom", c.first_name],
      ["Nom", c.last_name],
      ["Numéro de client", c.client_number || "—"],
      ["Date de naissance", c.birth_date_masked ? "Non affichée" : fmtDate(c.birth_date)],
      ["Adresse courriel", c.email || "—"],
      ["Langue de communication", c.language_label],
      [
        "Téléphone(s)",
        items(
          c.phones,
          (p) =>
            `${p.type_label} : ${p.country_code} ${p.number}${p.extension ? ` poste ${p.extension}` : ""} (${p.territory})`,
        ),
      ],
      [
        "Relation(s)",
        items(
          c.relations,
          (r) =>
            `${r.type_label} (${fmtDate(r.start_date)} – ${fmtDate(r.end_date)}) : ${trueFalse(r.actif)}`,
        ),
      ],
      [
        "Sujets autorisés",
        items(
          c.subjects,
          (g) => `${g.name} - ${g.organisation.name} (${g.right_label}) : ${trueFalse(g.actif)}`,
        ),
      ],
      [
        "Demandes en cours",
        items(c.pending_requests, (r) => [
          h("a", { href: `#/profil/${pid}/demandes/${encodeURIComponent(r.number)}` }, r.number),
          ` ${r.title} — `,
          stateBadge(r.state, r.state_label),
        ]),
      ],
    ]),
    h(
      "ul",
      null,
      h(
        "li",
        null,
        h(
          "a",
          { href: `#/profil/${pid}/relations/autorisations?contact_id=${c.id}` },
          "Voir ses autorisations",
        ),
      ),
      h(
        "li",
        null,
        h(
          "a",
          { href: `${forms}/update-contact${q}` },
          "Modifier ses informations personnelles et ses coordonnées (ou émettre un nouveau code de liaison)",
        ),
      ),
      h(
        "li",
        null,
        h("a", { href: `${forms}/update-contact-address${q}` }, "Modifier son adresse"),
      ),
      h(
        "li",
        null,
        h(
          "a",
          { href: `${forms}/add-relation${q}` },
          "Lui ajouter une relation ou des sujets autorisés",
        ),
      ),
      h(
        "li",
        null,
        h(
          "a",
          { href: `${forms}/remove-relation${q}` },
          "Lui retirer une relation ou des sujets autorisés",
        ),
      ),
    ),
  );
  window.setTimeout(() => focusEl(box), 0);
  return box;
}

// ------------------------------------------------------------------------------------- Catalogue de services

async function viewCatalogue(root, ctx) {
  const pid = ctx.pid;
  const base = `#/profil/${pid}`;
  const res = await api("GET", "/api/catalogue");
  const chosen = ctx.query.categorie || "";
  const catalogues = res.ok ? res.data.catalogues : [];
  let current = null;
  for (const cat of catalogues) {
    for (const category of cat.categories) {
      if (category.code === chosen) current = { cat, category };
    }
  }
  const crumbs = [
    ["Accueil", base],
    ["Catalogue de services", current ? `${base}/catalogue` : null],
  ];
  if (current) crumbs.push([current.cat.label], [current.category.label]);
  pageHeading(root, ctx, current ? current.category.label : "Catalogue de services", crumbs);
  if (!res.ok) return root.append(problemBox(res.problem));

  const side = h(
    "nav",
    { class: "sidebar", "aria-labelledby": "titre-catalogues" },
    h("h2", { id: "titre-catalogues" }, "Catalogues"),
  );
  const sideList = h("ul");
  sideList.append(
    h(
      "li",
      null,
      h(
        "a",
        { href: `${base}/catalogue`, "aria-current": current ? null : "page" },
        "Tous les catalogues",
      ),
    ),
  );
  for (const cat of catalogues) {
    sideList.append(h("li", { class: "sidebar__group" }, cat.label));
    for (const category of cat.categories) {
      sideList.append(
        h(
          "li",
          null,
          h(
            "a",
            {
              href: `${base}/catalogue?categorie=${encodeURIComponent(category.code)}`,
              "aria-current": current && current.category.code === category.code ? "page" : null,
            },
            category.label,
          ),
        ),
      );
    }
  }
  side.append(sideList);
  const content = h("div");
  root.append(h("div", { class: "with-sidebar" }, side, content));

  const tiles = (items) =>
    h(
      "ul",
      { class: "cards" },
      items.map((item) => tile(pid, item)),
    );
  if (current) {
    content.append(tiles(current.category.items));
    return;
  }
  const popular = [];
  for (const cat of catalogues)
    for (const category of cat.categories)
      for (const item of category.items) if (item.popular) popular.push(item);
  if (popular.length) content.append(h("h2", null, "Éléments populaires"), tiles(popular));
  for (const cat of catalogues) {
    content.append(h("h2", null, `Catalogue ${cat.label}`));
    for (const category of cat.categories) {
      content.append(h("h3", null, category.label), tiles(category.items));
    }
  }
}

function tile(pid, item) {
  const href = `#/profil/${pid}/catalogue/${encodeURIComponent(item.slug)}`;
  const detailsId = uid("details");
  const details = h("div", { class: "tile__details", id: detailsId, hidden: true });
  const toggle = h(
    "button",
    { type: "button", class: "link-button", "aria-expanded": "false", "aria-controls": detailsId },
    "Afficher les détails",
  );
  let loaded = false;
  toggle.addEventListener("click", async () => {
    const open = details.hidden;
    details.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Masquer les détails" : "Afficher les détails";
    if (!open || loaded) return;
    loaded = true;
    // The form's own notes: who may submit it, what happens once it is applied.
    details.append(h("p", null, "Chargement…"));
    const res = await api("GET", `/api/catalogue/items/${encodeURIComponent(item.slug)}`, {
      query: { profile_id: pid },
    });
    const notes = res.ok ? res.data.notes || [] : [];
    details.replaceChildren(
      h(
        "p",
        null,
        `Catalogue ${res.ok ? res.data.catalogue.label : ""} › ${res.ok ? res.data.category.label : ""}`,
      ),
      notes.length
        ? h(
            "ul",
            null,
            notes.map((note) => h("li", null, note)),
          )
        : "",
      res.ok && res.data.validation_rule !== "never"
        ? h(
            "p",
            null,
            "Selon les renseignements fournis, un agent peut valider la demande avant son application.",
          )
        : "",
      h("p", null, h("a", { href }, "Remplir le formulaire")),
    );
  });
  return h(
    "li",
    null,
    h(
      "div",
      { class: "card" },
      h("h3", null, h("a", { href }, item.title)),
      h("p", { class: "tile__description" }, item.description),
      h("div", { class: "card__footer" }, toggle),
      details,
    ),
  );
}

// ------------------------------------------------------------------------------------- generic forms

const ID_TYPES = new Set(["contact", "organisation", "relation", "grant"]);

function sameValue(a, b) {
  if (a === b) return true;
  if (a === null || a === undefined || b === null || b === undefined) return false;
  return String(a) === String(b);
}

/** `shown_when`: {field, equals} | {field, contains} | {all: [conditions]}. */
function conditionMet(cond, lookup) {
  if (!cond) return true;
  if (Array.isArray(cond.all)) return cond.all.every((c) => conditionMet(c, lookup));
  if (Array.isArray(cond.any)) return cond.any.some((c) => conditionMet(c, lookup));
  const value = lookup(cond.field);
  if (Object.prototype.hasOwnProperty.call(cond, "equals")) {
    if (cond.equals === false && (value === undefined || value === null)) return true;
    return sameValue(value, cond.equals);
  }
  if (Object.prototype.hasOwnProperty.call(cond, "contains")) {
    return Array.isArray(value) && value.some((v) => sameValue(v, cond.contains));
  }
  if (Array.isArray(cond.in)) return cond.in.some((v) => sameValue(v, value));
  return true;
}

function isEmpty(value) {
  return (
    value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)
  );
}

/**
 * The form of a catalogue item, drawn from GET /api/catalogue/items/{slug}: one node a field.
 * A node has el, value() (undefined: not sent), untouched(), visible(), refresh(), set(v) and
 * register(path, map) (the targets of error messages, keyed by the API's field paths).
 */
class FormModel {
  constructor(description, env) {
    this.description = description;
    this.env = env; // {pid, contacts: Map, profile}
    this.nodes = [];
    this.byName = new Map();
    for (const field of description.fields) {
      const node = makeNode(field, this, this);
      this.nodes.push(node);
      this.byName.set(field.name, node);
    }
  }

  lookup(name) {
    const node = this.byName.get(name);
    return node ? node.value() : undefined;
  }

  contactDetail(id) {
    if (!id || !this.env.pid || !this.env.contacts.has(id)) return null;
    this.details = this.details || new Map();
    if (!this.details.has(id)) {
      this.details.set(id, null);
      api("GET", `/api/profiles/${this.env.pid}/contacts/${id}`).then((res) => {
        if (!res.ok) return;
        this.details.set(id, res.data);
        this.refresh();
      });
    }
    return this.details.get(id);
  }

  refresh() {
    for (const node of this.nodes) node.refresh();
  }

  prefill(query) {
    for (const key of Object.keys(query)) {
      const node = this.byName.get(key);
      if (node) node.set(query[key]);
    }
    this.refresh();
  }

  collect() {
    const variables = {};
    const paths = new Map();
    for (const node of this.nodes) {
      if (!node.visible()) continue;
      node.register(node.field.name, paths);
      const value = node.value();
      if (value !== undefined) variables[node.field.name] = value;
    }
    return { variables, paths };
  }

  currentValue(source) {
    if (!source) return null;
    const [kind, attr] = source.split(".");
    if (kind === "contact") {
      const id = Number(this.lookup("contact_id"));
      const contact = this.env.contacts.get(id);
      if (contact && contact[attr]) return contact[attr];
      // The language and the phones are in the contact's details only (loaded once per contact).
      const detail = attr === "language" || attr === "phones" ? this.contactDetail(id) : null;
      if (detail && attr === "language") return detail.language_label;
      if (detail && attr === "phones" && detail.phones.length)
        return detail.phones
          .map(
            (p) =>
              `${p.type_label} ${p.country_code} ${p.number}` +
              (p.extension ? ` poste ${p.extension}` : ""),
          )
          .join(" ; ");
    }
    if (kind === "organisation" && attr === "name" && this.env.profile)
      return this.env.profile.name;
    return null;
  }
}

function makeNode(field, model, scope) {
  switch (field.type) {
    case "boolean":
    case "attestation":
      return checkboxNode(field, model, scope);
    case "choice":
    case "multi_choice":
    case "contact":
    case "organisation":
    case "relation":
    case "grant":
    case "subjects":
      return choiceNode(field, model, scope);
    case "phones":
      return phonesNode(field, model, scope);
    case "group":
    case "address":
      return groupNode(field, model, scope);
    case "email_notice":
      return noticeNode(field, model, scope);
    default:
      return textNode(field, model, scope);
  }
}

function baseNode(field, model, scope, wrapper, slot, controls) {
  const current = h("span", { class: "field__current", id: uid("actuelle"), hidden: true });
  const node = {
    field,
    el: wrapper,
    slot,
    controls,
    current,
    visible() {
      return conditionMet(field.shown_when, (name) => scope.lookup(name));
    },
    refresh() {
      wrapper.hidden = !node.visible();
      const known = model.currentValue(field.current_value_source);
      current.hidden = !known;
      current.textContent = known ? `Valeur actuelle : ${known}` : "";
      if (node.refreshChoices) node.refreshChoices();
      if (node.children) for (const child of node.children) child.refresh();
    },
    register(path, map) {
      map.set(path, { wrapper, slot, controls: node.controls, label: field.label });
    },
    set() {},
  };
  return node;
}

/** The guide's line under the subjects: its article, in a new tab so the form keeps its values. */
function subjectsArticle(pid) {
  if (!pid) return null;
  return h(
    "p",
    { class: "field__help" },
    "Pour connaître les autorisations de chaque sujet autorisé, consultez l'article : ",
    h(
      "a",
      { href: `#/profil/${pid}/sujets`, target: "_blank", rel: "noopener" },
      "Quelles sont les autorisations de chaque sujet autorisé? (nouvel onglet)",
    ),
  );
}

function helpEl(field) {
  return field.help ? h("span", { class: "field__help", id: uid("aide") }, field.help) : null;
}

function textNode(field, model, scope) {
  const id = uid(field.name);
  const isDate = field.type === "date";
  const input = h("input", {
    id,
    name: field.name,
    type: isDate ? "date" : "text",
    placeholder: field.placeholder,
    required: field.required,
    autocomplete: field.name === "email" ? "email" : "off",
    inputmode: field.name === "email" ? "email" : null,
    class: field.name === "country_code" || field.name === "extension" ? "input--short" : null,
    value: field.default === null || field.default === undefined ? "" : String(field.default),
  });
  const help = helpEl(field);
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, labelContent(field.label, field.required)),
    help,
    slot,
    input,
  );
  const node = baseNode(field, model, scope, wrapper, slot, [input]);
  wrapper.append(node.current);
  describe(input, help && help.id, node.current.id);
  node.value = () => {
    const text = input.value.trim();
    return text === "" ? undefined : text;
  };
  node.untouched = () => {
    const text = input.value.trim();
    return (
      text === "" ||
      (field.default !== null && field.default !== undefined && text === String(field.default))
    );
  };
  node.set = (v) => {
    input.value = v === null || v === undefined ? "" : String(v);
  };
  return node;
}

function checkboxNode(field, model, scope) {
  const id = uid(field.name);
  const input = h("input", {
    id,
    name: field.name,
    type: "checkbox",
    checked: Boolean(field.default),
  });
  const help = helpEl(field);
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    slot,
    h(
      "div",
      { class: "check" },
      input,
      h("label", { for: id }, labelContent(field.label, field.required)),
    ),
    help,
  );
  if (help) describe(input, help.id);
  const node = baseNode(field, model, scope, wrapper, slot, [input]);
  node.value = () => input.checked;
  node.untouched = () => input.checked === Boolean(field.default);
  node.set = (v) => {
    input.checked = v === true || v === "true" || v === "1" || v === "oui";
  };
  return node;
}

function noticeNode(field, model, scope) {
  const help = helpEl(field);
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    h("p", { class: "field__label" }, field.label),
    help,
    slot,
  );
  const node = baseNode(field, model, scope, wrapper, slot, []);
  wrapper.append(node.current);
  node.value = () => undefined;
  node.untouched = () => true;
  return node;
}

/** Single choices: a select (radios when few and required); many: checkboxes (grouped). */
function choiceNode(field, model, scope) {
  const many = field.many || field.type === "multi_choice" || field.type === "subjects";
  const all = field.choices || [];
  const radios =
    !many && field.required && !field.choices_source && all.length > 0 && all.length <= 3;
  const help = helpEl(field);
  const slot = h("div");
  const hint = h("p", { class: "field__help", hidden: true });
  let wrapper;
  let container;
  let select = null;
  const id = uid(field.name);
  if (many || radios) {
    container = h("div");
    wrapper = h(
      "fieldset",
      { class: "field field--choices", id },
      h("legend", null, labelContent(field.label, field.required)),
      help,
      field.type === "subjects" ? subjectsArticle(model.env.pid) : null,
      slot,
      hint,
      container,
    );
  } else {
    select = h("select", { id, name: field.name, required: field.required });
    wrapper = h(
      "div",
      { class: "field" },
      h("label", { for: id }, labelContent(field.label, field.required)),
      help,
      slot,
      hint,
      select,
    );
    if (help) describe(select, help.id);
  }
  const node = baseNode(field, model, scope, wrapper, slot, select ? [select] : []);
  if (select) {
    wrapper.append(node.current);
    describe(select, node.current.id);
  } else {
    wrapper.append(node.current);
  }
  let shown = [];
  let inputs = [];
  let parentKey;

  const available = () => {
    if (!field.choices_depend_on) return all;
    const parent = scope.lookup(field.choices_depend_on);
    if (isEmpty(parent)) return null;
    return all.filter((c) => sameValue(c.parent, parent));
  };

  const selected = () => {
    if (select) {
      const i = select.selectedIndex - 1; // the first option is « - Aucun - »
      return i >= 0 && shown[i] ? [shown[i].value] : [];
    }
    return inputs
      .filter((input) => input.checked)
      .map((input) => shown[Number(input.dataset.index)].value);
  };

  const draw = (keep) => {
    const choices = available();
    hint.hidden = true;
    if (choices === null) {
      const parentNode = scope.byName ? scope.byName.get(field.choices_depend_on) : null;
      hint.textContent = `Choisissez d'abord : ${parentNode ? parentNode.field.label : field.choices_depend_on}.`;
      hint.hidden = false;
    } else if (!choices.length) {
      hint.textContent = "Aucun choix offert.";
      hint.hidden = false;
    }
    shown = choices || [];
    if (select) {
      select.replaceChildren(
        h("option", { value: "" }, field.required ? "— Choisir —" : "- Aucun -"),
      );
      let group = null;
      let groupLabel = null;
      shown.forEach((c, i) => {
        const option = h("option", { value: String(i) }, c.label);
        if (c.group_label) {
          if (c.group_label !== groupLabel) {
            groupLabel = c.group_label;
            group = h("optgroup", { label: groupLabel });
            select.append(group);
          }
          group.append(option);
        } else select.append(option);
        if (keep.some((v) => sameValue(v, c.value))) select.value = String(i);
      });
      select.disabled = choices === null;
      return;
    }
    container.replaceChildren();
    inputs = [];
    let groupLabel = null;
    shown.forEach((c, i) => {
      if (c.group_label && c.group_label !== groupLabel) {
        groupLabel = c.group_label;
        container.append(h("p", { class: "check-group__title" }, groupLabel));
      }
      const inputId = uid(`${field.name}-${i}`);
      const input = h("input", {
        id: inputId,
        type: radios ? "radio" : "checkbox",
        name: `${id}-choix`,
        checked: keep.some((v) => sameValue(v, c.value)),
      });
      input.dataset.index = String(i);
      if (help) describe(input, help.id);
      // What the choice allows (a subject's description), read with it.
      const about = c.help ? h("span", { class: "check__help", id: uid("aide") }, c.help) : null;
      if (about) describe(input, about.id);
      inputs.push(input);
      container.append(
        h("div", { class: "check" }, input, h("div", null, h("label", { for: inputId }, c.label), about)),
      );
    });
    node.controls = inputs.slice(0, 1);
  };

  node.refreshChoices = () => {
    if (!field.choices_depend_on) return;
    const parent = scope.lookup(field.choices_depend_on);
    const key = JSON.stringify(parent === undefined ? null : parent);
    if (key === parentKey) return;
    parentKey = key;
    draw(selected());
  };
  node.value = () => {
    const values = selected();
    if (many) return values.length ? values : undefined;
    return values.length ? values[0] : undefined;
  };
  node.untouched = () => {
    const values = selected();
    if (!values.length) return true;
    if (many) return false;
    return sameValue(values[0], field.default);
  };
  node.set = (raw) => {
    const wanted = many ? String(raw).split(",") : [raw];
    draw(wanted);
  };
  const initial =
    field.default === null || field.default === undefined ? [] : [].concat(field.default);
  if (
    field.name === "profile_id" &&
    model.env.pid &&
    all.some((c) => sameValue(c.value, model.env.pid))
  ) {
    initial.push(model.env.pid);
  }
  draw(initial);
  if (field.choices_depend_on) parentKey = JSON.stringify(null);
  return node;
}

/** A group (new_contact, phone) or an address: an object of sub-fields, not sent if untouched. */
function groupNode(field, model, scope, rowLegend) {
  const help = helpEl(field);
  const slot = h("div");
  const grid = h("div", { class: "sub-grid" });
  const wrapper = h(
    "fieldset",
    { class: "field" },
    h("legend", null, rowLegend || labelContent(field.label, field.required)),
    help,
    slot,
  );
  const sub = {
    byName: new Map(),
    lookup(name) {
      const n = sub.byName.get(name);
      return n ? n.value() : model.lookup(name);
    },
  };
  const node = baseNode(field, model, scope, wrapper, slot, []);
  wrapper.append(node.current);
  node.children = [];
  for (const child of field.fields || []) {
    const c = makeNode(child, model, sub);
    node.children.push(c);
    sub.byName.set(child.name, c);
    (child.type === "phones" || child.type === "group" || child.type === "address"
      ? wrapper
      : grid
    ).append(c.el);
  }
  wrapper.insertBefore(
    grid,
    node.children.find((c) => c.el.parentNode === wrapper)
      ? node.children.find((c) => c.el.parentNode === wrapper).el
      : null,
  );
  node.controls =
    node.children.length && node.children[0].controls.length
      ? node.children[0].controls.slice(0, 1)
      : [];
  node.untouched = () => node.children.every((c) => !c.visible() || c.untouched());
  node.value = () => {
    // A required group left empty is sent empty: the API then names each missing sub-field.
    if (node.untouched()) return field.required ? {} : undefined;
    const out = {};
    for (const c of node.children) {
      if (!c.visible()) continue;
      const v = c.value();
      if (v !== undefined) out[c.field.name] = v;
    }
    return out;
  };
  node.register = (path, map) => {
    map.set(path, { wrapper, slot, controls: node.controls, label: field.label });
    for (const c of node.children) if (c.visible()) c.register(`${path}.${c.field.name}`, map);
  };
  node.set = (v) => {
    if (v && typeof v === "object")
      for (const c of node.children) if (v[c.field.name] !== undefined) c.set(v[c.field.name]);
  };
  return node;
}

/** Phones: the main number, then « Ajouter un autre numéro de téléphone ». */
function phonesNode(field, model, scope) {
  const help = helpEl(field);
  const slot = h("div");
  const rowsEl = h("div");
  const addButton = h(
    "button",
    { type: "button", class: "button button--secondary button--small" },
    "Ajouter un autre numéro de téléphone",
  );
  const wrapper = h(
    "div",
    { class: "field" },
    h("p", { class: "field__label" }, labelContent(field.label, field.required)),
    help,
    slot,
    rowsEl,
    addButton,
  );
  const node = baseNode(field, model, scope, wrapper, slot, []);
  wrapper.insertBefore(node.current, rowsEl);
  const rows = [];
  // Optional phones: no asterisk on a row's fields (a person may give no phone at all); those a
  // given number needs say so in their help.
  const IF_GIVEN = "Obligatoire si vous inscrivez un numéro.";
  const rowField = {
    name: "phone",
    type: "group",
    label: field.label,
    required: false,
    fields: (field.fields || []).map((f) =>
      field.required || !f.required
        ? f
        : Object.assign({}, f, {
            required: false,
            help: f.help ? `${f.help} ${IF_GIVEN}` : IF_GIVEN,
          }),
    ),
  };
  const relabel = () => {
    rows.forEach((row, i) => {
      row.legend.textContent = i === 0 ? "Numéro principal" : `Autre numéro de téléphone (${i})`;
      row.remove.hidden = rows.length === 1;
    });
  };
  const addRow = (focus) => {
    const row = groupNode(rowField, model, scope, " ");
    row.el.classList.add("phone-row");
    const legend = row.el.querySelector("legend");
    const remove = h("button", { type: "button", class: "link-button" }, "Retirer ce numéro");
    remove.addEventListener("click", () => {
      const i = rows.indexOf(entry);
      if (i >= 0) rows.splice(i, 1);
      row.el.remove();
      relabel();
      addButton.focus();
    });
    row.el.append(remove);
    const entry = { node: row, legend, remove };
    rows.push(entry);
    rowsEl.append(row.el);
    row.refresh();
    relabel();
    if (focus && row.controls[0]) row.controls[0].focus();
    return entry;
  };
  addButton.addEventListener("click", () => addRow(true));
  addRow(false);
  node.controls = rows[0].node.controls;
  node.children = [];
  node.refreshChoices = () => {
    for (const row of rows) row.node.refresh();
  };
  node.untouched = () => rows.every((r) => r.node.untouched());
  node.value = () => {
    const values = rows.filter((r) => !r.node.untouched()).map((r) => r.node.value());
    return values.length ? values : undefined;
  };
  node.register = (path, map) => {
    map.set(path, {
      wrapper,
      slot,
      controls: rows.length ? rows[0].node.controls : [],
      label: field.label,
    });
    let index = 0;
    for (const row of rows) {
      if (row.node.untouched()) continue;
      row.node.register(`${path}.${index}`, map);
      index += 1;
    }
  };
  return node;
}

async function viewForm(root, ctx) {
  const pid = ctx.pid;
  const slug = ctx.slug;
  const base = `#/profil/${pid}`;
  const res = await api("GET", `/api/catalogue/items/${encodeURIComponent(slug)}`, {
    query: { profile_id: pid },
  });
  if (!res.ok) {
    pageHeading(root, ctx, "Formulaire", [
      ["Accueil", base],
      ["Catalogue de services", `${base}/catalogue`],
    ]);
    return root.append(problemBox(res.problem));
  }
  const description = res.data;
  pageHeading(root, ctx, description.title, [
    ["Accueil", base],
    ["Catalogue de services", `${base}/catalogue`],
    [
      description.category.label,
      `${base}/catalogue?categorie=${encodeURIComponent(description.category.code)}`,
    ],
    [description.title],
  ]);
  root.append(h("p", { class: "lead" }, description.description));
  if (description.notes && description.notes.length) {
    root.append(
      h(
        "div",
        { class: "alert" },
        description.notes.map((note) => h("p", null, note)),
      ),
    );
  }
  if (description.requires_authority && !ctx.profile.can_manage_authorizations) {
    root.append(
      alertBox(
        "warning",
        "Votre relation avec cette organisation ne vous permet pas de soumettre ce formulaire : seules les personnes responsables, administratrices ou dirigeantes le peuvent.",
      ),
    );
  }
  const needsContacts = description.fields.some((f) =>
    /^contact\./.test(f.current_value_source || ""),
  );
  let contacts = new Map();
  if (needsContacts && ctx.profile.can_manage_authorizations)
    contacts = (await loadContacts(pid)).byId;

  const model = new FormModel(description, { pid, contacts, profile: ctx.profile });
  const fb = new Feedback();
  const key = newUuid(); // one per opening of the form: a double submission makes one request
  const panel = h("div");
  const form = formEl(async () => {
    const { variables, paths } = model.collect();
    const sent = await api("POST", `/api/profiles/${pid}/requests`, {
      body: { item: description.slug, variables },
      headers: { "Idempotency-Key": key },
    });
    if (!sent.ok) return fb.show(sent.problem, paths);
    const r = sent.data;
    const done = h(
      "div",
      { class: "alert alert--success", role: "status", tabindex: "-1" },
      h("p", { class: "alert__title" }, "Votre demande a été soumise."),
      h("p", null, "Numéro de la demande : ", h("strong", null, r.number)),
      h("p", null, "État : ", stateBadge(r.state, r.state_label)),
      h(
        "p",
        null,
        "Vous pouvez suivre son traitement dans « Mes demandes ». Une fois appliqués, les changements peuvent prendre jusqu'à 24 heures avant de paraître dans « Relations et autorisations ».",
      ),
    );
    panel.replaceChildren(
      done,
      h(
        "div",
        { class: "form-actions" },
        linkButton(`${base}/demandes/${encodeURIComponent(r.number)}`, "Suivre la demande"),
        linkButton(`${base}/catalogue`, "Retour au catalogue", "button--secondary"),
      ),
    );
    focusEl(done);
    announce(`Demande ${r.number} soumise.`);
  });
  form.addEventListener("change", () => model.refresh());
  add(form, [
    fb.top,
    h(
      "p",
      { class: "required-note" },
      h("span", { class: "required", "aria-hidden": "true" }, "*"),
      " Champ obligatoire",
    ),
    model.nodes.map((n) => n.el),
  ]);
  form.append(
    h(
      "div",
      { class: "form-actions" },
      submitButton("Soumettre"),
      h("a", { href: `${base}/catalogue` }, "Annuler et revenir au catalogue"),
    ),
  );
  const query = Object.assign({}, ctx.query);
  model.prefill(query);
  panel.append(form);
  root.append(panel);
}

// ------------------------------------------------------------------------------------- Mes demandes

function requestColumns(pid) {
  return [
    [
      "Numéro",
      (r) => h("a", { href: `#/profil/${pid}/demandes/${encodeURIComponent(r.number)}` }, r.number),
    ],
    ["Formulaire", (r) => r.title],
    ["État", (r) => stateBadge(r.state, r.state_label)],
    ["Soumise le", (r) => fmtDateTime(r.submitted_at)],
    ["Par", (r) => r.submitted_by],
    // Waiting for an agent: the day the decision is due on Québec business days (the API's).
    ["Décision", (r) => r.expected_decision_text || "—"],
    ["Visible dans les listes", (r) => (r.visible_at ? fmtDateTime(r.visible_at) : "—")],
  ];
}

/** Every form of the catalogue as [slug, title] (the choices of a « Formulaire » filter). */
async function catalogueForms() {
  const catalogue = await api("GET", "/api/catalogue");
  const forms = [];
  if (!catalogue.ok) return forms;
  for (const cat of catalogue.data.catalogues)
    for (const category of cat.categories)
      for (const item of category.items) forms.push([item.slug, item.title]);
  return forms;
}

async function viewRequests(root, ctx) {
  const pid = ctx.pid;
  const base = `#/profil/${pid}`;
  pageHeading(root, ctx, "Mes demandes", [["Accueil", base], ["Mes demandes"]]);
  const query = ctx.query;
  const page = Number(query.page) || 1;
  const filters = {
    state: query.state || "",
    item: query.item || "",
    submitter: query.submitter || "",
    from: query.from || "",
    to: query.to || "",
  };
  const res = await api("GET", `/api/profiles/${pid}/requests`, {
    query: Object.assign({ page, per_page: 20 }, filters),
  });
  const forms = await catalogueForms();
  const fb = new Feedback();
  const stateField = selectField(fb, {
    name: "state",
    label: "État",
    options: [["", "Tous les états"]].concat(
      (res.ok ? res.data.states || [] : []).map((st) => [st.value, st.label]),
    ),
    value: filters.state,
  });
  const itemField = selectField(fb, {
    name: "item",
    label: "Formulaire",
    options: [["", "Tous les formulaires"]].concat(forms),
    value: filters.item,
  });
  const people = res.ok ? res.data.submitters || [] : [];
  const submitterField =
    people.length > 1
      ? selectField(fb, {
          name: "submitter",
          label: "Soumises par",
          options: [["", "Toutes les personnes"]].concat(
            people.map((p) => [String(p.account_id), p.name]),
          ),
          value: filters.submitter,
        })
      : null;
  const fromField = inputField(fb, {
    name: "from",
    label: "Soumises depuis le",
    type: "date",
    value: filters.from,
  });
  const toField = inputField(fb, {
    name: "to",
    label: "Soumises jusqu'au",
    type: "date",
    value: filters.to,
  });
  // Chosen with the button (WCAG 3.2.2); the focus comes back to the filters.
  const filterForm = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Filtrer les demandes",
      onsubmit: (event) => {
        event.preventDefault();
        state.focusFilter = true;
        go(`/profil/${pid}/demandes`, {
          state: stateField.select.value,
          item: itemField.select.value,
          submitter: submitterField ? submitterField.select.value : "",
          from: fromField.input.value,
          to: toField.input.value,
          page: 1,
        });
      },
    },
    fb.top,
    stateField.wrapper,
    itemField.wrapper,
    submitterField ? submitterField.wrapper : null,
    fromField.wrapper,
    toField.wrapper,
    h("button", { type: "submit", class: "button button--secondary" }, "Filtrer"),
  );
  const manager = Boolean(ctx.profile && ctx.profile.can_manage_authorizations);
  root.append(
    filterForm,
    h(
      "p",
      null,
      manager
        ? "Les demandes de votre organisation, soumises par vous ou par une autre personne, les plus récentes d'abord."
        : "Les demandes les plus récentes d'abord.",
    ),
  );
  if (state.focusFilter) {
    state.focusFilter = false;
    stateField.select.focus();
  }
  if (!res.ok) {
    if (res.status === 422) return fb.show(res.problem);
    return root.append(problemBox(res.problem));
  }
  const exportPath = `/api/profiles/${pid}/exports/requests`;
  const exportLink = h(
    "a",
    { href: withQuery(exportPath, Object.assign({ format: "csv" }, filters)), download: "" },
    "Exporter ces demandes (CSV)",
  );
  root.append(
    table(
      null,
      requestColumns(pid),
      res.data.items,
      Object.values(filters).some(Boolean)
        ? "Aucune demande ne correspond à ces filtres."
        : "Aucune demande.",
    ),
    pager(res.data, (n) =>
      go(`/profil/${pid}/demandes`, Object.assign({}, filters, { page: n })),
    ),
    res.data.items.length ? h("p", null, exportLink) : null,
  );
}

/** A request's variables with the form's labels and choice labels where they are known. */
function variablesList(variables, fields) {
  const byName = new Map((fields || []).map((f) => [f.name, f]));
  const given = Object.keys(variables || {});
  // The form's order first (as the submitter saw it), then anything the form no longer has.
  const names = (fields || []).map((f) => f.name).filter((n) => given.includes(n));
  for (const name of given) if (!names.includes(name)) names.push(name);
  const pairs = [];
  for (const name of names) {
    const field = byName.get(name);
    pairs.push([field ? field.label : name, displayValue(variables[name], field)]);
  }
  return pairs.length ? summaryList(pairs) : h("p", null, "Aucune donnée.");
}

function displayValue(value, field) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return yesNo(value);
  if (Array.isArray(value)) {
    if (!value.length) return "—";
    if (field && field.type === "phones") {
      return h(
        "ul",
        null,
        value.map((p) => h("li", null, phoneText(p, field))),
      );
    }
    const one = field
      ? Object.assign({}, field, {
          many: false,
          type: field.type === "phones" ? "group" : field.type,
        })
      : null;
    return h(
      "ul",
      null,
      value.map((v) => h("li", null, displayValue(v, one))),
    );
  }
  if (typeof value === "object") return variablesList(value, field && field.fields);
  if (field && field.choices) {
    const choice = field.choices.find((c) => sameValue(c.value, value));
    if (choice) return choice.label;
  }
  if (field && ID_TYPES.has(field.type)) return `n° ${value}`;
  return String(value);
}

function phoneText(phone, field) {
  const types = ((field.fields || []).find((f) => f.name === "type") || {}).choices || [];
  const type = types.find((c) => sameValue(c.value, phone.type));
  const ext = phone.extension ? ` poste ${phone.extension}` : "";
  return `${type ? type.label : phone.type || ""} : ${phone.country_code || ""} ${phone.number || ""}${ext}`.trim();
}

/** Pending requests of the same organisation that conflict with this one. */
function linkedRequests(links, href) {
  return h(
    "section",
    { class: "alert alert--warning", "aria-labelledby": "titre-liees" },
    h("h2", { id: "titre-liees" }, "Demandes liées"),
    h(
      "ul",
      null,
      links.map((l) =>
        h(
          "li",
          null,
          h("a", { href: href(l.number) }, l.number),
          ` (${l.state_label}) : ${l.reason || ""}`,
        ),
      ),
    ),
  );
}

function historyTable(history) {
  return table(
    "Historique",
    [
      ["Date", (e) => fmtDateTime(e.at)],
      ["Événement", (e) => e.trigger_label],
      ["État", (e) => (e.to_state ? stateBadge(e.to_state, e.to_state_label) : "—")],
      ["Par", (e) => e.actor || "—"],
      ["Motif", (e) => e.reason || ""],
    ],
    history || [],
  );
}

function visibilityText(r) {
  const vis = r.visibility;
  if (r.state === "applied" && vis && vis.visible_at) {
    return vis.visible
      ? `Les changements sont visibles dans « Relations et autorisations » depuis le ${fmtDateTime(vis.visible_at)}.`
      : `Les changements seront visibles dans « Relations et autorisations » à partir du ${fmtDateTime(vis.visible_at)}. ${PROPAGATION}`;
  }
  if (r.state === "applied") return "Les changements ont été appliqués.";
  if (["rejected", "cancelled"].includes(r.state))
    return "Cette demande ne changera rien au dossier.";
  if (r.state === "failed")
    return "L'application des changements a échoué. La demande est dans la file des agents : un agent en lit le motif et la relancera une fois la cause corrigée. Rien n'a été changé au dossier.";
  return `Une fois la demande appliquée, les changements seront visibles dans « Relations et autorisations ». ${PROPAGATION}`;
}

function commentsSection(r, onAdded, agent) {
  const section = h(
    "section",
    { "aria-labelledby": "titre-commentaires" },
    h("h2", { id: "titre-commentaires" }, "Commentaires"),
  );
  if (r.comments && r.comments.length) {
    section.append(
      h(
        "ul",
        { class: "comments" },
        r.comments.map((c) =>
          h(
            "li",
            { class: `comment${c.internal ? " comment--internal" : ""}` },
            h(
              "p",
              { class: "comment__meta" },
              `${c.author} (${c.author_kind === "agent" ? "agent" : "demandeur"}) — ${fmtDateTime(c.at)}`,
              c.internal ? " — interne" : "",
            ),
            h("p", { class: "comment__body" }, c.body),
          ),
        ),
      ),
    );
  } else section.append(h("p", null, "Aucun commentaire."));
  const fb = new Feedback();
  const body = textareaField(fb, {
    name: "body",
    label: "Ajouter un commentaire",
    required: true,
    rows: 3,
  });
  const internal = agent
    ? checkboxField(fb, {
        name: "internal",
        label: "Commentaire interne (visible des agents seulement)",
      })
    : null;
  // A question to the submitter pauses the service-level clock until they answer (only the
  // agent who holds the claim of a request in validation; the server says so otherwise).
  const asks =
    agent && r.state === "agent_validation"
      ? checkboxField(fb, {
          name: "asks_answer",
          label: "Attend une réponse du demandeur (suspend l'échéance jusqu'à sa réponse)",
        })
      : null;
  const form = formEl(async () => {
    const text = body.area.value.trim();
    if (!text) return fb.show(localProblem({ body: ["Inscrivez votre commentaire."] }));
    const payload = { body: text };
    if (internal) payload.internal = internal.input.checked;
    if (asks && asks.input.checked) payload.asks_answer = true;
    const res = await api("POST", `/api/requests/${encodeURIComponent(r.number)}/comments`, {
      body: payload,
    });
    if (!res.ok) return fb.show(res.problem);
    setFlash("success", "Votre commentaire a été ajouté.");
    onAdded();
  });
  add(form, [
    fb.top,
    body.wrapper,
    internal ? internal.wrapper : null,
    asks ? asks.wrapper : null,
    h(
      "div",
      { class: "form-actions" },
      submitButton("Ajouter le commentaire", "button--secondary"),
    ),
  ]);
  section.append(form);
  return section;
}

async function viewRequest(root, ctx) {
  const pid = ctx.pid;
  const base = `#/profil/${pid}`;
  const number = ctx.number;
  const res = await api("GET", `/api/requests/${encodeURIComponent(number)}`);
  pageHeading(root, ctx, `Demande ${number}`, [
    ["Accueil", base],
    ["Mes demandes", `${base}/demandes`],
    [number],
  ]);
  if (!res.ok) return root.append(problemBox(res.problem));
  const r = res.data;
  const reload = () => go(`/profil/${pid}/demandes/${encodeURIComponent(number)}`);
  root.append(
    summaryList([
      ["Formulaire", r.title],
      ["État", stateBadge(r.state, r.state_label)],
      ["Soumise le", fmtDateTime(r.submitted_at)],
      ["Soumise par", r.submitted_by],
      r.reason ? ["Motif", r.reason] : [null, null],
      r.expected_decision_text ? ["Décision", r.expected_decision_text] : [null, null],
      ["Visibilité des changements", visibilityText(r)],
    ]),
  );
  const actions = r.actions || [];
  if (actions.includes("cancel")) {
    const fb = new Feedback();
    const confirmBox = h("div", { class: "alert alert--warning", hidden: true });
    const cancel = h(
      "button",
      { type: "button", class: "button button--danger" },
      "Annuler la demande",
    );
    const yes = h(
      "button",
      { type: "button", class: "button button--danger" },
      "Oui, annuler la demande",
    );
    const no = h(
      "button",
      { type: "button", class: "button button--secondary" },
      "Non, la conserver",
    );
    add(confirmBox, [
      h("p", null, "Voulez-vous vraiment annuler cette demande? Cette action est définitive."),
      h("div", { class: "form-actions" }, yes, no),
    ]);
    cancel.addEventListener("click", () => {
      confirmBox.hidden = false;
      cancel.hidden = true;
      yes.focus();
    });
    no.addEventListener("click", () => {
      confirmBox.hidden = true;
      cancel.hidden = false;
      cancel.focus();
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      const done = await api("POST", `/api/requests/${encodeURIComponent(number)}/cancel`);
      yes.disabled = false;
      if (!done.ok) return fb.show(done.problem);
      setFlash("success", "La demande a été annulée.");
      reload();
    });
    root.append(
      h(
        "div",
        null,
        fb.top,
        h("p", null, "Vous pouvez annuler la demande tant qu'elle n'est pas approuvée."),
        cancel,
        confirmBox,
      ),
    );
  }
  if (r.linked_requests && r.linked_requests.length)
    root.append(
      linkedRequests(r.linked_requests, (n) => `${base}/demandes/${encodeURIComponent(n)}`),
    );
  const described = await api("GET", `/api/catalogue/items/${encodeURIComponent(r.item)}`, {
    query: { profile_id: pid },
  });
  root.append(
    h("h2", null, "Données de la demande"),
    variablesList(r.variables, described.ok ? described.data.fields : []),
  );
  root.append(documentsSection(r, reload, actions.includes("join_document")));
  root.append(h("h2", null, "Suivi"), historyTable(r.history));
  root.append(commentsSection(r, reload, false));
  if (r.awaiting_system) followRequest(root, ctx, r);
}

/** The documents joined to a request: each downloadable; while it is not decided, one more
 * can be joined (PDF, PNG or JPEG of 10 Mo at most, 5 in all; the server reads the type). */
function documentsSection(r, reload, open) {
  const docs = r.documents || [];
  const section = h("section", { "aria-labelledby": "documents-titre" });
  section.append(h("h2", { id: "documents-titre" }, "Documents joints"));
  section.append(
    docs.length
      ? h(
          "ul",
          null,
          docs.map((d) =>
            h(
              "li",
              null,
              h("a", { href: d.url, download: d.name }, d.name),
              ` (${fmtSize(d.size)}, joint le ${fmtDateTime(d.uploaded_at)} par ${d.uploaded_by})`,
            ),
          ),
        )
      : h("p", null, "Aucun document n'est joint à cette demande."),
  );
  if (!open) return section;
  const fb = new Feedback();
  const id = uid("document");
  const input = h("input", { id, name: "file", type: "file", accept: ".pdf,.png,.jpg,.jpeg" });
  const help = h(
    "span",
    { class: "field__help", id: `${id}-aide` },
    "Un fichier PDF, PNG ou JPEG d'au plus 10 Mo; 5 documents au plus par demande.",
  );
  describe(input, help.id);
  const slot = h("div");
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, "Joindre un document"),
    help,
    slot,
    input,
  );
  fb.register("file", { wrapper, controls: [input], slot, label: "Joindre un document" });
  const send = h("button", { type: "submit", class: "button button--secondary" }, "Joindre");
  const joinForm = h(
    "form",
    {
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        fb.clear();
        if (!input.files || !input.files.length) {
          return fb.show({
            title: "Aucun fichier",
            detail: "Choisissez le fichier à joindre.",
            errors: { file: ["Choisissez le fichier à joindre."] },
          });
        }
        const body = new FormData();
        body.append("file", input.files[0]);
        send.disabled = true;
        const res = await api("POST", `/api/requests/${encodeURIComponent(r.number)}/documents`, {
          form: body,
        });
        send.disabled = false;
        if (!res.ok) return fb.show(res.problem);
        setFlash("success", `Le document « ${res.data.name} » est joint à la demande.`);
        reload();
      },
    },
    fb.top,
    wrapper,
    send,
  );
  section.append(joinForm);
  return section;
}

function fmtSize(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1).replace(".", ",")} Mo`;
  return `${Math.max(1, Math.round(bytes / 1024))} Ko`;
}

/** While the service moves a request on its own (duplicate check, apply), its page follows it:
 * it asks again after 1, 2, 4… seconds (15 at most, for 10 minutes) and, once the state changed,
 * shows the page again where it stands, without moving the focus, and says the new state. A
 * comment being typed is never thrown away: the page then offers to show the new state. */
function followRequest(root, ctx, r) {
  const hash = location.hash;
  const started = Date.now();
  let wait = 1000;
  const here = () => root.isConnected && location.hash === hash;
  const check = async () => {
    if (!here() || Date.now() - started > 600000) return;
    const res = await api("GET", `/api/requests/${encodeURIComponent(r.number)}`);
    if (!here()) return;
    if (!res.ok || res.data.state === r.state) {
      wait = Math.min(wait * 2, 15000);
      window.setTimeout(check, wait);
      return;
    }
    const news = `La demande est maintenant à l'état « ${res.data.state_label} ».`;
    const typing = Array.from(root.querySelectorAll("textarea")).some((t) => t.value.trim());
    if (typing) {
      const show = h("button", { type: "button", class: "button button--secondary" }, "Afficher");
      show.addEventListener("click", () => route());
      root.prepend(h("div", { class: "alert alert--info", role: "status" }, h("p", null, news), show));
      return;
    }
    const scroll = window.scrollY;
    root.replaceChildren();
    await viewRequest(root, Object.assign({}, ctx, { focus: false }));
    window.scrollTo(0, scroll);
    announce(news);
  };
  window.setTimeout(check, wait);
}

// ------------------------------------------------------------------------------------- Mes dossiers autorisés

/** The guide's article « Quelles sont les autorisations de chaque sujet autorisé? »: each
 * subject, by group, with what it allows (GET /api/subjects). */
async function viewSubjects(root, ctx) {
  const base = `#/profil/${ctx.pid}`;
  const title = "Quelles sont les autorisations de chaque sujet autorisé?";
  pageHeading(root, ctx, title, [
    ["Accueil", base],
    ["Relations et autorisations", `${base}/relations/autorisations`],
    [title],
  ]);
  const res = await api("GET", "/api/subjects");
  if (!res.ok) return root.append(problemBox(res.problem));
  root.append(
    h(
      "p",
      { class: "lead" },
      "Chaque sujet autorisé donne accès à des services en ligne au dossier de l'organisation, en lecture seulement ou en lecture et écriture selon le droit accordé.",
    ),
  );
  const groups = [];
  for (const subject of res.data.subjects) {
    let group = groups.find((g) => g.code === subject.category);
    if (!group) {
      group = { code: subject.category, label: subject.category_label, subjects: [] };
      groups.push(group);
    }
    group.subjects.push(subject);
  }
  for (const group of groups) {
    root.append(
      h("h2", null, group.label),
      table(
        group.label,
        [
          ["Sujet autorisé", (s) => s.name],
          ["Ce que le sujet permet", (s) => s.description],
        ],
        group.subjects,
      ),
    );
  }
}

async function viewDossiers(root, ctx) {
  const pid = ctx.pid;
  const base = `#/profil/${pid}`;
  pageHeading(root, ctx, "Mes dossiers autorisés", [["Accueil", base], ["Mes dossiers autorisés"]]);
  const res = await api("GET", `/api/profiles/${pid}/authorized-dossiers`);
  if (!res.ok) return root.append(problemBox(res.problem));
  const data = res.data;
  root.append(
    h(
      "p",
      { class: "lead" },
      "Les dossiers d'autres organisations (vos clients) sur lesquels des sujets autorisés vous ont été délégués.",
    ),
  );
  if (!data.items.length)
    root.append(
      h(
        "p",
        { class: "empty" },
        "Aucun dossier d'une autre organisation ne vous est délégué pour le moment.",
      ),
    );
  for (const dossier of data.items) {
    root.append(
      h("h2", null, `${dossier.organisation.name} (${dossier.organisation.client_number})`),
      table(
        null,
        [
          ["Sujet autorisé", (s) => s.name],
          ["Droit", (s) => s.right_label],
          ["Accessible", (s) => (s.available ? "Oui" : `Non — ${s.note || ""}`)],
        ],
        dossier.subjects,
      ),
    );
  }
  root.append(
    h(
      "section",
      { class: "alert alert--warning", "aria-labelledby": "titre-limitation" },
      h("h2", { id: "titre-limitation" }, "Limitation actuelle concernant les services suivants"),
      h(
        "ul",
        null,
        (data.unavailable_services || []).map((s) => h("li", null, s.name)),
      ),
      h(
        "p",
        null,
        "Lors de cette première phase de déploiement, ces services ne sont pas accessibles dans le profil de la personne déléguée sous l'onglet « Mes dossiers autorisés ».",
      ),
      h("p", null, data.note),
      h(
        "p",
        null,
        "Si vous devez assurer ces trois services pour un employeur, liez le dossier de cet employeur à votre compte avec vos anciens identifiants et mot de passe des services en ligne : ",
        h("a", { href: "#/liaison?methode=anciens" }, "Lier avec mes anciens identifiants"),
        ".",
      ),
    ),
  );
}

// ------------------------------------------------------------------------------------- Paramètres du compte

async function viewAccount(root, ctx) {
  const crumbs = state.currentPid
    ? [["Accueil", `#/profil/${state.currentPid}`], ["Paramètres du compte"]]
    : null;
  pageHeading(root, ctx, "Paramètres du compte", crumbs);
  const res = await api("GET", "/api/account");
  if (!res.ok) return root.append(problemBox(res.problem));
  const account = res.data;
  const reload = () => go("/compte");

  // Names and language.
  const fbNames = new Feedback();
  const first = inputField(fbNames, {
    name: "first_name",
    label: "Prénom",
    autocomplete: "given-name",
    required: true,
    value: account.first_name,
  });
  const last = inputField(fbNames, {
    name: "last_name",
    label: "Nom",
    autocomplete: "family-name",
    required: true,
    value: account.last_name,
  });
  const language = selectField(fbNames, {
    name: "language",
    label: "Langue de communication",
    options: [
      ["fr", "Français"],
      ["en", "English"],
    ],
    value: account.language,
    help: "La langue de tous les courriels que vous recevez.",
  });
  const namesForm = formEl(async () => {
    const changes = {};
    if (first.input.value.trim() !== account.first_name)
      changes.first_name = first.input.value.trim();
    if (last.input.value.trim() !== account.last_name) changes.last_name = last.input.value.trim();
    if (language.select.value !== account.language) changes.language = language.select.value;
    if (!Object.keys(changes).length) return fbNames.info("Aucun changement à enregistrer.");
    const saved = await api("PATCH", "/api/account", { body: changes });
    if (!saved.ok) return fbNames.show(saved.problem);
    Object.assign(account, saved.data);
    await refreshSession();
    renderChrome(ctx);
    fbNames.success("Vos renseignements sont enregistrés.");
  });
  add(namesForm, [
    fbNames.top,
    first.wrapper,
    last.wrapper,
    language.wrapper,
    h("div", { class: "form-actions" }, submitButton("Enregistrer")),
  ]);

  // Email, confirmed by a code sent to the new address.
  const fbEmail = new Feedback();
  const newEmail = inputField(fbEmail, {
    name: "email",
    label: "Nouvelle adresse courriel",
    type: "email",
    autocomplete: "email",
    required: true,
  });
  const emailPassword = inputField(fbEmail, {
    name: "current_password",
    label: "Mot de passe actuel",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const fbCode = new Feedback();
  const code = inputField(fbCode, {
    name: "code",
    label: "Code reçu à la nouvelle adresse",
    inputmode: "numeric",
    autocomplete: "one-time-code",
    cls: "input--code",
    code: true,
    required: true,
  });
  const codePart = h("div", { class: "panel panel--muted", hidden: !account.pending_email });
  const pendingText = h(
    "p",
    null,
    account.pending_email ? `Adresse en attente de confirmation : ${account.pending_email}` : "",
  );
  const emailForm = formEl(async () => {
    const body = {
      email: newEmail.input.value.trim(),
      current_password: emailPassword.input.value,
    };
    const missing = requireFilled(body);
    if (Object.keys(missing).length) return fbEmail.show(localProblem(missing));
    const sent = await api("POST", "/api/account/email", { body });
    if (!sent.ok) return fbEmail.show(sent.problem);
    emailPassword.input.value = "";
    fbEmail.success(sent.data.detail);
    pendingText.textContent = `Adresse en attente de confirmation : ${body.email}`;
    codePart.hidden = false;
    code.input.focus();
  });
  add(emailForm, [
    fbEmail.top,
    h("p", null, `Adresse actuelle : ${account.email}`),
    newEmail.wrapper,
    emailPassword.wrapper,
    h("div", { class: "form-actions" }, submitButton("Changer d'adresse", "button--secondary")),
  ]);
  const codeForm = formEl(async () => {
    const body = { code: code.input.value.trim() };
    if (!body.code) return fbCode.show(localProblem({ code: [REQUIRED] }));
    const done = await api("POST", "/api/account/email/confirm", { body });
    if (!done.ok) return fbCode.show(done.problem);
    await refreshSession();
    setFlash("success", done.data.detail);
    reload();
  });
  add(codeForm, [
    fbCode.top,
    pendingText,
    code.wrapper,
    h("div", { class: "form-actions" }, submitButton("Confirmer la nouvelle adresse")),
  ]);
  codePart.append(codeForm);

  // Password.
  const fbPassword = new Feedback();
  const current = inputField(fbPassword, {
    name: "current_password",
    label: "Mot de passe actuel",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const password = inputField(fbPassword, {
    name: "password",
    label: "Nouveau mot de passe",
    type: "password",
    autocomplete: "new-password",
    required: true,
    help: "Au moins 8 caractères; évitez les mots de passe courants et votre adresse courriel.",
  });
  const confirmation = inputField(fbPassword, {
    name: "password_confirmation",
    label: "Confirmez le nouveau mot de passe",
    type: "password",
    autocomplete: "new-password",
    required: true,
  });
  const passwordForm = formEl(async () => {
    const body = {
      current_password: current.input.value,
      password: password.input.value,
      password_confirmation: confirmation.input.value,
    };
    const missing = requireFilled(body);
    if (Object.keys(missing).length) return fbPassword.show(localProblem(missing));
    const done = await api("POST", "/api/account/password", { body });
    if (!done.ok) return fbPassword.show(done.problem);
    await refreshSession(); // this session got a new identifier
    current.input.value = "";
    password.input.value = "";
    confirmation.input.value = "";
    fbPassword.success(done.data.detail);
  });
  add(passwordForm, [
    fbPassword.top,
    current.wrapper,
    password.wrapper,
    confirmation.wrapper,
    h(
      "div",
      { class: "form-actions" },
      submitButton("Changer le mot de passe", "button--secondary"),
    ),
  ]);

  root.append(
    h(
      "section",
      { class: "panel", "aria-labelledby": "titre-renseignements" },
      h("h2", { id: "titre-renseignements" }, "Renseignements"),
      namesForm,
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "titre-courriel" },
      h("h2", { id: "titre-courriel" }, "Adresse courriel"),
      emailForm,
      codePart,
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "titre-mdp" },
      h("h2", { id: "titre-mdp" }, "Mot de passe"),
      passwordForm,
    ),
  );

  if (account.role === "agent") return;
  const fbLinks = new Feedback();
  const unlink = (p, button) => {
    const box = h("div", { class: "alert alert--warning" });
    const yes = h(
      "button",
      { type: "button", class: "button button--danger button--small" },
      `Oui, délier ${p.name}`,
    );
    const no = h(
      "button",
      { type: "button", class: "button button--secondary button--small" },
      "Non",
    );
    add(box, [
      h(
        "p",
        null,
        `Délier votre compte du profil ${p.name}? Vous n'y aurez plus accès sans une nouvelle liaison.`,
      ),
      h("div", { class: "form-actions" }, yes, no),
    ]);
    button.hidden = true;
    button.after(box);
    yes.focus();
    no.addEventListener("click", () => {
      box.remove();
      button.hidden = false;
      button.focus();
    });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      const done = await api("DELETE", `/api/profiles/${p.profile_id}/link`);
      if (!done.ok) {
        yes.disabled = false;
        return fbLinks.show(done.problem);
      }
      state.profiles = null;
      if (state.currentPid === p.profile_id) state.currentPid = null;
      await refreshSession();
      setFlash("success", `Votre compte n'est plus lié au profil ${p.name}.`);
      reload();
    });
  };
  root.append(
    h(
      "section",
      { class: "panel", "aria-labelledby": "titre-profils" },
      h("h2", { id: "titre-profils" }, "Profils liés"),
      fbLinks.top,
      table(
        null,
        [
          ["Organisation", (p) => p.name],
          ["Numéro de client", (p) => p.client_number],
          ["Relation", (p) => (p.relation_labels || []).join(", ")],
          ["Lié le", (p) => fmtDateTime(p.linked_at)],
          [
            "Action",
            (p) => {
              const b = h(
                "button",
                { type: "button", class: "button button--secondary button--small" },
                "Délier",
                h("span", { class: "visually-hidden" }, ` ${p.name}`),
              );
              b.addEventListener("click", () => unlink(p, b));
              return b;
            },
          ],
        ],
        account.profiles || [],
        "Aucun profil lié.",
      ),
      h("p", null, h("a", { href: "#/liaison" }, "Lier un profil")),
    ),
  );
}

// ------------------------------------------------------------------------------------- agents

/** Who holds the request; `names` (a supervisor's: id → name) says which other agent. */
function claimText(r, names) {
  if (!r.claimed_by_account_id) return "Non";
  if (r.claimed_by_account_id === state.session.account.id) return "Oui (vous)";
  const name = names && names.get(r.claimed_by_account_id);
  return name ? `Oui (${name})` : "Oui (un autre agent)";
}

/** The agent's own account (GET /api/agent/me: do they supervise the queue?), once a login. */
async function agentSelf() {
  const id = state.session.account.id;
  if (state.agentSelf && state.agentSelf.account_id === id) return state.agentSelf;
  const res = await api("GET", "/api/agent/me");
  state.agentSelf = res.ok ? res.data : { account_id: id, supervisor: false };
  return state.agentSelf;
}

/** A supervisor's list of the agents (GET /api/agent/agents), [] when refused. */
async function agentList() {
  const res = await api("GET", "/api/agent/agents");
  return res.ok ? res.data.items : [];
}

async function viewQueue(root, ctx) {
  pageHeading(root, ctx, "File de validation");
  const page = Number(ctx.query.page) || 1;
  const form = ctx.query.form || "";
  const claimed = ctx.query.claimed || "";
  const queueState = ctx.query.state || "";
  const q = ctx.query.q || "";
  const forms = await catalogueForms();
  const formFilter = selectField(null, {
    name: "form",
    label: "Formulaire",
    options: [["", "Tous les formulaires"]].concat(forms),
    value: form,
  });
  const claimFilter = selectField(null, {
    name: "claimed",
    label: "Prise en charge",
    options: [
      ["", "Toutes les demandes"],
      ["me", "Prises en charge par moi"],
      ["nobody", "Prises en charge par personne"],
      ["others", "Prises en charge par un autre agent"],
    ],
    value: claimed,
  });
  const stateFilter = selectField(null, {
    name: "state",
    label: "État",
    options: [
      ["", "À valider et en erreur"],
      ["agent_validation", "En validation par un agent"],
      ["failed", "En erreur"],
    ],
    value: queueState,
  });
  const search = inputField(new Feedback(), {
    name: "q",
    label: "Rechercher",
    help: "Numéro de la demande, nom de l'organisation ou numéro de client.",
    type: "search",
    value: q,
  });
  // Chosen with the button, not on each change (WCAG 3.2.2); the focus comes back to the filters.
  const filters = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Filtrer la file de validation",
      onsubmit: (event) => {
        event.preventDefault();
        state.focusFilter = true;
        go("/agent", {
          form: formFilter.select.value,
          claimed: claimFilter.select.value,
          state: stateFilter.select.value,
          q: search.input.value.trim(),
          page: 1,
        });
      },
    },
    stateFilter.wrapper,
    formFilter.wrapper,
    claimFilter.wrapper,
    search.wrapper,
    h("button", { type: "submit", class: "button button--secondary" }, "Filtrer"),
  );
  root.append(
    h(
      "p",
      { class: "lead" },
      "Les demandes qui attendent la validation d'un agent, les plus urgentes d'abord (en retard, puis par échéance en jours ouvrables), et celles dont l'application a échoué (à relancer).",
    ),
    filters,
  );
  if (state.focusFilter) {
    state.focusFilter = false;
    stateFilter.select.focus();
  }
  const res = await api("GET", "/api/agent/queue", {
    query: { page, per_page: 20, form, claimed, state: queueState, q },
  });
  if (!res.ok) return root.append(problemBox(res.problem));
  // A supervisor sees who holds each request, and the queue's figures.
  const supervisor = (await agentSelf()).supervisor;
  const names = supervisor
    ? new Map((await agentList()).map((a) => [a.account_id, a.name]))
    : null;
  const claimColumn = supervisor
    ? [
        "Prise en charge par",
        (r) =>
          !r.claimed_by_account_id
            ? "Personne"
            : r.claimed_by_account_id === state.session.account.id
              ? "Vous"
              : names.get(r.claimed_by_account_id) || "Un autre agent",
      ]
    : ["Prise en charge", claimText];
  if (supervisor)
    root.append(h("p", null, h("a", { href: "#/agent/indicateurs" }, "Indicateurs de la file")));
  root.append(
    table(
      null,
      [
        [
          "Numéro",
          (r) => h("a", { href: `#/agent/demandes/${encodeURIComponent(r.number)}` }, r.number),
        ],
        ["Formulaire", (r) => r.title],
        ["État", (r) => stateBadge(r.state, r.state_label)],
        [
          "Échéance",
          (r) =>
            r.due_text
              ? h("span", { class: r.overdue ? "due due--late" : "due" }, r.due_text)
              : "—",
        ],
        ["Âge", (r) => fmtAge(r.age_seconds)],
        ["Soumise par", (r) => r.submitted_by],
        ["Doublons possibles", (r) => String(r.candidates)],
        claimColumn,
        ["Motif", (r) => (r.state === "failed" ? r.reason || "" : "")],
      ],
      res.data.items,
      q || form || claimed || queueState
        ? "Aucune demande ne correspond à ces filtres."
        : "Aucune demande en attente.",
    ),
    pager(res.data, (n) => go("/agent", { form, claimed, state: queueState, q, page: n })),
  );
}

/** « Confier à… » (supervisors): an agent chosen, confirmed, then the request is theirs. */
function confideForm(number, r, agents, reload) {
  const fb = new Feedback();
  const others = agents.filter((a) => a.account_id !== r.claimed_by_account_id);
  const choice = selectField(fb, {
    name: "account_id",
    label: "Confier à",
    help: "L'agent choisi prend la demande en charge à la place de celui qui l'a.",
    options: [["", "Choisissez un agent"]].concat(
      others.map((a) => [String(a.account_id), a.name]),
    ),
  });
  const ask = h("button", { type: "submit", class: "button button--secondary" }, "Confier…");
  const confirmBox = h("div", { class: "alert alert--warning", hidden: true });
  const no = h("button", { type: "button", class: "button button--secondary" }, "Non, annuler");
  const chosenName = () => {
    const picked = others.find((a) => String(a.account_id) === choice.select.value);
    return picked ? picked.name : "";
  };
  const yes = h("button", { type: "button", class: "button" }, "Oui, confier la demande");
  const form = h(
    "form",
    {
      novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        if (!choice.select.value)
          return fb.show(
            localProblem({ account_id: ["Choisissez l'agent à qui confier la demande."] }),
          );
        fb.clear();
        confirmBox.replaceChildren(
          h("p", null, `Confier la demande ${number} à ${chosenName()}?`),
          h("div", { class: "form-actions" }, yes, no),
        );
        confirmBox.hidden = false;
        ask.hidden = true;
        yes.focus();
      },
    },
    fb.top,
    choice.wrapper,
    h("div", { class: "form-actions" }, ask),
    confirmBox,
  );
  no.addEventListener("click", () => {
    confirmBox.hidden = true;
    ask.hidden = false;
    ask.focus();
  });
  // Another agent chosen: the question asked was about the previous one.
  choice.select.addEventListener("change", () => {
    confirmBox.hidden = true;
    ask.hidden = false;
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    const name = chosenName();
    const done = await api("POST", `/api/agent/requests/${encodeURIComponent(number)}/reassign`, {
      body: { account_id: Number(choice.select.value) },
    });
    yes.disabled = false;
    if (!done.ok) {
      confirmBox.hidden = true;
      ask.hidden = false;
      return fb.show(done.problem);
    }
    setFlash("success", `La demande est confiée à ${name}.`);
    reload();
  });
  return h("section", null, h("h2", null, "Confier à un autre agent"), form);
}

/** « Indicateurs de la file » (supervisors): the queue now, and by form over 30 days. */
async function viewQueueStats(root, ctx) {
  pageHeading(root, ctx, "Indicateurs de la file", [
    ["File de validation", "#/agent"],
    ["Indicateurs de la file"],
  ]);
  const res = await api("GET", "/api/agent/stats");
  if (!res.ok) return root.append(problemBox(res.problem));
  const data = res.data;
  const number = (v) =>
    v === null || v === undefined
      ? "—"
      : Number(v).toLocaleString("fr-CA", { maximumFractionDigits: 1 });
  root.append(
    h("h2", null, "La file en ce moment"),
    summaryList([
      ["À valider", String(data.queue.agent_validation)],
      ["En erreur", String(data.queue.failed)],
      ["En retard", String(data.queue.overdue)],
      ["En attente de la réponse du demandeur", String(data.queue.awaiting_answer)],
      [
        "La plus ancienne attend depuis",
        data.queue.oldest_age_seconds === null ? "—" : fmtAge(data.queue.oldest_age_seconds),
      ],
    ]),
    h("h2", null, "Par formulaire"),
    table(
      `Demandes par formulaire depuis le ${fmtDateTime(data.since)} (30 derniers jours)`,
      [
        ["Formulaire", (f) => f.title],
        ["Reçues", (f) => String(f.received)],
        ["Décidées", (f) => String(f.decided)],
        ["Dans le délai", (f) => String(f.within_target)],
        ["Médiane (heures ouvrables)", (f) => number(f.median_business_hours)],
      ],
      data.forms,
      "Aucune demande reçue ces 30 derniers jours.",
    ),
  );
}

/** What a request does to the dossier, as the French sentences the API tells. */
function operationsList(operations) {
  if (!operations || !operations.length) return h("p", null, "Aucune opération.");
  return h(
    "ol",
    null,
    operations.map((sentence) => h("li", null, sentence)),
  );
}

async function viewAgentRequest(root, ctx) {
  const number = ctx.number;
  const res = await api("GET", `/api/requests/${encodeURIComponent(number)}`);
  pageHeading(root, ctx, `Demande ${number}`, [["File de validation", "#/agent"], [number]]);
  if (!res.ok) return root.append(problemBox(res.problem));
  const r = res.data;
  const me = state.session.account.id;
  const reload = () => go(`/agent/demandes/${encodeURIComponent(number)}`);
  const fb = new Feedback();
  const supervisor = (await agentSelf()).supervisor;
  const agents = supervisor ? await agentList() : [];
  const names = new Map(agents.map((a) => [a.account_id, a.name]));
  root.append(
    fb.top,
    summaryList([
      ["Formulaire", r.title],
      ["État", stateBadge(r.state, r.state_label)],
      [
        "Organisation (profil)",
        r.organisation
          ? `${r.organisation.name}${r.organisation.client_number ? ` (${r.organisation.client_number})` : ""}`
          : `n° ${r.profile_id}`,
      ],
      ["Soumise le", fmtDateTime(r.submitted_at)],
      ["Soumise par", r.submitted_by],
      ["Prise en charge", claimText(r, names)],
      r.reason ? ["Motif", r.reason] : [null, null],
    ]),
  );
  const act = async (call, success) => {
    const done = await call();
    if (!done.ok) return fb.show(done.problem);
    setFlash("success", success);
    reload();
  };
  const pending = r.state === "agent_validation";
  if (pending) {
    const actions = h("div", { class: "form-actions" });
    if (!r.claimed_by_account_id) {
      actions.append(
        h(
          "button",
          {
            type: "button",
            class: "button",
            onclick: () =>
              act(
                () => api("POST", `/api/agent/requests/${encodeURIComponent(number)}/claim`),
                "Vous avez pris la demande en charge.",
              ),
          },
          "Prendre en charge",
        ),
      );
    } else if (r.claimed_by_account_id === me) {
      actions.append(
        h(
          "button",
          {
            type: "button",
            class: "button button--secondary",
            onclick: () =>
              act(
                () => api("POST", `/api/agent/requests/${encodeURIComponent(number)}/release`),
                "La demande est remise dans la file.",
              ),
          },
          "Remettre dans la file",
        ),
      );
    } else {
      actions.append(h("p", null, "Un autre agent a pris cette demande en charge."));
    }
    root.append(actions);
    if (supervisor) root.append(confideForm(number, r, agents, reload));
  }
  if (r.state === "failed") {
    root.append(
      h(
        "div",
        { class: "form-actions" },
        h(
          "button",
          {
            type: "button",
            class: "button",
            onclick: () =>
              act(
                () => api("POST", `/api/agent/requests/${encodeURIComponent(number)}/retry`),
                "L'application est relancée.",
              ),
          },
          "Relancer l'application",
        ),
      ),
    );
  }

  if (r.linked_requests && r.linked_requests.length)
    root.append(
      linkedRequests(r.linked_requests, (n) => `#/agent/demandes/${encodeURIComponent(n)}`),
    );
  const described = await api("GET", `/api/catalogue/items/${encodeURIComponent(r.item)}`);
  root.append(
    h("h2", null, "Données de la demande"),
    variablesList(r.variables, described.ok ? described.data.fields : []),
  );
  root.append(h("h2", null, "Opérations prévues"), operationsList(r.operations));

  // Duplicate candidates and the decision.
  const candidates = r.duplicate_candidates || [];
  const hasProbable = candidates.some((c) => c.level === "probable");
  const mergeName = uid("fusion");
  const radios = [];
  const radio = (value, label) => {
    const id = uid("candidat");
    const input = h("input", {
      type: "radio",
      name: mergeName,
      id,
      value,
      // A probable duplicate: no default, the agent chooses (the API refuses otherwise).
      checked: value === "" && !hasProbable,
      disabled: !pending,
    });
    radios.push(input);
    return h("div", { class: "check" }, input, h("label", { for: id }, label));
  };
  root.append(h("h2", null, "Doublons possibles"));
  if (!candidates.length) root.append(h("p", null, "Aucun doublon possible n'a été trouvé."));
  else {
    root.append(
      table(
        null,
        [
          [
            "Fusionner",
            (c) =>
              radio(String(c.contact_id), `Utiliser le contact ${c.name || `n° ${c.contact_id}`}`),
          ],
          ["Contact", (c) => `${c.name || "—"} (n° ${c.contact_id})`],
          ["Score", (c) => `${Math.round(Number(c.score) * 100)} %`],
          ["Niveau", (c) => LEVELS[c.level] || c.level],
          [
            "Raisons",
            (c) =>
              h(
                "ul",
                { class: "candidate-reasons" },
                (c.reasons || []).map((why) => h("li", null, why.detail)),
              ),
          ],
        ],
        candidates,
      ),
    );
  }
  if (pending) {
    const decision = h(
      "section",
      { class: "panel", "aria-labelledby": "titre-decision" },
      h("h2", { id: "titre-decision" }, "Décision"),
    );
    if (candidates.length) {
      decision.append(
        h(
          "fieldset",
          { class: "field field--choices" },
          h("legend", null, "Approuver en fusionnant avec un contact existant?"),
          radio("", "Ne pas fusionner : créer un nouveau contact"),
          h(
            "p",
            { class: "field__help" },
            "Ou choisissez un contact dans le tableau des doublons possibles.",
          ),
        ),
      );
    }
    const approve = h("button", { type: "button", class: "button" }, "Approuver");
    approve.addEventListener("click", async () => {
      const chosen = radios.find((input) => input.checked);
      if (candidates.length && !chosen)
        return fb.show(
          localProblem({
            merge_with_contact_id: [
              "Un doublon probable existe : choisissez de fusionner avec ce contact ou de créer un nouveau contact.",
            ],
          }),
        );
      const merge = chosen && chosen.value ? Number(chosen.value) : null;
      const decisionBody = merge
        ? { merge_with_contact_id: merge }
        : { create_new_contact: Boolean(chosen) };
      approve.disabled = true;
      await act(
        () =>
          api("POST", `/api/agent/requests/${encodeURIComponent(number)}/approve`, {
            body: decisionBody,
          }),
        merge
          ? "La demande est approuvée (fusion avec le contact existant)."
          : "La demande est approuvée.",
      );
      approve.disabled = false;
    });
    decision.append(h("div", { class: "form-actions" }, approve));
    const fbReject = new Feedback();
    const reason = textareaField(fbReject, {
      name: "reason",
      label: "Motif du refus",
      required: true,
      rows: 3,
      help: "Le demandeur verra ce motif.",
    });
    const rejectForm = formEl(async () => {
      const text = reason.area.value.trim();
      if (!text) return fbReject.show(localProblem({ reason: ["Inscrivez le motif du refus."] }));
      const done = await api("POST", `/api/agent/requests/${encodeURIComponent(number)}/reject`, {
        body: { reason: text },
      });
      if (!done.ok) return fbReject.show(done.problem);
      setFlash("success", "La demande est refusée.");
      reload();
    });
    add(rejectForm, [
      h("h3", null, "Refuser"),
      fbReject.top,
      reason.wrapper,
      h("div", { class: "form-actions" }, submitButton("Refuser", "button--danger")),
    ]);
    decision.append(rejectForm);
    root.append(decision);
  }
  root.append(documentsSection(r, reload, false));
  root.append(h("h2", null, "Suivi"), historyTable(r.history));
  root.append(commentsSection(r, reload, true));
}

// ------------------------------------------------------------------------------------- start

function start() {
  const skip = document.getElementById("skip-link");
  if (skip) {
    skip.addEventListener("click", (event) => {
      event.preventDefault();
      focusEl(document.getElementById("contenu"));
    });
  }
  const loading = document.getElementById("loading");
  if (loading) loading.remove();
  document.addEventListener("click", (event) => {
    if (closeMenu) closeMenu(event.target);
  });
  window.addEventListener("hashchange", () => {
    route();
  });
  route();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
