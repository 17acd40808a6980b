/* The console's wall queue: approve (A) or keep off the projector (H) the first waiting answer
   without leaving the keyboard, and send the queue's buttons without reloading the page. Without
   JavaScript the same buttons post a form and the page comes back. */
(function () {
  var panel = document.getElementById("live-panel");
  if (!panel || !window.fetch || !window.FormData) return;
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.appendChild(status);

  function changed() {
    // Tells live-panel.js that any refresh already on its way is out of date.
    panel.setAttribute("data-changes", String((parseInt(panel.getAttribute("data-changes"), 10) || 0) + 1));
  }
  function refresh() {
    changed();
    var changes = panel.getAttribute("data-changes");
    return fetch(panel.getAttribute("data-src"), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null && panel.getAttribute("data-changes") === changes) panel.innerHTML = html;
      });
  }
  function send(form, button) {
    var data = new FormData(form);
    data.append(button.name, button.value);
    button.disabled = true;
    changed();
    // form.action would be the buttons named "action", not the form's address.
    return fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Chorus-Console": "1" }
    }).then(function (r) {
      if (!r.ok) { window.location.reload(); return; }
      status.textContent = button.textContent.replace(/\s+[AH]$/, "").trim();
      if (document.activeElement && panel.contains(document.activeElement)) document.activeElement.blur();
      return refresh();
    }, function () { button.disabled = false; });
  }
  panel.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest(".wall-decision button") : null;
    if (!button) return;
    e.preventDefault();
    send(button.form, button);
  });
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var key = (e.key || "").toLowerCase();
    if (key !== "a" && key !== "h") return;
    var button = panel.querySelector('.wall-queue button[data-key="' + key + '"]');
    if (!button || button.disabled) return;
    e.preventDefault();
    send(button.form, button);
  });
})();
