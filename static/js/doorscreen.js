// The door screen's poll: ask with the shown state's ETag, so an unchanged room costs a 304
// (kept as it is, see the page's htmx-config); say so while the network is away.
(function () {
  "use strict";
  function offline(on) {
    var note = document.getElementById("door-offline");
    if (note) note.hidden = !on;
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var element = event.detail.elt;
    if (element.id === "door-state" && event.detail.verb === "get" && element.dataset.etag) {
      event.detail.headers["If-None-Match"] = element.dataset.etag;
    }
  });
  // A network error or a server error keeps the last state on the screen (no swap).
  document.addEventListener("htmx:sendError", function () { offline(true); });
  document.addEventListener("htmx:responseError", function () { offline(true); });
  document.addEventListener("htmx:afterRequest", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status && status < 500) offline(false);
  });
})();
