/* Settings page: password (with a repeat), API tokens (with Copy), this hub, the dim look. */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast;
  var quiet = function () {};

  var setDim = MH.setDim;  // app.js: the Now page has it too

  MH.page("settings", {
    mount: function (el) {
      var self = this;
      var dim = h("button", {class: "btn", type: "button", id: "dim", text: "Dim look", onclick: function () {
        setDim(!document.documentElement.classList.contains("dim"));
        MH.press(dim, document.documentElement.classList.contains("dim"));
      }});
      MH.press(dim, document.documentElement.classList.contains("dim"));
      self.usual = MH.people ? MH.people.usual() : null;  // people.js: the household default
      if (self.usual) el.appendChild(h("div", {class: "card"}, self.usual));
      el.appendChild(h("div", {class: "card"}, h("h2", {text: "Screen"}),
        h("p", {class: "muted", text: "Dim look: a very dark, warm red screen for a room that should stay dark."}), dim));

      var pw = h("div", {class: "card"});
      var cur = h("input", {type: "password", autocomplete: "current-password", id: "pw-current", "data-field": "current"});
      var nw = h("input", {type: "password", autocomplete: "new-password", minlength: 8, id: "pw-new", "data-field": "new"});
      var rep = h("input", {type: "password", autocomplete: "new-password", minlength: 8, id: "pw-repeat", "data-field": "repeat"});
      pw.appendChild(h("h2", {text: "Password"}));
      pw.appendChild(h("label", null, "Current password", cur));
      pw.appendChild(h("label", null, "New password (8 or more characters)", nw));
      pw.appendChild(h("label", null, "Repeat the new password", rep));
      pw.appendChild(h("p", null, h("button", {class: "btn primary", type: "button", id: "change-password", text: "Change password", onclick: function () {
        MH.clearErrors(pw);
        var bad = nw.value.length < 8 ? ["new", "Use at least 8 characters."] : nw.value !== rep.value ? ["repeat", "The two new passwords differ."] : null;
        if (bad) { pw.querySelector('[data-field="' + bad[0] + '"]').setAttribute("aria-invalid", "true"); MH.fieldError(pw, bad[0], bad[1]); return; }
        api("PUT", "/password", {current: cur.value, new: nw.value}, {form: pw, words: {
          current: "That is not the current password.", new: "Use at least 8 characters.", wrong_password: "That is not the current password."}})
          .then(function (r) {
            if (r && r.csrf_token) MH.setCsrf(r.csrf_token);
            cur.value = nw.value = rep.value = ""; toast("Password changed.", true);
          }, quiet);
      }})));
      el.appendChild(pw);

      self.tokens = h("tbody");
      self.newToken = h("div", {hidden: true, "data-testid": "new-token-box"});
      var name = h("input", {type: "text", maxlength: 60, placeholder: "e.g. phone shortcut", id: "token-name", "data-field": "name"});
      var tok = h("div", {class: "card"}, h("h2", {text: "API tokens"}),
        h("p", {class: "muted", text: "For scripts and phone shortcuts: make a token here and give it to the shortcut instead of the password. Revoke it to shut that shortcut out."}),
        h("table", null, self.tokens), h("label", null, "New token's name", name));
      tok.appendChild(h("p", null, h("button", {class: "btn", type: "button", id: "create-token", text: "Create token", onclick: function () {
        api("POST", "/tokens", {name: name.value.trim()}, {form: tok, words: {name: "Give the token a name (1 to 60 characters)."}}).then(function (t) {
          name.value = "";
          self.showToken(t.token);
          self.loadTokens();
        }, quiet);
      }})));
      tok.appendChild(self.newToken);
      el.appendChild(tok);
      // other scripts' cards: visits.js (visits, backup), homekit.js (Apple Home)
      MH.extensions("settings").forEach(function (x) { if (typeof x === "function") x(el); else x.mount(el); });
      self.about = h("ul", {class: "dev-list"});
      el.appendChild(h("div", {class: "card"}, h("h2", {text: "This hub"}), self.about,
        h("p", null, h("button", {class: "btn", type: "button", text: "Log out", onclick: function () {
          api("POST", "/logout", {}).then(function () { location.href = "/login"; }, quiet);
        }}))));
    },
    showToken: function (token) {
      var box = this.newToken, text = h("div", {class: "token", "data-testid": "new-token", text: token});
      document.getElementById("toast").hidden = true;  // never cover the result
      box.textContent = "";
      box.appendChild(h("p", {text: "Copy it now; it will not be shown again:"}));
      box.appendChild(text);
      box.appendChild(h("p", null, h("button", {class: "btn primary", type: "button", id: "copy-token", text: "Copy", onclick: function () {
        var done = function () { toast("Copied.", true); };
        if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(token).then(done, function () { select(text); });
        else select(text);
      }})));
      box.hidden = false;
      function select(node) {
        var r = document.createRange(); r.selectNodeContents(node);
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
        try { if (document.execCommand("copy")) { toast("Copied.", true); return; } } catch (e) { /* old browsers */ }
        toast("Selected: copy it with your phone's Copy.", true);
      }
    },
    show: function () {
      this.loadTokens();
      MH.extensions("settings").forEach(function (x) { if (x.show) x.show(); });
    },
    loadTokens: function () {
      var self = this;
      api("GET", "/tokens").then(function (d) {
        self.tokens.textContent = "";
        d.tokens.forEach(function (t) {
          self.tokens.appendChild(h("tr", null, h("td", {text: t.name}),
            h("td", {class: "muted", text: t.last_used_at ? "Used " + MH.fmt.date(t.last_used_at) : "Never used"}),
            h("td", null, h("button", {class: "btn", type: "button", text: "Revoke", "aria-label": "Revoke " + t.name, onclick: function () {
              if (confirm("Revoke " + t.name + "?")) api("DELETE", "/tokens/" + t.id).then(function () { self.loadTokens(); }, quiet);
            }}))));
        });
        if (!d.tokens.length) self.tokens.appendChild(h("tr", null, h("td", {class: "muted", text: "No tokens."})));
      }, quiet);
    },
    update: function (st) {
      if (this.usual) this.usual.update(st);
      var rows = [["Version", st.version], ["Hardware", st.backend === "mock" ? "Simulated pins" : "GPIO"], ["Audio", st.audio || "None"],
        ["Time", MH.fmt.when(st.time)], ["Time zone", MH.facts.timezone || "this phone's"]];
      // an adapter that could not start: the hub runs without it and says why
      var NAMES = {homekit: "Apple Home", mqtt: "Home Assistant"};
      Object.keys(st.problems || {}).forEach(function (k) { rows.push([(NAMES[k] || k) + " is off", st.problems[k]]); });
      var ul = this.about;
      ul.textContent = "";
      (st.warnings || []).forEach(function (w) { rows.push(["Warning", w]); });
      rows.forEach(function (r) { ul.appendChild(h("li", null, h("span", {text: r[0]}), h("span", {class: "value", text: r[1]}))); });
    }
  });
})();
