// The media panel of the label and review screens (issue 18, docs/media.md). Media under
// moderation is shown blurred and grey by default (the project's wellness settings); Shift+B
// unblurs it for this item, and the unblur is written to the audit log first. Video keys:
// space play/pause, J/L -/+5 s, "," / "." one frame back/forward. Every text from the item
// (OCR, file names, match evidence) is inserted as text, never as HTML.
(function () {
  "use strict";
  var FRAME = 1 / 30;

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined && text !== null) { n.textContent = String(text); }
    return n;
  }

  function fmt(t) {
    var s = Math.max(0, t || 0), m = Math.floor(s / 60);
    return m + ":" + ("0" + Math.floor(s % 60)).slice(-2) + "." + Math.floor((s % 1) * 10);
  }

  function render(panel, data) {
    var files = data.files || [];
    if (!files.length) { return; }
    var w = data.wellness || {};
    panel.style.setProperty("--media-blur", (w.blur_px === undefined ? 24 : w.blur_px) + "px");
    panel.style.setProperty("--media-grey", w.greyscale === false ? "0" : "1");
    panel.hidden = false;
    var wrap = panel.querySelector(".media-files");
    files.forEach(function (f) {
      var box = el("figure", "media-file");
      if (f.state !== "ready") {
        box.appendChild(el("p", "media-error", (f.filename || "") + " — " + (f.error || f.state)));
        wrap.appendChild(box);
        return;
      }
      var node;
      if (f.kind === "video") {
        node = el("video", "media-view blurred");
        node.muted = true; node.preload = "metadata"; node.controls = true; node.autoplay = false;
      } else {
        node = el("img", "media-view blurred");
        node.alt = f.filename || "";
      }
      node.src = f.url;
      box.appendChild(node);
      if (f.kind === "video") {
        var time = el("output", "media-time", "0:00.0");
        node.addEventListener("timeupdate", function () { time.textContent = fmt(node.currentTime); });
        box.appendChild(time);
        var strip = el("div", "keyframes");
        (f.keyframes || []).forEach(function (k) {
          var b = el("button", "keyframe");
          b.type = "button";
          b.title = fmt(k.t);
          var img = el("img", "blurred");
          img.src = k.url; img.alt = fmt(k.t);
          b.appendChild(img);
          b.appendChild(el("span", "", fmt(k.t)));
          b.addEventListener("click", function () { node.currentTime = k.t; });
          strip.appendChild(b);
        });
        box.appendChild(strip);
      }
      if (f.ocr_text) {
        var ocr = el("details", "media-ocr");
        ocr.open = true;
        ocr.appendChild(el("summary", "", panel.dataset.ocrLabel));
        var pre = el("pre", "content", f.ocr_text);
        pre.dir = "auto";
        ocr.appendChild(pre);
        box.appendChild(ocr);
      }
      wrap.appendChild(box);
    });
    var matches = data.matches || [];
    if (matches.length) {
      var list = el("ul", "media-matches");
      matches.forEach(function (m) {
        list.appendChild(el("li", "", m.bank + " v" + m.bank_version + " · " + m.signal_type +
          " · " + m.distance + " · " + m.policy_label + " (" + m.action + ")"));
      });
      var h = el("h4", "", panel.dataset.matchesLabel);
      panel.appendChild(h);
      panel.appendChild(list);
    }
  }

  function unblur(panel) {
    if (panel.dataset.unblurred === "1") { return; }
    fetch("/api/v1/items/" + panel.dataset.itemId + "/media/unblur", {
      method: "POST", credentials: "same-origin",
      headers: {"X-CSRF-Token": csrfToken(), "Content-Type": "application/json"}, body: "{}"
    }).then(function (r) {
      if (!r.ok) { return; }
      panel.dataset.unblurred = "1";
      panel.querySelectorAll(".blurred").forEach(function (n) { n.classList.remove("blurred"); });
      panel.classList.add("unblurred");
    });
  }

  function labelKeys() {
    var keys = {};
    document.querySelectorAll("[data-shortcut]").forEach(function (n) {
      keys[(n.getAttribute("data-shortcut") || "").toLowerCase()] = true;
    });
    return keys;
  }

  function init() {
    var panel = document.getElementById("media-panel");
    if (!panel || panel.dataset.ready === "1") { return; }
    panel.dataset.ready = "1";
    fetch("/api/v1/items/" + panel.dataset.itemId + "/media", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { render(panel, data); } });
  }

  document.addEventListener("keydown", function (e) {
    var panel = document.getElementById("media-panel");
    if (!panel || panel.hidden) { return; }
    var t = e.target, tag = t && t.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || tag === "INPUT" ||
        tag === "TEXTAREA" || tag === "SELECT") { return; }
    if (e.key === "B" && e.shiftKey) {
      e.preventDefault(); e.stopImmediatePropagation(); unblur(panel); return;
    }
    var video = panel.querySelector("video");
    if (!video || labelKeys()[e.key.toLowerCase()]) { return; }
    var handled = true;
    if (e.key === " ") { if (video.paused) { video.play(); } else { video.pause(); } }
    else if (e.key === "j" || e.key === "J") { video.currentTime = Math.max(0, video.currentTime - 5); }
    else if (e.key === "l" || e.key === "L") { video.currentTime = Math.min(video.duration || 1e9, video.currentTime + 5); }
    else if (e.key === ",") { video.pause(); video.currentTime = Math.max(0, video.currentTime - FRAME); }
    else if (e.key === ".") { video.pause(); video.currentTime = video.currentTime + FRAME; }
    else { handled = false; }
    if (handled) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  document.addEventListener("htmx:afterSwap", init);

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
