/* Sort and search for tables marked data-sortable. Without JavaScript they are plain
   tables. Each column heading becomes a button that sorts by that column (again: the other
   way); a cell's data-sort, when present, is what it is sorted by (empty: unknown, always
   last). A search box above the table keeps the rows whose text contains what is typed, and
   a status line says how many are shown. */
(function () {
  "use strict";

  function key(cell) {
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    var text = raw.trim().replace(/,/g, "");
    if (text === "" || text === "suppressed") return { empty: true };
    var number = Number(text.replace(/^\+/, ""));
    return isNaN(number) ? { text: text.toLowerCase() } : { number: number };
  }

  function compare(a, b) {
    if (a.empty || b.empty) return a.empty && b.empty ? 0 : a.empty ? 1 : -1;
    if (a.number !== undefined && b.number !== undefined) return a.number - b.number;
    var x = a.text !== undefined ? a.text : String(a.number);
    var y = b.text !== undefined ? b.text : String(b.number);
    return x.localeCompare(y);
  }

  function sortable(table, index) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var headers = table.tHead.rows[0].cells;
    var current = headers[index].getAttribute("aria-sort");
    var descending = current === "ascending";
    rows.sort(function (r, s) {
      var order = compare(key(r.cells[index]), key(s.cells[index]));
      if (descending && !(key(r.cells[index]).empty || key(s.cells[index]).empty)) order = -order;
      return order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    for (var i = 0; i < headers.length; i++) headers[i].removeAttribute("aria-sort");
    headers[index].setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  function search(table, status, text) {
    var wanted = text.trim().toLowerCase();
    var rows = table.tBodies[0].rows;
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var hit = wanted === "" || rows[i].textContent.toLowerCase().indexOf(wanted) !== -1;
      rows[i].hidden = !hit;
      if (hit) shown++;
    }
    status.textContent = shown + " of " + rows.length + " rows shown";
  }

  function enhance(table, number) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      button.addEventListener("click", function () { sortable(table, index); });
      th.textContent = "";
      th.appendChild(button);
    });
    var id = (table.id || "table" + number) + "-search";
    var wrap = document.createElement("p");
    wrap.className = "table-search";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = table.getAttribute("data-search-label") || "Search the table";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.setAttribute("aria-controls", table.id || "");
    var status = document.createElement("span");
    status.className = "table-status";
    status.setAttribute("role", "status");
    input.addEventListener("input", function () { search(table, status, input.value); });
    wrap.appendChild(label);
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(input);
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(status);
    var anchor = table.closest(".scroll") || table;
    anchor.parentNode.insertBefore(wrap, anchor);
    search(table, status, "");
  }

  var tables = document.querySelectorAll("table[data-sortable]");
  for (var i = 0; i < tables.length; i++) enhance(tables[i], i);
})();
