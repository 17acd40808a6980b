/* The projector: go full screen on a double click or the F key. Refreshing what the room sees
   and the timer are live-panel.js's, shared with the console. */
(function () {
  function fullscreen() {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen();
    }
  }
  document.addEventListener("dblclick", fullscreen);
  document.addEventListener("keydown", function (e) { if (e.key === "f" || e.key === "F") fullscreen(); });
})();
