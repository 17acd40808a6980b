/* The live console: pace the room from the keyboard or a presentation clicker (which sends
   Page Down / Page Up, and "b" or "." from its blank-screen button). A key presses the console's
   own button, so the same form, token and confirmation rules apply; never while someone types in
   a box. Without JavaScript the buttons work as they are. */
(function () {
  var KEYS = { PageDown: "next", ArrowRight: "next", PageUp: "previous", ArrowLeft: "previous",
               o: "answering", O: "answering", b: "pause", B: "pause", ".": "pause" };
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var name = KEYS[e.key];
    if (!name) return;
    var button = document.querySelector('#controls button[data-key="' + name + '"]');
    if (!button || button.disabled) return;
    e.preventDefault();
    button.click();
  });
})();
