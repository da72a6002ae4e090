/* People: the Profiles page, the body outline, the "Who is on the table?" picker (Now page)
 * and who a past session was for (History). Registered with MH.page (see app.js); the API is
 * /api/v1/profiles (web/profiles_api.py). app.js calls MH.people.picker() and MH.people.who(). */
(function () {
  "use strict";
  var h = MH.h, api = MH.api, toast = MH.toast;
  var SVG = "http://www.w3.org/2000/svg";
  var AREAS = ["head", "neck", "shoulders", "upper_back", "lower_back", "arms", "hands", "hips", "legs", "feet"];
  var AREA_LABEL = {head: "Head", neck: "Neck", shoulders: "Shoulders", upper_back: "Upper back", lower_back: "Lower back",
    arms: "Arms", hands: "Hands", hips: "Hips", legs: "Legs", feet: "Feet"};
  var HEAT_LABEL = {off: "no heat", low: "heat up to low", medium: "heat up to medium", high: "any heat"};
  var profiles = [], listeners = [];

  // a figure seen from behind, as it lies on the table: [area, shape, attributes]
  var OUTLINE = [
    ["head", "circle", {cx: 60, cy: 18, r: 13}],
    ["neck", "rect", {x: 54, y: 31, width: 12, height: 9, rx: 3}],
    ["shoulders", "rect", {x: 30, y: 40, width: 60, height: 12, rx: 6}],
    ["upper_back", "rect", {x: 38, y: 52, width: 44, height: 26, rx: 4}],
    ["lower_back", "rect", {x: 38, y: 78, width: 44, height: 20, rx: 4}],
    ["arms", "rect", {x: 18, y: 46, width: 11, height: 56, rx: 5}],
    ["arms", "rect", {x: 91, y: 46, width: 11, height: 56, rx: 5}],
    ["hands", "circle", {cx: 23, cy: 110, r: 7}],
    ["hands", "circle", {cx: 97, cy: 110, r: 7}],
    ["hips", "rect", {x: 36, y: 98, width: 48, height: 18, rx: 7}],
    ["legs", "rect", {x: 38, y: 116, width: 19, height: 64, rx: 7}],
    ["legs", "rect", {x: 63, y: 116, width: 19, height: 64, rx: 7}],
    ["feet", "rect", {x: 36, y: 182, width: 21, height: 10, rx: 4}],
    ["feet", "rect", {x: 63, y: 182, width: 21, height: 10, rx: 4}]
  ];

  /* A body outline with ``areas`` marked; with ``onchange`` a tap toggles an area. */
  function body(areas, onchange) {
    var marked = (areas || []).slice();
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 120 196");
    svg.setAttribute("class", "body-outline" + (onchange ? " editable" : ""));
    svg.setAttribute("role", "img");
    function paint() {
      svg.querySelectorAll("[data-area]").forEach(function (s) { s.classList.toggle("on", marked.indexOf(s.dataset.area) >= 0); });
      svg.setAttribute("aria-label", marked.length ? "Areas of concern: " + marked.map(function (a) { return AREA_LABEL[a]; }).join(", ") : "No areas of concern");
    }
    OUTLINE.forEach(function (o) {
      var s = document.createElementNS(SVG, o[1]);
      Object.keys(o[2]).forEach(function (k) { s.setAttribute(k, o[2][k]); });
      s.setAttribute("data-area", o[0]);
      var t = document.createElementNS(SVG, "title"); t.textContent = AREA_LABEL[o[0]]; s.appendChild(t);
      if (onchange) {
        s.addEventListener("click", function () {
          var i = marked.indexOf(o[0]);
          if (i >= 0) marked.splice(i, 1); else marked.push(o[0]);
          paint(); onchange(marked.slice());
        });
      }
      svg.appendChild(s);
    });
    paint();
    svg.areas = function () { return marked.slice(); };
    return svg;
  }

  /* Area chips that toggle, for a phone where the outline is small. */
  function areaChips(areas, onchange) {
    var marked = (areas || []).slice();
    var el = h("div", {class: "chips area-chips"});
    AREAS.forEach(function (a) {
      el.appendChild(h("button", {class: "chip small" + (marked.indexOf(a) >= 0 ? " on" : ""), type: "button", "data-area": a, text: AREA_LABEL[a],
        onclick: function (e) {
          var i = marked.indexOf(a);
          if (i >= 0) marked.splice(i, 1); else marked.push(a);
          e.currentTarget.classList.toggle("on", i < 0);
          onchange(marked.slice());
        }}));
    });
    return el;
  }

  function limitsWords(p) {
    var out = [HEAT_LABEL[p.heat_max], "volume up to " + p.volume_max];
    if (!p.aroma) out.push("no aroma");
    return out.join(" · ");
  }

  // the first time, the profiles the page was made with; after that, asked again
  var inPage = document.getElementById("profiles-data");
  function load() {
    var asked = inPage ? Promise.resolve({profiles: JSON.parse(inPage.textContent)}) : api("GET", "/profiles");
    inPage = null;
    return asked.then(function (d) {
      profiles = d.profiles;
      listeners.forEach(function (f) { f(profiles); });
      return profiles;
    });
  }

  // --- the picker on the Now page ----------------------------------------------------------

  /* "Who is on the table?": pick people; with two pads, pick who lies on which. It is the
   * room's own fact (PUT /table): every output, from any client, keeps to their limits. */
  function picker() {
    var chosen = [], byPad = {}, touched = 0, seen = null, source = null, words = null;
    var el = h("div", {class: "who", "data-testid": "who-picker"});
    var chips = h("div", {class: "chips"});
    var pads = h("div", {class: "who-pads"});
    var said = h("p", {class: "muted who-source", "data-testid": "who-source", "aria-live": "polite"});
    var notes = h("div", {class: "who-notes", "data-testid": "who-notes"});
    el.appendChild(h("h3", {text: "Who is on the table?"}));
    el.appendChild(chips); el.appendChild(pads); el.appendChild(said); el.appendChild(notes);
    function padIds() {
      var st = MH.state();
      if (!st) return [];
      return Object.keys(st.devices).filter(function (k) { return st.devices[k].kind === "heat_pad"; });
    }
    function spec() {
      if (!chosen.length) return [];
      var pairs = Object.keys(byPad).filter(function (k) { return chosen.indexOf(byPad[k]) >= 0; });
      var placed = pairs.map(function (k) { return byPad[k]; });
      if (pairs.length && new Set(placed).size === pairs.length && chosen.every(function (pid) { return placed.indexOf(pid) >= 0; })) {
        var map = {};
        pairs.forEach(function (k) { map[k] = byPad[k]; });
        return map;
      }
      return chosen.slice();
    }
    function send() {
      touched = Date.now();
      api("PUT", "/table", {people: spec()}).then(function (t) { sync(t, true); }, function () {});
    }
    function sync(table, mine) {
      if (!table) return;
      var key = JSON.stringify([table.people, table.source, table.limits_words]);
      source = table.source; words = table.limits_words;
      if (mine || key === seen || Date.now() - touched < 1500) {  // ours, or a tap on its way
        if (mine) seen = key;
        paintSaid();
        return;
      }
      seen = key;  // another phone, Home Assistant or a routine changed it
      var fromRoom = table.source === "room" || table.source === "link";
      chosen = fromRoom ? table.people.map(function (p) { return p.profile; }).filter(function (x, i, a) { return a.indexOf(x) === i; }) : [];
      byPad = {};
      if (fromRoom) table.people.forEach(function (p) { if (p.pad) byPad[p.pad] = p.profile; });
      render();
    }
    function paintSaid() {
      said.textContent = chosen.length ? (words ? "Limits in force: " + words + "." : "")
        : source === "default" ? "Nobody picked: the household's usual people hold (" + (words || "no limits") + ")."
        : "Nobody picked: only the room's own limits hold.";
    }
    function render() {
      chips.textContent = "";
      if (!profiles.length) {
        chips.appendChild(h("p", {class: "muted", text: "No profiles yet: add people on the People page, so the hub keeps to their limits."}));
      }
      profiles.forEach(function (p) {
        chips.appendChild(h("button", {class: "chip" + (chosen.indexOf(p.id) >= 0 ? " on" : ""), type: "button", "data-profile": p.id, text: p.name,
          "aria-pressed": chosen.indexOf(p.id) >= 0 ? "true" : "false",
          onclick: function () {
            var i = chosen.indexOf(p.id);
            if (i >= 0) chosen.splice(i, 1); else chosen.push(p.id);
            Object.keys(byPad).forEach(function (k) { if (chosen.indexOf(byPad[k]) < 0) delete byPad[k]; });
            render(); send();
          }}));
      });
      pads.textContent = ""; notes.textContent = "";
      var ids = padIds();
      if (chosen.length > 1 && ids.length > 1) {
        ids.forEach(function (pad) {
          var sel = h("select", {"data-pad": pad, onchange: function () {
              if (sel.value) byPad[pad] = sel.value; else delete byPad[pad];
              send();
            }},
            h("option", {value: "", text: "anyone (strictest limits)"}),
            chosen.map(function (pid) {
              var p = find(pid);
              var o = h("option", {value: pid, text: p ? p.name : pid});
              if (byPad[pad] === pid) o.selected = true;
              return o;
            }));
          var name = (MH.state().devices[pad] || {}).name || pad;
          pads.appendChild(h("label", null, "On " + name, sel));
        });
      }
      paintSaid();
      chosen.forEach(function (pid) {
        var p = find(pid);
        if (!p) return;
        notes.appendChild(h("div", {class: "who-note"}, body(p.areas),
          h("div", null, h("strong", {text: p.name}), h("div", {class: "muted", text: limitsWords(p)}),
            p.notes ? h("div", {class: "note-text", text: p.notes}) : null)));
      });
    }
    function find(pid) { return profiles.filter(function (p) { return p.id === pid; })[0]; }
    listeners.push(function () { chosen = chosen.filter(find); render(); });
    el.value = function () { return chosen.length ? spec() : null; };
    el.update = function (st) { sync(st.table, false); };
    el.refresh = render;
    render();
    load();
    return el;
  }

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
    listeners.push(render);
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
      listeners.push(function (list) { self.render(list); });  // another phone's change, a restore
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

  /* Who is on the table and the limits holding now, in words (Now and Room pages). */
  function limits() {
    var el = h("div", {class: "limits-box", hidden: true, "data-testid": "session-limits"});
    el.update = function (st) {
      var sess = st.session, table = st.table || {}, people = (sess && sess.people && sess.people.length) ? sess.people : (table.people || []);
      el.textContent = "";
      if (!people.length) { el.hidden = true; return; }
      el.hidden = false;
      el.appendChild(h("div", {class: "muted", text: "For " + people.map(function (p) {
        var pad = p.pad && st.devices[p.pad] ? " (" + st.devices[p.pad].name + ")" : "";
        return p.name + pad;
      }).join(", ")}));
      if (table.limits_words) el.appendChild(h("div", {class: "limit-words", "data-testid": "limits-words", text: "Limits: " + table.limits_words}));
      Object.keys(st.devices).forEach(function (k) {
        if (st.devices[k].limit) el.appendChild(h("div", {class: "limit-note", "data-device": k, text: st.devices[k].limit}));
      });
    };
    return el;
  }

  // profiles may change on another phone: the picker reloads them each time Now opens, and
  // every open page reloads them when the hub says people changed or a backup was restored
  window.addEventListener("hashchange", function () { if ((location.hash || "#now") === "#now" && listeners.length) load(); });
  MH.onState(function (st, type) {
    if ((type === "people" || type === "scenes") && listeners.length) {
      clearTimeout(load.soon);
      load.soon = setTimeout(function () { load().catch(function () {}); }, 200);
    }
  });

  /* The "profiles" of a new session for these people (from a history row): by pad if known. */
  function spec(people) {
    if (people.every(function (p) { return p.pad; })) {
      var map = {};
      people.forEach(function (p) { map[p.pad] = p.profile; });
      return map;
    }
    return people.map(function (p) { return p.profile; });
  }

  MH.people = {picker: picker, usual: usual, who: who, limits: limits, spec: spec, body: body, areaChips: areaChips, AREAS: AREAS, AREA_LABEL: AREA_LABEL,
    profiles: function () { return profiles; }, load: load};
})();
