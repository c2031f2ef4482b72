/* The version page's lineage picture: drawn at its own size, scrolled or dragged along, zoomed like the review
   workspace. Fit never goes below READABLE, so labels of a long chain stay legible and the rest scrolls. */
(function () {
  "use strict";
  var READABLE = 0.8;
  // The admin loads form media in the page head, before the picture exists.
  document.addEventListener("DOMContentLoaded", function () { document.querySelectorAll(".seed-lineage-view").forEach(setUp); });
  function setUp(view) {
    var pane = view.querySelector(".seed-lineage-pane"), svg = pane.querySelector("svg");
    var width = Number(svg.getAttribute("width")), height = Number(svg.getAttribute("height"));
    function zoom(level) {
      var scale = level === "fit" ? Math.max(READABLE, Math.min(1, (pane.clientWidth - 8) / width)) : Number(level);
      svg.setAttribute("width", Math.round(width * scale));
      svg.setAttribute("height", Math.round(height * scale));
      view.querySelectorAll("[data-zoom]").forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.zoom === String(level)));
      });
    }
    view.querySelectorAll("[data-zoom]").forEach(function (button) {
      button.addEventListener("click", function () { zoom(button.dataset.zoom === "fit" ? "fit" : Number(button.dataset.zoom)); });
    });
    var drag = null;
    pane.addEventListener("pointerdown", function (event) {
      if (event.target.closest("a")) { return; }
      drag = { x: event.clientX + pane.scrollLeft, y: event.clientY + pane.scrollTop };
    });
    window.addEventListener("pointermove", function (event) {
      if (drag) { pane.scrollLeft = drag.x - event.clientX; pane.scrollTop = drag.y - event.clientY; }
    });
    window.addEventListener("pointerup", function () { drag = null; });
    // The version this page is about is drawn rightmost: start there.
    pane.scrollLeft = pane.scrollWidth;
  }
}());
