// labelcheck: live progress of background runs (polls the run's JSON while it is queued or running).
(function () {
  function poll(el) {
    var url = el.getAttribute("data-run-url");
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (!body.ok) { return; }
        var run = body.run;
        el.setAttribute("data-status", run.status);
        var s = el.querySelector("[data-field=status]");
        if (s) { s.textContent = run.status; s.className = "status status-" + run.status; }
        var p = el.querySelector("[data-field=progress]");
        if (p) { p.value = Math.round(run.progress * 100); }
        var m = el.querySelector("[data-field=message]");
        if (m) { m.textContent = run.message; }
        if (run.status === "queued" || run.status === "running") {
          setTimeout(function () { poll(el); }, 1000);
        } else if (document.querySelector("[data-reload-when-done]")) {
          window.location.reload();
        }
      })
      .catch(function () { setTimeout(function () { poll(el); }, 3000); });
  }
  document.querySelectorAll("[data-run-url]").forEach(function (el) {
    var status = el.getAttribute("data-status");
    if (status === "queued" || status === "running") { poll(el); }
  });
})();
