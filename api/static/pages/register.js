/* The data-sharing register (/register): every approved project from POST /graphql (public,
   no token), with two CSV downloads: the projects, and their queries per month. */
"use strict";

(() => {
  const { gql, el, clear, $, longDate, monthName, csv, download } = LEO;

  const QUERY = `query Register {
  register {
    id title organisation purpose lawfulBasis approved expires retainUntil status
    dataPackages { id title tier { id label } }
    outputs { title published url }
    queriesPerMonth { month answered refused }
  }
}`;
  const STATUS = { ACTIVE: "Active", EXPIRED: "Expired", NOT_STARTED: "Not started" };

  const ui = {
    list: $("#register"), status: $("#status"), message: $("#message"),
    projects: $("#download-projects"), months: $("#download-months"),
  };
  let entries = [];

  const date = (iso) => el("time", { datetime: iso }, longDate(iso));

  function row(term, ...desc) {
    return el("div", { class: "pair" }, el("dt", {}, term), el("dd", {}, ...desc));
  }

  function monthsTable(e) {
    if (!e.queriesPerMonth.length) return "None recorded yet.";
    const body = el("tbody");
    for (const m of e.queriesPerMonth) {
      body.append(el("tr", {}, el("th", { scope: "row" }, el("time", { datetime: m.month }, monthName(m.month))),
        el("td", { class: "num" }, m.answered), el("td", { class: "num" }, m.refused)));
    }
    return el("table", { class: "months" },
      el("caption", {}, `Queries made for ${e.id}, per month`),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Month"),
        el("th", { scope: "col", class: "num" }, "Answered"), el("th", { scope: "col", class: "num" }, "Refused"))),
      body);
  }

  function card(e) {
    const packages = el("ul", { class: "plain" },
      e.dataPackages.map((p) => el("li", {}, `${p.title} `, el("span", { class: `tag tier-${p.tier.id}` }, p.tier.label))));
    const outputs = e.outputs.length
      ? el("ul", { class: "plain" }, e.outputs.map((o) => el("li", {},
        o.url ? el("a", { href: o.url, rel: "noopener noreferrer" }, o.title) : o.title, " (", date(o.published), ")")))
      : "None published yet.";
    // Rows of a <dl> grouped in <div>s, as HTML allows, so each pair lays out together.
    const dl = el("dl", {},
      row("Project id", el("code", {}, e.id)),
      row("Organisation", e.organisation),
      row("Purpose", e.purpose),
      row("Lawful basis", e.lawfulBasis),
      row("Status", el("span", { class: `status-tag status-${e.status}` }, STATUS[e.status] || e.status)),
      row("Approved", date(e.approved)),
      row("Access expires", date(e.expires)),
      row("Data kept until", date(e.retainUntil)),
      row("Data packages", packages),
      row("Outputs", outputs),
      row("Queries", monthsTable(e)));
    return el("article", { "aria-labelledby": `p-${e.id}` }, el("h2", { id: `p-${e.id}` }, e.title), dl);
  }

  function projectsCsv() {
    const header = ["project_id", "title", "organisation", "purpose", "lawful_basis", "status",
      "approved", "expires", "retain_until", "data_packages", "outputs"];
    const rows = entries.map((e) => [e.id, e.title, e.organisation, e.purpose, e.lawfulBasis,
      STATUS[e.status] || e.status, e.approved, e.expires, e.retainUntil,
      e.dataPackages.map((p) => `${p.title} (${p.tier.label})`).join("; "),
      e.outputs.map((o) => `${o.title} (${o.published}${o.url ? `, ${o.url}` : ""})`).join("; ")]);
    return csv([header, ...rows]);
  }

  function monthsCsv() {
    const rows = [["project_id", "month", "answered", "refused"]];
    for (const e of entries) for (const m of e.queriesPerMonth) rows.push([e.id, m.month, m.answered, m.refused]);
    return csv(rows);
  }

  async function load() {
    let data;
    try {
      data = await gql(QUERY);
    } catch (err) {
      const [title, detail] = LEO.describeError(err);
      LEO.showMessage(ui.message, title, " " + detail);
      ui.status.textContent = "";
      return;
    }
    entries = data.register;
    clear(ui.list);
    for (const e of entries) ui.list.append(card(e));
    const by = (s) => entries.filter((e) => e.status === s).length;
    const parts = Object.keys(STATUS).filter((s) => by(s)).map((s) => `${by(s)} ${STATUS[s].toLowerCase()}`);
    ui.status.textContent = `${entries.length} approved project${entries.length === 1 ? "" : "s"}` +
      (parts.length ? `: ${parts.join(", ")}.` : ".");
    ui.projects.disabled = false;
    ui.months.disabled = false;
  }

  const today = () => new Date().toISOString().slice(0, 10);
  ui.projects.addEventListener("click", () => download(`leo-register-${today()}.csv`, projectsCsv()));
  ui.months.addEventListener("click", () => download(`leo-register-queries-per-month-${today()}.csv`, monthsCsv()));
  load();
})();
