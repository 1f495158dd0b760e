// The console's one script: a live board (an element with data-poll) asks its JSON every two seconds and
// shows the counts and names without reloading the page. Pages work without it.
(function () {
  "use strict";
  var board = document.querySelector("[data-poll]");
  if (!board) { return; }
  var url = board.getAttribute("data-poll");

  function fill(id, names) {
    var list = document.getElementById(id);
    while (list.firstChild) { list.removeChild(list.firstChild); }
    names.forEach(function (name) {
      var item = document.createElement("li");
      item.textContent = name;
      list.appendChild(item);
    });
    document.getElementById("n-" + id).textContent = String(names.length);
  }

  function poll() {
    fetch(url, {cache: "no-store", credentials: "same-origin"}).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (data) {
      document.getElementById("n-expected").textContent = String(data.expected);
      fill("present", data.present);
      fill("missing", data.missing);
      fill("walk_ups", data.walk_ups);
      board.removeAttribute("data-stale");
    }).catch(function () {
      board.setAttribute("data-stale", "true");
    }).then(function () {
      setTimeout(poll, 2000);
    });
  }
  setTimeout(poll, 2000);
})();
