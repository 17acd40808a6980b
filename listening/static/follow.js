/* Phones follow the facilitator: poll the session state (ETag/304, with jitter); when what the
   phone should show changes, load the live page, which sends it to the right place. */
(function () {
  var el = document.getElementById("follow");
  if (!el || !window.fetch) return;
  var screen = el.getAttribute("data-screen");
  var timer = null;
  var notice = document.getElementById("follow-notice");
  // Someone typing or choosing must never lose their words to an automatic reload.
  var dirty = false;
  document.addEventListener("input", function () { dirty = true; });
  document.addEventListener("change", function () { dirty = true; });
  function schedule() {
    clearTimeout(timer);
    // 0.9 to 1.2 s between polls: with the server's 0.5 s state cache a change reaches every
    // phone within 2 s, end to end; a hidden page polls rarely.
    timer = setTimeout(tick, (document.hidden ? 8000 : 900) + Math.random() * 300);
  }
  function tick() {
    fetch(el.getAttribute("data-state"), { cache: "no-cache", credentials: "same-origin" })
      .then(function (r) {
        // 404: this phone may no longer follow the session (it ended, or it withdrew): stop
        // polling and let the live page say why.
        if (r.status === 404) return { screen: "gone" };
        return r.ok ? r.json() : null;
      })
      .then(function (s) {
        if (s && s.screen && s.screen !== screen) {
          if (!(dirty && notice)) { location.assign(el.getAttribute("data-live")); return; }
          if (notice.hidden) { notice.hidden = false; notice.focus(); }
          if (s.screen === "gone") return;
        } else if (s && notice) {
          notice.hidden = true;  // the question was opened again: the answer can be sent
        }
        schedule();
      }, schedule);
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
  schedule();
})();
