// The ops console: reads /health and /admin/* with the admin token (kept in this tab's
// session storage only) and follows /admin/events, refreshing what an event changed.
"use strict";

const TOKEN_KEY = "voxgate.admin-token";
const $ = (selector) => document.querySelector(selector);
let feedAbort = null;
let refreshTimer = null;

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

async function api(method, path) {
  const response = await fetch(path, { method, headers: { Authorization: `Bearer ${token()}` } });
  if (response.status === 401 || response.status === 403) {
    const body = await response.json().catch(() => ({}));
    signOut(body.error || `HTTP ${response.status}`);
    throw new Error("unauthorized");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

// Replace only the rows whose data changed, so a button is not swapped out under the pointer.
function syncRows(tbody, rows) {
  const wanted = rows.map(({ key, data, build }) => {
    const sig = JSON.stringify(data);
    const current = [...tbody.children].find((row) => row.dataset.key === key);
    if (current && current.dataset.sig === sig) return current;
    const row = build();
    row.dataset.key = key;
    row.dataset.sig = sig;
    return row;
  });
  if (wanted.length !== tbody.children.length || wanted.some((row, i) => tbody.children[i] !== row)) {
    tbody.replaceChildren(...wanted);
  }
}

function badge(state) { return el("span", { class: `badge ${state}` }, state); }
function short(sha) { return sha ? sha.slice(0, 12) : "—"; }

function renderHealth(health) {
  const status = $("#status");
  status.className = `badge ${health.status}`;
  status.textContent = health.status;
  syncRows($("#breakers tbody"), Object.entries(health.circuit_breakers || {}).map(([name, state]) => ({
    key: name, data: state,
    build: () => el("tr", { "data-breaker": name }, el("td", {}, name), el("td", {}, badge(state))) })));
  const upstreams = health.upstreams || { [health.upstream?.endpoint || "upstream"]:
    { breaker: health.circuit_breakers?.azure, active_sessions: health.active_sessions } };
  syncRows($("#upstreams tbody"), Object.entries(upstreams).map(([name, up]) => ({
    key: name, data: up,
    build: () => el("tr", {}, el("td", {}, name), el("td", {}, badge(up.breaker || up.state || "closed")),
      el("td", { class: "num" }, up.active_sessions ?? "")) })));
}

function renderSessions(list) {
  $("#session-count").textContent = `(${list.count})`;
  syncRows($("#sessions tbody"), list.sessions.map((s) => ({ key: s.id,
    data: [s.kb, s.client_name, s.client, Math.round(s.age_seconds / 10), s.turns, s.reconnects, s.tokens],
    build: () => el("tr", { "data-session": s.id },
    el("td", { class: "mono" }, s.id), el("td", {}, s.kb),
    el("td", { class: "opt" }, s.client_name || s.client || ""),
    el("td", { class: "num" }, `${Math.round(s.age_seconds)}s`), el("td", { class: "num" }, s.turns),
    el("td", { class: "num opt" }, s.reconnects),
    el("td", { class: "num opt" }, `${s.tokens?.input ?? 0} / ${s.tokens?.output ?? 0}`),
    el("td", {}, el("button", { class: "danger", onclick: () => endSession(s.id) }, "End"))) })));
}

function renderPlugins(plugins) {
  const slots = plugins.slots || plugins;
  syncRows($("#plugins tbody"), Object.entries(slots).map(([slot, p]) => ({ key: slot, data: p,
    build: () => el("tr", { "data-slot": slot },
    el("td", {}, slot), el("td", { class: "mono", title: p.sha256 || "" }, short(p.sha256)),
    el("td", { class: "opt" }, p.loaded_at || ""), el("td", { class: "num" }, p.calls),
    el("td", { class: "num" }, p.faults), el("td", { class: p.last_error ? "bad" : "dim" }, p.last_error || "—"),
    el("td", {},
      el("button", { onclick: () => pluginAction(slot, "reload") }, "Reload"), " ",
      el("button", { onclick: () => pluginAction(slot, "rollback"), ...(p.previous ? {} : { disabled: "" }),
        title: p.previous ? `back to ${short(p.previous.sha256)}` : "no previous version" }, "Rollback"))) })));
}

function renderUsage(usage) {
  const cost = (tally) => `${tally.estimated_cost.toFixed(4)} ${usage.prices.currency}`;
  const rows = (group) => Object.entries(usage[group]).map(([key, tally]) => el("tr", {},
    el("td", {}, key), el("td", { class: "num" }, tally.tokens.input), el("td", { class: "num" }, tally.tokens.output),
    el("td", { class: "num" }, cost(tally))));
  const head = (title) => el("tr", {}, el("th", {}, title), el("th", { class: "num" }, "in"),
    el("th", { class: "num" }, "out"), el("th", { class: "num" }, "est. cost"));
  $("#usage").replaceChildren(
    el("p", {}, "Total: ", el("strong", { id: "usage-total" }, cost(usage.total)), " · ",
      `${usage.total.tokens.input} in / ${usage.total.tokens.output} out`,
      usage.total.unpriced_tokens ? el("span", { class: "warn" }, ` · ${usage.total.unpriced_tokens} tokens of unpriced models`) : "",
      el("span", { class: "dim" }, ` · prices taken ${usage.prices.taken}`)),
    el("table", {}, el("thead", {}, head("by kb")), el("tbody", {}, ...rows("by_kb"))),
    el("table", {}, el("thead", {}, head("by client")), el("tbody", {}, ...rows("by_client"))));
}

async function refresh() {
  try {
    const [health, sessions, plugins, usage] = await Promise.all([
      fetch("/health").then((r) => r.json()), api("GET", "/admin/sessions"),
      api("GET", "/admin/plugins"), api("GET", "/admin/usage")]);
    renderHealth(health); renderSessions(sessions); renderPlugins(plugins); renderUsage(usage);
  } catch (error) {
    if (error.message !== "unauthorized") logEvent({ type: "console.error", message: error.message });
  }
}

function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 150);
}

async function endSession(id) {
  await api("DELETE", `/admin/sessions/${encodeURIComponent(id)}`).catch((e) => alert(e.message));
  refreshSoon();
}

async function pluginAction(slot, action) {
  try {
    const result = await api("POST", `/admin/plugins/${slot}/${action}`);
    logEvent({ type: `console.${action}`, slot, ...result });
  } catch (error) {
    logEvent({ type: `console.${action}.failed`, slot, message: error.message });
  }
  refreshSoon();
}

const FIRST = ["slot", "breaker", "state", "session", "kb", "code"];

function describe(event) {
  const { type, at_unix_ms, ...rest } = event;
  const rank = (key) => (FIRST.includes(key) ? FIRST.indexOf(key) : FIRST.length);
  const fields = Object.entries(rest).filter(([, v]) => v !== null && typeof v !== "object")
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([k, v]) => `${k}=${k === "sha256" ? short(v) : v}`);
  return `${type} ${fields.join(" ")}`;
}

function logEvent(event) {
  const list = $("#events");
  const at = new Date(event.at_unix_ms || Date.now()).toLocaleTimeString();
  list.prepend(el("li", { "data-type": event.type }, el("time", {}, at), describe(event)));
  while (list.children.length > 200) list.lastChild.remove();
}

async function follow() {
  feedAbort?.abort();
  const abort = new AbortController();
  feedAbort = abort;
  const state = $("#feed-state");
  for (let delay = 1000; !abort.signal.aborted && token(); delay = Math.min(delay * 2, 30000)) {
    try {
      const response = await fetch("/admin/events", { headers: { Authorization: `Bearer ${token()}` },
        signal: abort.signal });
      if (response.status === 401 || response.status === 403) return signOut("the admin token was refused");
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      state.textContent = "feed: live"; state.className = "ok status"; delay = 1000;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
          for (const line of block.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            logEvent(JSON.parse(line.slice(6)));
            refreshSoon();
          }
        }
      }
    } catch (error) {
      if (abort.signal.aborted) return;
    }
    state.textContent = "feed: reconnecting"; state.className = "warn status";
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  feedAbort?.abort();
  $("#sign-out").hidden = true;
  $("#login-error").textContent = message || "";
  $("#login").showModal();
}

function start() {
  $("#sign-out").hidden = false;
  refresh();
  follow();
}

$("#login-form").addEventListener("submit", () => {
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token").value = "";
  start();
});
$("#sign-out").addEventListener("click", () => signOut());
setInterval(() => token() && refresh(), 5000);
if (token()) start(); else $("#login").showModal();
