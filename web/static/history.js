/* History page: past sessions, with dates in the hub's time zone and endings in words. */
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
          self.body.appendChild(h("tr", null,
            h("td", {text: MH.fmt.when(r.started_at)}),
            h("td", {text: r.scene_name + (r.by ? " · by " + r.by : "")}),
            h("td", {text: (r.actual_minutes !== null ? Math.round(r.actual_minutes) : "…") + " of " + Math.round(r.planned_minutes)}),
            h("td", {"data-testid": "end", text: MH.reason(r.end_reason)}),
            h("td", null, MH.people ? MH.people.who(r) : "")));
        });
        if (!d.sessions.length && fresh) self.body.appendChild(h("tr", null, h("td", {colspan: 5, class: "muted", text: "No sessions yet."})));
        self.offset += d.sessions.length;
        self.more.hidden = d.sessions.length < d.limit;
      }, function () {});
    }
  });
})();
