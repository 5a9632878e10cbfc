// ModOps UI behaviour. No inline scripts anywhere (the CSP forbids them): everything is here.
//
// Keyboard, by physical key (KeyboardEvent.code), so a Korean or any other layout works the
// same: letters and digits pick labels (a label's data-codes), commands are never letters or
// digits — Enter submits, "." skips, ";" flags, "/" jumps to the note, "?" opens the
// guidelines, Backspace opens the last answer to change it, Escape leaves the note or closes
// the guidelines. Event delegation survives htmx swaps.
(function () {
  "use strict";

  var PENDING = "modops.pending-answer";

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

  // --- guidelines side panel -----------------------------------------------------------------
  function guide() { return document.getElementById("guide"); }

  function showGuide(open) {
    var g = guide();
    if (!g) { return; }
    g.hidden = !open;
    document.body.classList.toggle("guide-open", open);
    if (open) { markGuide(); }
  }

  function markGuide() {
    var g = guide(), form = workForm();
    if (!g || g.hidden || !form) { return; }
    var picked = form.querySelector('input[name="labels"]:checked');
    var key = picked ? picked.value : null;
    g.querySelectorAll(".guide-entry").forEach(function (entry) {
      var on = entry.getAttribute("data-label") === key;
      entry.classList.toggle("current", on);
      if (on) { entry.scrollIntoView({ block: "nearest" }); }
    });
  }

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (!(t instanceof Element)) { return; }
    if (t.closest("#guide-btn")) { var g = guide(); showGuide(!!g && g.hidden); return; }
    if (t.closest("#guide-close")) { showGuide(false); return; }
    // Clickable list rows: a click anywhere on a row with data-href opens it.
    var row = t.closest("tr[data-href]");
    if (row && !t.closest("a, button, input, label")) {
      window.location.assign(row.getAttribute("data-href"));
    }
  });

  // --- keyboard ------------------------------------------------------------------------------
  function pickLabel(form, code) {
    var labels = form.querySelectorAll("label[data-codes]");
    for (var i = 0; i < labels.length; i++) {
      if (labels[i].getAttribute("data-codes").split(" ").indexOf(code) >= 0) {
        var input = labels[i].querySelector("input");
        if (!input) { return false; }
        if (input.type === "checkbox") { input.checked = !input.checked; } else { input.checked = true; }
        input.dispatchEvent(new Event("change", { bubbles: true }));
        return true;
      }
    }
    return false;
  }

  var COMMANDS = {
    "Enter": function (form) { submitWith(form, document.getElementById("submit-btn") ? "submit-btn" : null); },
    "Period": function (form) { if (document.getElementById("skip-btn")) { submitWith(form, "skip-btn"); } },
    "Semicolon": function (form) { if (document.getElementById("flag-btn")) { submitWith(form, "flag-btn"); } },
    "Backspace": function () {
      var last = document.querySelector("a.undo-last");
      if (last) { last.click(); }
    }
  };

  function onTyping(e) {
    if (e.code === "Escape" || e.key === "Escape") { e.target.blur(); }
  }

  function onNoForm(e) {
    // The start screen: Enter starts.
    if (e.code === "Enter" || e.key === "Enter") {
      var start = document.getElementById("start-btn");
      if (start) { e.preventDefault(); start.click(); }
    }
  }

  function onSlash(e) {
    if (e.shiftKey) { var g = guide(); if (g) { e.preventDefault(); showGuide(g.hidden); } return; }
    var note = document.getElementById("note");
    if (note) { e.preventDefault(); note.focus(); }
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) { return; }
    if (isTyping(e.target)) { onTyping(e); return; }
    var code = e.code || "";
    if (code === "Escape") { showGuide(false); return; }
    if (code === "Slash") { onSlash(e); return; }
    var form = workForm();
    if (!form) { onNoForm(e); return; }
    if (COMMANDS[code] && !e.shiftKey) {
      e.preventDefault();
      COMMANDS[code](form);
      return;
    }
    if (e.shiftKey) { return; }
    if (pickLabel(form, code)) { e.preventDefault(); }
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
    markGuide();
  });

  // --- an answer survives an expired session -------------------------------------------------
  // The answer is kept in sessionStorage as it is sent; the page that confirms it (data-done)
  // drops it. If the session had expired, sign-in brings the labeler back to the labeling page,
  // which sends the kept answer again with the new session's CSRF token.
  var leaving = false;

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form || form.id !== "label-form") { return; }
    leaving = true;
    var fields = [];
    new FormData(form).forEach(function (v, k) { if (k !== "csrf_token") { fields.push([k, String(v)]); } });
    var btn = e.submitter;
    if (btn && btn.name) { fields.push([btn.name, btn.value]); }
    try {
      sessionStorage.setItem(PENDING, JSON.stringify({
        url: form.getAttribute("action"), task: form.getAttribute("data-task-id"), fields: fields
      }));
    } catch (err) { /* storage full or disabled: the plain submit still goes */ }
  }, true);

  function readPending() {
    try { return JSON.parse(sessionStorage.getItem(PENDING) || "null"); } catch (err) { return null; }
  }

  function note(page, key) {
    var el = document.getElementById("pending-note");
    if (el) { el.textContent = page.getAttribute(key); el.hidden = false; }
  }

  function resendPending() {
    var page = document.getElementById("label-page");
    if (!page) { return; }
    var pending = readPending();
    if (!pending) { return; }
    if (page.getAttribute("data-done") === pending.task) { sessionStorage.removeItem(PENDING); return; }
    sessionStorage.removeItem(PENDING); // one attempt: never a loop
    var body = new URLSearchParams();
    body.append("csrf_token", csrfToken());
    pending.fields.forEach(function (f) { body.append(f[0], f[1]); });
    fetch(pending.url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() }
    }).then(function (r) {
      if (r.ok && r.url.indexOf("done=" + pending.task) >= 0) {
        leaving = true;
        window.location.replace(r.url + "&resent=1");
      } else { note(page, "data-pending-failed"); }
    }).catch(function () { note(page, "data-pending-failed"); });
  }

  function confirmResent() {
    var page = document.getElementById("label-page");
    if (page && window.location.search.indexOf("resent=1") >= 0) { note(page, "data-pending-sent"); }
  }

  // --- a task goes back to the queue when the labeler leaves the page -------------------------
  function leaveTask() {
    var work = document.getElementById("work");
    var url = work && work.getAttribute("data-leave-url");
    if (!url || leaving) { return; }
    leaving = true;
    var body = new FormData();
    body.append("csrf_token", csrfToken());
    if (navigator.sendBeacon) { navigator.sendBeacon(url, body); }
  }

  window.addEventListener("pagehide", leaveTask);
  // htmx navigation away (a boosted link) does not unload the page: leave on that too.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    if (elt && elt.closest && elt.closest("#label-form, #work")) { return; }
    leaveTask();
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

  function init() {
    leaving = false;
    startTimer(); focusWork(); confirmResent(); resendPending();
    if (document.body) { document.body.classList.remove("guide-open"); }
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:afterSettle", init);
})();
