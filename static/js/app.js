// Small behaviours htmx does not give us: focus and announcements after a swap.
// No inline script anywhere (our CSP forbids it); this file is the only glue.
(function () {
  "use strict";
  // Folding parts (the phone menu, the grid's filters) fold only when this script runs:
  // without it everything stays open and usable.
  document.documentElement.classList.add("js");
  function announce(text) {
    var region = document.getElementById("flashes");
    if (region && text) {
      var p = document.createElement("p");
      p.className = "flash flash-info";
      p.textContent = text;
      region.replaceChildren(p);
    }
  }
  // A boosted link or form (hx-boost) is a page load: a refused login (401), a
  // forbidden page (403) or a refused form (422) is still a whole page to show,
  // not an error to drop. Fragment requests keep the htmx-config rules.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.boosted && event.detail.xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    // hx-swap="outerHTML" replaced the target: look inside its successor, not the old node.
    if (!target.isConnected && target.id) target = document.getElementById(target.id) || target;
    // A refused form: move focus to its error summary so it is read out.
    var summary = target.querySelector(".error-summary");
    var focusTarget = summary || target.querySelector("[data-autofocus]");
    // A new page (boosted): start reading and tabbing from its main content.
    if (!focusTarget && event.detail.boosted) focusTarget = document.getElementById("main");
    if (focusTarget) {
      if (!focusTarget.hasAttribute("tabindex")) focusTarget.setAttribute("tabindex", "-1");
      focusTarget.focus();
    }
    var message = target.querySelector("[data-announce]");
    if (message) announce(message.getAttribute("data-announce"));
  });
  document.addEventListener("htmx:responseError", function (event) {
    announce(document.documentElement.lang === "en"
      ? "Something went wrong. Nothing was saved."
      : "Något gick fel. Inget sparades.");
  });
  // A button with data-toggle opens and closes the element its aria-controls names.
  function setOpen(button, open) {
    var target = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (target) target.classList.toggle("is-open", open);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-toggle]");
    if (button) setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });
  // Escape closes what is open around the focus and puts the focus back on its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelectorAll("[data-toggle][aria-expanded='true']");
    Array.prototype.forEach.call(open, function (button) {
      var target = document.getElementById(button.getAttribute("aria-controls"));
      if (target && (target.contains(document.activeElement) || button === document.activeElement)) {
        setOpen(button, false);
        button.focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) return;
    // Selected either way, so Ctrl+C works where the clipboard API is not offered.
    field.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(field.value).then(function () {
        announce(button.getAttribute("data-copied-text"));
      });
    }
  });
})();
