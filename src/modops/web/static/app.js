// ModOps UI behaviour. No inline scripts anywhere (the CSP forbids them): everything is here.
// Keyboard: a label's shortcut picks it, Enter submits, Shift+S skips, Shift+F flags,
// "/" jumps to the note, Escape leaves the note. Event delegation survives htmx swaps.
(function () {
  "use strict";

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (e) {
    var token = csrfToken();
    if (token) { e.detail.headers["X-CSRF-Token"] = token; }
  });

  function workForm() { return document.querySelector('form[data-keyboard="labels"]'); }

  function isTyping(el) {
    if (!el) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" && el.type !== "radio" && el.type !== "checkbox" && el.type !== "submit" ||
      tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function submitWith(form, buttonId) {
    // Clicking the button (rather than requestSubmit) is what a mouse user does: the browser
    // and htmx both see which button submitted, so skip/flag keep their formnovalidate.
    var btn = buttonId ? document.getElementById(buttonId) : null;
    if (btn) { btn.click(); } else if (typeof form.requestSubmit === "function") { form.requestSubmit(); }
    else { form.submit(); }
  }

  document.addEventListener("keydown", function (e) {
    var form = workForm();
    if (!form || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) { return; }
    var target = e.target;
    if (isTyping(target)) {
      if (e.key === "Escape") { target.blur(); }
      return; // Enter inside the note submits the form natively
    }
    if (e.key === "Enter") {
      e.preventDefault();
      submitWith(form, "submit-btn");
      return;
    }
    if (e.shiftKey && (e.key === "S" || e.key === "F")) {
      var id = e.key === "S" ? "skip-btn" : "flag-btn";
      if (document.getElementById(id)) { e.preventDefault(); submitWith(form, id); }
      return;
    }
    if (e.key === "/") {
      var note = document.getElementById("note");
      if (note) { e.preventDefault(); note.focus(); }
      return;
    }
    if (e.shiftKey) { return; }
    var key = e.key.length === 1 ? e.key.toLowerCase() : null;
    if (!key) { return; }
    var labels = form.querySelectorAll("label[data-shortcut]");
    for (var i = 0; i < labels.length; i++) {
      if (labels[i].getAttribute("data-shortcut").toLowerCase() === key) {
        var input = labels[i].querySelector("input");
        if (input) {
          e.preventDefault();
          if (input.type === "checkbox") { input.checked = !input.checked; } else { input.checked = true; }
          input.dispatchEvent(new Event("change", { bubbles: true }));
        }
        return;
      }
    }
  });

  // Highlight the picked label (CSS :has() does most of it; this keeps older engines right).
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t || t.name !== "labels") { return; }
    var form = t.form;
    if (!form) { return; }
    form.querySelectorAll("label.label-key").forEach(function (l) {
      var inp = l.querySelector("input");
      l.classList.toggle("picked", !!(inp && inp.checked));
    });
  });

  // Lease countdown: from the seconds the server computed, so clock skew does not matter.
  var timerHandle = null;
  function startTimer() {
    if (timerHandle) { clearInterval(timerHandle); timerHandle = null; }
    var el = document.getElementById("lease-timer");
    if (!el) { return; }
    var remaining = parseInt(el.getAttribute("data-remaining"), 10) || 0;
    var started = Date.now();
    function tick() {
      var left = Math.max(0, remaining - Math.floor((Date.now() - started) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      el.textContent = left > 0 ? m + ":" + (s < 10 ? "0" : "") + s : el.getAttribute("data-expired");
      el.classList.toggle("low", left > 0 && left < 60);
      el.classList.toggle("expired", left === 0);
      if (left === 0 && timerHandle) { clearInterval(timerHandle); timerHandle = null; }
    }
    tick();
    timerHandle = setInterval(tick, 1000);
  }

  function focusWork() {
    // Take focus off any button so the next keystroke goes to the shortcuts.
    var work = document.getElementById("work");
    if (work && document.activeElement && document.activeElement !== document.body &&
        !isTyping(document.activeElement)) { document.activeElement.blur(); }
  }

  function init() { startTimer(); focusWork(); }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
