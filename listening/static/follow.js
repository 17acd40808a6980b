/* Phones follow the facilitator: poll the session state (ETag/304, with jitter); when what the
   phone should show changes, load the live page, which sends it to the right place. */
(function () {
  var el = document.getElementById("follow");
  if (!el || !window.fetch) return;
  var screen = el.getAttribute("data-screen");
  var timer = null;
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(tick, (document.hidden ? 8000 : 1500) + Math.random() * 1000);
  }
  function tick() {
    fetch(el.getAttribute("data-state"), { cache: "no-cache", credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.screen && s.screen !== screen) { location.assign(el.getAttribute("data-live")); }
        else { schedule(); }
      }, schedule);
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) tick(); });
  schedule();
})();
