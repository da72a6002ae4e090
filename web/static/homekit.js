/* Settings card "Apple Home": pair (setup code and QR code, made on the hub) or reset the pairing.
 * Added to the Settings page with MH.extend("settings", ...) (see app.js); the API is /api/v1/homekit
 * (web/homekit_api.py). */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast;

  function quiet() {}  // api() has shown the error in a toast already

  MH.extend("settings", {
    mount: function (el) {
      this.body = h("div", {"data-testid": "homekit-body"});
      el.appendChild(h("div", {class: "card", id: "homekit-card"}, h("h2", {text: "Apple Home"}), this.body));
    },
    show: function () {
      var self = this;
      api("GET", "/homekit").then(function (st) { self.render(st); }, quiet);
    },
    render: function (st) {
      var self = this, b = self.body;
      b.textContent = "";
      b.appendChild(h("p", {"data-testid": "homekit-message", text: st.message || ""}));
      if (!st.enabled) return;
      if (!st.paired && st.setup_code) {
        if (st.qr_svg) {
          b.appendChild(h("p", null, h("img", {
            src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(st.qr_svg),
            width: 180, height: 180, alt: "QR code to add the hub in the Home app", "data-testid": "homekit-qr"})));
        }
        b.appendChild(h("p", null, "Setup code: ", h("strong", {class: "token", "data-testid": "homekit-code", text: st.setup_code})));
      }
      if (st.paired) {
        b.appendChild(h("p", {class: "muted",
          text: "Say \u201cHey Siri, turn on Swedish massage\u201d, \u201cset the " + (st.accessories[0] || "light") +
            " to 30 percent\u201d or \u201cturn on All off\u201d."}));
        b.appendChild(h("p", null, h("button", {class: "btn danger", type: "button", id: "homekit-reset",
          text: "Reset pairing", onclick: function () {
            if (!confirm("Remove the hub from Apple Home? Every iPhone loses it until you pair again with the new code.")) return;
            api("DELETE", "/homekit/pairing").then(function (fresh) {
              self.render(fresh); toast("Pairing removed. Pair again with the new code.", true);
            }, quiet);
          }})));
      }
    }
  });
})();
