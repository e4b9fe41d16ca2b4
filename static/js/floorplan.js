// The coordinator's floor plan page: press "Place" beside a room or desk and click on the
// plan, or drag a place that is on it. Either way the position lands in that place's form
// (x and y in percent), which is sent as if typed: the form is the keyboard way, and the
// only way without this script. Loaded only on templates/floorplans/places.html.
(function () {
  "use strict";
  function start() {
    var figure = document.querySelector("[data-placing]");
    if (!figure || figure.dataset.ready) return;
    figure.dataset.ready = "1";
    var image = figure.querySelector("img");
    var status = document.getElementById("placing-status");
    var chosen = null;  // the resource id whose "Place" button is pressed

    function say(text) { if (status) status.textContent = text; }
    function formOf(id) { return document.querySelector("[data-place-form='" + id + "']"); }
    function buttonOf(id) { return document.querySelector("[data-place-button='" + id + "']"); }
    function nameOf(id) {
      var form = formOf(id);
      var heading = form && form.querySelector("h3");
      return heading ? heading.firstChild.textContent.trim() : "";
    }
    function percentAt(event) {
      var box = image.getBoundingClientRect();
      var x = (event.clientX - box.left) / box.width * 100;
      var y = (event.clientY - box.top) / box.height * 100;
      return [Math.min(100, Math.max(0, x)), Math.min(100, Math.max(0, y))];
    }
    function save(id, at) {
      var form = formOf(id);
      if (!form) return;
      form.querySelector("input[name='x']").value = at[0].toFixed(1);
      form.querySelector("input[name='y']").value = at[1].toFixed(1);
      say(figure.dataset.savingText.replace("%s", nameOf(id)));
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
    function choose(id) {
      if (chosen) buttonOf(chosen).setAttribute("aria-pressed", "false");
      chosen = chosen === id ? null : id;
      if (chosen) {
        buttonOf(chosen).setAttribute("aria-pressed", "true");
        say(figure.dataset.chooseText.replace("%s", nameOf(chosen)));
      } else {
        say("");
      }
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-place-button]"), function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        choose(button.dataset.placeButton);
        if (chosen) figure.scrollIntoView({block: "nearest"});
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && chosen) {
        var button = buttonOf(chosen);
        choose(chosen);
        button.focus();
      }
    });
    figure.addEventListener("click", function (event) {
      if (!chosen || event.target.closest("[data-marker]")) return;
      save(chosen, percentAt(event));
    });

    // Dragging a place that is already on the plan.
    var dragging = null;
    figure.addEventListener("pointerdown", function (event) {
      var marker = event.target.closest("[data-marker]");
      if (!marker || event.button !== 0) return;
      event.preventDefault();
      marker.setPointerCapture(event.pointerId);
      dragging = {marker: marker, x: event.clientX, y: event.clientY, moved: false};
      marker.classList.add("is-dragging");
    });
    figure.addEventListener("pointermove", function (event) {
      if (!dragging) return;
      if (Math.abs(event.clientX - dragging.x) + Math.abs(event.clientY - dragging.y) > 3) dragging.moved = true;
      var at = percentAt(event);
      dragging.marker.style.left = at[0] + "%";  // CSSOM, which the CSP allows
      dragging.marker.style.top = at[1] + "%";
    });
    figure.addEventListener("pointerup", function (event) {
      if (!dragging) return;
      var marker = dragging.marker, moved = dragging.moved;
      dragging = null;
      marker.classList.remove("is-dragging");
      if (moved) save(marker.dataset.marker, percentAt(event));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  document.addEventListener("htmx:load", start);
})();
