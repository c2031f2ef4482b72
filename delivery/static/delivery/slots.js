// The slots page: delivered files at one file pixel per device pixel, prints at their size in millimetres on a
// screen the reviewer calibrated against a bank card (ISO/IEC 7810 ID-1: 85.6 mm).
(function () {
  "use strict";
  var KEY = "seed.screen.cssPxPerMm", CARD_MM = 85.6, NOMINAL = 96 / 25.4;
  var $$ = function (selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); };
  $$("img[data-device-pixels]").forEach(function (img) {
    img.style.width = (Number(img.getAttribute("width")) / (window.devicePixelRatio || 1)) + "px";
    img.style.height = "auto";
  });
  var slider = document.getElementById("sl-ppmm");
  if (!slider) { return; }
  var stored = Number(window.localStorage.getItem(KEY));
  slider.value = String(stored > 0 ? stored : NOMINAL);
  function apply() {
    var perMm = Number(slider.value);
    document.querySelector(".sl-ruler-bar").style.width = (CARD_MM * perMm) + "px";
    document.querySelector(".sl-ppi").textContent = (perMm * 25.4).toFixed(1) + " CSS px per inch" +
      (window.localStorage.getItem(KEY) ? "" : " (not calibrated yet)");
    $$("img[data-print-mm]").forEach(function (img) { img.style.width = (Number(img.dataset.printMm) * perMm) + "px"; });
  }
  slider.addEventListener("input", function () { window.localStorage.setItem(KEY, slider.value); apply(); });
  apply();
})();
