// YASGUI on /sparql with the catalogue's queries as examples. No request leaves this
// server: the class and property autocompleters (which ask an outside service) are off,
// and nothing is kept in the browser's storage between visits.
//
// The project's prefixes are known to the editor: the examples are shown without their
// PREFIX lines, the editor does not flag them as undeclared, and a query is sent with a
// declaration for each project prefix it does not declare itself, so the endpoint always
// receives a complete query. Results link the project's IRIs to this server's pages,
// literals are shown as their value (datatype or language in a tooltip), and an error
// from the endpoint is shown as its message.
(function () {
  "use strict";
  var examples = JSON.parse(document.getElementById("examples").textContent);
  var prefixes = JSON.parse(document.getElementById("prefixes").textContent);
  var config = document.getElementById("yasgui");
  var ID_BASE = config.getAttribute("data-id-base");
  var Yasqe = Yasgui.Yasqe;
  var Table = Yasgui.Yasr.plugins.table;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // --- prefixes: known to the editor's checker, added to what is sent -----------------
  var sparqlMode = Yasqe.modes.sparql11;
  Yasqe.defineMode("sparql11", function (cmConfig, modeConfig) {
    var mode = sparqlMode(cmConfig, modeConfig);
    var startState = mode.startState;
    mode.startState = function () {
      var state = startState.apply(this, arguments);
      Object.keys(prefixes).forEach(function (p) { state.prefixes[p] = prefixes[p]; });
      return state;
    };
    return mode;
  });

  var added = 0; // PREFIX lines put before the last query sent (to correct error positions)
  function declared(query) {
    var found = {};
    var re = /^[ \t]*PREFIX[ \t]+([A-Za-z][\w.-]*)?:/gim;
    var match;
    while ((match = re.exec(query)) !== null) { found[match[1] || ""] = true; }
    return found;
  }
  function withPrologue(yasqe) {
    var query = yasqe.getValue();
    var have = declared(query);
    var lines = Object.keys(prefixes)
      .filter(function (p) { return !have[p]; })
      .map(function (p) { return "PREFIX " + p + ": <" + prefixes[p] + ">"; });
    added = lines.length;
    return lines.length ? lines.join("\n") + "\n" + query : query;
  }

  // --- results: local links, plain literals ----------------------------------------------
  function shortForm(iri, known) {
    for (var p in known) {
      if (known[p] && iri.indexOf(known[p]) === 0) { return p + ":" + iri.slice(known[p].length); }
    }
    return null;
  }
  function localHref(iri) {
    if (ID_BASE && iri.indexOf(ID_BASE) === 0) {
      return "/id/" + iri.slice(ID_BASE.length).replace(/%/g, "%25").replace(/#/g, "%23").replace(/\?/g, "%3F");
    }
    return null;
  }
  Table.prototype.getUriLinkFromBinding = function (binding, known) {
    var iri = binding.value;
    var shown = shortForm(iri, known);
    var local = localHref(iri);
    var link = "<a class='iri' href='" + escapeHtml(local || iri) + "' title='" + escapeHtml(iri) + "'" +
      (local ? "" : " target='_blank' rel='noopener noreferrer'") + ">" + escapeHtml(shown || iri) + "</a>";
    return shown ? link : "&lt;" + link + "&gt;";
  };
  Table.prototype.formatLiteral = function (binding, known) {
    var value = escapeHtml(binding.value);
    var kind = binding["xml:lang"] ? "language: " + binding["xml:lang"]
      : binding.datatype ? "datatype: " + (shortForm(binding.datatype, known) || binding.datatype) : "";
    return kind ? "<span class='literal' title='" + escapeHtml(kind) + "'>" + value + "</span>" : value;
  };

  // --- errors: the endpoint's message, not its envelope ------------------------------
  function renderError(error) {
    var body = null;
    try { body = JSON.parse(error.text || "").error; } catch (e) { body = null; }
    if (!body || !body.detail) { return Promise.resolve(undefined); }
    var detail = String(body.detail).replace(/error at (\d+):(\d+)/, function (all, line, column) {
      var shifted = parseInt(line, 10) - added;
      return shifted >= 1 ? "error at line " + shifted + ", column " + column : all;
    });
    var box = document.createElement("div");
    box.className = "query-error";
    box.setAttribute("role", "alert");
    var head = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = (body.title || "Error") + " (" + (body.status || error.status) + ")";
    head.appendChild(strong);
    var text = document.createElement("p");
    text.className = "detail";
    text.textContent = detail;
    box.appendChild(head);
    box.appendChild(text);
    return Promise.resolve(box);
  }

  // --- every input of the editor has a name ------------------------------------------
  var NAMES = [
    [".CodeMirror textarea", "SPARQL query"],
    [".tabPanel .tab input, .tabsList input", "Tab name"],
    [".autocompleteWrapper input, .autocomplete input", "SPARQL endpoint"],
    [".dataTables_filter input, .tableFilter", "Filter the results"],
    ["select.tableSizer, .dataTables_length select", "Page size"],
  ];
  function nameInputs() {
    config.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (el) {
      if ((el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) {
        return;
      }
      var name = null;
      NAMES.forEach(function (pair) { if (!name && el.matches(pair[0])) { name = pair[1]; } });
      if (!name) {
        var near = el.closest("label") || (el.parentElement && el.parentElement.querySelector("label"));
        name = el.getAttribute("placeholder") || el.getAttribute("title") ||
          (near && near.textContent.trim()) || (el.type === "checkbox" ? "Option" : "Input");
      }
      el.setAttribute("aria-label", name);
    });
  }
  // YASGUI's tab list holds its "+" button, which a tab list may not hold as a plain button
  // (YASGUI's own arrow keys already walk it as one of the tabs); and CodeMirror's scrolling
  // box must be reachable by keyboard to scroll a long query.
  function repairRoles() {
    config.querySelectorAll("[role=tablist] button.addTab:not([role])").forEach(function (el) {
      el.setAttribute("role", "tab");
      el.setAttribute("aria-selected", "false");
    });
    config.querySelectorAll(".CodeMirror-scroll:not([tabindex=\"0\"])").forEach(function (el) {
      el.setAttribute("tabindex", "0");
    });
  }
  new MutationObserver(function () { nameInputs(); repairRoles(); })
    .observe(config, { childList: true, subtree: true });

  // --- the editor -------------------------------------------------------------------------
  Yasqe.defaults.autocompleters = ["variables", "prefixes"];
  Yasgui.Yasr.defaults.errorRenderers = [renderError]; // each tab's results take these
  var start = examples.filter(function (e) { return e.name === "what_works_for_whom"; })[0] || examples[0];
  var yasgui = new Yasgui(config, {
    requestConfig: {
      endpoint: window.location.origin + "/sparql",
      method: "POST",
      adjustQueryBeforeRequest: withPrologue,
    },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: window.location.origin + "/sparql" }]; } },
    yasqe: { value: start.query },
    yasr: { prefixes: prefixes },
  });
  window.whatworksYasgui = yasgui;
  nameInputs();
  repairRoles();
  var select = document.getElementById("example");
  examples.forEach(function (example) {
    var option = document.createElement("option");
    option.value = example.name;
    option.textContent = example.name.replace(/_/g, " ") + " — " + example.summary;
    if (example === start) { option.selected = true; }
    select.appendChild(option);
  });
  select.addEventListener("change", function () {
    var chosen = examples.filter(function (e) { return e.name === select.value; })[0];
    if (chosen) { yasgui.getTab().getYasqe().setValue(chosen.query); }
  });
  var tab = yasgui.getTab();
  if (tab && tab.getYasqe().getValue() !== start.query) { tab.getYasqe().setValue(start.query); }
}());
