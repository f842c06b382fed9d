// The gap map without reloading: arrow keys move between bubbles, and a type row expands to
// its interventions in the picture, the narrow-screen stack and the table at once. Without
// this script everything still works: Tab and Enter reach the bubbles, and expanding reloads
// the page.
(function () {
  "use strict";
  var svg = document.getElementById("gap-svg");
  if (!svg) { return; }
  var top = Number(svg.dataset.top), size = Number(svg.dataset.size);
  var expanded = new Set((new URL(window.location.href).searchParams.get("expand") || "")
    .split(",").filter(function (t) { return t; }));
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function shown(row) { return row.getAttribute("display") !== "none"; }
  function bubbles() {
    return all("#gap-svg g.map-row").filter(shown).reduce(function (out, row) {
      return out.concat(Array.prototype.slice.call(row.querySelectorAll("a.bubble")));
    }, []);
  }
  function at(el) { return [Number(el.dataset.row), Number(el.dataset.col)]; }
  function listWith(type, open) {
    var next = new Set(expanded);
    if (open) { next.add(type); } else { next.delete(type); }
    return Array.from(next).sort().join(",");
  }
  function withExpand(href, value) {
    var url = new URL(href, window.location.href);
    if (value) { url.searchParams.set("expand", value); } else { url.searchParams.delete("expand"); }
    return url.pathname + url.search + url.hash;
  }
  function layout() {
    var index = 0;
    all("#gap-svg g.map-row").forEach(function (row) {
      if (!shown(row)) { return; }
      row.setAttribute("transform", "translate(0 " + (top + index * size) + ")");
      row.querySelectorAll("a.bubble").forEach(function (b) { b.dataset.row = index; });
      index += 1;
    });
    var height = top + index * size + 10;
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + svg.getAttribute("width") + " " + height);
  }
  function sync() {
    var value = Array.from(expanded).sort().join(",");
    all("main a[href^='/gap-map?']").forEach(function (a) {
      var type = a.dataset.type;
      var v = type ? listWith(type, !expanded.has(type)) : value;
      a.setAttribute("href", withExpand(a.getAttribute("href"), v));
    });
    all("button.expander, button.stack-expander").forEach(function (b) {
      b.value = listWith(b.dataset.type, !expanded.has(b.dataset.type));
    });
    all("form.filters input[name=expand]").forEach(function (i) { i.value = value; });
    window.history.replaceState(null, "", withExpand(window.location.href, value));
  }
  function toggle(type) {
    var open = !expanded.has(type);
    if (open) { expanded.add(type); } else { expanded.delete(type); }
    all("tr.sub-row[data-parent='" + type + "'], #gap-stack .sub[data-parent='" + type + "']")
      .forEach(function (r) { r.hidden = !open; });
    all("#gap-svg g.map-row.sub[data-parent='" + type + "']").forEach(function (g) {
      if (open) { g.removeAttribute("display"); } else { g.setAttribute("display", "none"); }
    });
    all("[data-type='" + type + "'][aria-expanded]").forEach(function (el) {
      el.setAttribute("aria-expanded", open ? "true" : "false");
      var chevron = el.querySelector(".chevron");
      if (chevron) { chevron.textContent = open ? "\u25BE" : "\u25B8"; }
    });
    layout();
    sync();
  }
  document.addEventListener("click", function (event) {
    var control = event.target.closest("button.expander, button.stack-expander, #gap-svg a.toggle");
    if (!control) { return; }
    var type = control.dataset.type;
    // A large base sends the rows of the expanded types only: let the link or button load them.
    if (!expanded.has(type) && !document.querySelector("tr.sub-row[data-parent='" + type + "']")) {
      return;
    }
    event.preventDefault();
    toggle(type);
  });
  svg.addEventListener("keydown", function (event) {
    var current = document.activeElement;
    if (event.key === " " && current.matches("a.toggle")) {
      event.preventDefault();
      if (!expanded.has(current.dataset.type) &&
          !document.querySelector("tr.sub-row[data-parent='" + current.dataset.type + "']")) {
        current.click();
        return;
      }
      toggle(current.dataset.type);
      return;
    }
    var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    var move = moves[event.key];
    var candidates = bubbles();
    if (!move || candidates.indexOf(current) < 0) { return; }
    var here = at(current), best = null, bestScore = Infinity;
    candidates.forEach(function (other) {
      var there = at(other);
      var dr = there[0] - here[0], dc = there[1] - here[1];
      var along = move[0] ? dr * move[0] : dc * move[1];
      if (along <= 0) { return; }
      var across = move[0] ? Math.abs(dc) : Math.abs(dr);
      var score = along + 3 * across;
      if (score < bestScore) { best = other; bestScore = score; }
    });
    if (best) { best.focus(); event.preventDefault(); }
  });
  var selected = document.getElementById("cell");
  if (selected && window.location.hash === "#cell") { selected.focus(); }
}());
