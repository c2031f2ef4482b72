// The soft proof page: screen and proof in one frame (wipe) or side by side, zoomed and panned together.
(function () {
  "use strict";
  var stage = document.querySelector(".pv-stage");
  if (!stage) { return; }
  var width = Number(stage.dataset.width), height = Number(stage.dataset.height);
  var proofImg = stage.querySelector(".pv-proof img"), proofPane = stage.querySelector(".pv-proof");
  var state = { scale: 1, x: 0, y: 0, zoom: "fit", mode: "wipe", single: null, gamut: false, wipe: 50 };
  var $$ = function (selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); };

  function paneBox() { return stage.querySelector(".pv-screen").getBoundingClientRect(); }
  function apply() {
    $$(".pv-canvas").forEach(function (canvas) {
      canvas.style.transform = "translate(" + state.x + "px," + state.y + "px) scale(" + state.scale + ")";
    });
    var clip = "none";
    if (state.single === "screen") { clip = "inset(0 0 0 100%)"; }
    else if (state.mode === "wipe" && state.single === null) { clip = "inset(0 0 0 " + state.wipe + "%)"; }
    proofPane.style.clipPath = clip;
    stage.dataset.mode = state.single ? "wipe" : state.mode;
    $$("[data-mode]").forEach(function (b) { if (b !== stage) { b.setAttribute("aria-pressed", String(!state.single && b.dataset.mode === state.mode)); } });
    document.querySelector("[data-act=gamut]").setAttribute("aria-pressed", String(state.gamut));
    document.querySelector(".pv-showing").textContent = state.single ? "Showing the " + state.single :
      state.mode === "wipe" ? "Screen left of the line, proof right" : "Screen and proof side by side";
  }
  function zoomTo(level, cx, cy) {
    var box = paneBox(), previous = state.scale;
    if (level === "fit") {
      state.scale = Math.min(box.width / width, box.height / height);
      state.x = (box.width - width * state.scale) / 2; state.y = (box.height - height * state.scale) / 2;
    } else {
      // Zoom about a point of the pane (its centre by default): that point of the picture stays put.
      var px = cx === undefined ? box.width / 2 : cx, py = cy === undefined ? box.height / 2 : cy;
      state.scale = Math.max(0.05, Math.min(16, level));
      state.x = px - (px - state.x) * state.scale / previous; state.y = py - (py - state.y) * state.scale / previous;
    }
    state.zoom = level;
    apply();
  }
  function toggle() { state.single = state.single === "proof" ? "screen" : "proof"; apply(); }
  function gamut() { state.gamut = !state.gamut; proofImg.src = state.gamut ? stage.dataset.gamut : stage.dataset.proof; apply(); }
  function mode(name) { state.mode = name; state.single = null; apply(); zoomTo(state.zoom === "fit" ? "fit" : state.scale); }

  $$("button[data-mode]").forEach(function (b) { b.addEventListener("click", function () { mode(b.dataset.mode); }); });
  $$("[data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () { zoomTo(b.dataset.zoom === "fit" ? "fit" : Number(b.dataset.zoom)); });
  });
  document.querySelector("[data-act=toggle]").addEventListener("click", toggle);
  document.querySelector("[data-act=gamut]").addEventListener("click", gamut);
  document.querySelector("[data-act=wipe]").addEventListener("input", function (event) {
    state.wipe = Number(event.target.value); state.single = null; state.mode = "wipe"; apply();
  });
  var drag = null;
  stage.addEventListener("pointerdown", function (event) {
    drag = { x: event.clientX - state.x, y: event.clientY - state.y }; stage.setPointerCapture(event.pointerId);
  });
  stage.addEventListener("pointermove", function (event) {
    if (drag) { state.x = event.clientX - drag.x; state.y = event.clientY - drag.y; state.zoom = state.scale; apply(); }
  });
  stage.addEventListener("pointerup", function () { drag = null; });
  stage.addEventListener("wheel", function (event) {
    event.preventDefault();
    var pane = event.target.closest(".pv-pane") || stage, box = pane.getBoundingClientRect();
    zoomTo(state.scale * (event.deltaY < 0 ? 1.25 : 0.8), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  document.addEventListener("keydown", function (event) {
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) || event.metaKey || event.ctrlKey || event.altKey) { return; }
    var key = event.key.toLowerCase(), handled = true;
    if (key === "p") { toggle(); }
    else if (key === "g") { gamut(); }
    else if (key === "w") { mode(state.mode === "wipe" ? "side" : "wipe"); }
    else if (key === "+" || key === "=") { zoomTo(state.scale * 1.25); }
    else if (key === "-") { zoomTo(state.scale * 0.8); }
    else if (key === "0") { zoomTo("fit"); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });
  new ResizeObserver(function () { if (state.zoom === "fit") { zoomTo("fit"); } }).observe(stage);
  zoomTo("fit");
})();
