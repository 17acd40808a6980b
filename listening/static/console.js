/* The facilitator console: refresh the live panel every few seconds (unless someone is typing
   in it) and count the timer down. Without JavaScript the page has a Refresh link. */
(function () {
  var panel = document.getElementById("live-panel");
  function busy() {
    var a = document.activeElement;
    if (a && panel.contains(a) && a !== document.body) return true;
    var inputs = panel.querySelectorAll("input[type=text]");
    for (var i = 0; i < inputs.length; i++) { if (inputs[i].value) return true; }
    return false;
  }
  function refresh() {
    if (!panel || busy() || !window.fetch) return;
    fetch(panel.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && !busy()) panel.innerHTML = html; }, function () {});
  }
  function countdown() {
    var els = document.querySelectorAll(".countdown");
    for (var i = 0; i < els.length; i++) {
      var left = Math.max(parseInt(els[i].getAttribute("data-seconds"), 10) - 1, 0);
      els[i].setAttribute("data-seconds", left);
      els[i].textContent = Math.floor(left / 60) + ":" + ("0" + (left % 60)).slice(-2);
    }
  }
  if (panel) setInterval(refresh, 3000);
  setInterval(countdown, 1000);
})();
