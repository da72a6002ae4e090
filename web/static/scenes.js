/* Scenes page: the list (apply, copy, edit, delete) and the editor, errors next to fields. */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast, facts = MH.facts;
  var quiet = function () {};
  function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
  var WORDS = {
    name: "Give the scene a name (1 to 40 characters) that no other scene has.",
    lights: "Light levels go from 0 to 100 %.",
    volume: "Volume goes from 0 to 100.",
    fade_seconds: "Fade in takes 0 to 3600 seconds.",
    fade_out_seconds: "Fade out takes 0 to 3600 seconds."
  };

  MH.page("scenes", {
    mount: function (el) {
      var self = this;
      self.listEl = h("div");
      self.editor = h("div", {class: "card", hidden: true, "data-testid": "scene-editor"});
      el.appendChild(h("div", {class: "row"}, h("h2", {class: "grow", text: "Scenes"}),
        h("button", {class: "btn primary", type: "button", id: "new-scene", text: "New scene", onclick: function () { self.edit(null); }})));
      el.appendChild(self.editor);
      el.appendChild(self.listEl);
      self.scenes(MH.scenes());
    },
    scenes: function (list) {
      var self = this;
      self.listEl.textContent = "";
      list.forEach(function (s) {
        var id = encodeURIComponent(s.id);
        var actions = h("div", {class: "row"},
          h("button", {class: "btn", type: "button", text: "Apply", "aria-label": "Apply " + s.name, onclick: function () {
            api("POST", "/scenes/" + id + "/apply", {}).then(function () { toast(s.name + " applied.", true); }, quiet);
          }}),
          h("button", {class: "btn", type: "button", text: "Copy", "aria-label": "Copy " + s.name, onclick: function () {
            api("POST", "/scenes/" + id + "/duplicate", {}).then(function (c) { toast("Copied as " + c.name + ".", true); MH.loadScenes(); }, quiet);
          }}),
          s.builtin ? null : h("button", {class: "btn", type: "button", text: "Edit", "aria-label": "Edit " + s.name, onclick: function () { self.edit(s); }}),
          s.builtin ? null : h("button", {class: "btn danger", type: "button", text: "Delete", "aria-label": "Delete " + s.name, onclick: function () {
            if (confirm("Delete the scene " + s.name + "?")) api("DELETE", "/scenes/" + id).then(function () { MH.loadScenes(); }, quiet);
          }}));
        self.listEl.appendChild(h("div", {class: "card scene", "data-scene": s.id},
          h("div", null, h("strong", {text: s.name}), s.builtin ? h("span", {class: "tag", text: "built in"}) : null),
          s.description ? h("div", {class: "muted", text: s.description}) : null, actions));
      });
    },
    edit: function (scene) {
      var ed = this.editor, st = MH.state() || {devices: {}};
      var s = scene || {name: "", description: "", lights: {}, diffuser: "off", heat: {}, playlist: "", volume: 30, fade_seconds: 10, fade_out_seconds: 60};
      ed.textContent = ""; ed.hidden = false;
      var f = {}, playlists = [];
      function field(label, input, name) { ed.appendChild(MH.field(label, input, name)); return input; }
      function num(name, min, max, value) { return h("input", {type: "number", inputmode: "numeric", min: min, max: max, step: 1, value: value, "data-field": name}); }
      ed.appendChild(h("h2", {text: scene ? "Edit " + scene.name : "New scene"}));
      f.name = field("Name", h("input", {type: "text", maxlength: 40, value: s.name, id: "scene-name"}), "name");
      f.description = field("Description", h("input", {type: "text", maxlength: 200, value: s.description || ""}), "description");
      f.lights = {}; f.heat = {};
      Object.keys(st.devices).forEach(function (id) {
        var d = st.devices[id];
        if (d.kind === "light") {
          var lv = s.lights[id] !== undefined ? s.lights[id] : (s.lights["*"] || 0);
          f.lights[id] = field(d.name + " (%)", num("lights." + id, 0, 100, Math.round(lv * 100)));
        } else if (d.kind === "heat_pad") {
          var hv = s.heat[id] || s.heat["*"] || "off";
          f.heat[id] = field(d.name + " heat", h("select", {"data-field": "heat." + id}, facts.heat_levels.map(function (x) { return h("option", {value: x, text: cap(x), selected: x === hv}); })));
        } else if (d.kind === "speaker") playlists = d.playlists || [];
      });
      f.diffuser = field("Diffuser", h("select", {"data-field": "diffuser"}, facts.diffuser_modes.map(function (x) { return h("option", {value: x, text: cap(x), selected: x === s.diffuser}); })));
      if (s.playlist && playlists.indexOf(s.playlist) < 0) playlists = playlists.concat([s.playlist]);
      f.playlist = field("Playlist", h("select", {"data-field": "playlist", id: "scene-playlist"}, h("option", {value: "", text: "No music"}),
        playlists.map(function (p) { return h("option", {value: p, text: p, selected: p === s.playlist}); })));
      f.volume = field("Volume (0 to 100)", num("volume", 0, 100, s.volume));
      f.fade = field("Fade in (seconds)", num("fade_seconds", 0, 3600, s.fade_seconds));
      f.fadeOut = field("Fade out (seconds)", num("fade_out_seconds", 0, 3600, s.fade_out_seconds));
      f.minutes = field("Usual length (minutes)", num("default_minutes", 1, 480, s.default_minutes || ""));
      var extra = MH.extensions("sceneEditor").map(function (fn) { return fn(ed, s); });  // e.g. visits.js: cues
      ed.appendChild(h("div", {class: "row"},
        h("button", {class: "btn primary", type: "button", id: "save-scene", text: "Save", onclick: function () {
          var body = {name: f.name.value.trim(), description: f.description.value, lights: {}, heat: {}, diffuser: f.diffuser.value,
            playlist: f.playlist.value || null, volume: +f.volume.value, fade_seconds: +f.fade.value, fade_out_seconds: +f.fadeOut.value};
          Object.keys(f.lights).forEach(function (id) { body.lights[id] = (+f.lights[id].value) / 100; });
          Object.keys(f.heat).forEach(function (id) { body.heat[id] = f.heat[id].value; });
          body.default_minutes = f.minutes.value ? +f.minutes.value : null;
          extra.forEach(function (add) { if (add) add(body); });
          var opts = {form: ed, words: WORDS};
          var req = scene ? api("PUT", "/scenes/" + encodeURIComponent(scene.id), Object.assign({id: scene.id}, body), opts) : api("POST", "/scenes", body, opts);
          req.then(function () { ed.hidden = true; toast("Scene saved.", true); MH.loadScenes(); }, quiet);
        }}),
        h("button", {class: "btn", type: "button", text: "Cancel", onclick: function () { ed.hidden = true; }})));
      ed.scrollIntoView({behavior: "smooth"});
    }
  });
})();
