// labelcheck: the "did the revision work?" plot: alpha before and after per comparison,
// with the bootstrap intervals, drawn with Plotly from <script id="effect-data">.
(function () {
  "use strict";
  var source = document.getElementById("effect-data");
  var target = document.getElementById("effect-plot");
  if (!source || !target || !window.Plotly) { return; }
  var effect = JSON.parse(source.textContent);
  var names = { overall: "All items", targeted: "Targeted labels", same_annotators: "Same annotators" };
  var keys = ["overall", "targeted", "same_annotators"].filter(function (k) { return effect[k]; });
  function side(which, colour) {
    var y = [], lo = [], hi = [];
    keys.forEach(function (k) {
      var c = effect[k], v = c[which], ci = c["ci_" + which] || [null, null];
      y.push(v);
      lo.push(v === null || ci[0] === null ? 0 : v - ci[0]);
      hi.push(v === null || ci[1] === null ? 0 : ci[1] - v);
    });
    return { type: "bar", name: which === "before" ? "before the revision" : "after", x: keys.map(function (k) { return names[k]; }),
             y: y, marker: { color: colour },
             error_y: { type: "data", symmetric: false, array: hi, arrayminus: lo, color: "#333", thickness: 1 },
             hovertemplate: "%{x}<br>" + which + ": %{y:.3f}<extra></extra>" };
  }
  var font = { family: getComputedStyle(document.body).fontFamily, size: 12 };
  Plotly.newPlot(target, [side("before", "#9aa7b5"), side("after", "#1f5fa8")], {
    barmode: "group", font: font, margin: { l: 56, r: 16, t: 8, b: 40 }, height: 320,
    yaxis: { title: { text: "Krippendorff's alpha" }, rangemode: "tozero" },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", legend: { orientation: "h", y: 1.1 }
  }, { displaylogo: false, responsive: true });
}());
