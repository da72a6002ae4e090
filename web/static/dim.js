/* The dim look on the pages that stand alone (login, a therapist's link), kept on this
 * phone like the app's own (localStorage "mh.dim"): a [data-dim] button toggles it. */
(function () {
  "use strict";
  var root = document.documentElement;
  try { if (localStorage.getItem("mh.dim")) root.classList.add("dim"); } catch (e) { /* private mode */ }
  document.querySelectorAll("[data-dim]").forEach(function (b) {
    b.setAttribute("aria-pressed", String(root.classList.contains("dim")));
    b.addEventListener("click", function () {
      var on = root.classList.toggle("dim");
      b.setAttribute("aria-pressed", String(on));
      try { localStorage.setItem("mh.dim", on ? "1" : ""); } catch (e) { /* private mode */ }
    });
  });
})();
