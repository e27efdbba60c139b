// labelcheck: the overview page's plots, drawn with Plotly from the JSON the page embeds
// (<script type="application/json" id="overview-data">: one field of the stored overview).
(function () {
  "use strict";
  var source = document.getElementById("overview-data");
  if (!source || !window.Plotly) { return; }
  var data = JSON.parse(source.textContent);
  var field = data.field;
  var pct = Math.round(100 * (data.confidence || 0.95));
  var config = { displaylogo: false, responsive: true,
                 modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"] };
  var font = { family: getComputedStyle(document.body).fontFamily, size: 12 };
  var colours = { line: "#1f5fa8", band: "rgba(31, 95, 168, 0.16)", peers: "#1f5fa8",
                  without: "#d9822b", target: "#6b7785" };

  function fmt(x, digits) { return x === null || x === undefined ? "–" : x.toFixed(digits === undefined ? 3 : digits); }
  function layout(extra) {
    var base = { font: font, margin: { l: 64, r: 16, t: 8, b: 44 }, paper_bgcolor: "rgba(0,0,0,0)",
                 plot_bgcolor: "rgba(0,0,0,0)", hoverlabel: { font: font }, showlegend: false };
    for (var k in extra) { if (Object.prototype.hasOwnProperty.call(extra, k)) { base[k] = extra[k]; } }
    return base;
  }
  function overall() {
    var a = (field.coefficients || []).filter(function (c) { return c.name === "krippendorff_alpha"; })[0];
    return a ? a.value : null;
  }
  function hline(y, colour, dash, label) {
    return { type: "line", xref: "paper", x0: 0, x1: 1, y0: y, y1: y,
             line: { color: colour, width: 1, dash: dash }, label: label ? { text: label, textposition: "end", font: { size: 10, color: colour } } : undefined };
  }

  // --- agreement over time: alpha per window, bootstrap interval as a band -----------
  function drawOverTime() {
    var el = document.getElementById("plot-over-time");
    var points = (field.over_time && field.over_time.points) || [];
    if (!el || points.length === 0) { return; }
    var x = points.map(function (p) { return p.period; });
    var hover = points.map(function (p) {
      return (field.over_time.freq || "week") + " of " + p.period + "<br>α " + fmt(p.value) + "  [" + fmt(p.ci_low) + ", " + fmt(p.ci_high) + "]" +
             "<br>" + p.n_items + " items, " + p.n_annotations + " answers" + (p.reason ? "<br>" + p.reason : "");
    });
    var traces = [
      { x: x, y: points.map(function (p) { return p.ci_high; }), mode: "lines", line: { width: 0 },
        hoverinfo: "skip", name: pct + "% CI" },
      { x: x, y: points.map(function (p) { return p.ci_low; }), mode: "lines", line: { width: 0 },
        fill: "tonexty", fillcolor: colours.band, hoverinfo: "skip", name: pct + "% CI" },
      { x: x, y: points.map(function (p) { return p.value; }), mode: "lines+markers", name: "α",
        line: { color: colours.line, width: 2 }, marker: { size: 7 }, text: hover, hoverinfo: "text",
        connectgaps: false }
    ];
    var shapes = [];
    if (data.target_alpha) { shapes.push(hline(data.target_alpha, colours.target, "dot", "target " + data.target_alpha)); }
    Plotly.newPlot(el, traces, layout({
      height: 320, shapes: shapes,
      xaxis: { type: "date", tickformat: "%b %d", hoverformat: "%Y-%m-%d" },
      yaxis: { title: { text: "Krippendorff's α" }, zeroline: true, rangemode: "normal", automargin: true }
    }), config);
  }

  // --- label confusion: coincidences, observed or observed / expected ---------------
  function drawConfusion(view) {
    var el = document.getElementById("plot-confusion");
    var c = field.confusion;
    if (!el || !c) { return; }
    var labels = c.categories.map(String);
    var z, text, colorbar, zmid, colorscale, zmin, zmax;
    var hover = [];
    for (var i = 0; i < labels.length; i++) {
      hover.push([]);
      for (var j = 0; j < labels.length; j++) {
        hover[i].push(labels[i] + " with " + labels[j] + ": " + fmt(c.observed[i][j], 1) + " pairs" +
          " (" + (c.row_normalised[i][j] === null ? "–" : (100 * c.row_normalised[i][j]).toFixed(1) + "% of " + labels[i] + "'s pairs") + ")" +
          "<br>expected by chance " + fmt(c.expected[i][j], 1) +
          (c.ratio[i][j] === null ? "" : ", observed ÷ expected " + fmt(c.ratio[i][j], 2)));
      }
    }
    if (view === "ratio") {
      // log2 of the ratio, centred at 1 (= chance); the cells show the ratio itself
      z = c.ratio.map(function (row) {
        return row.map(function (r) { return r === null ? null : Math.max(-4, Math.min(4, Math.log2(Math.max(r, 1e-3)))); });
      });
      text = c.ratio.map(function (row) { return row.map(function (r) { return r === null ? "" : r.toFixed(2); }); });
      colorscale = [[0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"], [1, "#b2182b"]];
      zmid = 0; zmin = -4; zmax = 4;
      colorbar = { title: { text: "obs ÷ exp" }, tickvals: [-4, -2, 0, 2, 4], ticktext: ["1/16", "1/4", "1", "4", "16"] };
    } else {
      z = c.observed;
      text = c.observed.map(function (row) { return row.map(function (v) { return v >= 100 ? v.toFixed(0) : v.toFixed(1); }); });
      colorscale = [[0, "#f4f8fc"], [0.25, "#c6dbef"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1, "#08306b"]];
      zmid = undefined; zmin = 0; zmax = undefined;
      colorbar = { title: { text: "pairs" } };
    }
    var trace = { type: "heatmap", x: labels, y: labels, z: z, text: text, texttemplate: "%{text}",
                  customdata: hover, hovertemplate: "%{customdata}<extra></extra>", colorscale: colorscale,
                  zmid: zmid, zmin: zmin, zmax: zmax, colorbar: colorbar, xgap: 1, ygap: 1 };
    var side = Math.min(420, 140 + 44 * labels.length);
    Plotly.react(el, [trace], layout({
      height: side, margin: { l: 60, r: 16, t: 8, b: 60 },
      xaxis: { type: "category", title: { text: "second answer" }, tickangle: labels.length > 5 ? -30 : 0,
               automargin: true },
      yaxis: { type: "category", title: { text: "first answer", standoff: 8 }, autorange: "reversed",
               automargin: true }
    }), config);
  }

  // --- annotators: alpha with peers and alpha without them --------------------------
  function drawAnnotators() {
    var el = document.getElementById("plot-annotators");
    var rows = field.annotators || [];
    if (!el || rows.length === 0) { return; }
    var names = rows.map(function (r) { return String(r.annotator); });
    function hover(r) {
      return "annotator " + r.annotator + "<br>α with peers " + fmt(r.alpha_with_peers) +
             "<br>α without them " + fmt(r.alpha_without) + " (Δ " + fmt(r.delta) + ")" +
             "<br>agreement with peers " + (r.agreement_with_peers === null ? "–" : (100 * r.agreement_with_peers).toFixed(1) + "%") +
             "<br>" + r.n_answers + " answers" + (r.reason ? "<br>" + r.reason : "");
    }
    var text = rows.map(hover);
    var traces = [
      { type: "scatter", mode: "markers", name: "α with peers", y: names,
        x: rows.map(function (r) { return r.alpha_with_peers; }), text: text, hoverinfo: "text",
        marker: { color: colours.peers, size: 10, symbol: "circle" } },
      { type: "scatter", mode: "markers", name: "α without them", y: names,
        x: rows.map(function (r) { return r.alpha_without; }), text: text, hoverinfo: "text",
        marker: { color: colours.without, size: 10, symbol: "diamond" } }
    ];
    var shapes = [];
    var all = overall();
    if (all !== null) {
      shapes.push({ type: "line", yref: "paper", y0: 0, y1: 1, x0: all, x1: all,
                    line: { color: colours.target, width: 1, dash: "dash" } });
    }
    el.style.minHeight = "0";
    Plotly.newPlot(el, traces, layout({
      height: Math.max(220, Math.min(900, 90 + 26 * names.length)), showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" }, margin: { l: 90, r: 16, t: 30, b: 40 },
      shapes: shapes,
      xaxis: { title: { text: "Krippendorff's α" }, zeroline: true },
      yaxis: { type: "category", autorange: "reversed", automargin: true }
    }), config);
  }

  drawOverTime();
  drawConfusion("observed");
  drawAnnotators();
  document.querySelectorAll("[data-confusion-view]").forEach(function (button) {
    button.addEventListener("click", function () {
      var view = button.getAttribute("data-confusion-view");
      document.querySelectorAll("[data-confusion-view]").forEach(function (b) {
        var on = b === button;
        b.setAttribute("aria-pressed", on ? "true" : "false");
        b.classList.toggle("outline", !on);
      });
      drawConfusion(view);
    });
  });
})();
