// YASGUI on /sparql with the catalogue's queries as examples. No request leaves this
// server: the class and property autocompleters (which ask an outside service) are off,
// and nothing is kept in the browser's storage between visits.
(function () {
  "use strict";
  var examples = JSON.parse(document.getElementById("examples").textContent);
  var prefixes = JSON.parse(document.getElementById("prefixes").textContent);
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "prefixes"];
  var start = examples.filter(function (e) { return e.name === "what_works_for_whom"; })[0] || examples[0];
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: window.location.origin + "/sparql", method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: window.location.origin + "/sparql" }]; } },
    yasqe: { value: start.query, prefixes: prefixes },
  });
  window.whatworksYasgui = yasgui;
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
