/* The live console and the projector share this: refresh the page's live panel (the element with
   data-src and data-every) every data-every milliseconds, never while someone is typing in it and
   never with the same HTML twice (telling the page with a "chorus:panel" event), and count the
   room's timer down. Without JavaScript both pages
   have a Refresh link. */
(function () {
  var panel = document.querySelector("[data-src][data-every]");
  var last = null;
  function busy() {
    var a = document.activeElement;
    if (a && panel.contains(a) && a !== document.body) return true;
    var inputs = panel.querySelectorAll("input[type=text]");
    for (var i = 0; i < inputs.length; i++) { if (inputs[i].value) return true; }
    return false;
  }
  function refresh() {
    if (!panel || busy() || !window.fetch) return;
    // A decision sent from the console (moderation.js) bumps data-changes: a refresh that began
    // before it carries the old queue and must not overwrite the newer panel.
    var changes = panel.getAttribute("data-changes");
    fetch(panel.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null && html !== last && !busy() && panel.getAttribute("data-changes") === changes) {
          last = html;
          panel.innerHTML = html;
          // The projector lays the new content out to fit its screen (projector.js).
          if (window.CustomEvent) panel.dispatchEvent(new CustomEvent("chorus:panel"));
        }
      }, function () {});
  }
  function countdown() {
    var els = document.querySelectorAll(".countdown");
    for (var i = 0; i < els.length; i++) {
      var left = Math.max(parseInt(els[i].getAttribute("data-seconds"), 10) - 1, 0);
      els[i].setAttribute("data-seconds", left);
      els[i].textContent = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
    }
  }
  if (panel) setInterval(refresh, parseInt(panel.getAttribute("data-every"), 10) || 3000);
  setInterval(countdown, 1000);
})();
