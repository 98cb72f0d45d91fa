/* Find & Explore (/catalogue): the public catalogue from POST /graphql (no token), searched
   in the browser. The search is kept in the address (?q=&kind=&tier=) so it can be shared. */
"use strict";

(() => {
  const { gql, el, clear, $ } = LEO;

  const QUERY = `query Catalogue {
  catalogue {
    tiers { id label description }
    datasets {
      id title description published cohortType sources
      variables { name label kind definition dataType directIdentifier package tier { id label } }
    }
    packages {
      id title description alwaysIncluded tier { id label }
      dimensions { id label } measures { id label }
    }
    dimensions { id values { label } }
  }
}`;
  const KIND_LABELS = { DIMENSION: "Dimension", MEASURE: "Measure", SOURCE_COLUMN: "Source column" };
  const COHORTS = { KS4: "Key Stage 4 cohorts", GRADUATE: "Graduate cohorts" };

  const ui = {
    form: $("#search-form"), q: $("#q"), kind: $("#kind"), tier: $("#tier"),
    status: $("#status"), message: $("#message"), tiers: $("#tiers"), tierList: $("#tier-list"),
    sections: { dataset: $("#datasets"), package: $("#packages"), variable: $("#variables") },
    lists: { dataset: $("#dataset-list"), package: $("#package-list"), variable: $("#variable-list") },
  };

  let items = [];

  function tierTag(tier) {
    return tier ? el("span", { class: `tag tier-${tier.id}` }, tier.label) : null;
  }

  function datasetItem(d) {
    const tiers = [...new Set(d.variables.filter((v) => v.tier).map((v) => v.tier.id))];
    const card = el("article", { class: "card" },
      el("h3", {}, d.title),
      el("p", {}, d.published
        ? el("span", { class: "tag kind" }, "Published as disclosure-controlled tables")
        : el("span", { class: "tag warn" }, "Source data: never released")),
      el("p", {}, d.description),
      el("p", { class: "meta" }, `Id: ${d.id}`,
        d.cohortType ? `. ${COHORTS[d.cohortType]}` : "",
        `. Built from: ${d.sources.join(", ")}. ${d.variables.length} variables.`));
    const text = [d.id, d.title, d.description, d.sources.join(" "), d.published ? "published" : "source"];
    return { type: "dataset", tiers, card, text: text.join(" ").toLowerCase() };
  }

  function packageItem(p) {
    const list = (label, xs) => (xs.length ? el("p", {}, el("strong", {}, `${label}: `), xs.map((x) => x.label).join(", ")) : null);
    const card = el("article", { class: "card" },
      el("h3", {}, p.title),
      el("p", {}, tierTag(p.tier), p.alwaysIncluded ? el("span", { class: "tag kind" }, "In every project") : null),
      el("p", {}, p.description),
      list("Dimensions", p.dimensions), list("Measures", p.measures),
      el("p", { class: "meta" }, `Id: ${p.id}`));
    const text = [p.id, p.title, p.description, p.tier.label, ...p.dimensions.map((d) => `${d.id} ${d.label}`),
      ...p.measures.map((m) => `${m.id} ${m.label}`)];
    return { type: "package", tiers: [p.tier.id], card, text: text.join(" ").toLowerCase() };
  }

  /* One card per variable, listing every dataset it appears in. */
  function variableItems(datasets, packages, dimensions) {
    const categories = Object.fromEntries(dimensions.map((d) => [d.id, d.values.map((v) => v.label)]));
    const byKey = new Map();
    const pkgTitle = Object.fromEntries(packages.map((p) => [p.id, p.title]));
    for (const d of datasets) {
      for (const v of d.variables) {
        const key = [v.kind, v.name, v.definition, v.dataType].join("\u0000");
        if (!byKey.has(key)) byKey.set(key, { v, datasets: [] });
        byKey.get(key).datasets.push(d.title);
      }
    }
    return [...byKey.values()].map(({ v, datasets: ds }) => {
      const cats = v.kind === "DIMENSION" ? categories[v.name] || [] : [];
      const card = el("article", { class: "card" },
        el("h3", {}, v.label, v.label !== v.name ? [" ", el("code", {}, v.name)] : null),
        el("p", {}, el("span", { class: "tag kind" }, KIND_LABELS[v.kind]), tierTag(v.tier),
          v.directIdentifier ? el("span", { class: "tag warn" }, "Direct identifier: identity zone only") : null),
        v.definition ? el("p", {}, v.definition) : null,
        v.kind === "DIMENSION"
          ? el("p", {}, el("strong", {}, "Categories: "),
            cats.length ? cats.join(", ") : "published under their codes (for example CAH subject codes)")
          : null,
        !v.definition && v.kind !== "DIMENSION" ? el("p", {}, "No definition recorded.") : null,
        el("p", { class: "meta" }, `In: ${ds.join("; ")}.`,
          v.package ? ` Data package: ${pkgTitle[v.package] || v.package}.` : "",
          v.dataType ? ` Type: ${v.dataType}.` : ""));
      const text = [v.name, v.label, v.definition || "", KIND_LABELS[v.kind], v.tier ? v.tier.label : "",
        v.package ? pkgTitle[v.package] : "", ds.join(" "), v.directIdentifier ? "direct identifier" : "",
        cats.join(" ")];
      return { type: "variable", tiers: v.tier ? [v.tier.id] : [], card, text: text.join(" ").toLowerCase() };
    });
  }

  function apply() {
    const words = ui.q.value.toLowerCase().split(/\s+/).filter(Boolean);
    const kind = ui.kind.value;
    const tier = ui.tier.value ? Number(ui.tier.value) : null;
    const counts = { dataset: 0, package: 0, variable: 0 };
    const totals = { dataset: 0, package: 0, variable: 0 };
    for (const list of Object.values(ui.lists)) clear(list);
    for (const item of items) {
      totals[item.type] += 1;
      const ok = (kind === "all" || kind === item.type) &&
        (tier === null || item.tiers.includes(tier)) &&
        words.every((w) => item.text.includes(w));
      if (!ok) continue;
      counts[item.type] += 1;
      ui.lists[item.type].append(item.card);
    }
    const names = { dataset: "Datasets", package: "Data packages", variable: "Variables" };
    for (const [type, section] of Object.entries(ui.sections)) {
      section.hidden = counts[type] === 0;
      section.querySelector("h2").textContent = `${names[type]} (${counts[type]} of ${totals[type]})`;
    }
    const n = counts.dataset + counts.package + counts.variable;
    const what = words.length ? ` matching "${ui.q.value.trim()}"` : "";
    const plural = (k, one, many) => `${k} ${k === 1 ? one : many}`;
    ui.status.textContent = n
      ? `${plural(n, "result", "results")}${what}: ${plural(counts.dataset, "dataset", "datasets")}, ` +
        `${plural(counts.package, "data package", "data packages")}, ${plural(counts.variable, "variable", "variables")}.`
      : `No results${what}. Try fewer or shorter words, or another tier.`;
    const params = new URLSearchParams();
    if (ui.q.value.trim()) params.set("q", ui.q.value.trim());
    if (kind !== "all") params.set("kind", kind);
    if (tier !== null) params.set("tier", String(tier));
    const qs = params.toString();
    history.replaceState(null, "", qs ? `?${qs}` : location.pathname);
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
    const c = data.catalogue;
    for (const t of c.tiers) {
      ui.tier.append(el("option", { value: t.id }, t.label));
      ui.tierList.append(el("div", {}, el("dt", {}, t.label), el("dd", {}, t.description)));
    }
    ui.tierList.append(el("div", {}, el("dt", {}, "Source columns"),
      el("dd", {}, "Columns of the source datasets have no tier: they stay in the identity zone and are never released.")));
    ui.tiers.hidden = false;
    items = [...c.datasets.map(datasetItem), ...c.packages.map(packageItem), ...variableItems(c.datasets, c.packages, c.dimensions)];
    const params = new URLSearchParams(location.search);
    ui.q.value = params.get("q") || "";
    if (["dataset", "package", "variable"].includes(params.get("kind"))) ui.kind.value = params.get("kind");
    if (params.get("tier") && [...ui.tier.options].some((o) => o.value === params.get("tier"))) ui.tier.value = params.get("tier");
    apply();
  }

  ui.form.addEventListener("submit", (e) => { e.preventDefault(); apply(); });
  ui.q.addEventListener("input", apply);
  ui.kind.addEventListener("change", apply);
  ui.tier.addEventListener("change", apply);
  load();
})();
