/* History page: past sessions, with dates in the hub's time zone, endings and energy in words. */
(function () {
  "use strict";
  var h = MH.h;
  MH.page("history", {
    mount: function (el) {
      var self = this;
      self.body = h("tbody");
      self.offset = 0;
      self.more = h("button", {class: "btn", type: "button", text: "More", onclick: function () { self.load(false); }});
      el.appendChild(h("div", {class: "card"}, h("h2", {text: "Past sessions"}),
        h("table", {"data-testid": "history"}, h("thead", null, h("tr", null, h("th", {text: "When"}), h("th", {text: "Scene"}),
          h("th", {text: "Minutes"}), h("th", {text: "How it ended"}), h("th", {text: "Who"}))), self.body),
        self.more));
    },
    show: function () { this.load(true); },
    load: function (fresh) {
      var self = this;
      if (fresh) self.offset = 0;
      MH.api("GET", "/history?limit=25&offset=" + self.offset).then(function (d) {
        if (fresh) self.body.textContent = "";
        d.sessions.forEach(function (r) {
          // a stop in the warm-up (or at once) gave no massage time: "none of 30", not "0 of 30"
          var none = r.actual_minutes === 0 && !!r.end_reason;
          var who = h("td", null, MH.people ? MH.people.who(r) : "");
          var energy = MH.fmt.energy(r.energy_kwh, r.energy_cost, r.energy_currency);
          var tr = h("tr", null,
            h("td", {text: MH.fmt.when(r.started_at)}),
            h("td", {text: r.scene_name + (r.by ? " · by " + r.by : "")}),
            h("td", null, h("span", {text: none ? "none of " + Math.round(r.planned_minutes)
              : (r.actual_minutes !== null ? Math.round(r.actual_minutes) : "…") + " of " + Math.round(r.planned_minutes)}),
              energy ? h("div", {class: "muted small", "data-testid": "energy", text: energy}) : null),
            h("td", {"data-testid": "end", text: MH.reason(r.end_reason)}),
            who);
          self.body.appendChild(tr);
          // an "after" missed at the time can still be given here, one tap on the number
          if (r.end_reason && r.end_reason !== "interrupted" && MH.journal) {
            (r.people || []).forEach(function (p) {
              if (p.after !== null && p.after !== undefined) return;
              var btn = h("button", {class: "chip small", type: "button", "data-rate-after": p.profile, text: "How was " + p.name + " after?",
                onclick: function () {
                  var ask = MH.journal.ask(r, p, "after", function () { btn.remove(); row.remove(); });
                  var row = h("tr", {class: "rate-row"}, h("td", {colspan: 5}, ask));
                  tr.after(row); btn.disabled = true;
                }});
              who.appendChild(btn);
            });
          }
        });
        if (!d.sessions.length && fresh) self.body.appendChild(h("tr", null, h("td", {colspan: 5, class: "muted", text: "No sessions yet."})));
        self.offset += d.sessions.length;
        self.more.hidden = d.sessions.length < d.limit;
      }, function () {});
    }
  });
})();
