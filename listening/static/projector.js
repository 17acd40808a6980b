/* The projector: fit what the room sees to the screen (shrink a little, then page long lists and
   turn the pages with a visible "2 of 3"), and go full screen on a double click or the F key.
   Refreshing the content and the timer are live-panel.js's, shared with the console; it tells
   this script with a "chorus:panel" event. */
(function () {
  var main = document.getElementById("projector");
  var root = document.documentElement;
  root.className += " js";
  var screenKey = null;
  var page = 0;
  var PAGE_SECONDS = 8;
  var MIN_SCALE = 0.5;
  var FEWER_PAGES_SCALE = 0.75;

  function overflowing(el) { return el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1; }
  function pageScrolls() { return overflowing(root) || overflowing(main); }

  // Split a list into pages that fit its box; returns the pages and whether one item alone is too big.
  function paginate(list) {
    var box = list.closest(".question-body") || list.parentNode;
    var pager = box.querySelector(".pager");
    if (pager) { pager.hidden = false; pager.style.visibility = "hidden"; }
    var items = Array.prototype.slice.call(list.children);
    items.forEach(function (item) { item.hidden = true; });
    var pages = [], current = [], tooBig = false;
    items.forEach(function (item) {
      item.hidden = false;
      if (overflowing(box) && current.length) {
        current.forEach(function (shown) { shown.hidden = true; });
        pages.push(current);
        current = [];
      }
      current.push(item);
      if (current.length === 1 && overflowing(box)) tooBig = true;
    });
    if (current.length) pages.push(current);
    return { list: list, pager: pager, pages: pages, tooBig: tooBig };
  }

  var paged = [];
  function show() {
    paged.forEach(function (p) {
      var index = p.pages.length ? page % p.pages.length : 0;
      p.pages.forEach(function (items, i) { items.forEach(function (item) { item.hidden = i !== index; }); });
      if (p.pager) {
        p.pager.style.visibility = p.pages.length > 1 ? "" : "hidden";
        var of = p.pager.getAttribute("data-of") || "{page} / {pages}";
        p.pager.querySelector(".page-of").textContent = of.replace("{page}", index + 1).replace("{pages}", p.pages.length);
      }
    });
  }

  // Lay the screen out at the largest scale (1 down to MIN_SCALE) at which it fits, paging lists as
  // needed; a little smaller text is worth it when it saves pages (down to FEWER_PAGES_SCALE).
  function pagesAt(scale) {
    root.style.setProperty("--scale", scale);
    paged = Array.prototype.map.call(main.querySelectorAll(".pages"), paginate);
    show();
    var count = paged.reduce(function (n, p) { return n + p.pages.length; }, 0);
    return { fits: !pageScrolls() && !paged.some(function (p) { return p.tooBig; }), count: count };
  }
  function layout() {
    var scale = 1, best = null;
    for (;;) {
      var result = pagesAt(scale);
      if (result.fits && (best === null || result.count < best.count)) best = { scale: scale, count: result.count };
      if (result.fits && (result.count <= paged.length || scale <= FEWER_PAGES_SCALE)) break;
      if (scale <= MIN_SCALE) break;
      scale = Math.max(MIN_SCALE, Math.round((scale - 0.07) * 100) / 100);
    }
    if (best !== null && best.scale !== scale) pagesAt(best.scale);
  }

  function settle() {
    var screen = main.querySelector(".screen");
    var key = screen ? screen.getAttribute("data-screen") : null;
    if (key !== screenKey) { screenKey = key; page = 0; }
    layout();
  }

  function turn() {
    if (paged.some(function (p) { return p.pages.length > 1; })) { page += 1; show(); }
  }
  function fullscreen() {
    if (!document.fullscreenElement && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen();
    }
  }
  document.addEventListener("dblclick", fullscreen);
  // A presenter's clicker plugged into the projector's computer sends PageDown / PageUp.
  document.addEventListener("keydown", function (e) {
    if (e.key === "f" || e.key === "F") fullscreen();
    else if (e.key === "PageDown" || e.key === "ArrowRight" || e.key === "ArrowDown") { page += 1; show(); }
    else if (e.key === "PageUp" || e.key === "ArrowLeft" || e.key === "ArrowUp") { page = Math.max(page - 1, 0); show(); }
  });
  var resizing = null;
  window.addEventListener("resize", function () { clearTimeout(resizing); resizing = setTimeout(layout, 150); });
  settle();
  if (document.fonts && document.fonts.ready) document.fonts.ready.then(layout);
  main.addEventListener("chorus:panel", settle);
  setInterval(turn, PAGE_SECONDS * 1000);
})();
