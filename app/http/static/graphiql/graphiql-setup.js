// Mounts GraphiQL on the page that /graphql serves; every script and style comes from
// this server (static/graphiql/), so the page works without internet access.
(function () {
  "use strict";

  var WELCOME = [
    "# Fulfillment API",
    "#",
    "# Put a bearer token in the Headers tab below",
    "# (this browser keeps it):",
    '#   {"Authorization": "Bearer <token>"}',
    "# Demo tokens: .venv/bin/fulfillment demo-tokens",
    "# Run a query with Ctrl-Enter.",
    "",
    "query Viewer {",
    "  viewer { kind name memberships { role customer { name } } }",
    "}",
    "",
  ].join("\n");

  var url = window.location.href.split("?")[0].split("#")[0];
  var fetcher = GraphiQL.createFetcher({ url: url });

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: WELCOME,
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      inputValueDeprecation: true,
    })
  );
})();
