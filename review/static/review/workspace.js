/* The review workspace: zoom and pan, a loupe, compare with the previous round, markup, notes and decisions.
   Plain JavaScript over the project's own API (session auth, CSRF header); no network beyond this site. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("seed-workspace").textContent);
  var root = document.getElementById("ws");
  var $ = function (selector, scope) { return (scope || root).querySelector(selector); };
  var $$ = function (selector, scope) { return Array.prototype.slice.call((scope || root).querySelectorAll(selector)); };
  var csrf = (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
  var state = { index: 0, zoom: "fit", scale: 1, x: 0, y: 0, compare: false, compareWith: null, mode: "side", amount: 50,
                loupe: false, tool: null, shapes: [], drawing: null };

  function api(method, url, body) {
    return fetch(url, { method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(csrf) },
      body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          if (!response.ok) { throw new Error(json.message || ("HTTP " + response.status)); }
          return json;
        });
      });
  }
  /* A guest signs what they write with their name; staff are known by their login. */
  function signed(body) {
    if (data.guest) { body.guest_name = ($("#ws-guest-name") || {}).value || ""; }
    return body;
  }
  function say(text, bad) { var status = $(".ws-status"); status.textContent = text; status.style.color = bad ? "#ba2121" : "#2b7a0b"; }
  function current() { return data.versions[state.index]; }
  // What compare shows beside the current version: the reviewer's pick, else its previous-round counterpart.
  function target() {
    var picked = state.compareWith && data.others.filter(function (other) { return other.id === state.compareWith; })[0];
    return picked && picked.id !== current().id ? picked : current().before;
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  /* Versions strip */
  data.versions.forEach(function (version, index) {
    var button = el("button", { type: "button", "data-index": index, title: version.label });
    button.appendChild(el("img", { src: version.preview, alt: version.label, loading: "lazy" }));
    button.appendChild(el("span", {}, version.label + " · " + version.result));
    button.addEventListener("click", function () { show(index); });
    $(".ws-strip").appendChild(button);
  });

  /* Zoom and pan: both panes share one transform, so compare stays in sync. */
  function fitScale(version, pane) {
    return Math.min(pane.clientWidth / version.width, pane.clientHeight / version.height);
  }
  function layout() {
    var version = current(), pane = $(".ws-current");
    var fit = fitScale(version, pane);
    state.scale = state.zoom === "fit" ? fit : Number(state.zoom);
    if (state.zoom === "fit") {
      state.x = (pane.clientWidth - version.width * fit) / 2;
      state.y = (pane.clientHeight - version.height * fit) / 2;
    }
    $$(".ws-canvas").forEach(function (canvas) {
      canvas.style.width = version.width + "px";
      canvas.style.height = version.height + "px";
      canvas.style.transform = "translate(" + state.x + "px," + state.y + "px) scale(" + state.scale + ")";
    });
    var sharp = state.scale > fit * 1.01;
    $(".ws-current img").src = sharp ? version.full : version.preview;
    var other = target();
    if (other) { $(".ws-before img").src = sharp ? other.full : other.preview; }
    applyCompare();
    drawMarkup();
  }
  function zoomTo(level) {
    var pane = $(".ws-current"), previous = state.scale;
    state.zoom = level;
    if (level !== "fit") {
      var scale = Number(level), cx = pane.clientWidth / 2, cy = pane.clientHeight / 2;
      state.x = cx - (cx - state.x) * scale / previous;
      state.y = cy - (cy - state.y) * scale / previous;
    }
    $$("[data-zoom]").forEach(function (button) { button.setAttribute("aria-pressed", String(button.dataset.zoom === String(level))); });
    layout();
  }
  $$(".ws-pane").forEach(function (pane) {
    var drag = null;
    pane.addEventListener("pointerdown", function (event) {
      if (state.tool && pane.classList.contains("ws-current")) { return; }
      drag = { x: event.clientX - state.x, y: event.clientY - state.y };
      pane.setPointerCapture(event.pointerId);
    });
    pane.addEventListener("pointermove", function (event) {
      if (drag && state.zoom !== "fit") { state.x = event.clientX - drag.x; state.y = event.clientY - drag.y; layout(); }
      if (state.loupe && pane.classList.contains("ws-current")) { loupeAt(event); }
    });
    pane.addEventListener("pointerup", function () { drag = null; });
  });

  /* Loupe: full resolution at twice its pixels, following the pointer. */
  function loupeAt(event) {
    var loupe = $(".ws-loupe"), pane = $(".ws-current"), box = pane.getBoundingClientRect(), version = current();
    var px = (event.clientX - box.left - state.x) / state.scale, py = (event.clientY - box.top - state.y) / state.scale;
    loupe.hidden = px < 0 || py < 0 || px > version.width || py > version.height;
    loupe.style.left = (event.clientX - box.left - 90) + "px";
    loupe.style.top = (event.clientY - box.top - 90) + "px";
    loupe.style.backgroundImage = "url(" + version.full + ")";
    loupe.style.backgroundSize = (version.width * 2) + "px " + (version.height * 2) + "px";
    loupe.style.backgroundPosition = (90 - px * 2) + "px " + (90 - py * 2) + "px";
  }
  function toggleLoupe() {
    state.loupe = !state.loupe;
    $("[data-act=loupe]").setAttribute("aria-pressed", String(state.loupe));
    if (!state.loupe) { $(".ws-loupe").hidden = true; }
  }

  /* Compare: side by side, a wipe, or an onion-skin overlay of the previous round's counterpart. */
  function applyCompare() {
    var other = target(), before = $(".ws-before"), overlay = $(".ws-overlay-img"), img = $(".ws-current .ws-canvas > img");
    var on = state.compare && other;
    before.hidden = !(on && state.mode === "side");
    overlay.hidden = !(on && state.mode !== "side");
    img.style.clipPath = "";
    overlay.style.opacity = "";
    if (on) {
      $(".ws-before .ws-caption").textContent = (other === current().before ? "previous round: " : "compared with: ") + other.label;
      overlay.src = $(".ws-before img").src || other.preview;
      if (state.mode === "wipe") { overlay.style.clipPath = "inset(0 0 0 " + state.amount + "%)"; }
      if (state.mode === "onion") { overlay.style.clipPath = ""; overlay.style.opacity = String(state.amount / 100); }
    }
    $("[data-act=compare]").setAttribute("aria-pressed", String(Boolean(on)));
  }
  $("[data-act=compare]").addEventListener("click", function () {
    if (!target()) { say("nothing to compare: no counterpart in the previous round; pick a version to compare with", true); return; }
    state.compare = !state.compare; layout();
  });
  data.others.forEach(function (other) { $("[data-act=compare-with]").appendChild(el("option", { value: other.id }, other.label)); });
  $("[data-act=compare-with]").addEventListener("change", function (event) {
    state.compareWith = Number(event.target.value) || null;
    state.compare = Boolean(target());
    layout(); drawDiff();
  });
  $("[data-act=compare-mode]").addEventListener("change", function (event) { state.mode = event.target.value; layout(); });
  $("[data-act=compare-amount]").addEventListener("input", function (event) { state.amount = Number(event.target.value); applyCompare(); });

  /* Markup: shapes in 0..1 image coordinates, drawn into the SVG overlay. */
  var svgNS = "http://www.w3.org/2000/svg";
  // Strokes, pins, labels and arrowheads keep their size on screen whatever the zoom and the image's own size.
  function px(pixels) { return pixels / state.scale; }
  function shapeNode(shape, greyed) {
    var version = current(), w = version.width, h = version.height, colour = greyed ? "#9A9AA0" : (shape.colour || "#FF2C54");
    var p = shape.points.map(function (point) { return [point[0] * w, point[1] * h]; }), node;
    var width = px(2.5);
    if (shape.type === "pin") {
      node = document.createElementNS(svgNS, "circle");
      node.setAttribute("cx", p[0][0]); node.setAttribute("cy", p[0][1]); node.setAttribute("r", px(7));
      node.setAttribute("fill", colour);
      return node;
    }
    if (shape.type === "text") {
      node = document.createElementNS(svgNS, "text");
      node.setAttribute("x", p[0][0]); node.setAttribute("y", p[0][1]); node.setAttribute("fill", colour);
      node.setAttribute("font-size", px(15)); node.textContent = shape.text;
      return node;
    }
    if (shape.type === "rect") {
      node = document.createElementNS(svgNS, "rect");
      node.setAttribute("x", Math.min(p[0][0], p[1][0])); node.setAttribute("y", Math.min(p[0][1], p[1][1]));
      node.setAttribute("width", Math.abs(p[1][0] - p[0][0])); node.setAttribute("height", Math.abs(p[1][1] - p[0][1]));
    } else if (shape.type === "ellipse") {
      node = document.createElementNS(svgNS, "ellipse");
      node.setAttribute("cx", (p[0][0] + p[1][0]) / 2); node.setAttribute("cy", (p[0][1] + p[1][1]) / 2);
      node.setAttribute("rx", Math.abs(p[1][0] - p[0][0]) / 2); node.setAttribute("ry", Math.abs(p[1][1] - p[0][1]) / 2);
    } else if (shape.type === "arrow") {
      node = document.createElementNS(svgNS, "line");
      node.setAttribute("x1", p[0][0]); node.setAttribute("y1", p[0][1]); node.setAttribute("x2", p[1][0]); node.setAttribute("y2", p[1][1]);
      node.setAttribute("marker-end", greyed ? "url(#ws-arrow-grey)" : "url(#ws-arrow)");
    } else {
      node = document.createElementNS(svgNS, "polyline");
      node.setAttribute("points", p.map(function (point) { return point.join(","); }).join(" "));
    }
    node.setAttribute("stroke", colour); node.setAttribute("stroke-width", width); node.setAttribute("fill", "none");
    if (greyed) { node.setAttribute("stroke-dasharray", px(6) + " " + px(4)); }
    return node;
  }
  function drawMarkup() {
    var svg = $(".ws-draw"), version = current();
    svg.setAttribute("viewBox", "0 0 " + version.width + " " + version.height);
    var head = px(14);
    svg.innerHTML = "<defs>" + [["ws-arrow", "#FF2C54"], ["ws-arrow-grey", "#9A9AA0"]].map(function (marker) {
      return '<marker id="' + marker[0] + '" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="' + head +
        '" markerHeight="' + head + '" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="' + marker[1] + '"/></marker>';
    }).join("") + "</defs>";
    (state.carried || []).forEach(function (note) {
      var group = document.createElementNS(svgNS, "g"); group.setAttribute("class", "greyed");
      note.markup.forEach(function (shape) { group.appendChild(shapeNode(shape, true)); });
      svg.appendChild(group);
    });
    (state.notes || []).forEach(function (note) {
      if (note.version === version.id) { note.markup.forEach(function (shape) { svg.appendChild(shapeNode(shape, Boolean(note.resolved_at))); }); }
    });
    state.shapes.concat(state.drawing ? [state.drawing] : []).forEach(function (shape) { svg.appendChild(shapeNode(shape, false)); });
  }
  function imagePoint(event) {
    var box = $(".ws-current").getBoundingClientRect(), version = current();
    var x = (event.clientX - box.left - state.x) / state.scale / version.width;
    var y = (event.clientY - box.top - state.y) / state.scale / version.height;
    return [Math.min(1, Math.max(0, Number(x.toFixed(5)))), Math.min(1, Math.max(0, Number(y.toFixed(5))))];
  }
  $$("[data-tool]").forEach(function (button) {
    button.addEventListener("click", function () {
      state.tool = state.tool === button.dataset.tool ? null : button.dataset.tool;
      $$("[data-tool]").forEach(function (other) { other.setAttribute("aria-pressed", String(other.dataset.tool === state.tool)); });
    });
  });
  var pane = $(".ws-current");
  pane.addEventListener("pointerdown", function (event) {
    if (!state.tool) { return; }
    var point = imagePoint(event);
    if (state.tool === "pin") { state.shapes.push({ type: "pin", points: [point] }); drawMarkup(); return; }
    if (state.tool === "text") {
      var label = window.prompt("Label text");
      if (label) { state.shapes.push({ type: "text", points: [point], text: label.slice(0, 200) }); drawMarkup(); }
      return;
    }
    // No text selection or native image drag may start under the pen: either would cancel the pointer stream.
    event.preventDefault();
    state.drawing = { type: state.tool, points: [point, point] };
    pane.setPointerCapture(event.pointerId);
  });
  pane.addEventListener("pointermove", function (event) {
    if (!state.drawing) { return; }
    var point = imagePoint(event);
    if (state.drawing.type === "freehand") {
      if (state.drawing.points.length < 1000) { state.drawing.points.push(point); }
    } else { state.drawing.points[1] = point; }
    drawMarkup();
  });
  function finishShape() {
    if (!state.drawing) { return; }
    var shape = state.drawing;
    state.drawing = null;
    if (shape.type === "freehand" && shape.points.length > 2) { shape.points.splice(0, 1); }
    state.shapes.push(shape);
    drawMarkup();
  }
  pane.addEventListener("pointerup", finishShape);
  pane.addEventListener("pointercancel", finishShape);
  pane.addEventListener("lostpointercapture", finishShape);
  if ($("[data-act=clear-markup]")) $("[data-act=clear-markup]").addEventListener("click", function () { state.shapes = []; drawMarkup(); });

  /* Notes: threads with replies, resolve and reopen; carried notes from ancestors, greyed. */
  function noteItem(note, carried) {
    var item = el("li", { class: note.resolved_at ? "resolved" : "", "data-note": note.id });
    // A note carried from an ancestor says first whether this version addressed it.
    if (carried) { item.appendChild(el("em", {}, "v" + note.version + ", " + (note.state === "open" ? "still open" : note.state) + " — ")); }
    item.appendChild(el("strong", {}, note.author + (note.internal ? " (internal)" : "") + ": "));
    item.appendChild(document.createTextNode(note.text + (note.markup.length ? " [" + note.markup.length + " shape(s)]" : "")));
    var replies = el("ol");
    (note.replies || []).forEach(function (reply) { replies.appendChild(el("li", {}, reply.author + ": " + reply.text)); });
    item.appendChild(replies);
    var reply = el("button", { type: "button", "data-act": "reply" }, "Reply");
    reply.addEventListener("click", function () {
      var text = window.prompt("Reply");
      if (text) { api("POST", data.api.note + note.id + "/replies/", signed({ text: text })).then(loadNotes).catch(function (e) { say(e.message, true); }); }
    });
    item.appendChild(reply);
    if (!carried && note.state && note.state !== "open") { item.appendChild(el("em", {}, " — " + note.state)); }
    if (data.guest) { return item; }
    var toggle = el("button", { type: "button", "data-act": note.resolved_at ? "reopen" : "resolve" }, note.resolved_at ? "Reopen" : "Resolve");
    toggle.addEventListener("click", function () {
      api("POST", data.api.note + note.id + (note.resolved_at ? "/reopen/" : "/resolve/")).then(loadNotes).catch(function (e) { say(e.message, true); });
    });
    item.appendChild(document.createTextNode(" ")); item.appendChild(toggle);
    var area = note.markup.some(function (shape) { return ["rect", "ellipse", "freehand"].indexOf(shape.type) >= 0; });
    if (root.dataset.canFix === "1" && area && !note.resolved_at && !note.fixed_by) {
      var fix = el("button", { type: "button", "data-act": "fix" }, "Fix this region");
      fix.addEventListener("click", function () {
        var prompt = window.prompt("What should the region show?", note.text);
        if (prompt === null) { return; }
        api("POST", data.api.note + note.id + "/fix/", { prompt: prompt })
          .then(function () { say("inpaint queued: its outputs join the next round once one is kept"); return loadNotes(); })
          .catch(function (e) { say(e.message, true); });
      });
      item.appendChild(document.createTextNode(" ")); item.appendChild(fix);
    }
    return item;
  }
  function loadNotes() {
    var version = current();
    return Promise.all([api("GET", data.api.notes), api("GET", data.api.versions + version.id + "/open-notes/")]).then(function (both) {
      state.notes = both[0];
      state.carried = both[1].filter(function (note) { return note.version !== version.id; });
      var list = $(".ws-notes"), carried = $(".ws-carried");
      list.innerHTML = ""; carried.innerHTML = "";
      state.notes.filter(function (note) { return note.version === version.id; }).forEach(function (note) { list.appendChild(noteItem(note)); });
      state.carried.forEach(function (note) { carried.appendChild(noteItem(note, true)); });
      drawMarkup();
    });
  }
  if ($(".ws-note-form")) $(".ws-note-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("#ws-note-text").value.trim(), internal = $(".ws-internal");
    if (!text) { say("write the note first", true); return; }
    api("POST", data.api.notes, signed({ version: current().id, text: text, markup: state.shapes, internal: Boolean(internal && internal.checked) }))
      .then(function () { $("#ws-note-text").value = ""; state.shapes = []; say("note added"); return loadNotes(); })
      .catch(function (e) { say(e.message, true); });
  });

  /* Stars, triage and decisions. */
  function drawStars() {
    var box = $(".ws-stars");
    if (!box) { return; }
    box.innerHTML = "";
    for (var n = 1; n <= 5; n += 1) {
      var star = el("button", { type: "button", "data-stars": n, "aria-pressed": String(n <= current().stars), "aria-label": n + " star(s)" }, "★");
      star.addEventListener("click", function (event) { rate(Number(event.currentTarget.dataset.stars)); });
      box.appendChild(star);
    }
  }
  function studioOnly() { say("stars and triage are kept by the studio", true); }
  function rate(stars) {
    if (data.guest) { studioOnly(); return; }
    var version = current();
    api("POST", data.api.versions + version.id + "/rating/", { stars: stars })
      .then(function () { version.stars = stars; drawStars(); say(stars ? stars + " star(s)" : "stars cleared"); })
      .catch(function (e) { say(e.message, true); });
  }
  function triage(value) {
    if (data.guest) { studioOnly(); return; }
    var version = current();
    api("POST", data.api.triage, { versions: [version.id], triage: value })
      .then(function () { version.triage = value; say("triaged: " + value.replace("_", " ")); })
      .catch(function (e) { say(e.message, true); });
  }
  function decide(verdict) {
    var comment = "";
    if (verdict === "changes_requested") {
      comment = window.prompt("What should change?");
      if (comment === null) { return; }
    }
    if (root.dataset.canDecide !== "1") { say("you cannot decide here", true); return; }
    var version = current();
    api("POST", data.api.decisions, signed({ version: version.id, verdict: verdict, comment: comment }))
      .then(function () { version.mine = verdict.replace(/_/g, " "); caption(); say(verdict.replace(/_/g, " ") + ": recorded"); })
      .catch(function (e) { say(e.message, true); });
  }
  $$("[data-triage]").forEach(function (button) { button.addEventListener("click", function () { triage(button.dataset.triage); }); });
  $$("[data-verdict]").forEach(function (button) { button.addEventListener("click", function () { decide(button.dataset.verdict); }); });
  if (root.dataset.canTriage !== "1") { $$("[data-triage]").forEach(function (button) { button.disabled = true; }); }
  if (root.dataset.canDecide !== "1") { $$("[data-verdict]").forEach(function (button) { button.disabled = true; }); }

  /* Recipe diff against the counterpart. */
  function drawDiff() {
    var table = $(".ws-diff"), version = current(), other = target();
    if (!table) { return; }
    table.innerHTML = "";
    if (!other) { table.appendChild(el("caption", {}, "no counterpart in the previous round")); return; }
    table.appendChild(el("caption", {}, "v" + version.id + " against " + other.label));
    api("GET", data.api.versions + other.id + "/diff/" + version.id + "/").then(function (rows) {
      if (current() !== version) { return; }
      if (!rows.length) { table.appendChild(el("tr", {}, "same recipe")); }
      rows.forEach(function (row) {
        var tr = el("tr");
        tr.appendChild(el("th", {}, row.field));
        tr.appendChild(el("td", {}, JSON.stringify(row.before)));
        tr.appendChild(el("td", {}, JSON.stringify(row.after)));
        table.appendChild(tr);
      });
    }).catch(function (e) { say(e.message, true); });
  }

  function caption() {
    var version = current();
    $(".ws-current .ws-caption").textContent = version.label + " · " + version.width + "×" + version.height + " · " + version.result +
      (version.mine ? " · you: " + version.mine : "");
    var views = $(".ws-views");
    if (views) {
      views.textContent = "";
      (version.views || []).forEach(function (view) { views.appendChild(el("a", { href: view.url }, view.label)); views.appendChild(document.createTextNode(" ")); });
    }
  }
  function show(index) {
    state.index = Math.max(0, Math.min(data.versions.length - 1, index));
    state.shapes = []; state.zoom = "fit";
    $$(".ws-strip button").forEach(function (button) { button.setAttribute("aria-current", String(Number(button.dataset.index) === state.index)); });
    caption();
    drawStars(); drawDiff(); zoomTo("fit"); loadNotes().catch(function (e) { say(e.message, true); });
    document.dispatchEvent(new CustomEvent("ws:show", { detail: current() }));
  }
  /* Zoom so a region (shares of the image) fills most of the pane, centred: where a check points the reviewer. */
  function zoomToBox(box) {
    var version = current(), pane = $(".ws-current");
    var scale = Math.min(pane.clientWidth / (box.w * version.width), pane.clientHeight / (box.h * version.height)) * 0.8;
    scale = Math.max(fitScale(version, pane), Math.min(8, scale));
    state.zoom = scale;
    state.x = pane.clientWidth / 2 - (box.x + box.w / 2) * version.width * scale;
    state.y = pane.clientHeight / 2 - (box.y + box.h / 2) * version.height * scale;
    $$("[data-zoom]").forEach(function (button) { button.setAttribute("aria-pressed", "false"); });
    layout();
  }
  // What review/static/review/checks.js builds on: the version shown, and a zoom to the region a check names.
  window.seedWorkspace = { current: current, zoomToBox: zoomToBox, say: say, api: api };

  $$("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () { zoomTo(button.dataset.zoom === "fit" ? "fit" : Number(button.dataset.zoom)); });
  });
  $("[data-act=loupe]").addEventListener("click", toggleLoupe);
  $("[data-act=help]").addEventListener("click", function () { $(".ws-help").showModal(); });
  // The panes change size with the window, the side panel and the compare layout: keep the fit fitted.
  new ResizeObserver(function () { layout(); }).observe($(".ws-stage"));
  document.addEventListener("keydown", function (event) {
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName) || event.metaKey || event.ctrlKey || event.altKey) { return; }
    var key = event.key, handled = true;
    if (key >= "0" && key <= "5") { rate(Number(key)); }
    else if (key === "p" || key === "P") { triage("keep"); }
    else if (key === "x" || key === "X") { triage("reject"); }
    else if (key === "r" || key === "R") { triage("regenerate"); }
    else if (key === "m" || key === "M") { triage("maybe_later"); }
    else if (key === "ArrowRight") { show(state.index + 1); }
    else if (key === "ArrowLeft") { show(state.index - 1); }
    else if (key === " " || key === "l" || key === "L") { toggleLoupe(); }
    else if (key === "C" && event.shiftKey) { decide("changes_requested"); }
    else if (key === "c") { $("[data-act=compare]").click(); }
    else if (key === "a" || key === "A") { decide("approve"); }
    else if (key === "?") { $(".ws-help").showModal(); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });
  show(0);
}());
