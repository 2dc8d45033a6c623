// catgan dashboard: fetch helpers, live updates (events when the server has them, else polling), SVG charts.
"use strict";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 2000;
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const csrf = () => $('meta[name="csrf-token"]').content;

async function api(method, path, body) {
  const response = await fetch("/ui/api" + path, {
    method, credentials: "same-origin",
    headers: { "X-CSRF-Token": csrf(), ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
  return data;
}

function say(el, text, isError) {
  if (!el) return;
  el.textContent = text;
  el.className = isError ? "error" : "muted";
}

// Call `refresh` now, then on every event of the job's stream, or every POLL_MS when there is no stream.
function live(refresh, eventsPath) {
  let timer = null, source = null, failures = 0;
  const stop = () => { clearInterval(timer); if (source) source.close(); };
  const poll = () => { if (!timer) timer = setInterval(async () => { if (await refresh() === false) stop(); }, POLL_MS); };
  refresh();
  if (eventsPath && document.body.dataset.events === "on" && window.EventSource) {
    source = new EventSource("/ui/api" + eventsPath);
    source.onmessage = source.onerror = null;
    ["status", "progress", "sheet", "checkpoint", "artifact", "shard"].forEach((type) =>
      source.addEventListener(type, () => { failures = 0; refresh(); }));
    // a refused stream (404/501/503) closes at once; a flaky one retries by itself: poll after either
    source.onerror = () => { if (source.readyState === EventSource.CLOSED || ++failures >= 3) { source.close(); source = null; poll(); } };
  } else {
    poll();
  }
  return stop;
}

function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  s = Math.round(s);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} m` : s >= 60 ? `${Math.floor(s / 60)} m ${s % 60} s` : `${s} s`;
}
const fmt = (v, digits = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

// A line chart in an <svg>: series [{label, color, dash?, points: [[x, y], ...]}] on shared axes
// (pass `domain` {x: [a, b], y: [c, d]} to share them between charts).
function lineChart(svg, series, domain) {
  const W = svg.clientWidth || 600, H = svg.clientHeight || 260, L = 52, R = 12, T = 10, B = 26;
  const pts = series.flatMap((s) => s.points);
  const NS = "http://www.w3.org/2000/svg";
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const el = (name, attrs, text) => {
    const node = document.createElementNS(NS, name);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  };
  if (!pts.length) { el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "currentColor", opacity: .5 }, "no data yet"); return; }
  const d = domain || chartDomain(series);
  const [x0, x1] = d.x, [y0, y1] = d.y;
  const sx = (x) => L + (x - x0) / ((x1 - x0) || 1) * (W - L - R);
  const sy = (y) => H - B - (y - y0) / ((y1 - y0) || 1) * (H - T - B);
  ticks(y0, y1, 5).forEach((y) => {
    el("line", { x1: L, x2: W - R, y1: sy(y), y2: sy(y), stroke: "currentColor", opacity: .12 });
    el("text", { x: L - 6, y: sy(y) + 4, "text-anchor": "end", "font-size": 11, fill: "currentColor", opacity: .6 }, Number(y.toPrecision(3)));
  });
  ticks(x0, x1, 6).filter(Number.isInteger).forEach((x) =>
    el("text", { x: sx(x), y: H - 8, "text-anchor": "middle", "font-size": 11, fill: "currentColor", opacity: .6 }, x));
  series.forEach((s) => {
    if (!s.points.length) return;
    const path = s.points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    el("path", { d: path, fill: "none", style: `stroke:${s.color}`, "stroke-width": 1.8, "stroke-dasharray": s.dash || "" });
    if (s.points.length < 40) s.points.forEach(([x, y]) => el("circle", { cx: sx(x), cy: sy(y), r: 2.5, style: `fill:${s.color}` }));
  });
}

// Round values (1, 2 or 5 times a power of ten) for about `count` ticks over [a, b], to label an axis with.
function ticks(a, b, count) {
  const raw = (b - a) / count || Math.abs(a) || 1, magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).reduce((best, s) => (Math.abs(Math.log(s / raw)) < Math.abs(Math.log(best / raw)) ? s : best));
  const out = [];
  for (let v = Math.ceil(a / step) * step; v <= b + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function chartDomain(series) {
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return { x: [0, 1], y: [0, 1] };
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  let y0 = Math.min(...ys), y1 = Math.max(...ys), x0 = Math.min(...xs), x1 = Math.max(...xs);
  const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.1 || 1;
  if (x0 === x1) { x0 -= 1; x1 += 1; }  // one step: its point in the middle, not on the y axis
  return { x: [x0, x1], y: [y0 - pad, y1 + pad] };
}

const series = (points, field) => points.filter((p) => p[field] !== null && p[field] !== undefined).map((p) => [p.step, p[field]]);
const contentUrl = (artifact) => `/ui/api/artifacts/${artifact.id}/content`;

// ---- pages ----

const pages = {
  jobs() {
    const body = $("#job-rows");
    const query = new URLSearchParams(location.search).toString();
    live(async () => {
      const checked = new Set($$("input.pick:checked").map((b) => b.value));
      const response = await fetch("/ui/jobs/rows" + (query ? "?" + query : ""), { credentials: "same-origin" });
      if (!response.ok) return;
      body.innerHTML = await response.text();
      $$("input.pick").forEach((b) => { b.checked = checked.has(b.value); });
    }, document.body.dataset.events === "on" ? "/events" : null);
    body.addEventListener("click", async (e) => {
      const button = e.target.closest("button[data-cancel]");
      if (!button) return;
      button.disabled = true;
      try { await api("POST", `/jobs/${button.dataset.cancel}/cancel`); } catch (err) { alert(err.message); }
    });
    $("#compare").addEventListener("click", () => {
      const ids = $$("input.pick:checked").map((b) => b.value);
      if (ids.length < 2 || ids.length > 8) { say($("#compare-note"), "tick 2 to 8 jobs to compare", true); return; }
      location.href = "/ui/compare?jobs=" + ids.join(",");
    });
    $("#train-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target, note = $("#train-note");
      let params;
      try { params = JSON.parse(form.params.value || "{}"); } catch { say(note, "params must be a JSON object", true); return; }
      const job = { type: "train", model: form.model.value, dataset: Number(form.dataset.value), params };
      if (form.model_name.value) job.model_name = form.model_name.value;
      try { const made = await api("POST", "/jobs", job); location.href = `/ui/jobs/${made.id}`; }
      catch (err) { say(note, err.message, true); }
    });
  },

  job() {
    const id = document.body.dataset.job;
    let lastSheet = null, wasTerminal = TERMINAL.has(document.body.dataset.status);
    const lossSvg = $("#loss-chart"), swdSvg = $("#swd-chart");
    live(async () => {
      const job = await api("GET", `/jobs/${id}`);
      const p = job.progress || {};
      $("#status").textContent = job.status; $("#status").className = "pill " + job.status;
      const fraction = job.status === "succeeded" ? 1 : (p.fraction || 0);
      $("#bar").value = fraction;
      $("#bar-text").textContent = `${Math.round(fraction * 100)} %`;
      $("#step").textContent = p.step !== undefined ? `${p.step} / ${p.total_steps}` : "–";
      $("#epoch").textContent = p.epoch ?? "–";
      $("#ips").textContent = fmt(p.images_per_second, 1);
      $("#eta").textContent = TERMINAL.has(job.status) ? "–" : fmtSeconds(p.eta_seconds);
      $("#losses").textContent = `${fmt(p.g_loss)} / ${fmt(p.d_loss)}`;
      const history = await api("GET", `/jobs/${id}/history`);
      lineChart(lossSvg, [{ color: "var(--g)", points: series(history.points, "g_loss") },
                          { color: "var(--d)", points: series(history.points, "d_loss") }]);
      lineChart(swdSvg, [{ color: "var(--swd)", points: series(history.points, "swd") }]);
      const sheets = (await api("GET", `/jobs/${id}/artifacts?kind=sample_grid&limit=1000`)).items;
      if (sheets.length) {
        const newest = sheets[sheets.length - 1], url = contentUrl(newest) + "?v=" + newest.sha256.slice(0, 12);
        if (url !== lastSheet) { $("#sheet").src = url; $("#sheet").hidden = false; $("#no-sheet")?.remove(); lastSheet = url; $("#sheet-step").textContent = `step ${newest.info.step ?? "?"}`; renderStrip(sheets); }
      }
      if (TERMINAL.has(job.status)) {
        if (!wasTerminal) location.reload();  // checkpoints, artifacts and the outcome, as the server renders them
        return false;
      }
    }, `/jobs/${id}/events`);
    $("#cancel")?.addEventListener("click", async (e) => {
      e.target.disabled = true;
      try { await api("POST", `/jobs/${id}/cancel`); } catch (err) { alert(err.message); }
    });
    $$("button[data-resume]").forEach((b) => b.addEventListener("click", async () => {
      b.disabled = true;
      const body = { type: "train", model: document.body.dataset.model, dataset: Number(document.body.dataset.dataset),
                     resume_from: Number(b.dataset.resume) };
      try { const made = await api("POST", "/jobs", body); location.href = `/ui/jobs/${made.id}`; }
      catch (err) { b.disabled = false; alert(err.message); }
    }));
  },

  async compare() {
    const ids = JSON.parse(document.body.dataset.jobs), colors = ["#c2571a", "#1f6feb", "#2f7d4f", "#7b3fb8", "#b3261e", "#9a6700", "#0f7b8a", "#d63384"];
    const histories = await Promise.all(ids.map((id) => api("GET", `/jobs/${id}/history`)));
    const make = (field) => histories.map((h, i) => ({ color: colors[i % colors.length], points: series(h.points, field) }));
    const g = make("g_loss"), d = make("d_loss"), s = make("swd");
    const losses = chartDomain([...g, ...d]);  // one y axis for both losses, one x axis for every chart
    const x = chartDomain([...g, ...d, ...s]).x;
    lineChart($("#g-chart"), g, { x, y: losses.y });
    lineChart($("#d-chart"), d, { x, y: losses.y });
    lineChart($("#swd-chart"), s, { x, y: chartDomain(s).y });
  },

  model() {
    const name = document.body.dataset.model;
    $$("form.label-form").forEach((form) => form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try { await api("PUT", `/models/${encodeURIComponent(name)}/labels/${form.label.value}`, { version: Number(form.version.value) }); location.reload(); }
      catch (err) { say($("#label-note"), err.message, true); }
    }));
    $("#pin-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const versions = $$("input.pin:checked").map((b) => Number(b.value));
      try { await api("PUT", `/models/${encodeURIComponent(name)}/policy`, { versions: versions.length ? versions : null }); location.reload(); }
      catch (err) { say($("#pin-note"), err.message, true); }
    });
    $("#generate-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const form = e.target, note = $("#generate-note"), body = { type: "generate", model_name: name, count: Number(form.count.value) };
      if (form.version.value) body.version = Number(form.version.value);
      form.querySelector("button").disabled = true;
      try {
        const job = await api("POST", "/jobs", body);
        say(note, `job ${job.id} queued…`);
        const stop = live(async () => {
          const now = await api("GET", `/jobs/${job.id}`);
          say(note, `job ${job.id}: ${now.status} ${Math.round(((now.progress || {}).fraction || 0) * 100)} %`, now.status === "failed");
          if (!TERMINAL.has(now.status)) return;
          stop();
          form.querySelector("button").disabled = false;
          if (now.status !== "succeeded") { say(note, `job ${job.id} ${now.status}: ${now.error || ""}`, true); return false; }
          const grids = (await api("GET", `/jobs/${job.id}/artifacts?kind=preview_grid`)).items;
          if (grids.length) { $("#generated").src = contentUrl(grids[0]); $("#generated").hidden = false; }
          const link = $("#download"); link.href = `/ui/api/jobs/${job.id}/result`; link.hidden = false;
          link.textContent = `Download ${now.params.count} cats (zip)`;
          return false;
        }, `/jobs/${job.id}/events`);
      } catch (err) { form.querySelector("button").disabled = false; say(note, err.message, true); }
    });
  },

  datasets() {
    $("#upload-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const form = e.target, bar = $("#upload-bar"), note = $("#upload-note");
      if (!form.file.files.length) { say(note, "choose a zip or tar of images", true); return; }
      const data = new FormData();
      data.append("file", form.file.files[0]);
      if (form.name.value) data.append("name", form.name.value);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/ui/api/datasets");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = ev.loaded / ev.total; };
      xhr.onload = () => {
        let body = {}; try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
        if (xhr.status === 201) { bar.value = 1; say(note, `added ${body.image_count} images (${body.skipped_count} skipped)`); setTimeout(() => location.reload(), 600); }
        else say(note, (body.error && body.error.message) || `upload failed (${xhr.status})`, true);
      };
      xhr.onerror = () => say(note, "the upload was interrupted", true);
      say(note, "uploading…");
      xhr.send(data);
    });
  },
};

function renderStrip(sheets) {
  const strip = $("#strip"), count = 24;
  const picked = sheets.length <= count ? sheets : Array.from({ length: count }, (_, i) => sheets[Math.round(i * (sheets.length - 1) / (count - 1))]);
  strip.replaceChildren(...picked.map((a) => {
    const fig = document.createElement("figure");
    fig.innerHTML = `<img alt="" loading="lazy"><figcaption></figcaption>`;
    fig.firstChild.src = contentUrl(a); fig.lastChild.textContent = a.info.step ?? "";
    return fig;
  }));
}

document.addEventListener("DOMContentLoaded", () => { const page = pages[document.body.dataset.page]; if (page) page(); });
