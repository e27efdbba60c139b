// labelcheck: a hotspot's agreement with its interval, beside the whole field's, the rest
// of the data's (slices, periods) and the target, drawn with Plotly from #hotspot-data.
(function () {
  "use strict";
  var source = document.getElementById("hotspot-data");
  var target = document.getElementById("hotspot-plot");
  if (!source || !target || !window.Plotly) { return; }
  var d = JSON.parse(source.textContent);
  var names = [d.label], values = [d.agreement], lo = [0], hi = [0], colours = ["#d9822b"];
  if (d.ci && d.agreement !== null) { lo[0] = d.agreement - d.ci[0]; hi[0] = d.ci[1] - d.agreement; }
  if (d.rest !== null && d.rest !== undefined) { names.push("the rest"); values.push(d.rest); lo.push(0); hi.push(0); colours.push("#9aa7b5"); }
  names.push("whole field"); values.push(d.overall); lo.push(0); hi.push(0); colours.push("#1f5fa8");
  var font = { family: getComputedStyle(document.body).fontFamily, size: 12 };
  Plotly.newPlot(target, [{ type: "bar", orientation: "h", y: names, x: values, marker: { color: colours },
    error_x: { type: "data", symmetric: false, array: hi, arrayminus: lo, color: "#333", thickness: 1 },
    hovertemplate: "%{y}: %{x:.3f}<extra></extra>" }], {
    font: font, height: 60 + 40 * names.length, margin: { l: 140, r: 16, t: 8, b: 36 },
    xaxis: { title: { text: "Krippendorff's alpha" }, range: [Math.min(0, Math.min.apply(null, values.filter(function (v) { return v !== null; }))), 1] },
    yaxis: { autorange: "reversed" }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    shapes: d.target === null ? [] : [{ type: "line", yref: "paper", y0: 0, y1: 1, x0: d.target, x1: d.target,
                                        line: { color: "#6b7785", dash: "dash", width: 1 } }]
  }, { displaylogo: false, responsive: true });
}());
