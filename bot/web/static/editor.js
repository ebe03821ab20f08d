// The editor's live check: a moment after typing stops, the form is checked on the server by the same rules as
// saving (nothing is written) and the problems are shown above the form. Without JavaScript, the Check button
// does the same.
(function () {
  "use strict";
  var form = document.getElementById("editor");
  var box = document.getElementById("live-check");
  if (!form || !box || !window.fetch) { return; }
  var timer = null;
  function show(data) {
    box.textContent = "";
    var items = data.problems.length ? data.problems : data.flags;
    if (!data.problems.length && !data.flags.length) {
      box.className = "ok";
      box.textContent = data.ok;
      return;
    }
    box.className = data.problems.length ? "error" : "flags";
    var list = document.createElement("ul");
    items.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;  // text, never HTML
      list.appendChild(item);
    });
    box.appendChild(list);
  }
  function check() {
    fetch("/editor/check", {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () {});
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 700);
  });
}());
