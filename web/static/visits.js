/* Visiting therapist and backup, in Settings; cues in the scene editor (see app.js MH.extend).
 * The API: /api/v1/guests (web/guests_api.py), /api/v1/backup and /api/v1/restore
 * (web/backup_api.py). The QR code is made on the hub (SVG) and shown as an image. */
(function () {
  "use strict";
  // what a restore brought back, in a homeowner's words (the hub counts rows per table)
  var RESTORED = {scenes: ["scene", "scenes"], routines: ["routine", "routines"], profiles: ["person", "people"],
    sessions: ["past session", "past sessions"], journal: ["journal entry", "journal entries"], tokens: ["token", "tokens"]};
  var h = MH.h, api = MH.api, toast = MH.toast;

  function when(iso) { return iso ? MH.fmt.when(iso) : ""; }

  MH.extend("settings", function (el) {
    var list = h("tbody", {"data-testid": "visits"});
    var made = h("div", {hidden: true, "data-testid": "new-visit"});
    var name = h("input", {type: "text", maxlength: 60, placeholder: "the therapist's name", id: "visit-name"});
    var hours = h("input", {type: "number", min: 0.5, max: 24, step: 0.5, value: 3, id: "visit-hours"});
    // whose notes the link shows: people by name, one tap each (the People page makes them)
    var chosen = [];
    var profiles = h("div", {class: "chips", role: "group", "aria-label": "Whose notes it shows", id: "visit-profiles"});
    function paintPeople() {
      MH.people.load().then(function (list) {
        profiles.textContent = "";
        chosen = chosen.filter(function (id) { return list.some(function (p) { return p.id === id; }); });
        if (!list.length) profiles.appendChild(h("p", {class: "muted", text: "Nobody yet: add people on the People page to share their notes."}));
        list.forEach(function (p) {
          var b = h("button", {class: "chip", type: "button", "data-profile": p.id, text: p.name, onclick: function () {
            var i = chosen.indexOf(p.id);
            if (i >= 0) chosen.splice(i, 1); else chosen.push(p.id);
            MH.press(b, i < 0);
          }});
          MH.press(b, chosen.indexOf(p.id) >= 0);
          profiles.appendChild(b);
        });
      }, function () {});
    }
    paintPeople();
    window.addEventListener("hashchange", function () { if (location.hash === "#settings") paintPeople(); });
    function load() {
      api("GET", "/guests").then(function (d) {
        list.textContent = "";
        d.guests.forEach(function (g) {
          list.appendChild(h("tr", {"data-visit": g.id}, h("td", {text: g.name}),
            h("td", {class: "muted", text: g.active ? "until " + when(g.expires_at) : "ended"}),
            h("td", null, g.active ? h("button", {class: "btn small danger", type: "button", text: "End now", onclick: function () {
              api("DELETE", "/guests/" + g.id).then(function () { toast("The link has ended.", true); load(); });
            }}) : null)));
        });
        if (!d.guests.length) list.appendChild(h("tr", null, h("td", {class: "muted", text: "No visits yet."})));
      });
    }
    el.appendChild(h("div", {class: "card", id: "visits-card"}, h("h2", {text: "Visiting therapist"}),
      h("p", {class: "muted", text: "A link that lets a therapist run sessions and see the client's notes, and nothing else, until it expires."}),
      h("label", null, "Therapist's name", name), h("label", null, "Link valid for (hours)", hours),
      h("div", {class: "label", id: "visit-profiles-label"}, "Whose notes it shows (optional)"), profiles,
      h("p", null, h("button", {class: "btn primary", type: "button", id: "create-visit", text: "Create link", onclick: function () {
        var hrs = +hours.value;
        if (!name.value.trim()) { toast("Write the therapist's name first."); name.focus(); return; }
        if (!(hrs >= 0.5 && hrs <= 24)) { toast("A link can last from half an hour to 24 hours: choose a number in that range."); hours.focus(); return; }
        api("POST", "/guests", {name: name.value.trim(), minutes: Math.round(hrs * 60), profiles: chosen.slice()}).then(function (g) {
          MH.hideToast();  // an earlier error must not sit over the new code
          made.textContent = "";
          made.appendChild(h("p", {text: "Show this code to " + g.name + ", or send the link. It works until " + when(g.expires_at) + "."}));
          made.appendChild(h("img", {class: "qr", alt: "QR code of the link", width: 200, height: 200, "data-testid": "visit-qr",
            src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(g.qr_svg)}));
          made.appendChild(h("div", {class: "token", "data-testid": "visit-url", text: g.url}));
          made.hidden = false; name.value = ""; load();
        });
      }})), made, h("table", null, list)));
    load();

    // rows the hub found unreadable at start and set aside: it runs without them, and says so
    var problems = h("div", {class: "card", id: "problems-card", hidden: true, "data-testid": "problems"});
    el.appendChild(problems);
    api("GET", "/state").then(function (st) {
      if (!st.problems || !st.problems.length) return;
      problems.appendChild(h("h2", {text: "Problems in the stored data"}));
      st.problems.forEach(function (p) { problems.appendChild(h("p", {text: p.message})); });
      problems.hidden = false;
    });

    var secrets = h("input", {type: "checkbox", id: "backup-secrets"});
    var replaceSecrets = h("input", {type: "checkbox", id: "restore-secrets"});
    var file = h("input", {type: "file", accept: "application/json,.json", id: "restore-file"});
    el.appendChild(h("div", {class: "card", id: "backup-card"}, h("h2", {text: "Backup"}),
      h("p", {class: "muted", text: "Scenes, routines, history and settings in one file, to keep or to move to a new Pi."}),
      h("label", {class: "check"}, secrets, " Include the password and API tokens (keep that file private)"),
      h("p", null, h("button", {class: "btn", type: "button", id: "download-backup", text: "Download backup", onclick: function () {
        location.href = "/api/v1/backup" + (secrets.checked ? "?secrets=true" : "");
      }})),
      h("label", null, "Restore from a backup file", file),
      h("label", {class: "check"}, replaceSecrets,
        " Also replace the password and API tokens (only a backup made with them; every login ends)"),
      h("p", null, h("button", {class: "btn danger", type: "button", id: "restore-backup", text: "Restore", onclick: function () {
        var f = file.files && file.files[0];
        if (!f) { toast("Choose a backup file first."); return; }
        var also = replaceSecrets.checked ? ", and its password and every API token," : "";
        if (!confirm("Replace this hub's scenes, routines, history and settings" + also + " with " + f.name + "?")) return;
        // sent gzip-compressed: the hub takes request bodies up to 64 KiB, backups grow
        new Response(f.stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer().then(function (body) {
          return fetch("/api/v1/restore" + (replaceSecrets.checked ? "?replace_secrets=true" : ""), {method: "POST", credentials: "same-origin", body: body,
            headers: {"Content-Type": "application/json", "Content-Encoding": "gzip",
              "X-CSRF-Token": MH.csrf()}});
        }).then(function (r) {
          return r.json().catch(function () { return null; }).then(function (d) {
            if (!r.ok) {
              var m = (d && d.error && d.error.message) || "the hub could not restore it (error " + r.status + "); try again, or choose another backup file";
              toast("Nothing was changed: " + m.replace(/\s*\(got [^)]*\)/g, "") + "."); return;
            }
            var parts = Object.keys(RESTORED).filter(function (k) { return d.restored[k]; }).map(function (k) {
              var n = d.restored[k], w = RESTORED[k];
              return n + " " + (n === 1 ? w[0] : w[1]);
            });
            toast("Restored " + (parts.length ? parts.join(", ") : "an empty backup") + ".", true);
            MH.loadScenes();
          });
        }, function () { toast("The hub does not answer."); });
      }}))));
  });

  // the scene editor: the timeline's cues as lines "at | text" (light steps are kept as they are)
  MH.extend("sceneEditor", function (ed, scene) {
    var tl = scene.timeline || {cues: [], lights: []};
    var area = h("textarea", {rows: 4, id: "scene-cues", placeholder: "1/2 | Turn over\n-5 min | Five minutes left"});
    area.value = (tl.cues || []).map(function (c) { return c.at + " | " + c.text; }).join("\n");
    ed.appendChild(h("label", null, "Cues (when | words: 1/2, 50%, 10 min, -5 min)", area));
    return function (body) {
      var cues = area.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
        var parts = line.split("|");
        var at = parts[0].trim();
        return {at: /^-?\d+(\.\d+)?$/.test(at) ? +at : at, text: parts.slice(1).join("|").trim()};
      });
      body.timeline = {cues: cues, lights: tl.lights || []};
    };
  });
})();
