/* Shared helpers for the LEO pages: a GraphQL client of POST /graphql (the same API every
   analyst uses), safe DOM building (text only, never HTML strings), number and date
   formats, CSV and downloads, and inline SVG. No framework, no build step. */
"use strict";

const LEO = (() => {
  class ApiError extends Error {
    constructor(code, message, retryAfter) {
      super(message);
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  /* One GraphQL request. Any error in the answer is thrown as an ApiError carrying the
     API's code (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT, RATE_LIMITED, ...). */
  async function gql(query, variables, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    let response;
    try {
      response = await fetch("/graphql", {
        method: "POST", headers, credentials: "omit", cache: "no-store",
        body: JSON.stringify({ query, variables: variables || {} }),
      });
    } catch (err) {
      throw new ApiError("NETWORK", "The server could not be reached. Check the connection and try again.");
    }
    let body = null;
    try { body = await response.json(); } catch (err) { body = null; }
    if (!body) {
      throw new ApiError("INTERNAL", `The server answered with HTTP ${response.status} and no readable body.`);
    }
    if (body.errors && body.errors.length) {
      const e = body.errors[0];
      const code = (e.extensions && e.extensions.code) || "INTERNAL";
      throw new ApiError(code, e.message, response.headers.get("Retry-After"));
    }
    return body.data;
  }

  /* el("p", {class: "x"}, "text", child) -- attributes are set as attributes, children
     as text nodes or elements; nothing is ever parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      node.setAttribute(k, v === true ? "" : String(v));
    }
  }

  function append(node, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  const $ = (sel) => document.querySelector(sel);

  const NUMBER = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 0 });
  const PERCENT = new Intl.NumberFormat("en-GB", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

  /* A value as the table shows it: pounds and people to the unit with thousands
     separators, percentages to one decimal place. The unit is in the column heading. */
  function formatValue(value, unit) {
    if (value === null || value === undefined) return "";
    return unit === "percent" ? PERCENT.format(value) : NUMBER.format(value);
  }

  function unitSuffix(unit) {
    return unit === "GBP" ? " (£)" : unit === "percent" ? " (%)" : "";
  }

  const LONG_DATE = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const MONTH = new Intl.DateTimeFormat("en-GB", { month: "long", year: "numeric", timeZone: "UTC" });

  /* "2024-03-01" -> "1 March 2024" */
  function longDate(iso) {
    return LONG_DATE.format(new Date(iso + "T00:00:00Z"));
  }

  /* "2025-10" -> "October 2025" */
  function monthName(ym) {
    return MONTH.format(new Date(ym + "-01T00:00:00Z"));
  }

  function csvField(text) {
    const s = String(text === null || text === undefined ? "" : text);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  /* RFC 4180: CRLF line ends; a byte-order mark so spreadsheet programs read UTF-8 (£). */
  function csv(rows) {
    return "\ufeff" + rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
  }

  function download(filename, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const a = el("a", { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  /* Show an error or notice in the page's alert region (a heading line and details). */
  function showMessage(region, title, detail, kind) {
    clear(region);
    region.className = "message" + (kind === "info" ? " info" : "");
    region.append(el("p", {}, el("strong", {}, title), detail || ""));
    region.hidden = false;
  }

  function hideMessage(region) {
    clear(region);
    region.hidden = true;
  }

  /* A friendly line for any API error. */
  function describeError(err) {
    switch (err.code) {
      case "NETWORK": return ["Could not reach the server", err.message];
      case "RATE_LIMITED":
        return ["Too many requests", `Please wait ${err.retryAfter || "a few"} seconds and try again.`];
      case "INTERNAL": return ["Something went wrong on the server", err.message];
      default: return ["The request could not be answered", err.message];
    }
  }

  return {
    ApiError, gql, el, svg, clear, append, $, formatValue, unitSuffix, longDate, monthName,
    csv, download, showMessage, hideMessage, describeError,
  };
})();
