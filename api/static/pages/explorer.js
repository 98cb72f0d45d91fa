/* The outcome explorer (/): token -> project -> cohort type, cohort, breakdown -> charts,
   table and CSV, all from POST /graphql with the analyst's own token. The token lives in
   sessionStorage only (this tab), never in localStorage or a cookie. */
"use strict";

(() => {
  const { gql, el, svg, clear, $, formatValue, unitSuffix, csv, download } = LEO;
  const TOKEN_KEY = "leo.token";
  const COHORT_TYPES = { KS4: "Key Stage 4", GRADUATE: "Graduate" };
  const AFTER = { KS4: "Key Stage 4", GRADUATE: "graduation" };
  // The Analysis Function's accessible categorical palette, in its recommended order.
  const PALETTE = ["#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"];

  const Q_ME = `query Me {
  me { id name organisation accredited accreditedUntil projects { id title status } }
}`;
  const Q_SETUP = `query Setup($id: ID!) {
  release { id dimensions cohorts { cohortType cohort yearsAfter } }
  project(id: $id) { id title dimensions { id label definition cohortTypes } }
}`;
  const Q_SUMMARY = `query Summary($id: ID!, $cohort: CohortInput!, $by: String) {
  project(id: $id) {
    outcomeSummary(cohort: $cohort, by: $by) {
      release cohortType cohort by suppressedCells notes
      measures { id label unit kind definition quantile activities }
      rows { yearsAfter group { dimension value label } cells { measure value status flag reason } }
    }
  }
}`;

  const ui = {
    tokenForm: $("#token-form"), token: $("#token"), who: $("#who"), whoName: $("#who-name"),
    whoOrg: $("#who-org"), forget: $("#forget"), message: $("#message"), status: $("#status"),
    choose: $("#choose"), chooseForm: $("#choose-form"), project: $("#project"),
    cohortType: $("#cohort-type"), cohort: $("#cohort"), by: $("#by"),
    results: $("#results"), heading: $("#results-h"), summary: $("#summary"),
    download: $("#download"), table: $("#table"), tableWrap: $("#table-wrap"), notes: $("#notes"),
    definitions: $("#definitions dl"), tip: $("#tip"), scrollHint: $("#scroll-hint"),
    earnings: $("#earnings-charts"), earningsLegend: $("#earnings-legend"),
    activity: $("#activity-charts"), activityLegend: $("#activity-legend"),
  };

  const FLAG_MEANINGS = {};
  for (const dt of document.querySelectorAll("#legend dt")) {
    FLAG_MEANINGS[dt.dataset.flag] = dt.nextElementSibling.textContent;
  }

  let token = null;
  let setup = null; // {release, project} for the chosen project
  let shown = null; // {view, filename} of the table on screen: the CSV is made from it

  const say = (text) => { ui.status.textContent = text; };
  const hideMessage = () => LEO.hideMessage(ui.message);
  const showMessage = (title, detail, kind) => LEO.showMessage(ui.message, title, detail, kind);

  // -- errors -----------------------------------------------------------------------------

  function explain(err) {
    if (err.code === "UNAUTHENTICATED") {
      forgetToken();
      const why = err.message.replace(/^token refused:\s*/, "");
      showMessage("Your token was not accepted",
        ` The server said: ${why}. Check that you pasted the whole token, or ask your ` +
        "project's data manager for a new one (tokens expire).");
      ui.token.focus();
      ui.token.select(); // pasting a new token replaces the refused one
    } else if (err.code === "FORBIDDEN") {
      showMessage("You do not have access to this", ` The server said: ${err.message}. ` +
        "Choose another project, or ask your project's data manager about access.");
    } else {
      const [title, detail] = LEO.describeError(err);
      showMessage(title, " " + detail);
    }
    say("");
  }

  // -- token ------------------------------------------------------------------------------

  function forgetToken() {
    token = null;
    setup = null;
    sessionStorage.removeItem(TOKEN_KEY);
    ui.who.hidden = true;
    ui.tokenForm.hidden = false;
    ui.choose.hidden = true;
    ui.results.hidden = true;
  }

  async function signIn(candidate) {
    hideMessage();
    say("Checking the token...");
    let data;
    try {
      data = await gql(Q_ME, {}, candidate);
    } catch (err) {
      explain(err);
      return;
    }
    token = candidate;
    sessionStorage.setItem(TOKEN_KEY, candidate);
    ui.token.value = "";
    const me = data.me;
    ui.whoName.textContent = me.name;
    ui.whoOrg.textContent = `(${me.organisation})`;
    ui.tokenForm.hidden = true;
    ui.who.hidden = false;
    if (!me.accredited) {
      showMessage("Your accreditation has expired",
        ` It ran until ${LEO.longDate(me.accreditedUntil)}; projects will refuse your queries ` +
        "until it is renewed.");
    }
    if (!me.projects.length) {
      showMessage("You are not a member of any approved project",
        " Ask a data manager to add you to a project.", "info");
      say("");
      return;
    }
    clear(ui.project);
    for (const p of me.projects) {
      const state = p.status === "ACTIVE" ? "" : p.status === "EXPIRED" ? " - expired" : " - not started";
      ui.project.append(el("option", { value: p.id }, `${p.title} (${p.id})${state}`));
    }
    const active = me.projects.find((p) => p.status === "ACTIVE") || me.projects[0];
    ui.project.value = active.id;
    ui.choose.hidden = false;
    say(`Signed in as ${me.name}.`);
    await loadProject(active.id);
  }

  // -- choices ----------------------------------------------------------------------------

  function setChoicesEnabled(on) {
    for (const s of [ui.cohortType, ui.cohort, ui.by]) s.disabled = !on;
    ui.chooseForm.querySelector("button[type=submit]").disabled = !on;
  }

  async function loadProject(id) {
    hideMessage();
    ui.results.hidden = true;
    setup = null;
    say("Loading the project's choices...");
    let data;
    try {
      data = await gql(Q_SETUP, { id }, token);
    } catch (err) {
      for (const s of [ui.cohortType, ui.cohort, ui.by]) clear(s);
      setChoicesEnabled(false);
      explain(err);
      return;
    }
    setup = data;
    setChoicesEnabled(true);
    clear(ui.cohortType);
    const types = Object.keys(COHORT_TYPES).filter((t) =>
      data.release.cohorts.some((c) => c.cohortType === t));
    for (const t of types) ui.cohortType.append(el("option", { value: t }, COHORT_TYPES[t]));
    if (!types.length) {
      setChoicesEnabled(false);
      showMessage("Nothing to show yet", ` Release ${data.release.id} holds no cohorts.`, "info");
      say("");
      return;
    }
    fillCohortChoices();
    await showOutcomes();
  }

  function fillCohortChoices() {
    const type = ui.cohortType.value;
    clear(ui.cohort);
    const cohorts = setup.release.cohorts.filter((c) => c.cohortType === type)
      .map((c) => c.cohort).sort().reverse(); // the latest first
    for (const c of cohorts) ui.cohort.append(el("option", { value: c }, c));
    clear(ui.by);
    const who = type === "KS4" ? "pupils" : "graduates";
    ui.by.append(el("option", { value: "" }, `None (all ${who})`));
    const inRelease = new Set(setup.release.dimensions);
    for (const d of setup.project.dimensions) {
      if (d.cohortTypes.includes(type) && inRelease.has(d.id)) {
        ui.by.append(el("option", { value: d.id }, d.label));
      }
    }
  }

  async function showOutcomes() {
    if (!setup) return;
    hideMessage();
    const type = ui.cohortType.value;
    const cohort = ui.cohort.value;
    const by = ui.by.value || null;
    const byLabel = by ? ui.by.selectedOptions[0].textContent : null;
    say("Loading outcomes...");
    let data;
    try {
      data = await gql(Q_SUMMARY, { id: setup.project.id, cohort: { type, cohort }, by }, token);
    } catch (err) {
      ui.results.hidden = true;
      explain(err);
      return;
    }
    const table = data.project.outcomeSummary;
    const what = `${COHORT_TYPES[type]} cohort ${cohort}` +
      (by ? `, by ${byLabel[0].toLowerCase()}${byLabel.slice(1)}` : "");
    if (!table.rows.length) {
      ui.results.hidden = true;
      shown = null;
      showMessage("No figures for this selection",
        ` Release ${table.release} publishes no figures for the ${what}. ` +
        "Choose another cohort or breakdown.", "info");
      say("");
      return;
    }
    render(table, { type, cohort, by, byLabel, what });
    const hidden = countFlagged(table);
    say(`Showing the ${what}: ${table.rows.length} rows` +
      (hidden ? `; ${hidden} cells are not published and show a symbol instead.` : "."));
  }

  function countFlagged(table) {
    let n = 0;
    for (const r of table.rows) for (const c of r.cells) if (c.value === null) n += 1;
    return n;
  }

  // -- the table and its CSV: both from one view --------------------------------------------

  function cellView(cell, measure) {
    const value = formatValue(cell.value, measure.unit);
    if (!cell.flag) return { text: value, num: true };
    const sym = `[${cell.flag}]`;
    const meaning = FLAG_MEANINGS[cell.flag] || "Not published";
    const why = meaning + "." + (cell.reason ? ` Reason: ${cell.reason}.` : "");
    return { text: value ? `${value} ${sym}` : sym, value, sym, why, num: true };
  }

  function buildView(table, ctx) {
    const groupHeads = ctx.by ? [ctx.byLabel] : [];
    const headers = [`Years after ${AFTER[ctx.type]}`, ...groupHeads,
      ...table.measures.map((m) => m.label + unitSuffix(m.unit))];
    const rows = table.rows.map((r) => [
      { text: String(r.yearsAfter) },
      ...r.group.map((g) => ({ text: g.label })),
      ...r.cells.map((c, i) => cellView(c, table.measures[i])),
    ]);
    return { headers, rows, rowHeads: 1 + groupHeads.length };
  }

  function renderTable(view, caption) {
    clear(ui.table);
    // The caption's text stays in view (and wraps) while a wide table scrolls sideways.
    ui.table.append(el("caption", { id: "table-caption" }, el("span", {}, caption)));
    const headRow = el("tr");
    view.headers.forEach((h, i) =>
      headRow.append(el("th", { scope: "col", class: i >= view.rowHeads ? "num" : `rowhead-${i}` }, h)));
    ui.table.append(el("thead", {}, headRow));
    const body = el("tbody");
    let tipId = 0;
    for (const row of view.rows) {
      const tr = el("tr");
      row.forEach((c, i) => {
        if (i < view.rowHeads) {
          tr.append(el("th", { scope: "row", class: `rowhead-${i}` }, c.text));
        } else if (c.sym) {
          tipId += 1;
          const id = `why-${tipId}`;
          tr.append(el("td", { class: "num flagged" },
            c.value ? c.value + " " : "",
            el("span", { class: "sym", tabindex: 0, "aria-describedby": id }, c.sym),
            el("span", { id, hidden: true }, c.why)));
        } else {
          tr.append(el("td", { class: "num" }, c.text));
        }
      });
      body.append(tr);
    }
    ui.table.append(body);
  }

  function render(table, ctx) {
    const view = buildView(table, ctx);
    ui.heading.textContent = `${ctx.what[0].toUpperCase()}${ctx.what.slice(1)}`;
    ui.summary.textContent = `Project ${setup.project.title} (${setup.project.id}). ` +
      `Release ${table.release}. Figures by years after ${AFTER[ctx.type]}.`;
    renderTable(view, `Outcomes of the ${ctx.what}, by years after ${AFTER[ctx.type]} ` +
      `(release ${table.release})`);
    clear(ui.notes);
    for (const n of table.notes) ui.notes.append(el("li", {}, n));
    clear(ui.definitions);
    for (const m of table.measures) {
      ui.definitions.append(el("dt", {}, m.label + unitSuffix(m.unit)), el("dd", {}, m.definition));
    }
    const dim = ctx.by && setup.project.dimensions.find((d) => d.id === ctx.by);
    if (dim && dim.definition) ui.definitions.append(el("dt", {}, dim.label), el("dd", {}, dim.definition));
    drawCharts(table, ctx);
    const safe = (s) => String(s).replace(/[^A-Za-z0-9_-]+/g, "-");
    shown = {
      view,
      filename: `leo_${safe(setup.project.id)}_${safe(ctx.type.toLowerCase())}_${safe(ctx.cohort)}` +
        `_${safe(ctx.by || "all")}_${safe(table.release)}.csv`,
    };
    ui.results.hidden = false;
    ui.tableWrap.scrollLeft = 0;
    fitHint();
  }

  function fitHint() {
    ui.scrollHint.hidden = ui.tableWrap.scrollWidth <= ui.tableWrap.clientWidth;
  }

  // -- charts (inline SVG) ----------------------------------------------------------------

  const W = 340, H = 214, M = { l: 54, r: 10, t: 14, b: 44 };
  const PW = W - M.l - M.r, PH = H - M.t - M.b;

  function groupsOf(table) {
    const groups = new Map();
    for (const r of table.rows) {
      const key = r.group.map((g) => g.value).join("\u0000");
      if (!groups.has(key)) {
        groups.set(key, { label: r.group.map((g) => g.label).join(", ") || "All", years: new Map() });
      }
      const cells = {};
      r.cells.forEach((c) => { cells[c.measure] = c; });
      groups.get(key).years.set(r.yearsAfter, cells);
    }
    return [...groups.values()];
  }

  function niceStep(max, ticks) {
    const raw = max / ticks;
    const mag = 10 ** Math.floor(Math.log10(raw));
    return [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  }

  function yearLabel(ya) {
    return `${ya} year${ya === 1 ? "" : "s"} after`;
  }

  function pounds(v) {
    return "£" + formatValue(v, "GBP");
  }

  function axes(years, yMax, step, fmtTick, ctx) {
    const g = svg("g", { "aria-hidden": "true" });
    const y = (v) => M.t + PH - (v / yMax) * PH;
    for (let v = 0; v <= yMax + 1e-9; v += step) {
      g.append(svg("line", { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v), stroke: v === 0 ? "#0b0c0c" : "#d8d8d8", "stroke-width": 1 }));
      g.append(svg("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12, fill: "#0b0c0c" }, fmtTick(v)));
    }
    const xs = xPositions(years);
    years.forEach((ya, i) => g.append(svg("text", { x: xs[i], y: M.t + PH + 17, "text-anchor": "middle", "font-size": 12, fill: "#0b0c0c" }, ya)));
    g.append(svg("text", { x: M.l + PW / 2, y: H - 6, "text-anchor": "middle", "font-size": 12, fill: "#484949" },
      `Years after ${AFTER[ctx.type]}`));
    return { g, y, xs };
  }

  function xPositions(years) {
    const step = PW / years.length;
    return years.map((_, i) => M.l + step * (i + 0.5));
  }

  function mini(label, summary, chart) {
    chart.setAttribute("viewBox", `0 0 ${W} ${H}`);
    chart.setAttribute("role", "img");
    chart.setAttribute("aria-label", `${label}. ${summary}`);
    return el("figure", {}, el("figcaption", {}, label), chart);
  }

  function swatch(shape) {
    return svg("svg", { width: 18, height: 18, viewBox: "0 0 18 18", "aria-hidden": "true", focusable: "false" }, shape);
  }

  function legend(target, items) {
    clear(target);
    const ul = el("ul", { class: "chart-legend" });
    for (const [shape, text] of items) ul.append(el("li", {}, swatch(shape), text));
    target.append(ul);
  }

  function drawCharts(table, ctx) {
    const groups = groupsOf(table);
    // One group: the two charts side by side, each larger; several: small multiples.
    $("#charts").classList.toggle("single", groups.length === 1);
    const years = [...new Set(table.rows.map((r) => r.yearsAfter))].sort((a, b) => a - b);
    drawEarnings(table, ctx, groups, years);
    drawActivity(table, ctx, groups, years);
  }

  function drawEarnings(table, ctx, groups, years) {
    clear(ui.earnings);
    const q = (level) => table.measures.find((m) => m.kind === "quantile" && m.quantile === level);
    const lo = q(0.25), mid = q(0.5), hi = q(0.75);
    if (!lo && !mid && !hi) {
      clear(ui.earningsLegend);
      ui.earnings.append(el("p", { class: "chart-empty" }, "Earnings are not in this project's data packages."));
      return;
    }
    legend(ui.earningsLegend, [
      [svg("rect", { x: 5, y: 1, width: 8, height: 16, fill: "#c8d9ea", stroke: "#12436D", "stroke-width": 1.5 }), "Lower to upper quartile"],
      [svg("circle", { cx: 9, cy: 9, r: 5, fill: "#801650" }), "Median"],
      [svg("circle", { cx: 9, cy: 9, r: 4.5, fill: "#fff", stroke: "#801650", "stroke-width": 2 }), "Low reliability [u]"],
      [svg("text", { x: 9, y: 13, "text-anchor": "middle", "font-size": 11, "font-weight": 700, fill: "#0b0c0c" }, "[c]"), "Not published (symbol)"],
    ]);
    const val = (cells, m) => (m && cells && cells[m.id] && cells[m.id].value !== null ? cells[m.id].value : null);
    let max = 0;
    for (const g of groups) for (const cells of g.years.values()) {
      for (const m of [lo, mid, hi]) max = Math.max(max, val(cells, m) || 0);
    }
    const step = niceStep(max || 1, 4);
    const yMax = Math.max(step, Math.ceil(max / step) * step);
    const tick = (v) => (yMax >= 10000 ? `£${v / 1000}k` : `£${v}`);
    for (const g of groups) {
      const chart = svg("svg", {});
      const { g: ax, y, xs } = axes(years, yMax, step, tick, ctx);
      chart.append(ax);
      const parts = [];
      const segments = [[]]; // the median line, broken where a median is not published
      years.forEach((ya, i) => {
        const cells = g.years.get(ya);
        const [l, m, h] = [lo, mid, hi].map((x) => val(cells, x));
        const x = xs[i];
        const missing = [lo, mid, hi].filter((x2) => x2 && cells && cells[x2.id] && cells[x2.id].value === null)
          .map((x2) => `${x2.label} [${cells[x2.id].flag || "x"}]`);
        if (l !== null && h !== null) {
          chart.append(svg("rect", { x: x - 9, y: y(h), width: 18, height: Math.max(1, y(l) - y(h)), fill: "#c8d9ea", stroke: "#12436D", "stroke-width": 1.5 },
            svg("title", {}, `${yearLabel(ya)}: lower quartile ${pounds(l)}, upper quartile ${pounds(h)}`)));
        }
        if (m !== null) segments[segments.length - 1].push(`${x},${y(m)}`);
        else segments.push([]);
        if (missing.length) {
          const flags = [...new Set(missing.map((s) => s.slice(s.lastIndexOf("["))))].join(" ");
          chart.append(svg("text", { x, y: M.t + PH - 6, "text-anchor": "middle", "font-size": 12, "font-weight": 700, fill: "#0b0c0c" },
            flags, svg("title", {}, `${yearLabel(ya)}: not published: ${missing.join(", ")}`)));
        }
        let text = `${yearLabel(ya)}: ` + (m !== null ? `median ${pounds(m)}` : "median not published");
        if (l !== null && h !== null) text += ` (quartiles ${pounds(l)} to ${pounds(h)})`;
        if (missing.length) text += `; not published: ${missing.join(", ")}`;
        parts.push(text);
      });
      const d = segments.filter((pts) => pts.length > 1).map((pts) => "M" + pts.join("L")).join("");
      if (d) chart.append(svg("path", { d, fill: "none", stroke: "#801650", "stroke-width": 2.5 }));
      years.forEach((ya, i) => {
        const cells = g.years.get(ya);
        const m = val(cells, mid);
        if (m === null) return;
        const unreliable = cells[mid.id].flag === "u";
        chart.append(svg("circle", { cx: xs[i], cy: y(m), r: unreliable ? 4.5 : 5, fill: unreliable ? "#fff" : "#801650", stroke: "#801650", "stroke-width": 2 },
          svg("title", {}, `${yearLabel(ya)}: median ${pounds(m)}${unreliable ? " [u] low reliability" : ""}`)));
      });
      ui.earnings.append(mini(g.label, parts.join("; ") + ".", chart));
    }
  }

  function drawActivity(table, ctx, groups, years) {
    clear(ui.activity);
    const shares = table.measures.filter((m) => m.kind === "share" && m.activities.length === 1);
    if (!shares.length) {
      clear(ui.activityLegend);
      ui.activity.append(el("p", { class: "chart-empty" }, "Activity shares are not in this project's data packages."));
      return;
    }
    const colour = (i) => PALETTE[i % PALETTE.length];
    legend(ui.activityLegend, [
      ...shares.map((m, i) => [svg("rect", { x: 1, y: 1, width: 16, height: 16, fill: colour(i) }), m.label]),
      [svg("rect", { x: 1.5, y: 1.5, width: 15, height: 15, fill: "#fff", stroke: "#484949", "stroke-dasharray": "3 2" }), "Not published (see table)"],
    ]);
    for (const g of groups) {
      const chart = svg("svg", {});
      const { g: ax, y, xs } = axes(years, 100, 25, (v) => `${v}%`, ctx);
      chart.append(ax);
      const width = Math.min(46, (PW / years.length) * 0.6);
      const parts = [];
      years.forEach((ya, i) => {
        const cells = g.years.get(ya) || {};
        let base = 0;
        const said = [];
        const missing = [];
        shares.forEach((m, k) => {
          const c = cells[m.id];
          if (!c || c.value === null) {
            missing.push(`${m.label} [${(c && c.flag) || "x"}]`);
            said.push(`${m.label} not published [${(c && c.flag) || "x"}]`);
            return;
          }
          const v = Math.max(0, Math.min(100 - base, c.value));
          chart.append(svg("rect", { x: xs[i] - width / 2, y: y(base + v), width, height: Math.max(0, y(base) - y(base + v)), fill: colour(k), stroke: "#fff", "stroke-width": 1 },
            svg("title", {}, `${yearLabel(ya)}: ${m.label} ${formatValue(c.value, "percent")}%${c.flag ? ` [${c.flag}]` : ""}`)));
          said.push(`${m.label} ${formatValue(c.value, "percent")}%${c.flag ? ` [${c.flag}]` : ""}`);
          base += v;
        });
        if (missing.length && base < 100) {
          chart.append(svg("rect", { x: xs[i] - width / 2 + 0.75, y: y(100), width: width - 1.5, height: y(base) - y(100), fill: "#fff", stroke: "#484949", "stroke-dasharray": "3 2", "stroke-width": 1.5 },
            svg("title", {}, `${yearLabel(ya)}: not published: ${missing.join(", ")}`)));
        }
        parts.push(`${yearLabel(ya)}: ${said.join(", ")}`);
      });
      ui.activity.append(mini(g.label, parts.join("; ") + ".", chart));
    }
  }

  // -- tooltips for symbols: hover and keyboard focus, dismissed with Escape ----------------

  let tipFor = null;
  let tipTimer = null;

  function placeTip() {
    if (!tipFor) return;
    const r = tipFor.getBoundingClientRect();
    const tw = ui.tip.offsetWidth, th = ui.tip.offsetHeight;
    const left = Math.min(Math.max(8, r.left + r.width / 2 - tw / 2), window.innerWidth - tw - 8);
    let top = r.bottom + 6;
    if (top + th > window.innerHeight - 8) top = r.top - th - 6;
    ui.tip.style.left = `${left}px`;
    ui.tip.style.top = `${top}px`;
  }

  function showTip(sym) {
    clearTimeout(tipTimer);
    tipFor = sym;
    ui.tip.textContent = `${sym.textContent} ${document.getElementById(sym.getAttribute("aria-describedby")).textContent}`;
    ui.tip.hidden = false;
    placeTip();
  }

  function hideTip(now) {
    clearTimeout(tipTimer);
    const go = () => { ui.tip.hidden = true; tipFor = null; };
    if (now) go(); else tipTimer = setTimeout(go, 250);
  }

  ui.table.addEventListener("mouseover", (e) => { const s = e.target.closest(".sym"); if (s) showTip(s); });
  ui.table.addEventListener("mouseout", (e) => { if (e.target.closest(".sym")) hideTip(false); });
  ui.table.addEventListener("focusin", (e) => { const s = e.target.closest(".sym"); if (s) showTip(s); });
  ui.table.addEventListener("focusout", (e) => { if (e.target.closest(".sym")) hideTip(true); });
  ui.tip.addEventListener("mouseenter", () => clearTimeout(tipTimer)); // the tip can be hovered
  ui.tip.addEventListener("mouseleave", () => hideTip(false));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !ui.tip.hidden) hideTip(true); });
  document.addEventListener("scroll", placeTip, { capture: true, passive: true });
  window.addEventListener("resize", () => { placeTip(); fitHint(); });

  // -- wiring -----------------------------------------------------------------------------

  ui.tokenForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = ui.token.value.trim();
    if (!value) {
      showMessage("Enter your access token", " Paste the token you were given (it starts with leo_pat_).");
      ui.token.focus();
      return;
    }
    signIn(value);
  });
  ui.forget.addEventListener("click", () => {
    forgetToken();
    hideMessage();
    say("The token is forgotten.");
    ui.token.focus();
  });
  ui.project.addEventListener("change", () => loadProject(ui.project.value));
  ui.cohortType.addEventListener("change", fillCohortChoices);
  ui.chooseForm.addEventListener("submit", (e) => { e.preventDefault(); showOutcomes(); });
  ui.download.addEventListener("click", () => {
    if (!shown) return;
    const rows = [shown.view.headers, ...shown.view.rows.map((r) => r.map((c) => c.text))];
    download(shown.filename, csv(rows));
  });

  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
})();
