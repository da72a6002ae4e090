/* The People page (profiles: limits, areas on the body outline, notes), who usually lies on
 * the table (Settings) and who a past session was for (History); in the second bundle. The
 * picker and the outline are in profiles.js. The API is /api/v1/profiles. */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast, P = MH.people;
  var body = P.body, areaChips = P.areaChips, limitsWords = P.limitsWords, AREA_LABEL = P.AREA_LABEL, load = P.load;
  var profiles = P.profiles() || [];
  P.listen(function (list) { profiles = list; });

  /* Who is usually on the table (Settings): used while nobody is picked on the Now page. */
  function usual() {
    var el = h("div", {class: "who usual", "data-testid": "usual-people"});
    var chips = h("div", {class: "chips"});
    var chosen = null;
    el.appendChild(h("h2", {text: "Usually on the table"}));
    el.appendChild(h("p", {class: "muted", text: "When a session starts with nobody picked (the wall button, a voice assistant, Apple Home), the hub keeps to these people's limits."}));
    el.appendChild(chips);
    function render() {
      chips.textContent = "";
      if (!profiles.length) chips.appendChild(h("p", {class: "muted", text: "No profiles yet."}));
      profiles.forEach(function (p) {
        var on = (chosen || []).indexOf(p.id) >= 0;
        chips.appendChild(h("button", {class: "chip" + (on ? " on" : ""), type: "button", "data-profile": p.id, text: p.name, "aria-pressed": on ? "true" : "false",
          onclick: function () {
            var next = (chosen || []).slice(), i = next.indexOf(p.id);
            if (i >= 0) next.splice(i, 1); else next.push(p.id);
            api("PUT", "/table/default", {people: next}).then(function (t) {
              chosen = t["default"].map(function (x) { return x.profile; });
              render(); toast(chosen.length ? "Saved: usually on the table." : "Saved: nobody usually.", true);
            }, function () {});
          }}));
      });
    }
    el.update = function (st) {
      if (!st.table) return;
      chosen = st.table["default"].map(function (x) { return x.profile; });
      render();
    };
    MH.people.listen(render);
    load();
    return el;
  }

  /* Who a history row was for, with their ratings: "Ann 7→3, slept 4/5". */
  function who(row) {
    var people = row.people || [];
    if (!people.length) return h("span", {class: "muted", text: "—"});
    var parts = [];
    people.forEach(function (p, i) {
      var bits = [];
      if (p.before !== null && p.before !== undefined) bits.push(p.before + (p.after !== null && p.after !== undefined ? "→" + p.after : "→?"));
      else if (p.after !== null && p.after !== undefined) bits.push("?→" + p.after);
      if (p.sleep) bits.push("slept " + p.sleep + "/5");
      if (i) parts.push(", ");
      parts.push(h("span", {"data-person": p.profile}, p.name + (bits.length ? " " + bits.join(", ") : "")));
    });
    return h("span", {class: "who-cell"}, parts);
  }

  // --- the Profiles page --------------------------------------------------------------------

  MH.page("people", {
    mount: function (el) {
      var self = this;
      self.listEl = h("div", {"data-testid": "profile-list"});
      self.editor = h("div", {class: "card", hidden: true, "data-testid": "profile-editor"});
      el.appendChild(h("div", {class: "row"}, h("h2", {class: "grow", text: "People"}),
        h("button", {class: "btn primary small", type: "button", id: "new-profile", text: "New person", onclick: function () { self.edit(null); }})));
      el.appendChild(h("p", {class: "muted", text: "The hub keeps to each person's limits in their sessions, whatever a scene, routine or voice assistant asks."}));
      el.appendChild(self.editor);
      el.appendChild(self.listEl);
      MH.people.listen(function (list) { self.render(list); });  // another phone's change, a restore
    },
    show: function () { var self = this; load().then(function (list) { self.render(list); }); },
    render: function (list) {
      var self = this;
      self.listEl.textContent = "";
      if (!list.length) self.listEl.appendChild(h("div", {class: "card muted", text: "No one yet. Add each person who uses the room."}));
      list.forEach(function (p) {
        self.listEl.appendChild(h("div", {class: "card profile", "data-profile": p.id},
          h("div", {class: "profile-row"}, body(p.areas),
            h("div", {class: "grow"}, h("h3", {class: "name", text: p.name}),
              h("div", {class: "limits", text: limitsWords(p)}),
              p.areas.length ? h("div", {class: "muted", text: "Areas: " + p.areas.map(function (a) { return AREA_LABEL[a]; }).join(", ")}) : null,
              p.favourite_scenes.length ? h("div", {class: "muted", text: "Likes: " + p.favourite_scenes.map(function (id) {
                var sc = MH.scenes().filter(function (x) { return x.id === id; })[0];
                return sc ? sc.name : id;
              }).join(", ")}) : null,
              p.notes ? h("div", {class: "note-text", text: p.notes}) : null)),
          h("div", {class: "row"},
            h("button", {class: "btn small", type: "button", text: "Edit", onclick: function () { self.edit(p); }}),
            h("button", {class: "btn small danger", type: "button", text: "Delete", onclick: function () {
              if (!confirm("Delete " + p.name + " and their journal?")) return;
              api("DELETE", "/profiles/" + encodeURIComponent(p.id)).then(function () { toast(p.name + " deleted.", true); self.show(); }, function () {});
            }}))));
      });
    },
    edit: function (p) {
      var self = this, ed = self.editor;
      var data = p ? JSON.parse(JSON.stringify(p)) : {name: "", heat_max: "high", volume_max: 100, aroma: true, favourite_scenes: [], areas: [], notes: ""};
      ed.textContent = ""; ed.hidden = false;
      var name = h("input", {type: "text", id: "profile-name", maxlength: 60, value: data.name, "data-field": "name"});
      var heat = h("div", {class: "seg", id: "profile-heat"});
      MH.facts.heat_levels.forEach(function (lv) {
        heat.appendChild(h("button", {type: "button", "data-value": lv, text: lv, class: lv === data.heat_max ? "on" : "",
          onclick: function () { data.heat_max = lv; heat.querySelectorAll("button").forEach(function (b) { b.classList.toggle("on", b.dataset.value === lv); }); }}));
      });
      var volOut = h("span", {class: "value", text: String(data.volume_max)});
      var vol = h("input", {type: "range", min: 0, max: 100, step: 5, id: "profile-volume", value: data.volume_max});
      vol.addEventListener("input", function () { volOut.textContent = vol.value; });
      var aroma = h("input", {type: "checkbox", id: "profile-aroma"});
      aroma.checked = !data.aroma;
      var fav = h("div", {class: "chips", id: "profile-favourites"});
      MH.scenes().forEach(function (s) {
        fav.appendChild(h("button", {class: "chip small" + (data.favourite_scenes.indexOf(s.id) >= 0 ? " on" : ""), type: "button", "data-scene": s.id, text: s.name,
          onclick: function (e) {
            var i = data.favourite_scenes.indexOf(s.id);
            if (i >= 0) data.favourite_scenes.splice(i, 1); else data.favourite_scenes.push(s.id);
            e.currentTarget.classList.toggle("on", i < 0);
          }}));
      });
      var areasWrap = h("div", {class: "profile-row", "data-testid": "profile-areas"});
      var paintAreas = function () {
        areasWrap.textContent = "";
        var set = function (a) { data.areas = a; paintAreas(); };
        areasWrap.appendChild(body(data.areas, set));
        areasWrap.appendChild(h("div", {class: "grow"}, areaChips(data.areas, set)));
      };
      paintAreas();
      var notes = h("textarea", {id: "profile-notes", maxlength: 2000, rows: 3, placeholder: "e.g. pregnant, 24 weeks; no pressure on the left knee"});
      notes.value = data.notes;
      ed.appendChild(h("h2", {text: p ? "Edit " + p.name : "New person"}));
      ed.appendChild(h("label", {for: "profile-name"}, "Name"));
      ed.appendChild(name);
      ed.appendChild(h("label", null, "Heat pad, at most"));
      ed.appendChild(heat);
      ed.appendChild(h("label", {for: "profile-volume"}, "Music volume, at most ", volOut));
      ed.appendChild(vol);
      ed.appendChild(h("label", {class: "check"}, aroma, " No aroma (pregnancy, allergy): the diffuser stays off"));
      ed.appendChild(h("label", null, "Favourite scenes"));
      ed.appendChild(fav);
      ed.appendChild(h("label", null, "Areas of concern (tap the outline or the names)"));
      ed.appendChild(areasWrap);
      ed.appendChild(h("label", {for: "profile-notes"}, "Notes for the therapist"));
      ed.appendChild(notes);
      ed.appendChild(h("div", {class: "row"},
        h("button", {class: "btn primary", type: "button", id: "save-profile", text: "Save", onclick: function () {
          var bodyOut = {name: name.value.trim(), heat_max: data.heat_max, volume_max: +vol.value, aroma: !aroma.checked,
            favourite_scenes: data.favourite_scenes, areas: data.areas, notes: notes.value};
          var opts = {form: ed};  // an error shows in words next to its field
          MH.clearErrors(ed);
          var call = p ? api("PUT", "/profiles/" + encodeURIComponent(p.id), bodyOut, opts) : api("POST", "/profiles", bodyOut, opts);
          call.then(function (saved) { toast(saved.name + " saved.", true); ed.hidden = true; self.show(); }, function () {});
        }}),
        h("button", {class: "btn", type: "button", text: "Cancel", onclick: function () { ed.hidden = true; }})));
      name.focus();
    }
  });

  P.usual = usual;
  P.who = who;
})();
