// The stats page: follows the node's events (GET /api/events, Server-Sent Events) and re-reads the JSON API when
// something changed; counters (requests, latencies) are re-read at a slow interval. Changes go through the same admin
// calls (with the token when one is given). Plain JavaScript, no build step, no libraries.
"use strict";

// Seconds between snapshots of the counters; ?interval=N overrides, 0 turns them off (changes still show at once).
const INTERVAL_S = (() => {
  const given = new URLSearchParams(location.search).get("interval");
  return given !== null && /^[0-9]+$/.test(given) ? Number(given) : 5;
})();
const previous = new Map(); // "pool backend" or "listener name" -> {t, requests, errors, buckets, accepted}
let buckets = [];
let recentEvents = []; // pool events, newest first: {timestamp, pool, seq, type, origin, detail}
let refreshSoon = null;

function el(tag, text, attrs) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function cell(row, label, text, cls) {
  const td = el("td", text, { "data-label": label });
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function token() {
  return sessionStorage.getItem("fulcrum-token") || "";
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && token()) headers["Authorization"] = "Bearer " + token();
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((json && json.error) || (response.status + " " + response.statusText));
  return json;
}

/** The upper bound of the bucket where the q-quantile of these per-bucket counts falls, as text. */
function quantile(counts, q) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return "–";
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= q * total) return i < buckets.length ? "≤ " + formatSeconds(buckets[i]) : "> " + formatSeconds(buckets[buckets.length - 1]);
  }
  return "–";
}

function formatSeconds(s) {
  return s < 1 ? Math.round(s * 1000) + " ms" : s + " s";
}

/** Per-bucket counts from cumulative ones. */
function perBucket(cumulative) {
  return cumulative.map((v, i) => v - (i > 0 ? cumulative[i - 1] : 0));
}

function setStatus(text, error) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = error ? "error" : "";
}

async function change(pool, address, body, what) {
  try {
    await api("PATCH", "/api/pools/" + encodeURIComponent(pool) + "/backends/" + encodeURIComponent(address), body);
    setStatus(what + ": done");
    refresh();
  } catch (e) {
    setStatus(what + " failed: " + e.message, true);
  }
}

function renderBackends(stats, now) {
  const body = document.querySelector("#backends tbody");
  body.replaceChildren();
  for (const b of stats.backends) {
    const key = b.pool + " " + b.address;
    const before = previous.get(key);
    const seconds = before ? (now - before.t) / 1000 : 0;
    const requests = before && seconds > 0 ? (b.requests - before.requests) / seconds : 0;
    const newRequests = before ? b.requests - before.requests : 0;
    const newErrors = before ? b.errors - before.errors : 0;
    const window = before && before.buckets.length === b.durationBuckets.length
      ? perBucket(b.durationBuckets).map((v, i) => v - perBucket(before.buckets)[i])
      : perBucket(b.durationBuckets);
    previous.set(key, { t: now, requests: b.requests, errors: b.errors, buckets: b.durationBuckets });

    const row = el("tr", null, { "data-pool": b.pool, "data-backend": b.address, "data-health": b.health, "data-admin": b.admin });
    if (b.health === "down") row.classList.add("down");
    if (b.admin !== "active") row.classList.add("draining");
    cell(row, "Pool", b.pool);
    cell(row, "Backend", b.address);
    cell(row, "Health", b.health === "up" ? "▲ UP" : b.health === "down" ? "▼ DOWN" : "? UNKNOWN", "health");
    cell(row, "Admin", b.admin, "admin");
    cell(row, "Weight", b.weight, "num");
    cell(row, "Conns", b.activeConnections, "num");
    cell(row, "In flight", b.inFlight, "num");
    cell(row, "Queued", b.queued, "num");
    cell(row, "Req/s", requests.toFixed(1), "num");
    cell(row, "Errors", newRequests > 0 ? (100 * newErrors / newRequests).toFixed(1) + " %" : "–", "num");
    cell(row, "p50", quantile(window, 0.5), "num");
    cell(row, "p99", quantile(window, 0.99), "num");
    const actions = cell(row, "Actions", null);
    const drain = el("button", b.admin === "active" ? "Drain" : "Undrain", { type: "button", class: "drain" });
    drain.addEventListener("click", () => change(b.pool, b.address,
      { admin: b.admin === "active" ? "draining" : "active" }, (b.admin === "active" ? "drain " : "undrain ") + b.address));
    actions.appendChild(drain);
    const weight = el("input", null, { type: "number", min: "0", max: "1000", value: String(b.weight), "aria-label": "weight of " + b.address });
    const set = el("button", "Set weight", { type: "button", class: "weight" });
    set.addEventListener("click", () => change(b.pool, b.address, { weight: Number(weight.value) }, "weight of " + b.address));
    actions.append(weight, set);
    body.appendChild(row);
  }
}

function renderListeners(stats, now) {
  const body = document.querySelector("#listeners tbody");
  body.replaceChildren();
  for (const l of stats.listeners) {
    const key = "listener " + l.name;
    const before = previous.get(key);
    const seconds = before ? (now - before.t) / 1000 : 0;
    previous.set(key, { t: now, accepted: l.acceptedConnections });
    const row = el("tr", null, { "data-listener": l.name });
    cell(row, "Listener", l.name);
    cell(row, "Protocol", l.protocol);
    cell(row, "Open", l.openConnections, "num");
    cell(row, "Accepted", l.acceptedConnections, "num");
    cell(row, "Conn/s", before && seconds > 0 ? ((l.acceptedConnections - before.accepted) / seconds).toFixed(1) : "–", "num");
    cell(row, "Access log", l.accessLog ? "on" : "off");
    body.appendChild(row);
  }
}

function renderTransitions(stats) {
  const list = document.getElementById("transitions");
  list.replaceChildren();
  for (const t of stats.transitions.slice().reverse()) {
    list.appendChild(el("li", t.at + " " + t.pool + " " + t.backend + ": " + t.from + " → " + t.to + " (" + t.reason + ")"));
  }
  if (stats.transitions.length === 0) list.appendChild(el("li", "none yet"));
}

async function renderCluster() {
  const cluster = await api("GET", "/api/cluster");
  const members = document.querySelector("#members tbody");
  members.replaceChildren();
  for (const m of cluster.members) {
    const row = el("tr");
    cell(row, "Member", m.address + (m.address === cluster.self ? " (this node)" : "") + (m.address === cluster.leader ? " (leader)" : ""));
    cell(row, "Status", m.status);
    cell(row, "Reachability", m.reachability);
    members.appendChild(row);
  }
  const entities = document.querySelector("#entities tbody");
  entities.replaceChildren();
  for (const p of cluster.pools || []) {
    const row = el("tr");
    cell(row, "Pool", p.name);
    cell(row, "Entity runs on", p.entityNode || "unknown");
    entities.appendChild(row);
  }
}

/** Scalar fields only (address, weight, strategy...): a created pool's whole definition would not fit a line. */
function detailOf(fields) {
  return Object.entries(fields)
    .filter(([k, v]) => !["poolName", "pool", "seq", "timestamp", "type", "origin", "idempotencyKey"].includes(k)
      && (v === null || typeof v !== "object"))
    .map(([k, v]) => k + "=" + v).join(" ");
}

function addEvent(e) {
  if (recentEvents.some(r => r.pool === e.pool && r.seq === e.seq)) return;
  recentEvents.push(e);
  recentEvents.sort((a, b) => String(b.timestamp).localeCompare(String(a.timestamp)) || b.seq - a.seq);
  recentEvents = recentEvents.slice(0, 20);
}

function renderEventList() {
  const list = document.getElementById("events");
  list.replaceChildren();
  for (const e of recentEvents) {
    list.appendChild(el("li", e.timestamp + " " + e.pool + " #" + e.seq + " " + e.type + " by " + e.origin + (e.detail ? " " + e.detail : "")));
  }
}

/** The last few events of every pool from their history: at start, and after the live stream missed some. */
async function loadEvents() {
  const pools = await api("GET", "/api/pools");
  recentEvents = [];
  for (const p of pools) {
    const from = Math.max(1, p.version - 4);
    const events = await api("GET", "/api/pools/" + encodeURIComponent(p.name) + "/events?from=" + from);
    for (const e of events) addEvent({ timestamp: e.timestamp, pool: p.name, seq: e.seq, type: e.type, origin: e.origin, detail: detailOf(e) });
  }
  renderEventList();
}

async function refresh() {
  try {
    const stats = await api("GET", "/api/stats");
    const now = Date.now();
    buckets = stats.bucketsSeconds;
    renderBackends(stats, now);
    renderListeners(stats, now);
    renderTransitions(stats);
    await renderCluster();
    if (!document.getElementById("status").classList.contains("error")) {
      setStatus("updated " + new Date(now).toLocaleTimeString() + (document.body.dataset.live === "true" ? " · live" : ""));
    }
    document.body.dataset.ready = "true";
  } catch (e) {
    setStatus("cannot read the admin API: " + e.message, true);
  }
}

/** Re-reads the snapshot once a burst of events is over. */
function scheduleRefresh() {
  if (refreshSoon !== null) return;
  refreshSoon = setTimeout(() => {
    refreshSoon = null;
    refresh();
  }, 100);
}

/** Follows GET /api/events; EventSource reconnects by itself, resuming after the last event id it saw. */
function follow() {
  const source = new EventSource("/api/events");
  source.onopen = () => {
    document.body.dataset.live = "true";
  };
  source.onerror = () => {
    document.body.dataset.live = "false";
  };
  source.addEventListener("pool-changed", (message) => {
    const d = JSON.parse(message.data);
    addEvent({ timestamp: d.time, pool: d.pool, seq: d.version, type: d.type, origin: d.origin, detail: detailOf(d.event || {}) });
    renderEventList();
    scheduleRefresh();
  });
  for (const kind of ["route-changed", "listener-changed", "backend-health", "backend-ejected", "backend-returned", "member-changed"]) {
    source.addEventListener(kind, scheduleRefresh);
  }
  // the page fell behind and missed events, or the stream could not resume: re-read everything
  for (const kind of ["events-dropped", "resume-failed"]) {
    source.addEventListener(kind, () => {
      loadEvents().catch(() => {});
      scheduleRefresh();
    });
  }
}

document.getElementById("token").value = token();
document.getElementById("token").addEventListener("change", (e) => sessionStorage.setItem("fulcrum-token", e.target.value));
follow();
refresh().then(() => loadEvents()).catch(() => {});
if (INTERVAL_S > 0) setInterval(refresh, INTERVAL_S * 1000);
