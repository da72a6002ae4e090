(function () {
  "use strict";
  var form = document.getElementById("login-form");
  var msg = document.getElementById("message");
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var mode = form.dataset.mode;
    var pw = document.getElementById("password").value;
    var body = {password: pw};
    if (mode === "setup") {
      body.code = document.getElementById("code").value.trim();
      if (!body.code) { msg.textContent = "Enter the setup code first."; return; }
      if (pw.length < 8) { msg.textContent = "Use at least 8 characters."; return; }
      if (pw !== document.getElementById("repeat").value) { msg.textContent = "The two passwords differ."; return; }
    }
    document.getElementById("submit").disabled = true;
    fetch("/api/v1/" + (mode === "setup" ? "setup" : "login"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (body) {
        if (r.ok) { location.replace("/#now"); return; }
        msg.textContent = (body.error && body.error.message) || ("Error " + r.status);
        document.getElementById("submit").disabled = false;
      });
    }).catch(function () {
      msg.textContent = "The hub does not answer.";
      document.getElementById("submit").disabled = false;
    });
  });
})();
