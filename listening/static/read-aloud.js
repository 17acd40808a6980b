/* Chorus read aloud: shows the "read aloud" buttons only where the browser can speak, and reads
   the consent statement or the question in the page's language. Pages work without it. */
(function () {
  "use strict";
  var synth = window.speechSynthesis;
  if (!synth || !window.SpeechSynthesisUtterance) { return; }

  function textOf(ids) {
    /* The visible words of the named elements, without buttons or decoration. */
    return ids.split(/\s+/).map(function (id) {
      var element = document.getElementById(id);
      if (!element) { return ""; }
      var copy = element.cloneNode(true);
      copy.querySelectorAll("button, [aria-hidden=true], .read-aloud").forEach(function (n) { n.remove(); });
      return copy.textContent;
    }).join(". ").replace(/\s+/g, " ").trim();
  }

  function setLabel(button, label) {
    /* Swap the button's words between "read" and "stop". */
    button.querySelector(".read-label").textContent = label;
  }

  document.querySelectorAll("[data-read]").forEach(function (button) {
    var readLabel = button.querySelector(".read-label").textContent;
    var stopLabel = button.getAttribute("data-stop");
    button.addEventListener("click", function () {
      if (button.hasAttribute("data-speaking")) {
        synth.cancel();
        return;
      }
      synth.cancel();
      var utterance = new window.SpeechSynthesisUtterance(textOf(button.getAttribute("data-read")));
      utterance.lang = document.documentElement.lang;
      utterance.onend = utterance.onerror = function () {
        button.removeAttribute("data-speaking");
        setLabel(button, readLabel);
      };
      button.setAttribute("data-speaking", "");
      setLabel(button, stopLabel);
      synth.speak(utterance);
    });
    button.parentNode.hidden = false;
  });
  window.addEventListener("pagehide", function () { synth.cancel(); });
})();
