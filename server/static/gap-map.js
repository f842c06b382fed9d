// Arrow keys move between the gap map's bubbles (Tab and Enter work without this).
(function () {
  "use strict";
  var svg = document.getElementById("gap-svg");
  if (!svg) { return; }
  var bubbles = Array.prototype.slice.call(svg.querySelectorAll("a.bubble"));
  function at(el) { return [Number(el.dataset.row), Number(el.dataset.col)]; }
  svg.addEventListener("keydown", function (event) {
    var moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    var move = moves[event.key];
    var current = document.activeElement;
    if (!move || bubbles.indexOf(current) < 0) { return; }
    var here = at(current), best = null, bestScore = Infinity;
    bubbles.forEach(function (other) {
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
