/* Chorus: keep a resident's answer on the phone when the network drops, send it when it returns.
 *
 * Progressive enhancement only: without JavaScript the answer form posts as usual. With it, an
 * answer form (a POST form with a one-time `nonce`, on /s/<code>/q/<n>, or a design session's vote
 * or own statement on /s/<code>/q/<n>/vote and /statement) is sent with fetch. If
 * the phone is offline, or the request fails, the form's data is kept in localStorage under its
 * nonce and a translated notice (rendered by the server in #offline-status) says so. When the
 * connection returns (the `online` event, page load, or a retry every 20 seconds) every kept
 * answer is sent again. The server counts a nonce once, so sending the same form twice never
 * stores a duplicate. A kept answer is deleted from the phone as soon as the server has replied, or when
 * the server forgot the participation it belongs to ("forget me", the idle limit: #offline-status's data-forget).
 */
(function () {
  "use strict";
  var KEY = "chorus-outbox";
  var TIMEOUT_MS = 15000;
  var status = document.getElementById("offline-status");
  var flushing = false;

  function load() {
    try { return JSON.parse(window.localStorage.getItem(KEY) || "{}") || {}; } catch (e) { return {}; }
  }

  function store(box) {
    try {
      if (Object.keys(box).length) { window.localStorage.setItem(KEY, JSON.stringify(box)); }
      else { window.localStorage.removeItem(KEY); }
      return true;
    } catch (e) { return false; }
  }

  function say(which) {
    if (!status) { return; }
    var message = status.getAttribute("data-" + which);
    if (message) { status.textContent = message; status.hidden = false; }
  }

  // Not form.action: the answer form has a button named "action", which shadows that property.
  function target(form) {
    return new URL(form.getAttribute("action") || window.location.href, window.location.href).href;
  }

  function isAnswerForm(form) {
    if (!form || (form.getAttribute("method") || "").toLowerCase() !== "post") { return false; }
    if (!form.querySelector("input[name=nonce]")) { return false; }
    // An answer (/q/<n>), a vote on a statement (/q/<n>/vote) or a resident's own statement (/q/<n>/statement).
    return /\/s\/[^\/]+\/q\/\d+(\/(vote|statement))?$/.test(new URL(target(form)).pathname);
  }

  function encode(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    return new URLSearchParams(data).toString();
  }

  function send(entry) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    return window.fetch(entry.url, {
      method: "POST", body: entry.body, credentials: "same-origin", redirect: "follow",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      signal: controller ? controller.signal : undefined
    }).finally(function () { if (timer) { window.clearTimeout(timer); } });
  }

  function keep(form, body) {
    var box = load();
    var nonce = form.querySelector("input[name=nonce]").value;
    box[nonce] = { url: target(form), body: body, page: window.location.pathname, at: Date.now() };
    if (store(box)) { say("saved"); } else { say("failed"); }
  }

  function flush() {
    if (flushing || !navigator.onLine) { return; }
    var box = load();
    var nonces = Object.keys(box);
    if (!nonces.length) { return; }
    flushing = true;
    var next = null;
    var failedHere = false;
    var chain = Promise.resolve();
    nonces.forEach(function (nonce) {
      chain = chain.then(function () {
        var entry = box[nonce];
        return send(entry).then(function (response) {
          if (response.status === 429 || response.status >= 500) { return; } // keep it, try later
          var left = load();
          delete left[nonce];
          store(left);
          if (entry.page === window.location.pathname) {
            if (response.redirected) { next = response.url; } else { failedHere = true; }
          }
        });
      });
    });
    chain.catch(function () { /* still offline: keep everything for the next try */ }).then(function () {
      flushing = false;
      if (Object.keys(load()).length) { return; }
      if (failedHere) { say("failed"); return; }
      say("sent");
      if (next) { window.location.assign(next); }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!isAnswerForm(form) || form.getAttribute("data-native") === "1" || !window.fetch) { return; }
    event.preventDefault();
    var submitter = event.submitter || null;
    var body = encode(form, submitter);
    if (!navigator.onLine) { keep(form, body); return; }
    send({ url: target(form), body: body }).then(function (response) {
      if (response.redirected) { window.location.assign(response.url); return; }
      // A page with errors: post the same form natively so the server's page shows (no change twice).
      form.setAttribute("data-native", "1");
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    }, function () { keep(form, body); });
  });

  // The server forgot a participation (the resident asked, or it sat idle too long): what this browser still keeps
  // to send for it can never be stored, and on a shared device the next person could read it. "*": every session.
  function forget() {
    var codes = status ? (status.getAttribute("data-forget") || "").split(" ").filter(Boolean) : [];
    if (!codes.length) { return; }
    var box = load();
    Object.keys(box).forEach(function (nonce) {
      var path = new URL(box[nonce].url, window.location.href).pathname;
      if (codes.indexOf("*") !== -1 || codes.some(function (code) { return path.indexOf("/s/" + code + "/") === 0; })) {
        delete box[nonce];
      }
    });
    store(box);
  }

  forget();
  window.addEventListener("online", flush);
  window.setInterval(flush, 20000);
  flush();
}());
