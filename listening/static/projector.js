/* The projector: refresh what the room sees every two seconds, count the timer down, and go
   full screen on a double click or the F key. */
(function () {
  var main = document.getElementById("projector");
  var last = null;
  function refresh() {
    if (!window.fetch) return;
    fetch(main.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null && html !== last) { last = html; main.innerHTML = html; }
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
  function fullscreen() {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen();
    }
  }
  document.addEventListener("dblclick", fullscreen);
  document.addEventListener("keydown", function (e) { if (e.key === "f" || e.key === "F") fullscreen(); });
  setInterval(refresh, 2000);
  setInterval(countdown, 1000);
})();
