/* Chorus focus: after a page loads, put keyboard and screen-reader focus where it helps:
   on the list of problems when a form came back with errors, otherwise on the element marked
   data-focus-on-load (the question, when a resident moves to the next one). Pages work without it;
   then the first field in error has `autofocus`. */
(function () {
  "use strict";
  var target = document.getElementById("problems") || document.querySelector("[data-focus-on-load]");
  if (target) { target.focus(); }
})();
