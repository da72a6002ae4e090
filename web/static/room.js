/* Room page: every device by hand (lights, diffuser, heat with its own time, music). */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast, facts = MH.facts;
  var FADES = [0, 3, 10, 30], HEAT_MINUTES = [10, 15, 20, 30, 45, 60];
  function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

  // a row of toggles, one pressed (aria-pressed), inside a named group
  function seg(name, options, onpick, label) {
    var el = h("div", {class: "seg", role: "group", "aria-label": name});
    options.forEach(function (o) {
      el.appendChild(h("button", {type: "button", "data-value": o, "aria-pressed": "false", text: label ? label(o) : cap(String(o)), onclick: function () { onpick(o); }}));
    });
    el.set = function (v) { el.querySelectorAll("button").forEach(function (b) { MH.press(b, b.dataset.value === String(v)); }); };
    return el;
  }
  function slider(name, min, max, onset) {
    var input = h("input", {type: "range", min: min, max: max, step: 1, "aria-label": name});
    var busy = 0;
    input.addEventListener("input", function () { busy = Date.now(); if (input.onlive) input.onlive(+input.value); });
    input.addEventListener("change", function () { busy = Date.now(); onset(+input.value); });
    input.release = function () { busy = 0; };  // the hub held it back: show where it is
    input.set = function (v) { if (Date.now() - busy > 1500) { input.value = v; input.setAttribute("aria-valuetext", input.valueText ? input.valueText(v) : String(v)); } };
    return input;
  }
  var quiet = function () {};

  MH.page("room", {
    mount: function (el) {
      var self = this;
      self.controls = {};
      self.fade = 3;
      self.list = h("div", {class: "card", "data-testid": "room-controls"});
      var fadeSeg = seg("Light fade", FADES, function (v) { self.fade = v; fadeSeg.set(v); }, function (v) { return v + " s"; });
      fadeSeg.set(3);
      self.room = MH.vroom();
      self.limits = MH.people ? MH.people.limits() : null;  // who is on the table, their limits
      el.appendChild(self.room);
      if (self.limits) el.appendChild(h("div", {class: "card"}, self.limits));
      el.appendChild(h("div", {class: "card"}, h("h2", {class: "sub", text: "Light fade"}), fadeSeg));
      el.appendChild(self.list);
      el.appendChild(h("button", {class: "btn danger big", type: "button", id: "room-all-off", text: "All off", onclick: function () {
        api("POST", "/all-off").then(function (s) { MH.setState(s, "all_off"); toast("Everything is off.", true); }, quiet);
      }}));
    },
    build: function (st) {
      var self = this;
      self.list.textContent = "";
      self.controls = {};
      Object.keys(st.devices).forEach(function (id) {
        var d = st.devices[id], c = {}, value = h("span", {class: "value", "data-testid": "value"});
        var box = h("div", {class: "control", "data-device": id}, h("div", {class: "head"}, h("span", {text: d.name}), value));
        var put = function (body) {
          return api("PUT", "/devices/" + encodeURIComponent(id), body, {form: box}).then(function (r) {
            if (!r || !r.capped) return;
            toast(cap(r.capped) + ".");  // a person's limit held it back: say whose
            if (c.slider) {
              c.slider.release();
              var to = r.fading_to || {};
              c.slider.set(Math.round(d.kind === "light" ? 100 * (to.level !== undefined ? to.level : r.level) : (to.volume !== undefined ? to.volume : r.volume)));
            }
          }, quiet);
        };
        if (d.kind === "light") {
          c.slider = slider(d.name + " brightness", 0, 100, function (v) { put({level: v / 100, fade_seconds: self.fade}); });
          c.slider.valueText = function (v) { return v + " %"; };
          c.slider.onlive = function (v) { value.textContent = v + " %"; };
          c.slider.setAttribute("data-field", "level");
          box.appendChild(c.slider);
        } else if (d.kind === "diffuser") {
          c.seg = seg(d.name + " mode", facts.diffuser_modes, function (v) { put({mode: v}); });
          box.appendChild(c.seg);
        } else if (d.kind === "heat_pad") {
          c.minutes = h("select", {"data-field": "minutes"}, HEAT_MINUTES.map(function (m) {
            return h("option", {value: m, text: m + " min", selected: m === 20});
          }));
          c.seg = seg(d.name + " heat", facts.heat_levels, function (v) {
            put(v === "off" ? {heat: "off"} : {heat: v, minutes: +c.minutes.value});
          });
          // a new time applies to the heat that is on now
          c.minutes.addEventListener("change", function () {
            var now = MH.state().devices[id];
            if (now && now.heat !== "off") put({heat: now.heat, minutes: +c.minutes.value});
          });
          box.appendChild(c.seg);
          box.appendChild(MH.field("Switch off after", c.minutes));
        } else if (d.kind === "speaker") {
          c.slider = slider("Volume", 0, 100, function (v) { put({volume: v, fade_seconds: 1}); });
          c.slider.setAttribute("data-field", "volume");
          c.vol = h("span", {class: "value", "aria-hidden": "true"});
          c.slider.onlive = function (v) { c.vol.textContent = String(v); };
          c.play = h("button", {class: "btn", type: "button", onclick: function () { put({playing: !MH.state().devices[id].playing}); }});
          c.next = h("button", {class: "btn", type: "button", text: "Next track", onclick: function () { put({next: true}); }});
          c.playlist = h("select", {"data-field": "playlist"}, h("option", {value: "", text: "Choose a playlist"}),
            (d.playlists || []).map(function (p) { return h("option", {value: p, text: p}); }));
          c.playlist.addEventListener("change", function () { if (c.playlist.value) put({playlist: c.playlist.value}); });
          box.appendChild(h("div", {class: "slider-row"}, h("label", {class: "inline", text: "Volume"}), c.slider, c.vol));
          box.appendChild(MH.field("Playlist", c.playlist));
          box.appendChild(h("div", {class: "row"}, c.play, c.next));
        }
        c.value = value;
        self.controls[id] = c;
        self.list.appendChild(box);
      });
      self.built = Object.keys(st.devices).join(",");
    },
    update: function (st) {
      var self = this;
      if (self.built !== Object.keys(st.devices).join(",")) self.build(st);
      self.room.hidden = st.backend !== "mock";
      self.room.update(st);
      if (self.limits) { self.limits.update(st); self.limits.parentNode.hidden = self.limits.hidden; }
      Object.keys(st.devices).forEach(function (id) {
        var d = st.devices[id], c = self.controls[id];
        if (!c) return;
        if (d.kind === "light") c.slider.set(Math.round(d.level * 100));
        if (d.kind === "diffuser") c.seg.set(d.mode);
        if (d.kind === "heat_pad") c.seg.set(d.heat);
        if (d.kind === "speaker") {
          c.slider.set(Math.round(d.volume));
          c.vol.textContent = String(Math.round(d.volume));
          c.play.textContent = d.playing ? "Pause music" : "Play";
          if (document.activeElement !== c.playlist) c.playlist.value = d.playlist || "";
        }
      });
      self.tick(st);
    },
    tick: function (st) {
      var self = this;
      Object.keys(st.devices).forEach(function (id) { var c = self.controls[id]; if (c) c.value.textContent = MH.describe(st.devices[id]); });
    }
  });
})();
