// Mounts GraphiQL (vendored under /static/graphiql/) against this server's /graphql.
// Put your token in the Headers tab: {"Authorization": "Bearer leo_pat_..."}.
(function () {
  "use strict";
  function fetcher(params, opts) {
    var headers = Object.assign(
      { "Content-Type": "application/json", Accept: "application/json" },
      (opts && opts.headers) || {}
    );
    return fetch("/graphql", {
      method: "POST",
      headers: headers,
      body: JSON.stringify(params),
    }).then(function (r) {
      return r.json();
    });
  }
  var defaultQuery = [
    "# The public part of the API needs no token:",
    "{",
    "  release { id created cohorts { cohortType cohort yearsAfter } }",
    "  catalogue { packages { id title tier { label } } }",
    "}",
    "",
  ].join("\n");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
