/* The machine-read checks of the version shown, for the studio: measures with the machine's verdict and the
   reviewer's, an overrule, the sharpness map over the image and a jump to its softest regions, the copy read back
   by OCR, and the brief's checklist with the checks that speak to each item. Polls while the worker measures.
   Builds on window.seedWorkspace (workspace.js); the page carries no checks for client users or guests. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("seed-workspace").textContent);
  var panel = data.checks, ws = window.seedWorkspace, box = document.querySelector(".ws-checks");
  if (!panel || !ws || !box) { return; }
  var list = box.querySelector(".ws-check-list"), status = box.querySelector(".ws-checks-status");
  var checklist = box.querySelector(".ws-checklist"), map = document.querySelector(".ws-map-img");
  var VERDICTS = { pass: "Pass", warn: "Look at this", fail: "Fails", unknown: "Could not measure" };
  var POLL_MS = 1500, MAX_POLLS = 80;
  var state = { version: null, checks: [], pending: false, timer: null, polls: 0, map: null };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function address(template, id) { return template.replace("{id}", id); }
  function percent(share) { return Math.round(share * 100) + " %"; }
  function badge(verdict) { return el("span", { class: "ws-verdict ws-v-" + verdict }, VERDICTS[verdict] || verdict); }

  function load(version) {
    clearTimeout(state.timer);
    state.version = version; state.checks = []; state.pending = null; state.polls = 0; state.map = null;
    map.hidden = true;
    render();
    fetchChecks();
  }
  function fetchChecks() {
    var version = state.version;
    ws.api("GET", address(panel.read, version.id)).then(function (answer) {
      if (state.version !== version) { return; }
      // Rebuilt only when something changed, so a poll never takes the focus from a reviewer's overrule form.
      var changed = JSON.stringify(answer.checks) !== JSON.stringify(state.checks) || answer.pending !== state.pending;
      state.checks = answer.checks; state.pending = answer.pending;
      if (changed) { render(); } else { status.textContent = summary(); }
      if (answer.pending && state.polls < MAX_POLLS) { state.polls += 1; state.timer = setTimeout(fetchChecks, POLL_MS); }
    }).catch(function (e) { status.textContent = e.message; });
  }

  function summary() {
    var counts = {};
    state.checks.forEach(function (check) { counts[check.final_verdict] = (counts[check.final_verdict] || 0) + 1; });
    var parts = ["fail", "warn", "unknown", "pass"].filter(function (v) { return counts[v]; }).map(function (v) {
      return counts[v] + " " + VERDICTS[v].toLowerCase();
    });
    if (state.pending === null) { return "reading the checks…"; }
    if (state.pending) {
      return state.polls >= MAX_POLLS ? "still measuring on the worker: reload the page later" :
        "measuring on the worker…" + (state.checks.length ? " (" + state.checks.length + " in so far)" : "");
    }
    return state.checks.length ? parts.join(" · ") : "no checks recorded for this version";
  }
  function render() {
    status.textContent = summary();
    list.innerHTML = "";
    state.checks.forEach(function (check) { list.appendChild(item(check)); });
    drawChecklist();
  }

  function item(check) {
    var li = el("li", { class: "ws-check", "data-kind": check.kind, "data-verdict": check.final_verdict });
    var head = el("div", { class: "ws-check-head" });
    head.appendChild(badge(check.final_verdict));
    head.appendChild(el("strong", {}, " " + check.label));
    li.appendChild(head);
    if (check.detail) { li.appendChild(el("p", {}, check.detail)); }
    var measure = measureLine(check);
    if (measure) { li.appendChild(el("p", { class: "ws-measure" }, measure)); }
    if (check.overruled_verdict) {
      li.appendChild(el("p", { class: "ws-overruled" }, "Overruled by " + check.overruled_by + ": " +
        VERDICTS[check.overruled_verdict] + " (the machine said " + VERDICTS[check.verdict].toLowerCase() + "). " +
        check.overrule_reason));
    }
    var tools = el("div", { class: "ws-check-tools" });
    if (check.artefact) { tools.appendChild(mapButton(check)); }
    regions(check).forEach(function (region) { tools.appendChild(region); });
    if (tools.childNodes.length) { li.appendChild(tools); }
    if (panel.can_overrule && check.verdict !== "unknown") { li.appendChild(overruleForm(check)); }
    return li;
  }
  function measureLine(check) {
    var m = check.measure || {};
    if (check.kind === "copy") {
      return m.read ? "Read: “" + m.read + "” · " + percent(m.similarity) + " alike · confidence " + percent(m.confidence) :
        "Read: nothing legible";
    }
    if (check.kind === "sharpness" && m.tiles) {
      return "Soft area " + percent(m.soft_share || 0) + " of the image · " + m.tiles[0] + "×" + m.tiles[1] + " tiles";
    }
    return Object.keys(m).filter(function (key) { return typeof m[key] !== "object"; }).map(function (key) {
      return key.replace(/_/g, " ") + ": " + m[key];
    }).join(" · ");
  }
  function mapButton(check) {
    var button = el("button", { type: "button", "data-act": "map", "aria-pressed": String(state.map === check.id) },
      "Show the map");
    button.addEventListener("click", function () {
      state.map = state.map === check.id ? null : check.id;
      map.src = check.artefact; map.hidden = state.map === null;
      button.setAttribute("aria-pressed", String(state.map !== null));
    });
    return button;
  }
  /* The loupe's jumps: the softest regions of the sharpness map, or where the copy was read. */
  function regions(check) {
    var m = check.measure || {}, boxes = [];
    if (check.kind === "sharpness") {
      boxes = (m.softest || []).map(function (b, i) { return { box: b, text: "Soft region " + (i + 1) + " (" + percent(b.relative) + ")" }; });
    } else if (check.kind === "copy" && m.box) {
      boxes = [{ box: { x: m.box[0], y: m.box[1], w: m.box[2], h: m.box[3] }, text: "Where it reads" }];
    }
    return boxes.map(function (entry) {
      var button = el("button", { type: "button", "data-act": "region", title: "Zoom the full image there" }, entry.text);
      button.addEventListener("click", function () { ws.zoomToBox(entry.box); });
      return button;
    });
  }
  function overruleForm(check) {
    var details = el("details", { class: "ws-overrule" });
    details.appendChild(el("summary", {}, check.overruled_verdict ? "Change your verdict" : "Overrule"));
    var form = el("form");
    var pick = el("select", { "aria-label": "Your verdict on " + check.label });
    [["pass", "Pass"], ["warn", "Look at this"], ["fail", "Fails"], ["", "Back to the machine's"]].forEach(function (o) {
      var option = el("option", { value: o[0] }, o[1]);
      if (o[0] === (check.overruled_verdict || (check.verdict === "pass" ? "warn" : "pass"))) { option.selected = true; }
      pick.appendChild(option);
    });
    var reason = el("input", { type: "text", maxlength: "2000", "aria-label": "Why", placeholder: "why" });
    form.appendChild(pick); form.appendChild(reason); form.appendChild(el("button", { type: "submit" }, "Save"));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ws.api("POST", address(panel.overrule, check.id), { verdict: pick.value, reason: reason.value }).then(function (saved) {
        state.checks = state.checks.map(function (c) { return c.id === saved.id ? saved : c; });
        render();
        ws.say(saved.overruled_verdict ? "check overruled: " + VERDICTS[saved.overruled_verdict].toLowerCase() : "machine's verdict restored");
      }).catch(function (e) { ws.say(e.message, true); });
    });
    details.appendChild(form);
    return details;
  }

  function drawChecklist() {
    if (!checklist) { return; }
    var version = state.version, ticks = panel.ticks[version.id] || {};
    checklist.innerHTML = "";
    panel.checklist.forEach(function (entry) {
      var li = el("li"), label = el("label");
      var box = el("input", { type: "checkbox" });
      box.checked = Boolean(ticks[entry.id]); box.disabled = !panel.can_tick;
      box.addEventListener("change", function () { tick(version, entry, box); });
      label.appendChild(box); label.appendChild(document.createTextNode(" " + entry.label));
      li.appendChild(label);
      var spoken = state.checks.filter(function (check) { return entry.kinds.indexOf(check.kind) >= 0; });
      spoken.forEach(function (check) {
        var hint = el("span", { class: "ws-suggest" }, " machine: ");
        hint.appendChild(badge(check.final_verdict));
        hint.appendChild(document.createTextNode(" " + check.label));
        li.appendChild(hint);
      });
      if (!spoken.length && entry.kinds.length) { li.appendChild(el("span", { class: "ws-suggest" }, state.pending ? " machine: measuring…" : " machine: not measured")); }
      checklist.appendChild(li);
    });
  }
  function tick(version, entry, box) {
    ws.api("POST", address(panel.tick, version.id), { item: entry.id, checked: box.checked }).then(function (answer) {
      (panel.ticks[version.id] = panel.ticks[version.id] || {})[entry.id] = answer.checked;
      ws.say((answer.checked ? "ticked: " : "unticked: ") + entry.label);
    }).catch(function (e) { box.checked = !box.checked; ws.say(e.message, true); });
  }

  document.addEventListener("ws:show", function (event) { load(event.detail); });
  load(ws.current());
}());
