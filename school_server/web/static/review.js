// Keyboard for the review grid. The page works without it (plain forms);
// this file is the only script the office's CSP allows (script-src 'self').
// Arrows or h/j/k/l move, Enter opens the photo at 100 %, a approves,
// 1-6 picks a reason and rejects, r focuses the reason list.
(function () {
  "use strict";
  var grid = document.getElementById("grid");
  if (!grid) { return; }
  var csrf = grid.getAttribute("data-csrf");

  function tiles() { return Array.prototype.slice.call(grid.querySelectorAll(".tile:not(.decided)")); }
  function current() { var a = document.activeElement; return a && a.closest ? a.closest(".tile") : null; }
  function columns() {
    var all = tiles(); if (all.length < 2) { return 1; }
    var top = all[0].offsetTop, n = 0;
    while (n < all.length && all[n].offsetTop === top) { n += 1; }
    return Math.max(1, n);
  }
  function move(step) {
    var all = tiles(); if (!all.length) { return; }
    var i = all.indexOf(current());
    var next = all[Math.min(all.length - 1, Math.max(0, i < 0 ? 0 : i + step))];
    next.focus(); next.scrollIntoView({block: "nearest"});
  }
  function decide(tile, decision, reason) {
    var body = new URLSearchParams({csrf: csrf, decision: decision, via: "script"});
    if (reason) { body.set("reason", reason); }
    return fetch(tile.querySelector("form.decide").getAttribute("action"), {
      method: "POST", body: body, credentials: "same-origin"
    }).then(function (reply) {
      if (reply.status !== 204) { tile.classList.add("failed"); return; }
      var all = tiles(), i = all.indexOf(tile);
      tile.classList.add("decided", decision);
      var rest = document.querySelector('#approve-rest input[value="' + tile.getAttribute("data-id") + '"]');
      if (rest) { rest.remove(); }
      var left = tiles();
      if (left.length) { left[Math.min(i, left.length - 1)].focus(); }
    });
  }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "select" || tag === "input" || tag === "textarea") { return; }
    var tile = current(), key = e.key;
    var step = {ArrowRight: 1, l: 1, ArrowLeft: -1, h: -1, ArrowDown: columns(), j: columns(),
                ArrowUp: -columns(), k: -columns()}[key];
    if (step) { e.preventDefault(); move(step); return; }
    if (!tile || tile.classList.contains("decided")) { return; }
    if (key === "Enter" && e.target === tile) { e.preventDefault(); tile.querySelector("a.full").click(); }
    else if (key === "a") { e.preventDefault(); decide(tile, "approved"); }
    else if (key === "r") { e.preventDefault(); tile.querySelector("select[name=reason]").focus(); }
    else if (/^[1-9]$/.test(key)) {
      var option = tile.querySelectorAll("select[name=reason] option")[Number(key)];
      if (option) { e.preventDefault(); decide(tile, "rejected", option.value); }
    }
  });
  var first = tiles()[0]; if (first) { first.focus(); }
}());
