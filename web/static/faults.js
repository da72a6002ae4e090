/* A pad's fault, on every page of the app: what happened in words (a stuck relay's "unplug
 * it" first), and a person's "allow heat again" once they have checked it. The hub keeps the
 * pad off and refuses heat until then; the banner goes when the state's fault is null. */
(function () {
  "use strict";
  var h = MH.h, box = document.getElementById("faults"), shown = "";
  if (!box) return;
  function banner(id, d) {
    var f = d.fault, why = h("p", {class: "fault-refused", "aria-live": "polite"});
    var btn = h("button", {class: "btn", type: "button", "data-clear-fault": id, text: "I've checked it — allow heat again", onclick: function () {
      btn.disabled = true; why.textContent = "";
      MH.api("PUT", "/devices/" + encodeURIComponent(id), {clear_fault: true}, {quiet: true}).then(function () {
        MH.toast(d.name + " may heat again.", true);
      }, function (e) { why.textContent = e.status ? e.message : "The hub does not answer. Try again in a moment."; }).finally(function () { btn.disabled = false; });
    }});
    return h("div", {class: "fault", "data-fault": f.kind, "data-device": id},
      h("strong", {class: "fault-head", text: d.name + " is off and will not heat until it is checked"}),
      // a relay stuck on keeps heating whatever the hub does: only the plug stops it
      f.kind === "stuck_relay" ? h("p", {class: "fault-unplug", text: "Unplug " + d.name + " now."}) : null,
      h("p", {text: f.message}), btn, why);
  }
  MH.onState(function (st) {
    var ids = Object.keys(st.devices || {}).filter(function (k) { return st.devices[k].kind === "heat_pad" && st.devices[k].fault; });
    var key = JSON.stringify(ids.map(function (k) { return [k, st.devices[k].fault]; }));
    if (key === shown) return;  // painted already: a refusal's words and the focus stay
    shown = key;
    box.textContent = "";
    ids.forEach(function (k) { box.appendChild(banner(k, st.devices[k])); });
    box.hidden = !ids.length;
    document.body.classList.toggle("pad-fault", ids.length > 0);  // app.css: the session's ring makes room
  });
})();
