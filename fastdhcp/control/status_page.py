"""The status page: one static HTML page, served at ``GET /`` by an HTTP control socket, that
shows a server's health at a glance (Kea needs a Stork server for this).

The page holds no data of its own and loads nothing from elsewhere (the machine an operator
looks from may have no internet): its script asks the same socket, with the same
authentication, for ``statistic-get-all`` every two seconds and draws from the answer:

* per subnet and per pool: assigned of total addresses, as a bar (declined shown apart);
* DORA/s (ACKs sent per second) and drops per second over the last ten minutes, computed from
  the differences between polls;
* the commit picture: fastdhcp's own commit counters, and the batch size, commit group size,
  fdatasync and reply latency histograms (count, median, p99) read from ``/metrics``;
* a lease search by address (lease4-get), MAC (lease4-get-by-hw-address) or host name
  (lease4-get-by-hostname).

Every number shown carries ``data-stat="NAME"`` with the statistic's raw value in ``data-value``,
so a test can compare the page with statistic-get-all.
"""

from __future__ import annotations

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fastdhcp status</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2329}
header{background:#1d2b3a;color:#fff;padding:10px 18px;display:flex;gap:24px;align-items:baseline}
header h1{font-size:18px;margin:0} header span{opacity:.8}
main{padding:14px 18px;display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 14px}
h2{font-size:15px;margin:2px 0 8px} table{border-collapse:collapse;width:100%}
td,th{padding:3px 6px;text-align:left;border-bottom:1px solid #eef0f2;font-variant-numeric:tabular-nums}
td.n{text-align:right} .bar{background:#e7eaee;height:12px;border-radius:3px;overflow:hidden;min-width:120px}
.bar i{display:block;height:100%;background:#3a7bd5} .bar i.hot{background:#d9822b} .bar i.full{background:#c23030}
canvas{width:100%;height:120px;background:#fbfcfd;border:1px solid #eef0f2}
.err{color:#c23030} input,select,button{font:inherit;padding:3px 6px} pre{white-space:pre-wrap;margin:6px 0}
</style></head><body>
<header><h1>fastdhcp</h1><span id="version"></span><span id="updated">connecting&hellip;</span>
<span id="error" class="err"></span></header>
<main>
<section><h2>Traffic</h2>
<table><tbody id="traffic"></tbody></table>
<p>DORA/s (ACKs sent per second) and drops per second, last 10 minutes</p>
<canvas id="rate" width="800" height="160"></canvas></section>
<section><h2>Subnets and pools</h2><table><thead><tr><th>subnet</th><th></th>
<th class="n">assigned</th><th class="n">total</th><th class="n">declined</th></tr></thead>
<tbody id="subnets"></tbody></table></section>
<section><h2>Drops</h2><table><tbody id="drops"></tbody></table></section>
<section><h2>Lease file commits</h2><table><tbody id="commits"></tbody></table>
<p>Batches, commit groups, fdatasync and reply latency (native histograms, since the start)</p>
<table><thead><tr><th></th><th class="n">count</th><th class="n">median</th><th class="n">p99</th>
</tr></thead><tbody id="latency"></tbody></table></section>
<section><h2>Lease search</h2>
<form id="search"><select id="by"><option value="ip-address">address</option>
<option value="hw-address">MAC</option><option value="hostname">host name</option></select>
<input id="q" size="28" placeholder="10.0.0.5"> <button>find</button></form>
<pre id="found"></pre></section>
</main>
<script>
"use strict";
const HISTORY = 300, history = [];
async function command(name, args) {
  const body = {command: name, service: ["dhcp4"]};
  if (args) body.arguments = args;
  const r = await fetch(location.origin + "/", {method: "POST", credentials: "same-origin",
                              headers: {"Content-Type": "application/json"},
                              body: JSON.stringify(body)});
  if (!r.ok) throw new Error("HTTP " + r.status);
  const a = await r.json();
  return Array.isArray(a) ? a[0] : a;
}
const value = (stats, name) => stats[name] && stats[name].length ? stats[name][0][0] : 0;
function cell(name, stats, label) {
  const v = value(stats, name);
  return `<tr><td>${label || name}</td><td class="n" data-stat="${name}" data-value="${v}">` +
         `${Number(v).toLocaleString("en")}</td></tr>`;
}
function draw() {
  const c = document.getElementById("rate"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  if (history.length < 2) return;
  const rates = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1], b = history[i], dt = (b.t - a.t) / 1000 || 1;
    rates.push([(b.acks - a.acks) / dt, (b.drops - a.drops) / dt]);
  }
  const top = Math.max(1, ...rates.map(r => Math.max(r[0], r[1])));
  [["#3a7bd5", 0], ["#c23030", 1]].forEach(([colour, k]) => {
    g.strokeStyle = colour; g.lineWidth = 2; g.beginPath();
    rates.forEach((r, i) => {
      const x = i * c.width / (HISTORY - 1), y = c.height - 4 - r[k] * (c.height - 20) / top;
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  });
  const last = rates[rates.length - 1];
  g.fillStyle = "#1d2329"; g.font = "13px sans-serif";
  g.fillText(`${Math.round(last[0]).toLocaleString("en")} DORA/s   ` +
             `${Math.round(last[1]).toLocaleString("en")} drops/s   (max ${Math.round(top).toLocaleString("en")})`, 8, 14);
  document.getElementById("rate").dataset.doraPerSecond = Math.round(last[0]);
}
function subnets(stats) {
  const rows = [], re = /^subnet\[(\d+)\]\.(?:pool\[(\d+)\]\.)?total-addresses$/;
  const keys = Object.keys(stats).filter(k => re.test(k)).sort((a, b) => {
    const [, sa, pa] = a.match(re), [, sb, pb] = b.match(re);
    return (sa - sb) || ((pa === undefined ? -1 : +pa) - (pb === undefined ? -1 : +pb));
  });
  for (const k of keys) {
    const base = k.slice(0, -"total-addresses".length), [, sid, pid] = k.match(re);
    const total = value(stats, k), used = value(stats, base + "assigned-addresses");
    const declined = value(stats, base + "declined-addresses");
    const share = total ? used / total : 0, cls = share > .95 ? "full" : share > .8 ? "hot" : "";
    rows.push(`<tr><td>${pid === undefined ? "subnet " + sid : "&nbsp;&nbsp;pool " + pid}</td>` +
      `<td><div class="bar" title="${(share * 100).toFixed(1)} %"><i class="${cls}" style="width:${(share * 100).toFixed(2)}%"></i></div></td>` +
      `<td class="n" data-stat="${base}assigned-addresses" data-value="${used}">${used.toLocaleString("en")}</td>` +
      `<td class="n" data-stat="${k}" data-value="${total}">${total.toLocaleString("en")}</td>` +
      `<td class="n" data-stat="${base}declined-addresses" data-value="${declined}">${declined.toLocaleString("en")}</td></tr>`);
  }
  document.getElementById("subnets").innerHTML = rows.join("");
}
// The histograms are in the Prometheus exposition of the same socket: cumulative buckets, the
// quantile shown as the upper bound of the bucket it falls in.
async function latencies() {
  const r = await fetch(location.origin + "/metrics", {credentials: "same-origin"});
  if (!r.ok) throw new Error("/metrics: HTTP " + r.status);
  const h = {};
  for (const line of (await r.text()).split("\n")) {
    const m = /^(fastdhcp_[a-z_]+)_bucket\{le="([^"]+)"\} (\d+)/.exec(line);
    if (m) (h[m[1]] = h[m[1]] || []).push([m[2] === "+Inf" ? Infinity : +m[2], +m[3]]);
  }
  const quantile = (b, q) => {
    const n = b[b.length - 1][1];
    if (!n) return null;
    for (const [le, c] of b) if (c >= q * n) return le;
    return Infinity;
  };
  const shown = (name, v) => v === null ? "-" : v === Infinity ? "above the last bucket"
    : name.endsWith("_seconds") ? "\u2264 " + (v * 1e3).toPrecision(3) + " ms" : "\u2264 " + v;
  document.getElementById("latency").innerHTML = Object.keys(h).sort().map(name => {
    const b = h[name], n = b[b.length - 1][1];
    return `<tr data-hist="${name}" data-count="${n}"><td>${name.replace("fastdhcp_", "")}</td>` +
      `<td class="n">${n}</td><td class="n">${shown(name, quantile(b, .5))}</td>` +
      `<td class="n">${shown(name, quantile(b, .99))}</td></tr>`;
  }).join("");
}
async function refresh() {
  try {
    const a = await command("statistic-get-all");
    if (a.result !== 0) throw new Error(a.text || "result " + a.result);
    const s = a.arguments;
    document.getElementById("traffic").innerHTML = ["pkt4-received", "pkt4-discover-received",
      "pkt4-request-received", "pkt4-offer-sent", "pkt4-ack-sent", "pkt4-nak-sent",
      "pkt4-release-received", "pkt4-decline-received", "pkt4-inform-received"]
      .map(n => cell(n, s)).join("");
    document.getElementById("drops").innerHTML = Object.keys(s)
      .filter(n => !n.startsWith("subnet[") && /drop|fail|exhausted|for-other-server|parse/.test(n))
      .sort().map(n => cell(n, s)).join("");
    document.getElementById("commits").innerHTML = Object.keys(s)
      .filter(n => /commit|fsync|lease-rows|lease-file|batch/.test(n) && !n.startsWith("subnet["))
      .sort().map(n => cell(n, s)).join("") || "<tr><td>no commit statistics</td></tr>";
    subnets(s);
    await latencies();
    history.push({t: Date.now(), acks: value(s, "pkt4-ack-sent"), drops: value(s, "pkt4-receive-drop")});
    if (history.length > HISTORY) history.shift();
    draw();
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.getElementById("updated").dataset.polls = (+document.getElementById("updated").dataset.polls || 0) + 1;
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot read statistics: " + e.message;
  }
}
document.getElementById("search").addEventListener("submit", async ev => {
  ev.preventDefault();
  const by = document.getElementById("by").value, q = document.getElementById("q").value.trim();
  const name = {"ip-address": "lease4-get", "hw-address": "lease4-get-by-hw-address",
                "hostname": "lease4-get-by-hostname"}[by];
  try {
    const a = await command(name, {[by]: q});
    document.getElementById("found").textContent = a.text + "\n" + JSON.stringify(a.arguments || {}, null, 1);
  } catch (e) { document.getElementById("found").textContent = e.message; }
});
command("version-get").then(a => document.getElementById("version").textContent = a.text).catch(() => {});
refresh(); setInterval(refresh, 2000);
</script></body></html>
"""


def page() -> bytes:
    return PAGE.encode()
