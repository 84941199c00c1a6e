/* okto88: the little the workshop pages do in the browser besides htmx. */
(function () {
  "use strict";
  // The phone menu's ☰ is a label for a hidden checkbox: make it a real button for the keyboard
  // (Enter/Space) and tell screen readers whether the menu is open.
  document.addEventListener("keydown", function (event) {
    var toggle = event.target.closest && event.target.closest(".nav-toggle__button");
    if (toggle && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggle.click();
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.id !== "nav-toggle") { return; }
    var toggle = document.querySelector(".nav-toggle__button");
    if (toggle) { toggle.setAttribute("aria-expanded", event.target.checked ? "true" : "false"); }
  });
  // <select data-autosubmit>: a new choice submits its form (the CSP allows no onchange="…").
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-autosubmit]") && event.target.form) {
      event.target.form.requestSubmit();
    }
  });
  // On a phone the parts' results come first: filters nobody has used yet start folded.
  if (window.matchMedia("(max-width: 47.99rem)").matches) {
    document.querySelectorAll("details.facet:not(.is-selected)").forEach(function (d) { d.open = false; });
  }
  // <button data-copy="text" data-copied="Copied">: copy the text and say so to screen readers too.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var text = button.getAttribute("data-copy");
    var status = document.getElementById(button.getAttribute("aria-describedby") || "");
    function done(ok) {
      if (status) { status.textContent = ok ? button.getAttribute("data-copied") : button.getAttribute("data-copy-failed"); }
      button.classList.toggle("is-copied", ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      var field = document.createElement("textarea");
      field.value = text; field.setAttribute("readonly", ""); field.style.position = "absolute"; field.style.left = "-999px";
      document.body.appendChild(field); field.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(field);
      done(ok);
    }
  });
}());
