/* Routines page: list (next run in words), create/edit, enable, skip next, run now, delete.
 * Registered with MH.page (see app.js); the API is /api/v1/routines (web/routines_api.py). */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast;
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var DAY_LABEL = {mon: "Mo", tue: "Tu", wed: "We", thu: "Th", fri: "Fr", sat: "Sa", sun: "Su"};
  var OUTCOME = {ran: "ran", failed: "failed", missed: "missed (the hub was off)", skipped: "skipped", stopped: "stopped by hand"};

  function quiet() {}  // api() has shown the error in a toast already
  function pct(x) { return Math.round(x * 100); }
  function when(iso) { return MH.fmt.when(iso); }
  var actionWords = MH.routineWords;  // live.js: the Now page says it too
  var WORDS = {name: "Give the routine a name (1 to 40 characters).", time: "Choose a time.", date: "Choose a date.",
    days: "Choose at least one day.", light_from: "Light levels go from 0 to 100 %.", light_to: "Light levels go from 0 to 100 %."};

  MH.page("routines", {
    mount: function (el) {
      var self = this;
      self.listEl = h("div", {"data-testid": "routine-list"});
      self.editor = h("div", {class: "card", hidden: true, "data-testid": "routine-editor"});
      el.appendChild(h("div", {class: "row"}, h("h2", {class: "grow", text: "Routines"}),
        h("button", {class: "btn primary small", type: "button", id: "new-routine", text: "New routine",
          onclick: function () { self.edit(null); }})));
      el.appendChild(self.editor);
      el.appendChild(self.listEl);
      self.lastNext = undefined;
      self.loadedAt = 0;
    },
    show: function () { this.load(); },
    update: function (st) {
      var key = JSON.stringify(st.next_routine);
      if (key !== this.lastNext) { this.lastNext = key; this.load(); }
    },
    tick: function () { if (Date.now() - this.loadedAt > 30000) this.load(); },
    load: function () {
      var self = this;
      self.loadedAt = Date.now();
      return api("GET", "/routines").then(function (d) { self.render(d.routines); }, quiet);
    },
    render: function (list) {
      var self = this;
      self.listEl.textContent = "";
      if (!list.length) {
        self.listEl.appendChild(h("div", {class: "card muted", text: "No routines yet. A routine runs a wind-down, a scene or a session at set times."}));
      }
      list.forEach(function (r) {
        var id = encodeURIComponent(r.id);
        var after = function (msg) { return function () { toast(msg, true); self.load(); }; };
        var next = r.enabled ? (r.next_run ? "Next: " + MH.fmt.relative(r.next_run, (MH.state() || {}).time) : "No further runs") : "Disabled";
        var last = r.last_outcome ? "Last: " + (OUTCOME[r.last_outcome] || r.last_outcome) + " " + when(r.last_run) +
          (r.last_detail && r.last_outcome !== "ran" ? " (" + r.last_detail + ")" : "") : "";
        self.listEl.appendChild(h("div", {class: "card routine", "data-routine": r.id},
          h("div", {class: "row"}, h("strong", {class: "grow", text: r.name}),
            r.running ? h("span", {class: "tag", text: "running"}) : null,
            h("button", {class: "btn small" + (r.enabled ? " primary" : ""), type: "button", "data-testid": "enabled",
              "aria-pressed": r.enabled ? "true" : "false", title: r.enabled ? "Enabled: tap to disable" : "Disabled: tap to enable",
              text: r.enabled ? "On" : "Off", onclick: function () {
                api("PUT", "/routines/" + id, {enabled: !r.enabled}).then(after(r.enabled ? "Disabled." : "Enabled."), quiet);
              }})),
          h("div", {class: "muted", text: r.schedule_words + " · " + actionWords(r.action)}),
          h("div", {"data-testid": "next-run", text: next}),
          r.skip_next ? h("div", {class: "muted", text: "Skipping the run on " + when(r.skip_next)}) : null,
          last ? h("div", {class: "muted", "data-testid": "last-run", text: last}) : null,
          h("div", {class: "row"},
            h("button", {class: "btn small", type: "button", text: "Run now", onclick: function () {
              api("POST", "/routines/" + id + "/run", {}).then(after(r.name + " is running."), quiet);
            }}),
            r.enabled && (r.next_run || r.skip_next) ? h("button", {class: "btn small", type: "button", "data-testid": "skip",
              text: r.skip_next ? "Don't skip" : "Skip next",
              onclick: function () {
                api("POST", "/routines/" + id + "/skip-next", {skip: !r.skip_next}).then(after(r.skip_next ? "Not skipped." : "The next run is skipped."), quiet);
              }}) : null,
            h("button", {class: "btn small", type: "button", text: "Edit", onclick: function () { self.edit(r); }}),
            h("button", {class: "btn small danger", type: "button", text: "Delete", onclick: function () {
              if (confirm("Delete the routine " + r.name + "?")) api("DELETE", "/routines/" + id).then(after("Deleted."), quiet);
            }}))));
      });
    },
    edit: function (r) {
      var self = this, ed = self.editor, st = MH.state() || {devices: {}};
      var today = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
      var s = r ? r.schedule : {kind: "weekly", days: ["mon", "tue", "wed", "thu", "fri"], time: "21:30"};
      var a = r ? r.action : {kind: "wind_down", minutes: 30, light_from: 0.6, light_to: 0, volume_from: 30, volume_to: 0, diffuser_minutes: 15, playlist: null};
      var f = {}, days = (s.days || ["mon", "tue", "wed", "thu", "fri"]).slice();
      ed.textContent = ""; ed.hidden = false;
      function field(label, input, cls) { var l = h("label", {class: cls || null}, label, input); ed.appendChild(l); return input; }
      function opt(values, cur, labels) {
        return values.map(function (v, i) { return h("option", {value: v, text: labels ? labels[i] : v, selected: v === cur}); });
      }
      ed.appendChild(h("h2", {text: r ? "Edit " + r.name : "New routine"}));
      f.name = field("Name", h("input", {type: "text", maxlength: 40, id: "routine-name", "data-field": "name", value: r ? r.name : "Evening wind-down"}));

      f.kind = field("When", h("select", {id: "routine-kind"}, opt(["weekly", "once", "sunset"], s.kind, ["On weekdays I choose", "Once", "Around sunset"])));
      var dayChips = h("div", {class: "chips", id: "routine-days", role: "group", "aria-label": "Days"}, DAYS.map(function (d) {
        var b = h("button", {class: "chip", type: "button", "data-day": d, text: DAY_LABEL[d], onclick: function () {
          var i = days.indexOf(d);
          if (i >= 0) days.splice(i, 1); else days.push(d);
          MH.press(b, i < 0);
        }});
        MH.press(b, days.indexOf(d) >= 0);
        return b;
      }));
      var daysLabel = h("div", {class: "label", "data-field": "schedule.days"}, h("span", {text: "Days"}), dayChips); ed.appendChild(daysLabel);
      f.date = field("Date", h("input", {type: "date", id: "routine-date", "data-field": "schedule.date", value: s.date || today}));
      f.time = field("Time", h("input", {type: "time", id: "routine-time", "data-field": "schedule.time", value: s.time || "21:30"}));
      f.offset = field("Minutes after sunset (negative: before)", h("input", {type: "number", min: -240, max: 240, step: 1, id: "routine-offset", "data-field": "schedule.offset_minutes", value: s.offset_minutes || 0}));
      function showSchedule() {
        var k = f.kind.value;
        daysLabel.hidden = k === "once";
        f.date.parentNode.hidden = k !== "once";
        f.time.parentNode.hidden = k === "sunset";
        f.offset.parentNode.hidden = k !== "sunset";
      }
      f.kind.addEventListener("change", showSchedule);

      f.action = field("Do", h("select", {id: "routine-action"}, opt(["wind_down", "scene", "session"], a.kind, ["Wind-down", "A scene for a while", "Start a session"])));
      var scenes = MH.scenes().map(function (x) { return x.id; });
      var names = MH.scenes().map(function (x) { return x.name; });
      f.scene = field("Scene", h("select", {id: "routine-scene"}, opt(scenes, a.scene || "wind-down", names)));
      f.minutes = field("Minutes", h("input", {type: "number", min: 1, max: 240, step: 1, id: "routine-minutes", "data-field": "action.minutes", value: a.minutes || 30}));
      f.lightFrom = field("Light from (%)", h("input", {type: "number", min: 0, max: 100, step: 1, id: "routine-light-from", "data-field": "action.light_from", value: pct(a.light_from !== undefined ? a.light_from : 0.6)}));
      f.lightTo = field("Light to (%)", h("input", {type: "number", min: 0, max: 100, step: 1, id: "routine-light-to", "data-field": "action.light_to", value: pct(a.light_to || 0)}));
      var spk = Object.keys(st.devices).map(function (k) { return st.devices[k]; }).filter(function (d) { return d.kind === "speaker"; })[0];
      f.playlist = field("Playlist (empty: no music)", h("input", {type: "text", maxlength: 80, id: "routine-playlist", "data-field": "action.playlist", value: a.playlist || (spk && spk.playlist) || ""}));
      f.volFrom = field("Volume from (0-100)", h("input", {type: "number", min: 0, max: 100, step: 1, value: a.volume_from !== undefined ? a.volume_from : 30}));
      f.volTo = field("Volume to (0-100)", h("input", {type: "number", min: 0, max: 100, step: 1, value: a.volume_to || 0}));
      f.mist = field("Diffuser for the first … minutes", h("input", {type: "number", min: 0, max: 240, step: 1, id: "routine-mist", "data-field": "action.diffuser_minutes", value: a.diffuser_minutes || 0}));
      var windOnly = [f.lightFrom, f.lightTo, f.playlist, f.volFrom, f.volTo, f.mist];
      function showAction() {
        var k = f.action.value;
        windOnly.forEach(function (x) { x.parentNode.hidden = k !== "wind_down"; });
        f.scene.parentNode.hidden = k === "wind_down";
        f.minutes.parentNode.firstChild.textContent = k === "session" ? "Minutes (empty: the default)" : "Minutes";
      }
      f.action.addEventListener("change", showAction);
      // whom it is for: they are put on the table when it runs, and their limits hold
      var forWhom = (r && Array.isArray(r.profiles)) ? r.profiles.slice() : [];
      var people = (MH.people ? MH.people.profiles() : []) || [];
      if (people.length) {
        ed.appendChild(h("div", {class: "label", "data-field": "profiles"}, h("span", {text: "For (their limits hold)"}),
          h("div", {class: "chips", role: "group", "aria-label": "For whom"}, people.map(function (p) {
            var b = h("button", {class: "chip", type: "button", "data-profile": p.id, text: p.name, onclick: function () {
              var i = forWhom.indexOf(p.id);
              if (i >= 0) forWhom.splice(i, 1); else forWhom.push(p.id);
              MH.press(b, i < 0);
            }});
            MH.press(b, forWhom.indexOf(p.id) >= 0);
            return b;
          }))));
      }
      f.ifSession = field("If a session is running then", h("select", {id: "routine-if-session"}, opt(["skip", "run"], r ? r.if_session : "skip", ["skip this run", "run anyway"])));
      showSchedule(); showAction();

      ed.appendChild(h("div", {class: "row"},
        h("button", {class: "btn primary", type: "button", id: "save-routine", text: "Save", onclick: function () {
          var k = f.kind.value, ak = f.action.value, sched, act;
          if (k === "weekly") sched = {kind: k, days: days.slice(), time: f.time.value};
          else if (k === "once") sched = {kind: k, date: f.date.value, time: f.time.value};
          else sched = {kind: k, days: days.slice(), offset_minutes: +f.offset.value};
          if (ak === "wind_down") {
            act = {kind: ak, minutes: +f.minutes.value, light_from: (+f.lightFrom.value) / 100, light_to: (+f.lightTo.value) / 100,
              playlist: f.playlist.value.trim() || null, volume_from: +f.volFrom.value, volume_to: +f.volTo.value, diffuser_minutes: +f.mist.value};
          } else if (ak === "scene") {
            act = {kind: ak, scene: f.scene.value, minutes: +f.minutes.value};
          } else {
            act = {kind: ak, scene: f.scene.value};
            if (f.minutes.value) act.minutes = +f.minutes.value;
          }
          var body = {name: f.name.value.trim(), schedule: sched, action: act, if_session: f.ifSession.value,
            profiles: forWhom.length ? forWhom.slice() : null};
          var req = r ? api("PUT", "/routines/" + encodeURIComponent(r.id), body, {form: ed, words: WORDS}) : api("POST", "/routines", body, {form: ed, words: WORDS});
          req.then(function (saved) {
            ed.hidden = true;
            toast("Saved. " + (saved.next_run ? "Next run " + MH.fmt.relative(saved.next_run, (MH.state() || {}).time) + "." : ""), true);
            self.load();
          }, quiet);
        }}),
        h("button", {class: "btn", type: "button", text: "Cancel", onclick: function () { ed.hidden = true; }})));
      ed.scrollIntoView({behavior: "smooth"});
    }
  });
})();
